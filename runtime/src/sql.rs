//! Quoting for the SQL text tidemark builds itself (the batches are simple-query messages, which
//! take no parameters).

/// The first column of the first row `sql` returns (a simple query), as text.
pub(crate) async fn first_value(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let msgs = client.simple_query(sql).await?;
    Ok(msgs.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    }))
}

/// A double-quoted identifier: `my "t"` becomes `"my ""t"""`.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal that means the same whatever `standard_conforming_strings` is: text with a
/// backslash is written as an `E''` string with the backslash escaped.
pub(crate) fn literal(value: &str) -> String {
    let quoted = value.replace('\'', "''");
    if value.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// A `bytea` literal in hex form. Written as an `E''` string (`E'\\x…'`), it means the same
/// whatever `standard_conforming_strings` is, and costs the server no function call.
pub(crate) fn bytea(bytes: &[u8]) -> String {
    format!("E'\\\\x{}'::bytea", tidemark_core::to_hex(bytes))
}

/// The bytes of `encode(…, 'hex')` text; `None` for anything else.
pub(crate) fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// A `text[]` literal of `items`.
pub(crate) fn text_array(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|v| literal(v)).collect();
    format!("ARRAY[{}]::text[]", inner.join(", "))
}

/// A `bigint[]` literal for the version sort key.
pub(crate) fn bigint_array(parts: &[u64]) -> String {
    let items: Vec<String> = parts.iter().map(u64::to_string).collect();
    format!("'{{{}}}'::bigint[]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("a"), "\"a\"");
        assert_eq!(ident("My \"T\""), "\"My \"\"T\"\"\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(r"a\'b"), r"E'a\\''b'");
        assert_eq!(bytea(&[1, 171]), r"E'\\x01ab'::bytea");
        assert_eq!(from_hex("01ab"), Some(vec![1, 171]));
        assert_eq!(from_hex("01a"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(bigint_array(&[2024, 0]), "'{2024,0}'::bigint[]");
        assert_eq!(bigint_array(&[]), "'{}'::bigint[]");
    }
}
