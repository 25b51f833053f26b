//! Rust code migrations as the set holds them: function pointers to the wrappers that
//! `embed_migrations!` generates around each file's `up` and `down`, and the progress events a
//! migration may send.

use std::future::Future;
use std::pin::Pin;

/// The error a code migration returns, boxed: anything `Into<Box<dyn Error + Send + Sync>>`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of a code migration's `up` or `down`.
pub type CodeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

/// A code migration's function, as the generated wrapper exposes it.
#[derive(Clone, Copy)]
pub enum Code {
    /// Runs in the migration's transaction, which also records its history row.
    Transaction(for<'a, 'b> fn(&'a tokio_postgres::Transaction<'b>) -> CodeFuture<'a>),
    /// Declared `// tidemark:no-transaction`: runs on the connection, with a failed row first.
    Client(for<'a> fn(&'a tokio_postgres::Client) -> CodeFuture<'a>),
    /// In a set read from a folder at run time (the `tidemark` binary): the code is compiled
    /// into the application, not into this binary.
    NotEmbedded,
}

impl Code {
    fn tag(&self) -> u8 {
        match self {
            Self::Transaction(_) => 0,
            Self::Client(_) => 1,
            Self::NotEmbedded => 2,
        }
    }
}

impl PartialEq for Code {
    /// By how it runs: function pointers have no reliable identity to compare.
    fn eq(&self, other: &Self) -> bool {
        self.tag() == other.tag()
    }
}

impl Eq for Code {}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Transaction(_) => "Transaction",
            Self::Client(_) => "Client",
            Self::NotEmbedded => "NotEmbedded",
        })
    }
}

/// The `Result` a code migration returns, with its error boxed (what the generated wrappers
/// call).
pub fn boxed<E: Into<BoxError>>(result: Result<(), E>) -> Result<(), BoxError> {
    result.map_err(Into::into)
}

/// Reports a code migration's progress: a `tidemark::progress` event with `done` and, when
/// known, `total` (rows, batches, whatever the migration counts). The `tidemark` CLI and
/// `tidemark-cli` show it on their progress line; any tracing subscriber can log it.
///
/// ```no_run
/// # async fn backfill(tx: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
/// let total = 10_000;
/// for batch in 0..10 {
///     tx.execute("UPDATE users SET email = lower(email) WHERE id % 10 = $1", &[&batch]).await?;
///     tidemark::progress((batch as u64 + 1) * 1_000, Some(total));
/// }
/// # Ok(()) }
/// ```
pub fn progress(done: u64, total: Option<u64>) {
    match total {
        Some(total) => tracing::info!(target: crate::events::PROGRESS, done, total, "progress"),
        None => tracing::info!(target: crate::events::PROGRESS, done, "progress"),
    }
}
