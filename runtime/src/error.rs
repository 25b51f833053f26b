//! `tidemark::Error`: everything a migration run can fail with.

use crate::report::{Direction, Report};
use std::fmt;
use std::time::Duration;

/// An error from a tidemark verb. Messages name the migration file and say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection could be had from the pool.
    #[error("cannot get a database connection from the pool: {}", chain(.0.as_ref()))]
    Pool(#[source] Box<deadpool_postgres::PoolError>),
    /// A query tidemark issued for its own bookkeeping failed.
    #[error("{context}: {}", chain(source))]
    Database {
        /// What tidemark was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A migration script failed; the database and history are as before that migration.
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
    /// A pending migration is older than the newest applied one.
    #[error(
        "{path} (version {version}) is pending but the newer version {highest} is already \
         applied; give it a version above {highest}, or set `allow_out_of_order(true)`"
    )]
    OutOfOrder {
        /// The pending version.
        version: String,
        /// Its file.
        path: String,
        /// The highest applied version.
        highest: String,
    },
    /// A rollback would cross a migration without a rollback script; nothing was run.
    #[error(
        "cannot roll back version {version} ({path}): it has no rollback script; add one, or \
         choose a target that does not cross it"
    )]
    NoRollback {
        /// The version without rollback.
        version: String,
        /// Its forward file.
        path: String,
    },
    /// The target version is not in the migration set.
    #[error("target version {version} is not a migration of this set")]
    UnknownTarget {
        /// The requested version.
        version: String,
    },
    /// The advisory lock was not acquired within the lock timeout.
    #[error(
        "gave up waiting for the migration lock (key {key}) after {waited:?}; it is held by \
         {holder}; wait for that migration to finish, or raise `lock_timeout`"
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
        "{path} (version {version}, {name}) failed midway in an earlier run and left a failed row \
         in history; finish or undo its statements by hand, then run `repair` to clear the row"
    )]
    Dirty {
        /// The version of the failed row.
        version: String,
        /// Its name.
        name: String,
        /// Its forward file, or a note that the set does not have it.
        path: String,
    },
    /// An option or argument is invalid.
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
}

/// An error and its causes: tokio-postgres shows "db error" and keeps the server's message in
/// the source, which a person needs to see.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

impl Error {
    pub(crate) fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Database { context, source }
    }

    /// The SQLSTATE of the server error behind this error, if there is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Self::MigrationFailed(f) => f.sqlstate.as_deref(),
            Self::Database { source, .. } => source.code().map(|c| c.code()),
            _ => None,
        }
    }

    /// The version of the migration the error is about, if it is about one.
    pub fn migration(&self) -> Option<&str> {
        match self {
            Self::MigrationFailed(f) => Some(&f.version),
            Self::Divergent { version, .. }
            | Self::Missing { version, .. }
            | Self::OutOfOrder { version, .. }
            | Self::NoRollback { version, .. }
            | Self::Dirty { version, .. } => Some(version),
            _ => None,
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(Box::new(e))
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
    /// 1-based line in the file, when the server gave a position.
    pub line: Option<usize>,
    /// 1-based column in characters, when the server gave a position.
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
    pub(crate) source: tokio_postgres::Error,
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

impl std::error::Error for MigrationFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
