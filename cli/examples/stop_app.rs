//! The application the signal tests stop (`cli/tests/signals.rs`): a self-migrating binary
//! with the `migrate` subcommand over one of four folders (`STOP_FOLDER`: `none`,
//! `transactional`, `no_transaction` or `code`), each a slow migration after a step of that
//! kind.

use std::process::ExitCode;
use tidemark::Migrations;
use tidemark_cli::clap::{self, Parser};

// The fixtures never change while a test runs, so no build script watches them (the macro
// would otherwise warn that a file added there is not seen until the crate rebuilds).
#[allow(deprecated)]
static NONE: Migrations = tidemark::embed_migrations!("tests/fixtures/stop/none");
#[allow(deprecated)]
static TRANSACTIONAL: Migrations = tidemark::embed_migrations!("tests/fixtures/stop/transactional");
#[allow(deprecated)]
static NO_TRANSACTION: Migrations =
    tidemark::embed_migrations!("tests/fixtures/stop/no_transaction");
#[allow(deprecated)]
static CODE: Migrations = tidemark::embed_migrations!("tests/fixtures/stop/code");

#[derive(Parser)]
enum App {
    /// Manage the schema.
    Migrate(tidemark_cli::MigrateArgs),
}

fn main() -> ExitCode {
    let App::Migrate(args) = App::parse();
    let set = match std::env::var("STOP_FOLDER").as_deref() {
        Ok("transactional") => &TRANSACTIONAL,
        Ok("no_transaction") => &NO_TRANSACTION,
        Ok("code") => &CODE,
        _ => &NONE,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    ExitCode::from(runtime.block_on(tidemark_cli::run(set, &args)))
}
