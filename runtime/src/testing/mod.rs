//! Test support (feature `testing`): a throwaway PostgreSQL server, a fresh migrated database
//! per test cloned from a template, databases at a given version, and a reversibility check.
//!
//! ```no_run
//! # async fn t() -> Result<(), tidemark::testing::TestError> {
//! use tidemark::testing::TestDatabase;
//! static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
//!
//! let db = TestDatabase::new(&MIGRATIONS).await?; // isolated, fully migrated, ~10 ms
//! let client = db.pool().get().await?;
//! client.execute("INSERT INTO users (email) VALUES ('a@example.com')", &[]).await?;
//! # Ok(()) }
//! ```

mod database;
mod reversible;
mod schema_file;
mod server;
mod snapshot;
mod template;

pub use database::TestDatabase;
pub use reversible::{
    assert_all_reversible, assert_reversible, check_reversible, Irreversible, Reversibility,
};
pub use schema_file::{assert_schema_file, check_schema_file};
pub use server::{server, ServerError, TestServer, URL_VARIABLE};
pub use snapshot::snapshot;

#[doc(hidden)]
pub use server::cluster;

use std::fmt;

/// Why a test database could not be provided.
#[derive(Debug)]
pub struct TestError(String);

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestError {}

impl From<tokio_postgres::Error> for TestError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self(format!("test database: {}", crate::error::driver_text(&e)))
    }
}

impl From<crate::Error> for TestError {
    fn from(e: crate::Error) -> Self {
        Self(format!("migrating a test database: {e}"))
    }
}

impl From<ServerError> for TestError {
    fn from(e: ServerError) -> Self {
        Self(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for TestError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self(format!("test database pool: {}", crate::Error::from(e)))
    }
}

/// The runtime `#[tidemark::test]` runs a test on. Not public API.
#[doc(hidden)]
pub fn __runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds")
}
