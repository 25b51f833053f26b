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
mod args;
mod output;
mod progress;

pub use args::{MigrateArgs, MigrateCommand, Options};

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

/// Runs `migrate <verb>` against `set`; prints the outcome and returns the exit code.
pub async fn run(set: &Migrations, args: &MigrateArgs) -> u8 {
    execute(set, &args.command, &args.options).await
}

/// Runs one verb; prints the outcome and returns the exit code.
pub async fn execute(set: &Migrations, command: &MigrateCommand, options: &Options) -> u8 {
    let out = output::Output::new(options.json);
    let Some(url) = options.database_url.as_deref() else {
        out.error_text(
            "config",
            "no database: pass --database-url or set DATABASE_URL",
        );
        return exit::USAGE;
    };
    let pool = match crate::connect::pool_from_url(url, 2) {
        Ok(p) => p,
        Err(message) => {
            out.error_text("connection", &message);
            return exit::CONNECTION;
        }
    };
    let m = migrator(set, options);
    let result = progress::with_progress(out.json(), dispatch(&m, command, &pool, &out)).await;
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
        MigrateCommand::Up => report(
            out,
            &m.clone().target(Target::Latest).run(pool).await?,
            false,
        ),
        MigrateCommand::To { version } => {
            let target = if version.eq_ignore_ascii_case("initial") {
                Target::Initial
            } else {
                Target::Version(version.clone())
            };
            report(out, &m.clone().target(target).run(pool).await?, false)
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
            report(out, &m.clone().target(target).run(pool).await?, false)
        }
        MigrateCommand::DryRun => report(out, &m.dry_run(pool).await?, true),
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

fn report(out: &output::Output, report: &crate::Report, dry_run: bool) -> Result<u8, Error> {
    out.report(report, dry_run);
    Ok(exit::OK)
}
