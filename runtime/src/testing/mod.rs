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
mod fixture;
mod reversible;
mod schema_file;
mod server;
mod template;

pub use database::{TestDatabase, TestDatabaseBuilder};
pub use fixture::Fixture;
pub use reversible::{
    assert_all_reversible, assert_reversible, check_reversible, Irreversible, Reversibility,
};
pub use schema_file::{assert_schema_file, check_schema_file};
pub use server::{server, ServerError, TestServer, URL_VARIABLE};

/// Why a test database could not be provided; the cause is kept as a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    /// No test server.
    #[error("{0}")]
    Server(&'static ServerError),
    /// A statement of the kit's own failed.
    #[error("test database: {}", crate::error::driver_text(.0))]
    Database(tokio_postgres::Error),
    /// Migrating the test database failed.
    #[error("migrating a test database: {0}")]
    Migrate(crate::Error),
    /// No connection from the test database's pool.
    #[error("test database pool: {0}")]
    Pool(crate::Error),
    /// The test binary is older than its migration folder (debug builds).
    #[error("{0}")]
    Stale(String),
    /// Connections to a database did not close in time (it cannot be dropped or cloned).
    #[error("connections to {database} did not close within {waited:?}")]
    Busy {
        /// The database.
        database: String,
        /// How long the kit waited.
        waited: std::time::Duration,
    },
    /// Dropping a test database did not finish (its background task failed).
    #[error("dropping a test database: {0}")]
    Drop(tokio::task::JoinError),
    /// A file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// A fixture failed to load.
    #[error("fixture {path}: {message}")]
    Fixture {
        /// The fixture's file, relative to the crate root.
        path: String,
        /// `line:col:` where the server gives a position, and its message.
        message: String,
    },
    /// The schema could not be read or written as a file.
    #[error("the schema file: {0}")]
    Schema(crate::Error),
    /// The committed schema file is not the schema the migrations make.
    #[error("{difference}; run `tidemark schema -o {}` and review the change", path.display())]
    SchemaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Where it first differs.
        difference: crate::schema::FileDifference,
    },
}

impl From<tokio_postgres::Error> for TestError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Database(e)
    }
}

impl From<crate::Error> for TestError {
    fn from(e: crate::Error) -> Self {
        Self::Migrate(e)
    }
}

impl From<&'static ServerError> for TestError {
    fn from(e: &'static ServerError) -> Self {
        Self::Server(e)
    }
}

impl From<deadpool_postgres::PoolError> for TestError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(crate::Error::from(e))
    }
}
