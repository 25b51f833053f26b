//! The test rig of the tidemark repository: what its own tests and benchmarks need beyond the
//! user-facing kit (`tidemark::testing`). A wire relay that counts round trips, connection
//! strings for child processes, a relay that makes the link slow, and servers set up in special ways.

mod conn;
mod delay;
mod files;
mod pgbouncer;
mod roundtrips;
pub mod scratch;
mod servers;

pub use conn::connection_string;
pub use delay::DelayRelay;
pub use files::copy_dir;
pub use pgbouncer::PgBouncer;
pub use roundtrips::{RoundTripCounter, Seen};
pub use servers::{password_server, plain_tcp_server, tls_server, PasswordServer, TlsServer};

use tidemark::testing::TestServer;

/// Why one of the rig's servers could not be set up (a cluster, a TLS server, a PgBouncer).
pub type SetupError = Box<dyn std::error::Error + Send + Sync>;

/// Creates an empty database with a unique name on `server` and returns the name: for
/// benchmarks, which time creation and migration themselves (tests use
/// `tidemark::testing::TestDatabase`, which also drops it).
pub async fn create_database(
    server: &TestServer,
) -> Result<String, tidemark::tokio_postgres::Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "tm_rig_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let admin = server.connect(server.admin_database()).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    Ok(name)
}

/// Drops a database made by [`create_database`], disconnecting whoever is still connected.
pub async fn drop_database(
    server: &TestServer,
    name: &str,
) -> Result<(), tidemark::tokio_postgres::Error> {
    let admin = server.connect(server.admin_database()).await?;
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            name.replace('"', "\"\"")
        ))
        .await
}
