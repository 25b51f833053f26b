//! Shared helpers: a fresh database per test and catalog/history assertions.

use tidemark::deadpool_postgres::Pool;
use tidemark::testing::server;
use tidemark::tokio_postgres::config::Host;
use tidemark::tokio_postgres::Config;

/// A new, empty database on the test server, with a pool.
pub(crate) struct TestDb {
    pub(crate) name: String,
    pub(crate) pool: Pool,
}

pub(crate) async fn fresh_db() -> TestDb {
    let server = server().unwrap_or_else(|e| panic!("no test server: {e}"));
    let name = server
        .create_database()
        .await
        .expect("create a test database");
    TestDb {
        pool: server.pool(&name, 4),
        name,
    }
}

impl TestDb {
    /// Another, independent pool on the same database.
    pub(crate) fn new_pool(&self, size: usize) -> Pool {
        server().unwrap().pool(&self.name, size)
    }

    /// A libpq-style connection string for child processes (not for printing).
    pub(crate) fn conn_string(&self) -> String {
        conn_string(&server().unwrap().config(&self.name))
    }

    pub(crate) async fn table_exists(&self, table: &str) -> bool {
        let c = self.pool.get().await.unwrap();
        let row = c
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .unwrap();
        row.get(0)
    }

    /// `(version, name, hex checksum, success)` of every history row, in version order.
    pub(crate) async fn history(&self) -> Vec<(String, String, String, bool)> {
        let c = self.pool.get().await.unwrap();
        c.query(
            "SELECT version, name, encode(checksum, 'hex'), success FROM tidemark_history \
             ORDER BY version_key NULLS LAST, version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
    }

    /// Advisory locks held in this database by anyone.
    pub(crate) async fn advisory_locks(&self) -> i64 {
        let c = self.pool.get().await.unwrap();
        c.query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    }
}

fn conn_string(c: &Config) -> String {
    let mut parts = Vec::new();
    if let Some(Host::Unix(p)) = c.get_hosts().first() {
        parts.push(format!("host={}", p.display()));
    } else if let Some(Host::Tcp(h)) = c.get_hosts().first() {
        parts.push(format!("host={h}"));
    }
    if let Some(port) = c.get_ports().first() {
        parts.push(format!("port={port}"));
    }
    if let Some(u) = c.get_user() {
        parts.push(format!("user={u}"));
    }
    if let Some(p) = c.get_password() {
        parts.push(format!("password={}", String::from_utf8_lossy(p)));
    }
    if let Some(d) = c.get_dbname() {
        parts.push(format!("dbname={d}"));
    }
    parts.join(" ")
}

/// Hex text of a checksum.
pub(crate) fn hex(sum: &[u8]) -> String {
    sum.iter().map(|b| format!("{b:02x}")).collect()
}
