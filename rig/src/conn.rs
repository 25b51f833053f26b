//! Connection strings for child processes (a CLI under test, a re-executed test binary).

use tidemark::tokio_postgres::config::Host;
use tidemark::tokio_postgres::Config;

/// A `key=value` connection string for `config`, password included: for child processes, not
/// for printing. Every host and port is kept, in order, as libpq and tokio-postgres try them
/// (a `DATABASE_URL` may name `localhost` and a socket directory together).
pub fn connection_string(config: &Config) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = Vec::new();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Unix(p) => p.display().to_string(),
            Host::Tcp(h) => h.clone(),
        })
        .collect();
    if !hosts.is_empty() {
        parts.push(format!("host={}", quote(&hosts.join(","))));
    }
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    if !ports.is_empty() {
        parts.push(format!("port={}", ports.join(",")));
    }
    if let Some(user) = config.get_user() {
        parts.push(format!("user={}", quote(user)));
    }
    if let Some(password) = config.get_password() {
        parts.push(format!(
            "password={}",
            quote(&String::from_utf8_lossy(password))
        ));
    }
    if let Some(db) = config.get_dbname() {
        parts.push(format!("dbname={}", quote(db)));
    }
    parts.join(" ")
}

/// A `postgres://` URL for `dbname` on a loopback relay's `port`, with `upstream`'s user and
/// password (for clients, not for printing).
pub(crate) fn loopback_url(upstream: &Config, port: u16, dbname: &str) -> String {
    let user = upstream.get_user().unwrap_or("postgres");
    let password = upstream
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    format!("postgres://{user}{password}@127.0.0.1:{port}/{dbname}")
}

/// Where a server listens: a socket file or a TCP host and port.
#[derive(Clone, Debug)]
pub(crate) enum Address {
    Unix(std::path::PathBuf),
    Tcp(String, u16),
}

/// Every host of `config` with its port, in order, as libpq tries them (a `DATABASE_URL` may
/// name `localhost` and a socket directory together).
pub(crate) fn addresses(config: &Config) -> Vec<Address> {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Unix(dir) => Address::Unix(dir.join(format!(".s.PGSQL.{port}"))),
                Host::Tcp(h) => Address::Tcp(h.clone(), port),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_survives_the_round_trip() {
        let c: Config = "postgresql://postgres@localhost/app?host=/run/pg"
            .parse()
            .unwrap();
        let text = connection_string(&c);
        let back: Config = text.parse().unwrap();
        assert_eq!(back.get_hosts(), c.get_hosts());
        assert_eq!(back.get_dbname(), Some("app"));
    }
}
