//! The database verbs as a clap subcommand (feature `cli`), for the `tidemark` binary and for
//! self-migrating programs: `myapp migrate status`.
//!
//! ```no_run
//! use clap::Parser;
//!
//! static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
//!
//! #[derive(Parser)]
//! enum App {
//!     /// Run the service.
//!     Serve,
//!     /// Manage the database schema.
//!     Migrate(tidemark::cli::MigrateArgs),
//! }
//!
//! # async fn main_() {
//! match App::parse() {
//!     App::Serve => { /* MIGRATIONS.migrator().run(&pool).await?; serve */ }
//!     App::Migrate(args) => std::process::exit(tidemark::cli::run(&MIGRATIONS, &args).await.into()),
//! }
//! # }
//! ```
//!
//! Exit codes: see [`exit`].
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod output;

use crate::error::Error;
use crate::migrations::Migrations;
use crate::status::State;
use crate::target::{Target, TransactionMode};
use crate::Migrator;
use std::time::Duration;

/// Exit codes, stable for scripts.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A migration, validation or check failed.
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage (clap's own code).
    pub const USAGE: u8 = 2;
    /// `status --exit-code`: migrations are pending (or history is not clean).
    pub const PENDING: u8 = 3;
    /// The advisory lock was not acquired within `--lock-timeout`.
    pub const LOCK_TIMEOUT: u8 = 4;
    /// No connection to the database (unreachable, authentication, bad connection string).
    pub const CONNECTION: u8 = 5;
}

/// `migrate <verb>` with the run-time options.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MigrateCommand,
    /// How to connect and run.
    #[command(flatten)]
    pub options: Options,
}

/// Connection and run-time options shared by every database verb.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Connection string (URL or `key=value` form); never printed.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Schema of the history table.
    #[arg(long, default_value = "public", global = true)]
    pub schema: String,
    /// Name of the history table.
    #[arg(long, default_value = "tidemark_history", global = true)]
    pub table: String,
    /// Seconds to wait for the migration lock.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, global = true)]
    pub lock_timeout: u64,
    /// Run everything in one transaction (all or nothing).
    #[arg(long, global = true)]
    pub single_transaction: bool,
    /// Apply pending versions below the highest applied one.
    #[arg(long, global = true)]
    pub allow_out_of_order: bool,
    /// Accept applied versions unknown to the migrations.
    #[arg(long, global = true)]
    pub allow_missing: bool,
    /// Accept applied migrations whose file changed.
    #[arg(long, global = true)]
    pub allow_divergent: bool,
    /// Print JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The database verbs.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MigrateCommand {
    /// Show every migration: applied (when, how long), pending, divergent, missing, failed.
    Status {
        /// Exit with code 3 unless everything is applied and clean.
        #[arg(long)]
        exit_code: bool,
    },
    /// Apply every pending migration.
    Up,
    /// Roll back the last N applied migrations.
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Move to version V, up or down, as history requires.
    To {
        /// The target version (`0` style or `initial`).
        version: String,
    },
    /// Run the pending migrations in a transaction that is rolled back.
    DryRun,
    /// Record the versions up to V as applied without running them.
    Baseline {
        /// The last version the database already has.
        version: String,
    },
    /// Clear failed rows and re-record the checksums of edited migrations.
    Repair,
    /// Check history against the migrations without changing anything.
    Validate,
}

/// An error followed by its causes (`a: b: c`): tokio-postgres prints "db error" and keeps the
/// server's message in the source, which a person needs to see.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    crate::error::chain(e)
}

/// Runs `migrate <verb>` against `set`; prints the outcome and returns the exit code.
pub async fn run(set: &Migrations, args: &MigrateArgs) -> u8 {
    execute(set, &args.command, &args.options).await
}

/// Runs one verb; prints the outcome and returns the exit code.
pub async fn execute(set: &Migrations, command: &MigrateCommand, options: &Options) -> u8 {
    let out = output::Output::new(options.json);
    let Some(url) = options.database_url.as_deref() else {
        out.error_text(
            "no database: pass --database-url or set DATABASE_URL",
            "config",
        );
        return exit::USAGE;
    };
    let pool = match pool(url) {
        Ok(p) => p,
        Err(message) => {
            out.error_text(&message, "connection");
            return exit::CONNECTION;
        }
    };
    let m = migrator(set, options);
    let result = out.with_progress(dispatch(&m, command, &pool, &out)).await;
    pool.close();
    match result {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            code_of(&e)
        }
    }
}

fn migrator<'m>(set: &'m Migrations, o: &Options) -> Migrator<'m> {
    let mode = if o.single_transaction {
        TransactionMode::Single
    } else {
        TransactionMode::PerMigration
    };
    set.migrator()
        .schema(o.schema.clone())
        .table(o.table.clone())
        .lock_timeout(Duration::from_secs(o.lock_timeout))
        .transaction(mode)
        .allow_out_of_order(o.allow_out_of_order)
        .allow_missing(o.allow_missing)
        .allow_divergent(o.allow_divergent)
}

/// A pool for a connection string; the message never repeats the string.
fn pool(url: &str) -> Result<deadpool_postgres::Pool, String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("the connection string is not valid: {e}"))?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    deadpool_postgres::Pool::builder(manager)
        .max_size(2)
        .build()
        .map_err(|e| format!("cannot set up the connection pool: {e}"))
}

fn code_of(e: &Error) -> u8 {
    match e {
        Error::LockTimeout { .. } => exit::LOCK_TIMEOUT,
        Error::Pool(_) => exit::CONNECTION,
        _ => exit::FAILURE,
    }
}

async fn dispatch(
    m: &Migrator<'_>,
    command: &MigrateCommand,
    pool: &deadpool_postgres::Pool,
    out: &output::Output,
) -> Result<u8, Error> {
    match command {
        MigrateCommand::Status { exit_code } => {
            let status = m.status(pool).await?;
            out.status(&status);
            let clean = status.is_up_to_date();
            Ok(if *exit_code && !clean {
                exit::PENDING
            } else {
                exit::OK
            })
        }
        MigrateCommand::Up => out.report(&m.clone().target(Target::Latest).run(pool).await?, false),
        MigrateCommand::To { version } => {
            let target = if version.eq_ignore_ascii_case("initial") {
                Target::Initial
            } else {
                Target::Version(version.clone())
            };
            out.report(&m.clone().target(target).run(pool).await?, false)
        }
        MigrateCommand::Down { n } => {
            let status = m.status(pool).await?;
            let applied: Vec<&str> = status
                .entries
                .iter()
                .filter(|e| {
                    matches!(e.state, State::Applied | State::Divergent)
                        && !e.version.starts_with("R__")
                })
                .map(|e| e.version.as_str())
                .collect();
            let target = match applied.len().checked_sub(n + 1) {
                Some(i) => Target::Version(applied[i].to_owned()),
                None => Target::Initial,
            };
            out.report(&m.clone().target(target).run(pool).await?, false)
        }
        MigrateCommand::DryRun => out.report(&m.dry_run(pool).await?, true),
        MigrateCommand::Baseline { version } => {
            let adopted = m.baseline(pool, version).await?;
            out.list("baselined", "recorded as applied without running", &adopted);
            Ok(exit::OK)
        }
        MigrateCommand::Repair => {
            let r = m.repair(pool).await?;
            out.repair(&r);
            Ok(exit::OK)
        }
        MigrateCommand::Validate => {
            m.validate(pool).await?;
            out.valid();
            Ok(exit::OK)
        }
    }
}
