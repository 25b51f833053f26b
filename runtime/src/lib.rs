#![doc = include_str!("../../README.md")]
#![deny(clippy::print_stdout, clippy::print_stderr)]
// The README (these docs) shows whole build scripts and binaries, `fn main` included.
#![allow(clippy::needless_doctest_main)]

#[cfg(feature = "adopt")]
mod adopt;
mod batch;
mod code;
#[cfg(feature = "connect")]
pub mod connect;
mod db;
#[cfg(feature = "schema")]
mod drift;
mod error;
pub mod events;
mod execute;
#[cfg(test)]
mod fixtures;
#[cfg(feature = "fleet")]
pub mod fleet;
mod history;
mod locate;
mod lock;
mod maintenance;
mod migrations;
mod migrator;
mod phase;
mod placeholders;
mod plan;
mod registry;
mod report;
#[cfg(feature = "schema")]
pub mod schema;
mod sql;
mod stale;
mod status;
mod stop;
mod table;
mod target;
#[cfg(feature = "adopt")]
mod tool;
mod visit;
mod waiting;
mod warning;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "adopt")]
pub use adopt::{Adopt, AdoptError, AdoptReport, Tool, UnknownTool};
pub use code::progress;
pub use db::Db;
pub use error::{Error, MigrationFailed};
#[cfg(feature = "fleet")]
pub use fleet::{Fleet, FleetReport, FleetStatus, FleetTarget};
pub use maintenance::RepairReport;
pub use migrations::{Migration, MigrationKind, Migrations, Script};
pub use migrator::Migrator;
pub use phase::Phase;
pub use plan::{Plan, PlannedStep, Reason};
#[cfg(feature = "rolling")]
pub use registry::{Instance, InstanceEvent, Registration};
pub use report::{Direction, Report, SkipReason, SkippedStep, StepReport};
pub use status::{State, Status, StatusEntry};
pub use stop::Stop;
pub use target::{Target, TransactionMode};
pub use waiting::{LiveInstance, WaitingContract};
pub use warning::Warning;

/// Embeds a folder of migrations at compile time.
///
/// ```ignore
/// static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("migrations");
/// static WITH_SEED: tidemark::Migrations =
///     tidemark::embed_migrations!("migrations", ignore = ["seed_data.sql"]);
/// ```
///
/// The path is relative to the crate root (the directory of `Cargo.toml`). The folder is read,
/// validated and checksummed during the build; every problem is a compile error naming the file,
/// line and column. Each file is embedded with `include_str!`, so editing a migration rebuilds
/// the crate; a *new* file needs the build to rerun: add a `build.rs` that prints
/// `cargo:rerun-if-changed=migrations` (it needs no build dependency).
pub use tidemark_macros::embed_migrations;

/// An async test that receives a fresh database migrated with a set (feature `testing`).
///
/// ```ignore
/// static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("migrations");
///
/// #[tidemark::test] // uses `MIGRATIONS`; or #[tidemark::test(migrations = OTHER)]
/// async fn inserts_a_user(pool: tidemark::deadpool_postgres::Pool) {
///     let client = pool.get().await.unwrap();
///     client.execute("INSERT INTO users (email) VALUES ('a@b.c')", &[]).await.unwrap();
/// }
/// ```
///
/// The one argument is a `deadpool_postgres::Pool` or a `&TestDatabase`; the test may return
/// `()` or a `Result`. `at = "41"` stops at that version (a compile error when the set has no
/// such version) and `fixtures("users.sql", …)` loads SQL files there (read and checked at
/// compile time, see [`fixtures!`]): a data test migrates on with `db.migrate_to(42)`. Each test gets its own database, cloned from a template (see
/// [`testing::TestDatabase`]), so tests run in parallel under `cargo test` and `cargo nextest`.
#[cfg(feature = "testing")]
pub use tidemark_macros::test;

/// SQL files to load into a test database after migrating (feature `testing`), read and checked
/// at compile time and embedded: `&'static [Fixture]`.
///
/// ```ignore
/// static USERS: &[tidemark::testing::Fixture] = tidemark::fixtures!("users.sql", "orders.sql");
/// let db = TestDatabase::builder(&MIGRATIONS).at("2").fixtures(USERS).build().await?;
/// ```
///
/// Each path is relative to the crate root, or to a `fixtures/` folder beside the tests
/// (`tests/fixtures/`, `src/fixtures/`, `fixtures/`). A missing file, a quote left open (and,
/// with the feature `syntax`, a syntax error) is a compile error at `path:line:col`. The same
/// list is `#[tidemark::test(fixtures("users.sql"))]`.
#[cfg(feature = "testing")]
pub use tidemark_macros::fixtures;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// For build scripts: make a new migration file rebuild the crate that embeds its folder.
///
/// The build script that costs nothing prints the line itself and needs no build dependency:
///
/// ```no_run
/// // build.rs
/// fn main() {
///     println!("cargo:rerun-if-changed=migrations");
/// }
/// ```
///
/// `tidemark::build::rerun_if_changed("migrations")` does the same (and skips a folder that does
/// not exist), but as a `[build-dependencies]` entry it compiles tidemark a second time for the
/// host. Without either, `embed_migrations!` warns at build time, and a debug binary warns at
/// run time when its folder has files it did not embed.
pub mod build {
    pub use tidemark_core::rerun_if_changed;
}

/// Re-exported so users get the versions tidemark is built against.
pub use deadpool_postgres;
/// Re-exported so users get the versions tidemark is built against.
pub use tokio_postgres;
