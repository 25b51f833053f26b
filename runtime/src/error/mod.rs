//! `tidemark::Error`: everything a verb can fail with, one variant per condition.
//!
//! Messages are complete on their own: `Display` carries the server's or the driver's words
//! (tokio-postgres's own `Display` says only "db error" and keeps them in its source chain), so
//! `source()` returns nothing and no printer that walks the chain shows a cause twice. The
//! driver's error stays available through [`Error::driver_error`].

#[cfg(feature = "adopt")]
mod adopt;

#[cfg(feature = "adopt")]
pub use adopt::AdoptError;

use crate::report::{Direction, Report};
use std::fmt;
use std::time::Duration;

/// An error from a tidemark verb. Messages name the migration file and say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection could be had from the pool (unreachable server, authentication, a closed
    /// pool).
    #[error("cannot get a database connection: {}", pool_text(.0))]
    Pool(Box<deadpool_postgres::PoolError>),
    /// A query tidemark issued for its own bookkeeping failed.
    #[error("{context}: {}", driver_text(.error))]
    Database {
        /// What tidemark was doing.
        context: &'static str,
        /// The driver's error.
        error: tokio_postgres::Error,
    },
    /// A migration script failed; see [`MigrationFailed`] for what was kept.
    #[error(transparent)]
    MigrationFailed(Box<MigrationFailed>),
    /// An applied migration's file changed after it was applied.
    #[error(
        "{path} (version {version}) was changed after it was applied: its checksum differs from \
         the one recorded; restore the file, or run `repair` if the change was intentional"
    )]
    Divergent {
        /// The version.
        version: String,
        /// The migration's name.
        name: String,
        /// The file.
        path: String,
    },
    /// History records a migration this binary does not have.
    #[error(
        "version {version} ({name}) is applied in the database but unknown to this set of \
         migrations; deploy a build that has it, or set `allow_missing(true)`"
    )]
    Missing {
        /// The version recorded in history.
        version: String,
        /// The name recorded in history.
        name: String,
    },
    /// History records a contract migration this binary's set does not have (a rollback of the
    /// deploy after the contract ran): what it removed may be what this release uses, so the
    /// release refuses to start. Future *expand* migrations stay tolerated.
    #[error(
        "contract migration {version} ({name}) is applied in the database but this build does not \
         have it: it removed or renamed what the previous release used, which may be what this \
         build uses; deploy a build that has it (or, knowing this build does not use what it \
         removed, set `allow_missing(true)`)"
    )]
    MissingContract {
        /// The contract migration's version, as recorded.
        version: String,
        /// Its name, as recorded.
        name: String,
    },
    /// `contract` (without force) found contract migrations whose gate is closed: live
    /// registered instances embed sets without them. Nothing ran.
    #[error("{}", waiting_text(waiting))]
    ContractWaiting {
        /// The waiting contract migrations, each with the instances that hold it.
        waiting: Vec<crate::WaitingContract>,
    },
    /// A pending migration is older than the newest applied one.
    #[error(
        "{path} (version {version}) is pending but the newer version {highest} is already \
         applied; give it a version above {highest} (`tidemark renumber {path}`), mark it \
         `-- tidemark:out-of-order` (`//` in a Rust file) to let this migration alone apply below, \
         or set `allow_out_of_order(true)` for the whole set"
    )]
    OutOfOrder {
        /// The pending version.
        version: String,
        /// Its file.
        path: String,
        /// The highest applied version.
        highest: String,
    },
    /// A rollback would cross a migration without a rollback script (or one this set does
    /// not have at all); nothing was run.
    #[error("cannot roll back version {version}{}", no_rollback_text(path.as_deref()))]
    NoRollback {
        /// The version without rollback.
        version: String,
        /// Its forward file; `None` when the version is applied but not in this set.
        path: Option<String>,
    },
    /// A migration squashed into the checkpoint, whose file is gone, would have to run: the
    /// database has some of the migrations the checkpoint stands for applied but not this one,
    /// or the target is below the checkpoint; nothing was run.
    #[error(
        "version {version} must run, but its file is gone: it is squashed into {checkpoint}, \
         which only a database with no migration applied can run (and only up to a target at \
         or above it); restore the squashed files from version control to migrate this \
         database, or choose a target at or above the checkpoint"
    )]
    Squashed {
        /// The squashed version that would have to run.
        version: String,
        /// The checkpoint's file.
        checkpoint: String,
    },
    #[cfg(feature = "schema")]
    /// The scratch database [`Migrator::drift`](crate::Migrator::drift) was given is not
    /// empty; nothing was changed.
    #[error(
        "the scratch database is not empty ({objects} schema objects): drift builds the expected \
         schema on an empty database; give it a new one"
    )]
    ScratchNotEmpty {
        /// How many objects its catalog holds.
        objects: usize,
    },
    #[cfg(feature = "schema")]
    /// The schema holds objects the schema file (`schema::Schema::to_sql`) does not write,
    /// and their kinds were not left out: a file without them would load into another
    /// schema.
    #[error(
        "the schema file cannot write {}; leave {} out explicitly ({}: the file's header then \
         lists what was left out), or create {} outside the migrations",
        objects.join(", "),
        if objects.len() == 1 { "it" } else { "them" },
        kinds.iter().map(|k| format!("`--leave-out '{k}'`")).collect::<Vec<_>>().join(" "),
        if objects.len() == 1 { "it" } else { "them" },
    )]
    SchemaUnwritten {
        /// Each object, as its kind and name (`operator class public.ops USING btree`).
        objects: Vec<String>,
        /// Their kinds, as `schema::Schema::leave_out` takes them.
        kinds: Vec<String>,
    },
    /// The server is a hot standby (in recovery), where nothing can be migrated; refused before
    /// the migration lock was taken.
    #[error(
        "the server is a read-only standby (in recovery): migrations need the primary; connect \
         to it, or list every host in the connection string with \
         `target_session_attrs=read-write` so that the writable one is chosen"
    )]
    ReadOnlyServer,
    /// The target version is not in the migration set.
    #[error("target version {version} is not a migration of this set")]
    UnknownTarget {
        /// The requested version.
        version: String,
    },
    /// The advisory lock was not acquired within the lock timeout.
    #[error(
        "gave up waiting for the migration lock (key {key}) after {}; it is held by \
         {holder}; wait for that migration to finish, or raise `lock_timeout`",
        crate::report::human(*waited)
    )]
    LockTimeout {
        /// The advisory lock key.
        key: i64,
        /// How long tidemark waited.
        waited: Duration,
        /// Who held it, as far as `pg_stat_activity` tells.
        holder: String,
    },
    /// A no-transaction migration failed midway in an earlier run.
    #[error(
        "{} (version {version}, {name}) failed midway in an earlier run and left a failed row \
         in history; finish or undo its statements by hand, then run `repair` to clear the row",
        path.as_deref().unwrap_or("a migration this set does not have")
    )]
    Dirty {
        /// The version of the failed row.
        version: String,
        /// Its name.
        name: String,
        /// Its forward file; `None` when the set does not have the version.
        path: Option<String>,
    },
    /// [`Migrator::execute`](crate::Migrator::execute) was given a plan made before history
    /// changed; nothing was run.
    #[error("history changed since the plan was made; plan again")]
    StalePlan,
    /// [`Migrator::baseline`](crate::Migrator::baseline) and
    /// [`Migrator::adopt`](crate::Migrator::adopt) need a database without tidemark history
    /// (adopt accepts one that already records exactly what it would).
    #[error(
        "this database already has tidemark history ({rows} rows; `status` shows them): baseline \
         and adopt are for a database tidemark has not migrated yet; to go on from what it \
         recorded, run `up`"
    )]
    HistoryNotEmpty {
        /// How many history rows there are.
        rows: usize,
    },
    /// The history table holds something tidemark did not write.
    #[error("the history table {table} has an unexpected {what}; is it a tidemark history table?")]
    CorruptHistory {
        /// The table, qualified and quoted.
        table: String,
        /// What is wrong (a column's value).
        what: String,
    },
    /// A single-transaction run ([`TransactionMode::Single`](crate::TransactionMode::Single))
    /// holds a migration that runs outside a transaction; nothing was run.
    #[error(
        "{path} (version {version}) runs outside a transaction, so it cannot be part of a \
         single-transaction run; use `TransactionMode::PerMigration` (the default)"
    )]
    NoTransactionInSingleRun {
        /// The no-transaction migration.
        version: String,
        /// Its file.
        path: String,
    },
    /// A script cannot be split into statements at run time (a quote or comment left open).
    /// Only a set that bypassed tidemark's build-time checks can hold one; nothing of it ran.
    #[error("{path}:{line}:{column}: {message}; the script was not run")]
    InvalidScript {
        /// The file.
        path: String,
        /// 1-based line of the construct left open.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is open.
        message: String,
    },
    /// A script holds a `${name}` placeholder that was given no value
    /// ([`Migrator::placeholders`](crate::Migrator::placeholders)); nothing ran.
    #[error(
        "{path}:{line}:{column}: placeholder `${{{name}}}` has no value; give it one with \
         Migrator::placeholder (or --placeholder {name}=VALUE); nothing was run"
    )]
    PlaceholderUnset {
        /// The file.
        path: String,
        /// 1-based line of the placeholder.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The placeholder's name.
        name: String,
    },
    /// The role lacks a privilege that tidemark's bookkeeping needs.
    #[error("{doing}: {message}; the role needs {needed}")]
    MissingPrivilege {
        /// What tidemark was doing.
        doing: &'static str,
        /// The privilege and the object it is on.
        needed: String,
        /// The server's words.
        message: String,
    },
    /// The run was stopped on request ([`Migrator::stop_on`](crate::Migrator::stop_on)): the
    /// statement running was cancelled (its transaction rolled back) and nothing after it ran.
    #[error(
        "stopped on request: {} committed before; the migration that was running did not \
         (a no-transaction one may have left a failed row: see `status`)",
        count(applied.steps.len())
    )]
    Interrupted {
        /// What committed before the stop.
        applied: Report,
    },
    #[cfg(feature = "connect")]
    /// A connection string cannot be used (its syntax, its `sslmode`, its root certificate).
    #[error("the connection string cannot be used: {reason}")]
    ConnectionString {
        /// What is wrong; never the string itself.
        reason: String,
    },
    /// Another tool's history cannot be adopted ([`Migrator::adopt`](crate::Migrator::adopt));
    /// nothing was recorded.
    #[cfg(feature = "adopt")]
    #[error(transparent)]
    Adopt(Box<AdoptError>),
    /// A Rust code migration would run from a set read from a folder at run time (the
    /// `tidemark` binary), which holds no code; nothing was run.
    #[error(
        "{path} (version {version}) is a Rust code migration, which this program cannot run \
         (it reads the folder, the code is compiled into your application); nothing was run: run \
         your application's own `migrate` subcommand (`tidemark-cli`), which has it embedded"
    )]
    CodeNotEmbedded {
        /// The code migration.
        version: String,
        /// Its file.
        path: String,
    },
    /// A Rust code migration that runs in a transaction needs a session tidemark owns to open
    /// a `tokio_postgres::Transaction` on; the verb was given a shared `&Client`. Nothing was run.
    #[error(
        "{path} (version {version}) is a Rust code migration, which needs a connection of \
         tidemark's own to open its transaction on; pass a pool (`deadpool_postgres::Pool`) \
         instead of a client; nothing was run"
    )]
    CodeNeedsPool {
        /// The code migration.
        version: String,
        /// Its file.
        path: String,
    },
    /// A schema or table name cannot be used.
    #[error("the history {what} name {name:?} cannot be used: {reason}")]
    InvalidName {
        /// `schema` or `table`.
        what: &'static str,
        /// The name given.
        name: String,
        /// Why.
        reason: &'static str,
    },
}

impl Error {
    pub(crate) fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |error| Self::Database { context, error }
    }

    /// A stable, machine-readable name of the kind of error: the `kind` of the CLI's JSON
    /// error object (`migration_failed`, `lock_timeout`, …; the README lists them all).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pool(_) => "connection",
            Self::Database { .. } => "database",
            Self::MigrationFailed(_) => "migration_failed",
            Self::Divergent { .. } => "divergent",
            Self::Missing { .. } => "missing",
            Self::OutOfOrder { .. } => "out_of_order",
            Self::MissingContract { .. } => "missing_contract",
            Self::ContractWaiting { .. } => "contract_waiting",
            Self::NoRollback { .. } => "no_rollback",
            Self::UnknownTarget { .. } => "unknown_target",
            Self::LockTimeout { .. } => "lock_timeout",
            Self::Dirty { .. } => "dirty",
            Self::StalePlan => "stale_plan",
            Self::HistoryNotEmpty { .. } => "history_not_empty",
            Self::CorruptHistory { .. } => "corrupt_history",
            Self::NoTransactionInSingleRun { .. } => "no_transaction_in_single_run",
            Self::InvalidScript { .. } => "invalid_script",
            Self::PlaceholderUnset { .. } => "placeholder_unset",
            #[cfg(feature = "connect")]
            Self::ConnectionString { .. } => "connection_string",
            Self::Interrupted { .. } => "interrupted",
            Self::MissingPrivilege { .. } => "missing_privilege",
            Self::InvalidName { .. } => "invalid_name",
            #[cfg(feature = "adopt")]
            Self::Adopt(e) => e.kind(),
            Self::CodeNotEmbedded { .. } => "code_not_embedded",
            Self::CodeNeedsPool { .. } => "code_needs_pool",
            Self::ReadOnlyServer => "read_only_server",
            Self::Squashed { .. } => "squashed",
            #[cfg(feature = "schema")]
            Self::ScratchNotEmpty { .. } => "scratch_not_empty",
            #[cfg(feature = "schema")]
            Self::SchemaUnwritten { .. } => "schema_unwritten",
        }
    }

    /// The SQLSTATE of the server error behind this error, if there is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Self::MigrationFailed(f) => f.sqlstate.as_deref(),
            _ => self.driver_error()?.code().map(|c| c.code()),
        }
    }

    /// The version of the migration the error is about, if it is about one.
    pub fn migration(&self) -> Option<&str> {
        match self {
            Self::MigrationFailed(f) => Some(&f.version),
            Self::Divergent { version, .. }
            | Self::Missing { version, .. }
            | Self::MissingContract { version, .. }
            | Self::OutOfOrder { version, .. }
            | Self::NoRollback { version, .. }
            | Self::Squashed { version, .. }
            | Self::Dirty { version, .. }
            | Self::NoTransactionInSingleRun { version, .. }
            | Self::CodeNotEmbedded { version, .. }
            | Self::CodeNeedsPool { version, .. } => Some(version),
            _ => None,
        }
    }

    /// The file the error is about, when its message names one (the migration's forward or
    /// rollback file, a checkpoint, the script that cannot run).
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::MigrationFailed(f) => Some(&f.path),
            Self::Divergent { path, .. }
            | Self::OutOfOrder { path, .. }
            | Self::NoTransactionInSingleRun { path, .. }
            | Self::InvalidScript { path, .. }
            | Self::PlaceholderUnset { path, .. }
            | Self::CodeNotEmbedded { path, .. }
            | Self::CodeNeedsPool { path, .. } => Some(path),
            Self::NoRollback { path, .. } | Self::Dirty { path, .. } => path.as_deref(),
            Self::Squashed { checkpoint, .. } => Some(checkpoint),
            #[cfg(feature = "adopt")]
            Self::Adopt(a) => match a.as_ref() {
                AdoptError::Mismatch { path, .. } => path.as_deref(),
                AdoptError::ForeignHistory { .. } => None,
            },
            _ => None,
        }
    }

    /// The line and column in [`path`](Self::path) the error points at, when it points at one.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Self::MigrationFailed(f) => f.line.zip(f.column),
            Self::InvalidScript { line, column, .. }
            | Self::PlaceholderUnset { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// What a failed run committed before it failed (the migrations before the failing one),
    /// when the error comes from running migrations.
    pub fn partial_report(&self) -> Option<&Report> {
        match self {
            Self::MigrationFailed(f) => Some(&f.applied),
            Self::Interrupted { applied } => Some(applied),
            _ => None,
        }
    }

    /// Whether the connection to the server was lost (closed, a broken socket, the backend
    /// terminated, the server shutting down): what the CLI reports with exit code 5.
    pub fn is_connection_lost(&self) -> bool {
        if matches!(self, Self::Pool(_)) {
            return true;
        }
        #[cfg(feature = "connect")]
        if matches!(self, Self::ConnectionString { .. }) {
            return true;
        }
        let Some(e) = self.driver_error() else {
            return false;
        };
        let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
        let code = e.code().map(|c| c.code());
        e.is_closed()
            || io
            || code.is_some_and(|c| c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03"))
    }

    /// The tokio-postgres error behind this error, if there is one.
    pub fn driver_error(&self) -> Option<&tokio_postgres::Error> {
        match self {
            Self::Database { error, .. } => Some(error),
            Self::MigrationFailed(f) => f.cause.downcast_ref(),
            Self::Pool(p) => match p.as_ref() {
                deadpool_postgres::PoolError::Backend(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(Box::new(e))
    }
}

/// A driver error in full: for a server error its message and SQLSTATE (with detail and hint),
/// otherwise what failed and why (`error connecting to server: Connection refused`).
pub(crate) fn driver_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            text.push_str(&format!("; detail: {d}"));
        }
        if let Some(h) = db.hint() {
            text.push_str(&format!("; hint: {h}"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

pub(crate) fn count(n: usize) -> String {
    if n == 1 {
        "1 migration".to_owned()
    } else {
        format!("{n} migrations")
    }
}

pub(crate) fn pool_text(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => driver_text(e),
        other => other.to_string(),
    }
}

/// A migration script that failed, located in its file.
#[derive(Debug)]
#[non_exhaustive]
pub struct MigrationFailed {
    /// The version.
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// The file that failed (forward or rollback script).
    pub path: String,
    /// Whether the forward or the rollback script failed.
    pub direction: Direction,
    /// 1-based line in the file, when the failing place is known.
    pub line: Option<usize>,
    /// 1-based column in characters, when the failing place is known.
    pub column: Option<usize>,
    /// The SQLSTATE code.
    pub sqlstate: Option<String>,
    /// The server's message.
    pub message: String,
    /// The server's detail.
    pub detail: Option<String>,
    /// The server's hint.
    pub hint: Option<String>,
    /// The first line of the failing statement, when known.
    pub statement: Option<String>,
    /// A no-transaction migration failed midway: a failed row is in history and blocks later
    /// runs until `repair`.
    pub failed_row_recorded: bool,
    /// What was applied before the failure (committed).
    pub applied: Report,
    /// The failure itself: the driver's error, or the error a code migration returned.
    pub(crate) cause: crate::code::BoxError,
}

impl MigrationFailed {
    /// The failure itself: for a SQL migration the driver's error, for a Rust code migration
    /// the error its `up` or `down` returned (downcast it to your own type).
    pub fn cause(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.cause
    }
}

impl fmt::Display for MigrationFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        let verb = match self.direction {
            Direction::Up => "migration",
            Direction::Down => "rollback of",
        };
        write!(
            f,
            ": {verb} {} ({}) failed: {}",
            self.version, self.name, self.message
        )?;
        if let Some(code) = &self.sqlstate {
            write!(f, " (SQLSTATE {code})")?;
        }
        if let Some(s) = &self.statement {
            write!(f, "\n  statement: {s}")?;
        }
        if let Some(d) = &self.detail {
            write!(f, "\n  detail: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        if self.failed_row_recorded {
            write!(
                f,
                "\n  note: this migration runs outside a transaction; the statements before the failing one \
                 were kept and a failed row blocks later runs: fix the database, then run `repair`"
            )?;
        } else {
            write!(f, "\n  note: this migration was rolled back; the database and history are as before it")?;
        }
        Ok(())
    }
}

impl std::error::Error for MigrationFailed {}

fn no_rollback_text(path: Option<&str>) -> String {
    match path {
        Some(path) => format!(
            " ({path}): it has no rollback script; add one, or choose a target that does not \
             cross it"
        ),
        None => ": it is applied but not in this set of migrations, so there is no rollback \
                 script for it; roll back with the build that has it, or choose a target that \
                 does not cross it"
            .to_owned(),
    }
}

/// The text of [`Error::ContractWaiting`]: each waiting contract with its holders, and what to do.
fn waiting_text(waiting: &[crate::WaitingContract]) -> String {
    let mut text = String::new();
    for w in waiting {
        text.push_str(&w.to_string());
        text.push_str("; ");
    }
    text.push_str(
        "nothing ran: stop those instances (or wait for their rows to expire), or pass \
         `--force` (`force_contracts(true)`) knowing they may break",
    );
    text
}
