//! libpq's TLS options in a connection string. tokio-postgres knows `sslmode` only as
//! `disable`/`prefer`/`require` and refuses `sslrootcert`; tidemark takes both out of the string
//! (URL or `key=value` form), leaves the rest to tokio-postgres, and decides TLS itself.

/// The TLS options found in a connection string, and the string without them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Split {
    /// The connection string for tokio-postgres, without `sslmode` and `sslrootcert`.
    pub(crate) rest: String,
    pub(crate) sslmode: Option<String>,
    pub(crate) sslrootcert: Option<String>,
    /// A URL's `host` parameter that lists several hosts (`?host=/run/a,/run/b`): libpq
    /// splits it at the commas, tokio-postgres takes it as one socket path, so tidemark adds
    /// them to the configuration itself, in order.
    pub(crate) hosts: Vec<String>,
}

/// Splits `conn` into what tokio-postgres reads and the TLS options.
pub(crate) fn split(conn: &str) -> Result<Split, String> {
    let trimmed = conn.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        split_url(trimmed)
    } else {
        split_key_values(trimmed)
    }
}

fn split_url(url: &str) -> Result<Split, String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut out = Split::default();
    let mut kept = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        let key = percent_decode(k)?;
        match key.as_str() {
            "sslmode" => out.sslmode = Some(percent_decode(v)?),
            "sslrootcert" => out.sslrootcert = Some(percent_decode(v)?),
            "host" if percent_decode(v)?.contains(',') => {
                out.hosts = percent_decode(v)?.split(',').map(str::to_owned).collect();
            }
            _ => kept.push(param),
        }
    }
    out.rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(out)
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    "a `%` in the connection string is not followed by two hex digits".to_owned()
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| "the connection string is not valid UTF-8 once decoded".to_owned())
}

/// libpq's `key=value` form: values bare or single-quoted, `\` escaping the next character.
fn split_key_values(text: &str) -> Result<Split, String> {
    let mut out = Split::default();
    let mut kept = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "`{key}` in the connection string has no `=` and value"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of `{key}` has no closing quote")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        match key.as_str() {
            "sslmode" => out.sslmode = Some(value),
            "sslrootcert" => out.sslrootcert = Some(value),
            _ => kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    out.rest = kept.join(" ");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_host_parameter_with_several_hosts_is_split_as_libpq_does() {
        let s = split("postgresql://u@/db?host=/run/a,%2Frun%2Fb&port=5432,5433").unwrap();
        assert_eq!(s.hosts, ["/run/a", "/run/b"]);
        assert_eq!(s.rest, "postgresql://u@/db?port=5432,5433");
        let one = split("postgresql://u@/db?host=/run/a").unwrap();
        assert!(one.hosts.is_empty());
        assert_eq!(one.rest, "postgresql://u@/db?host=/run/a");
    }

    #[test]
    fn urls_lose_only_the_tls_options() {
        let s = split("postgresql://u:p@db:5432/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(s.rest, "postgresql://u:p@db:5432/app?application_name=x");
        assert_eq!(s.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(s.sslrootcert.as_deref(), Some("/etc/ca.pem"));
        let plain = split("postgres://localhost/app").unwrap();
        assert_eq!(
            (plain.rest.as_str(), plain.sslmode),
            ("postgres://localhost/app", None)
        );
        assert!(split("postgres://h/d?sslmode=%zz").is_err());
    }

    #[test]
    fn key_values_are_unquoted_and_requoted() {
        let s = split(
            "host=db  user = 'o\\'neil' sslmode=require sslrootcert='/a b/ca.pem' dbname=app",
        )
        .unwrap();
        assert_eq!(s.rest, "host='db' user='o\\'neil' dbname='app'");
        assert_eq!(s.sslmode.as_deref(), Some("require"));
        assert_eq!(s.sslrootcert.as_deref(), Some("/a b/ca.pem"));
        let back: tokio_postgres::Config = s.rest.parse().unwrap();
        assert_eq!(back.get_user(), Some("o'neil"));
        assert!(split("host").is_err());
        assert!(split("host='db").is_err());
    }
}
