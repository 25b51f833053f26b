//! tidemark's command line, as a library and as the `tidemark` binary (as sqlx-cli is).
//!
//! The library is the database verbs as a clap subcommand, for self-migrating programs:
//! `myapp migrate status`, `up`, `down`, … with the migrations built into `myapp`. Depend on it
//! without its default features (`tool`, the standalone binary's own verbs, and `tls`):
//!
//! ```toml
//! tidemark-cli = { version = "0.1", default-features = false }   # add "tls" for sslmode
//! ```
//!
//! ```no_run
//! use tidemark_cli::clap::{self, Parser};
//!
//! static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("../examples/migrations");
//!
//! #[derive(Parser)]
//! enum App {
//!     /// Run the service.
//!     Serve,
//!     /// Manage the database schema.
//!     Migrate(tidemark_cli::MigrateArgs),
//! }
//!
//! # async fn main_() {
//! match App::parse() {
//!     App::Serve => { /* MIGRATIONS.migrator().run(&pool).await?; serve */ }
//!     App::Migrate(args) => std::process::exit(tidemark_cli::run(&MIGRATIONS, &args).await.into()),
//! }
//! # }
//! ```
//!
//! With the feature `schema`, the subcommand also has `schema`, `drift` and `squash`, which
//! build the schema the migrations make on a scratch database (`--scratch-url` or
//! `TIDEMARK_SCRATCH_URL`, else a throwaway PostgreSQL from the machine's binaries), running the
//! application's code migrations there: `myapp migrate schema -o schema.sql`.
//!
//! Exit codes: see [`exit`].

mod args;
mod fleet;
mod messages;
mod output;
mod progress;
#[cfg(feature = "schema")]
mod say;
#[cfg(feature = "schema")]
pub mod schema;
#[cfg(feature = "tool")]
pub mod tool;

pub use args::{
    Apply, Database, FleetArgs, Lock, MigrateArgs, MigrateCommand, Policies, Substitution,
};
/// Re-exported so a binary can derive its own command line without a clap dependency of its
/// own, at the version tidemark's arguments are built with.
pub use clap;

use std::time::Duration;
use tidemark::Error;
use tidemark::Migrations;
use tidemark::Migrator;
use tidemark::State;
use tidemark::{Target, TransactionMode};

/// Exit codes, stable for scripts.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A migration, validation or check failed.
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage (clap's own code), or no database given.
    pub const USAGE: u8 = 2;
    /// `status --exit-code`: migrations are pending (or history is not clean).
    pub const PENDING: u8 = 3;
    /// The advisory lock was not acquired within `--lock-timeout`.
    pub const LOCK_TIMEOUT: u8 = 4;
    /// No connection to the database (unreachable, authentication, bad connection string), or
    /// only to a read-only standby.
    pub const CONNECTION: u8 = 5;
    /// `dry-run` could not run everything: a no-transaction migration (which cannot be rolled
    /// back) and what follows it were skipped.
    pub const DRY_RUN_INCOMPLETE: u8 = 6;
    /// `drift`: the database's schema is not what its applied migrations make (scripts:
    /// `tidemark drift || alert`).
    pub const DRIFTED: u8 = 7;
    /// The database has a contract migration this build lacks (an old release after the
    /// contract ran): it must not start.
    pub const MISSING_CONTRACT: u8 = 8;
    /// `contract` without `--force`: live registered instances lack a pending contract
    /// migration (they are named); nothing ran.
    pub const CONTRACT_WAITING: u8 = 9;
    /// Stopped by SIGINT (Ctrl-C): the running statement was cancelled, the lock released.
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM: the running statement was cancelled, the lock released.
    pub const TERMINATED: u8 = 143;
}

/// The CLI's wording of an error (flags, not API options; where the connection went).
#[cfg(feature = "schema")]
pub(crate) fn describe_error(e: &Error, target: &str) -> String {
    messages::describe(e, target)
}

/// Runs `migrate <verb>` against `set`; prints the outcome and returns the exit code.
pub async fn run(set: &Migrations, args: &MigrateArgs) -> u8 {
    execute(set, &args.command).await
}

/// Runs one verb; prints the outcome and returns the exit code.
pub async fn execute(set: &Migrations, command: &MigrateCommand) -> u8 {
    execute_in(set, command, None).await
}

/// [`execute`], for a set read from `folder` (where `squash` writes its checkpoint).
pub(crate) async fn execute_in(
    set: &Migrations,
    command: &MigrateCommand,
    folder: Option<&std::path::Path>,
) -> u8 {
    #[cfg(feature = "schema")]
    if let Some(code) = schema::execute(set, command, folder).await {
        return code;
    }
    let _ = folder;
    let Some(db) = command.database() else {
        return exit::USAGE; // a schema verb, without the feature that runs it: never parsed
    };
    let out = output::Output::new(db.json);
    let Some(url) = db.database_url.as_deref() else {
        out.error_text(
            "config",
            "no database: pass --database-url or set DATABASE_URL",
        );
        return exit::USAGE;
    };
    let connect = tidemark::connect::ConnectOptions::parse(url);
    if let Some(f) = command.fleet() {
        return match connect {
            Ok(c) => fleet::execute(migrator(set, command), command, f, &c, &out).await,
            Err(e) => {
                out.error(&e, &e.to_string());
                exit::CONNECTION
            }
        };
    }
    let (pool, target) = match connect.and_then(|c| Ok((c.pool(2)?, c.target()))) {
        Ok(p) => p,
        Err(e) => {
            out.error(&e, &e.to_string());
            return exit::CONNECTION;
        }
    };
    // SIGINT and SIGTERM stop the run: the statement running is cancelled on the server, the
    // lock is released, and what committed is said.
    let stop = tidemark::Stop::new();
    let signal = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let listener = tokio::spawn(watch_signals(stop.clone(), signal.clone()));
    let m = migrator(set, command).stop_on(stop);
    let result = progress::with_progress(out.json(), dispatch(&m, command, &pool, &out)).await;
    listener.abort();
    pool.close();
    let by_signal = signal.load(std::sync::atomic::Ordering::SeqCst);
    match result {
        Ok(code) => code,
        Err(e) => {
            let message = messages::describe(&e, &target);
            out.error(&e, &message);
            if by_signal != 0 {
                by_signal
            } else {
                code_of(&e)
            }
        }
    }
}

fn migrator<'m>(set: &'m Migrations, command: &MigrateCommand) -> Migrator<'m> {
    let mut m = set.migrator();
    if let Some(db) = command.database() {
        m = m.schema(db.schema.clone()).table(db.table.clone());
    }
    let (lock, policies, single) = match command {
        MigrateCommand::Up { apply, .. }
        | MigrateCommand::Down { apply, .. }
        | MigrateCommand::To { apply, .. }
        | MigrateCommand::Contract { apply, .. } => {
            if let Some(s) = apply.ddl_lock_timeout.filter(|s| s.is_finite() && *s > 0.0) {
                m = m
                    .ddl_lock_timeout(Duration::from_secs_f64(s))
                    .ddl_lock_retries(apply.ddl_lock_retries);
            }
            m = with_placeholders(m, &apply.substitution);
            (
                Some(&apply.lock),
                Some(&apply.policies),
                apply.single_transaction,
            )
        }
        MigrateCommand::DryRun {
            lock,
            policies,
            substitution,
            ..
        } => {
            m = with_placeholders(m, substitution);
            (Some(lock), Some(policies), false)
        }
        MigrateCommand::Baseline { lock, .. }
        | MigrateCommand::Adopt { lock, .. }
        | MigrateCommand::Repair { lock, .. } => (Some(lock), None, false),
        MigrateCommand::Validate { policies, .. } => (None, Some(policies), false),
        MigrateCommand::Instances { .. } => (None, None, false),
        MigrateCommand::Status { refuse_future, .. } => {
            m = m.allow_future(!refuse_future);
            (None, None, false)
        }
        #[cfg(feature = "schema")]
        MigrateCommand::Schema(_) | MigrateCommand::Drift(_) | MigrateCommand::Squash(_) => {
            (None, None, false)
        }
    };
    if let Some(l) = lock {
        m = m.lock_timeout(Duration::from_secs(l.lock_timeout));
    }
    if let Some(p) = policies {
        m = m
            .allow_out_of_order(p.allow_out_of_order)
            .allow_missing(p.allow_missing)
            .allow_divergent(p.allow_divergent)
            .allow_future(!p.refuse_future);
    }
    if single {
        m = m.transaction(TransactionMode::Single);
    }
    m
}

fn with_placeholders<'m>(m: Migrator<'m>, s: &args::Substitution) -> Migrator<'m> {
    if s.placeholder.is_empty() {
        m
    } else {
        m.placeholders(s.placeholder.iter().cloned())
    }
}

/// Stops `stop` at the first SIGINT or SIGTERM, noting which (as its exit code).
async fn watch_signals(stop: tidemark::Stop, which: std::sync::Arc<std::sync::atomic::AtomicU8>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    let code = tokio::select! {
        _ = int.recv() => exit::INTERRUPTED,
        _ = term.recv() => exit::TERMINATED,
    };
    which.store(code, std::sync::atomic::Ordering::SeqCst);
    stop.stop();
}

/// The exit code of an error (see [`exit`]).
#[cfg(feature = "schema")]
pub(crate) fn exit_code(e: &Error) -> u8 {
    code_of(e)
}

fn code_of(e: &Error) -> u8 {
    match e {
        Error::LockTimeout { .. } => exit::LOCK_TIMEOUT,
        Error::MissingContract { .. } => exit::MISSING_CONTRACT,
        Error::ContractWaiting { .. } => exit::CONTRACT_WAITING,
        // Not the primary: as good as no connection (a failover may be under way).
        Error::ReadOnlyServer => exit::CONNECTION,
        e if e.is_connection_lost() => exit::CONNECTION,
        _ => exit::FAILURE,
    }
}

async fn dispatch(
    m: &Migrator<'_>,
    command: &MigrateCommand,
    pool: &tidemark::deadpool_postgres::Pool,
    out: &output::Output,
) -> Result<u8, Error> {
    match command {
        MigrateCommand::Status { exit_code, .. } => {
            let status = m.status(pool).await?;
            out.status(&status);
            Ok(if *exit_code && !status.is_up_to_date() {
                exit::PENDING
            } else {
                exit::OK
            })
        }
        MigrateCommand::Up { .. } => move_to(m, Target::Latest, pool, out).await,
        MigrateCommand::To { version, .. } => {
            let target = if version.eq_ignore_ascii_case("initial") {
                Target::Initial
            } else {
                Target::Version(version.clone())
            };
            move_to(m, target, pool, out).await
        }
        MigrateCommand::Down { n, .. } => {
            let target = down_target(m, *n, pool).await?;
            move_to(m, target, pool, out).await
        }
        MigrateCommand::DryRun { .. } => {
            let report = m.dry_run(pool).await?;
            out.report(&report, true, None);
            Ok(if report.skipped.is_empty() {
                exit::OK
            } else {
                exit::DRY_RUN_INCOMPLETE
            })
        }
        MigrateCommand::Baseline { version, .. } => {
            let adopted = m.baseline(pool, version).await?;
            out.baselined(&adopted);
            Ok(exit::OK)
        }
        MigrateCommand::Adopt {
            tool, source_table, ..
        } => {
            let report = m.adopt(pool, adopt_from(tool, source_table)).await?;
            out.adopted(&report);
            Ok(exit::OK)
        }
        MigrateCommand::Repair { .. } => {
            let r = m.repair(pool).await?;
            out.repair(&r);
            Ok(exit::OK)
        }
        MigrateCommand::Validate { .. } => {
            m.validate(pool).await?;
            out.valid();
            Ok(exit::OK)
        }
        MigrateCommand::Instances { .. } | MigrateCommand::Contract { .. } => {
            rolling(m, command, pool, out).await
        }
        // Run by `schema::execute` before any connection is made.
        #[cfg(feature = "schema")]
        MigrateCommand::Schema(_) | MigrateCommand::Drift(_) | MigrateCommand::Squash(_) => {
            Ok(exit::USAGE)
        }
    }
}

/// `instances` and `contract [--force]` (rolling deploys).
async fn rolling(
    m: &Migrator<'_>,
    command: &MigrateCommand,
    pool: &tidemark::deadpool_postgres::Pool,
    out: &output::Output,
) -> Result<u8, Error> {
    if let MigrateCommand::Contract { force, .. } = command {
        let report = m.clone().force_contracts(*force).contract(pool).await?;
        out.report(&report, false, None);
    } else {
        out.instances(&m.instances(pool).await?);
    }
    Ok(exit::OK)
}

/// `down N`: the version N applied migrations below the newest (repeatables aside), or the
/// initial state when there are not that many.
async fn down_target(
    m: &Migrator<'_>,
    n: usize,
    pool: &tidemark::deadpool_postgres::Pool,
) -> Result<Target, Error> {
    let status = m.status(pool).await?;
    let applied: Vec<&str> = status
        .entries
        .iter()
        .filter(|e| {
            matches!(e.state, State::Applied | State::Divergent) && !e.version.starts_with("R__")
        })
        .map(|e| e.version.as_str())
        .collect();
    Ok(match applied.len().checked_sub(n + 1) {
        Some(i) => Target::Version(applied[i].to_owned()),
        None => Target::Initial,
    })
}

/// What `adopt` takes over: the named tool (clap accepts only the four names), or the one
/// whose table is found; from another table when one is named.
fn adopt_from(tool: &Option<String>, source_table: &Option<String>) -> tidemark::Adopt {
    let from = match tool.as_deref().map(str::parse::<tidemark::Tool>) {
        Some(Ok(tool)) => tidemark::Adopt::tool(tool),
        Some(Err(_)) | None => tidemark::Adopt::detect(),
    };
    match source_table {
        Some(t) => from.source_table(t.clone()),
        None => from,
    }
}

/// `up`, `down` and `to`: run and print the report (a failure prints what did commit, see
/// `Output::error`).
async fn move_to(
    m: &Migrator<'_>,
    target: Target,
    pool: &tidemark::deadpool_postgres::Pool,
    out: &output::Output,
) -> Result<u8, Error> {
    let already = match &target {
        Target::Version(v) => format!("already at version {v}"),
        Target::Initial => "already at the initial state: no migration is applied".to_owned(),
        _ => "nothing to do: the database is up to date".to_owned(),
    };
    let report = m.clone().target(target).run(pool).await?;
    out.report(&report, false, Some(&already));
    Ok(exit::OK)
}
