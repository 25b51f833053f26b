//! Where a connection goes, for messages.

use tokio_postgres::config::Host;
use tokio_postgres::Config;

/// Where `config` connects, for people: `localhost:5432 (database app, user postgres)` or
/// `socket /run/pg/.s.PGSQL.5432 (…)`. Never holds a password.
pub(crate) fn describe(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("socket {}/.s.PGSQL.{port}", dir.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "the default host".to_owned()
    } else {
        hosts.join(", ")
    };
    let mut details = Vec::new();
    if let Some(db) = config.get_dbname() {
        details.push(format!("database {db}"));
    }
    if let Some(user) = config.get_user() {
        details.push(format!("user {user}"));
    }
    if details.is_empty() {
        hosts
    } else {
        format!("{hosts} ({})", details.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn targets_are_described_without_the_password() {
        let c: tokio_postgres::Config = "postgresql://app:s3cret@db.example:6432/shop?host=/run/pg"
            .parse()
            .unwrap();
        let text = super::describe(&c);
        assert_eq!(
            text,
            "db.example:6432, socket /run/pg/.s.PGSQL.6432 (database shop, user app)"
        );
        assert!(!text.contains("s3cret"));
    }
}
