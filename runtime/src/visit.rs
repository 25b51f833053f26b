//! One verb's visit to its database: what it has learned so far (the fast path's read), the
//! sessions it holds (the one the fast path read on, the lock's, the one the work runs on), and
//! the frame its work runs in under the lock. The verbs ask it; the lock and the history readers
//! know nothing of it, and it holds values, not the `Migrator`.

use crate::db::{Conn, Db, Session};
use crate::error::Error;
use crate::history::{translate, Prior, Recorded, Tables};
use crate::lock::Lock;
use crate::migrations::Migrations;
use crate::stop::{self, Stop, Watch};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How the visit takes the advisory lock, and what stops it.
pub(crate) struct Locking {
    pub(crate) key: i64,
    pub(crate) timeout: Duration,
    pub(crate) stop: Option<Stop>,
}

/// What a locked verb's work runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// As the work sends it (runs: their own transactions per step).
    Plain,
    /// One transaction, always rolled back (`dry_run`).
    DryRun,
    /// One transaction, committed when the work succeeds and rolled back otherwise, the
    /// bookkeeping tables' creation included (`adopt`: a refusal leaves no trace).
    Atomic,
}

/// One verb's visit: see the module's documentation.
pub(crate) struct Visit<'a> {
    db: Db<'a>,
    tables: Tables,
    locking: Locking,
    /// The session the fast path read on: the work runs on it (its caches warm with the
    /// bookkeeping tables) unless the lock had to be waited for.
    warm: Option<Conn<'a>>,
    prior: Prior,
}

impl<'a> Visit<'a> {
    pub(crate) fn new(db: Db<'a>, tables: Tables, locking: Locking) -> Self {
        Self {
            db,
            tables,
            locking,
            warm: None,
            prior: Prior::Unknown,
        }
    }

    pub(crate) fn db(&self) -> Db<'a> {
        self.db
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Keeps what a read before the lock learned: the session it read on, and what it saw
    /// (`None`: nothing to reuse, read it all again under the lock).
    pub(crate) fn learned(&mut self, session: Conn<'a>, seen: Option<Recorded>) {
        self.warm = Some(session);
        self.prior = seen.map_or(Prior::Unknown, Prior::Seen);
    }

    /// Takes the lock, or `None` when, while it waited, `done` (a query whose first value is
    /// `t` when the work is done, such as the set's digest being the stored one) said another
    /// migrator did the work: a replica queued behind the one that migrates stops waiting as
    /// soon as that one commits, instead of taking the lock in turn to learn there is nothing
    /// to do.
    pub(crate) async fn lock_unless_done(&mut self, done: &str) -> Result<Option<Lock<'a>>, Error> {
        Ok(self.acquire(Some((done, ()))).await?.ok())
    }

    /// Takes the lock.
    pub(crate) async fn lock(&mut self) -> Result<Lock<'a>, Error> {
        let Ok(lock) = self.acquire(None::<(&str, Infallible)>).await?;
        Ok(lock)
    }

    /// The lock, waiting as long as the timeout allows. The warm session goes back to the
    /// pool at the first refused attempt, so a waiter holds one session, not two, while it
    /// waits (and the work then runs on a new one).
    async fn acquire<D>(&mut self, until: Option<(&str, D)>) -> Result<Result<Lock<'a>, D>, Error> {
        let warm = &mut self.warm;
        Lock::acquire(
            self.db,
            self.locking.key,
            self.locking.timeout,
            self.locking.stop.as_ref(),
            until,
            || drop(warm.take()),
        )
        .await
    }

    /// Runs `work` under `lock`, in `frame`, and releases the lock on every path: gets the
    /// session to work on (with a pool another one than the lock's, which stays in its
    /// transaction), reads what is recorded (creating the tables if they are missing, reusing
    /// what the fast path saw when the stored digest says nothing changed), renames rows an
    /// earlier tidemark wrote, and cancels the running statement when the stop switch is
    /// pulled.
    pub(crate) async fn locked<T>(
        self,
        lock: Lock<'a>,
        set: &Migrations,
        frame: Frame,
        work: impl AsyncFnOnce(&mut Session<'_>, &Tables, Recorded, &Watch) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Visit {
            db,
            tables,
            locking,
            mut warm,
            prior,
        } = self;
        // The fast path's read stands unread (its check in the first message) only on the
        // session it was made on: with a pool, the warm one when the lock came at once.
        let same_session = !lock.is_pooled() || warm.is_some();
        let mut own = match work_connection(db, &lock, &mut warm).await {
            Ok(own) => own,
            Err(e) => {
                let _ = lock.release().await;
                return Err(e);
            }
        };
        let watch = Watch {
            stop: locking.stop.clone(),
            ..Watch::default()
        };
        let result = {
            let mut session = match own.as_mut() {
                Some(conn) => match conn.exclusive() {
                    Some(c) => Session::Owned(c),
                    None => Session::Shared(conn),
                },
                None => Session::Shared(lock.client()),
            };
            let token = session.client().cancel_token();
            let read = Read {
                prior,
                same_session,
            };
            let framed = in_frame(&mut session, set, &tables, read, frame, &watch, work);
            let result = until_stopped(framed, &lock, &token, &watch).await;
            if frame == Frame::DryRun || (frame == Frame::Atomic && result.is_err()) {
                // Whatever ran is undone, also when nothing ran at all (the batch ends in its
                // own ROLLBACK; one more outside a transaction is only a server warning).
                let _ = session.client().batch_execute("ROLLBACK").await;
            }
            result
        };
        let result = match result {
            Err(e) if watch.is_stopped() => Err(Error::Interrupted {
                applied: e.partial_report().cloned().unwrap_or_default(),
            }),
            other => other,
        };
        if result.is_ok() && !watch.is_stopped() {
            // Done cleanly: its transactions ended, its settings were transaction-local or put
            // back. The pool keeps it for the application's next `get()`. Not after a stop: a
            // cancel sent to its backend as the work ended must not reach a later query.
            if let Some(c) = own.as_mut() {
                c.clean();
            }
        }
        drop(own);
        let released = lock.release().await;
        let value = result?;
        released?;
        Ok(value)
    }
}

/// The session the work runs on besides the lock's: with a pool, tidemark's own (the warm one
/// when it is still held; closed unless the work ends cleanly); with a client, none (the work
/// shares the lock's session).
async fn work_connection<'a>(
    db: Db<'a>,
    lock: &Lock<'a>,
    warm: &mut Option<Conn<'a>>,
) -> Result<Option<Conn<'a>>, Error> {
    if !lock.is_pooled() {
        return Ok(None);
    }
    match warm.take() {
        Some(c) => Ok(Some(c.owned())),
        None => db.dedicated().await.map(Some),
    }
}

/// What the work's read of history may reuse: what was read before the lock, and whether on the
/// session the work runs on.
struct Read {
    prior: Prior,
    same_session: bool,
}

/// The work in its frame: the transaction opened (for a dry run or an atomic verb), history
/// read, old row names translated, the work run, an atomic frame committed.
async fn in_frame<T>(
    session: &mut Session<'_>,
    set: &Migrations,
    tables: &Tables,
    read: Read,
    frame: Frame,
    watch: &Watch,
    work: impl AsyncFnOnce(&mut Session<'_>, &Tables, Recorded, &Watch) -> Result<T, Error>,
) -> Result<T, Error> {
    let client = session.client();
    let in_transaction = frame != Frame::Plain;
    if in_transaction {
        client
            .batch_execute("BEGIN")
            .await
            .map_err(Error::db("starting a transaction"))?;
    }
    let mut recorded = tables
        .read_creating(client, read.prior, in_transaction, read.same_session)
        .await?;
    watch.pid.store(recorded.pid.unwrap_or(0), Ordering::SeqCst);
    let renames = translate(set, &mut recorded.history);
    if !renames.is_empty() {
        client
            .batch_execute(&tables.rename_sql(&renames))
            .await
            .map_err(Error::db(
                "renaming history rows of an earlier version text",
            ))?;
    }
    let value = work(session, tables, recorded, watch).await?;
    if frame == Frame::Atomic {
        session
            .client()
            .batch_execute("COMMIT")
            .await
            .map_err(Error::db("committing"))?;
    }
    Ok(value)
}

/// Runs `work` to its end, cancelling its running statement the first time the stop switch
/// is pulled (the work then ends with the server's cancellation error).
async fn until_stopped<T>(
    work: impl std::future::Future<Output = Result<T, Error>>,
    lock: &Lock<'_>,
    token: &tokio_postgres::CancelToken,
    watch: &Watch,
) -> Result<T, Error> {
    tokio::pin!(work);
    let mut cancelled = false;
    loop {
        tokio::select! {
            r = &mut work => break r,
            () = stop::stopped(watch.stop.as_ref()), if !cancelled => {
                cancelled = true;
                cancel_running(lock, token, watch.pid.load(Ordering::SeqCst)).await;
            }
        }
    }
}

/// Cancels the statement the migrating session runs: from the lock's own session (which stays
/// usable in its transaction), or, on a caller's single client, through its cancel token.
async fn cancel_running(lock: &Lock<'_>, work: &tokio_postgres::CancelToken, pid: i32) {
    if lock.is_pooled() {
        if pid != 0 {
            let _ = lock
                .client()
                .simple_query(&format!("SELECT pg_cancel_backend({pid})"))
                .await;
        }
    } else {
        let _ = work.cancel_query(tokio_postgres::NoTls).await;
    }
}
