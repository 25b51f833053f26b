//! The advisory lock that serialises migrators.
//!
//! With a pool, the lock is taken inside a transaction on a pooled session and released in the
//! same transaction (`pg_advisory_unlock`, then `COMMIT`): a transaction pins its server
//! connection even behind a transaction-mode pooler (PgBouncer, Neon's pooled endpoint), so the
//! lock can never stay behind on a server connection that another client gets. The session runs
//! nothing but tidemark's own statements and goes back to the pool afterwards; if the lock is
//! dropped still held (a panic), the session is closed instead. Waiters never wait inside a
//! transaction or a statement (a session blocked in `pg_advisory_lock` holds an open statement,
//! which deadlocks with `CREATE INDEX CONCURRENTLY` run by the holder): they poll
//! `pg_try_advisory_lock` with backoff and jitter, and reconnect when their session is lost.
//!
//! With a client, the lock is a plain session lock on that client's session.

use crate::db::{Conn, Db};
use crate::error::Error;
use crate::events;
use crate::stop::{self, Stop};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

/// The shortest wait between two attempts; waits then grow with the time waited.
const FIRST_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_millis(250);
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A held advisory lock; [`Lock::release`] releases it.
pub(crate) struct Lock<'a> {
    conn: Option<Conn<'a>>,
    key: i64,
    /// Held inside a transaction on a pooled session (rather than on the caller's client).
    pooled: bool,
}

impl<'a> Lock<'a> {
    /// Polls for the lock until it is granted, `timeout` passes or `stop` is stopped.
    ///
    /// `until` is a query and a value: after each refused attempt the query is asked on the
    /// waiting session, and when its first value is `t` the wait ends without the lock, with
    /// that value (`Ok(Err(value))`): how a caller stops waiting for work another migrator has
    /// done meanwhile. `refused` is called after each refused attempt and before a reconnect
    /// (a caller gives back a session it no longer needs to hold while it waits, or that died
    /// with the server).
    pub(crate) async fn acquire<D>(
        db: Db<'a>,
        key: i64,
        timeout: Duration,
        stop: Option<&Stop>,
        mut until: Option<(&str, D)>,
        mut refused: impl FnMut(),
    ) -> Result<Result<Self, D>, Error> {
        let pooled = matches!(db, Db::Pool(_));
        let mut wait = Wait::new(key, timeout);
        let mut conn = db.shared().await?;
        loop {
            if stop::is_stopped(stop) {
                return Err(Error::Interrupted {
                    applied: crate::Report::default(),
                });
            }
            match try_lock(&conn, key, pooled).await {
                Ok(true) => {
                    wait.acquired();
                    return Ok(Ok(Self {
                        conn: Some(conn),
                        key,
                        pooled,
                    }));
                }
                Ok(false) => {
                    refused();
                    if let Some(value) = wait.until(&conn, &mut until).await {
                        return Ok(Err(value));
                    }
                }
                // The session was lost while waiting (a restart, a terminated backend): a waiter
                // with a pool reconnects while its timeout lasts.
                Err(e) if pooled && e.is_connection_lost() && !wait.timed_out() => {
                    tracing::info!(target: events::LOCK_WAIT, key, error = %e, "lost the session while waiting for the migration lock; reconnecting");
                    discard(conn);
                    // The server went away (a restart, a failover): the pool's idle sessions
                    // are gone with it, and one of them would be the work's session next. The
                    // caller's session goes back first, so it goes with them: lost during the
                    // first attempt, before any refusal gave it back, it was the work's session
                    // after the reconnect ("reading the history table: connection closed").
                    refused();
                    if let Db::Pool(p) = db {
                        p.retain(|_, _| false);
                    }
                    conn = reconnect(db, wait.start, timeout).await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
            wait.pause(&conn, stop).await?;
        }
    }

    /// The session holding the lock.
    pub(crate) fn client(&self) -> &tokio_postgres::Client {
        self.conn.as_ref().expect("a held lock has its session")
    }

    /// Whether the lock is held in a transaction on a pooled session of its own (so the caller
    /// works on another session).
    pub(crate) fn is_pooled(&self) -> bool {
        self.pooled
    }

    /// Unlocks explicitly, so the lock is free the moment this returns; a pooled session goes
    /// back to the pool.
    pub(crate) async fn release(mut self) -> Result<(), Error> {
        let conn = self.conn.take().expect("a held lock has its session");
        let sql = if self.pooled {
            format!("SELECT pg_advisory_unlock({}); COMMIT", self.key)
        } else {
            format!("SELECT pg_advisory_unlock({})", self.key)
        };
        match conn.simple_query(&sql).await {
            Ok(_) => {
                // Unlocked and its transaction committed: the session may serve the pool again.
                let mut conn = conn;
                conn.clean();
                Ok(())
            }
            Err(e) => {
                discard(conn);
                Err(Error::db("releasing the migration lock")(e))
            }
        }
    }
}

/// A waiter's clock: when it started, how long it sleeps between attempts, when it last said
/// it was waiting.
struct Wait {
    key: i64,
    timeout: Duration,
    start: Instant,
    delay: Duration,
    next_log: Duration,
    attempt: u64,
    jitter: RandomState,
}

impl Wait {
    fn new(key: i64, timeout: Duration) -> Self {
        Self {
            key,
            timeout,
            start: Instant::now(),
            delay: FIRST_DELAY,
            next_log: Duration::ZERO,
            attempt: 0,
            jitter: RandomState::new(),
        }
    }

    fn timed_out(&self) -> bool {
        self.start.elapsed() >= self.timeout
    }

    fn acquired(&self) {
        if self.attempt > 0 {
            tracing::info!(
                target: events::LOCK_ACQUIRED,
                key = self.key,
                waited_ms = elapsed_ms(self.start),
                "acquired the migration lock"
            );
        }
    }

    /// The caller's value when its `until` query says the work is done (an error, such as the
    /// tables not being there yet, only means: not done).
    async fn until<D>(&self, conn: &Conn<'_>, until: &mut Option<(&str, D)>) -> Option<D> {
        let (sql, _) = until.as_ref()?;
        if first_value(conn, sql).await.ok().flatten().as_deref() != Some("t") {
            return None;
        }
        tracing::info!(
            target: events::LOCK_ACQUIRED,
            key = self.key,
            waited_ms = elapsed_ms(self.start),
            "stopped waiting for the migration lock: the work was done meanwhile"
        );
        until.take().map(|(_, value)| value)
    }

    /// After a refused attempt: the timeout error once it has passed; else says who holds the
    /// lock (every `LOG_EVERY`) and sleeps until the next attempt (or the stop).
    async fn pause(&mut self, conn: &Conn<'_>, stop: Option<&Stop>) -> Result<(), Error> {
        let waited = self.start.elapsed();
        if waited >= self.timeout {
            return Err(Error::LockTimeout {
                key: self.key,
                waited,
                holder: holder(conn, self.key).await,
            });
        }
        if waited >= self.next_log {
            let holder = holder(conn, self.key).await;
            tracing::info!(
                target: events::LOCK_WAIT,
                key = self.key,
                %holder,
                waited_ms = elapsed_ms(self.start),
                "waiting for the migration lock"
            );
            self.next_log = waited + LOG_EVERY;
        }
        // Sleep between half and all of `delay`, never past the deadline.
        let spread = u64::try_from(self.delay.as_micros() / 2)
            .unwrap_or(1)
            .max(1);
        let jitter = self.jitter.hash_one(self.attempt) % spread;
        let sleep = self.delay / 2 + Duration::from_micros(jitter);
        tokio::select! {
            () = tokio::time::sleep(sleep.min(self.timeout - waited)) => {}
            () = stop::stopped(stop) => {}
        }
        // The next wait is an eighth of the time waited so far (within the bounds): a waiter
        // learns that the holder finished within an eighth of its wait, so replicas queued
        // behind one that migrates are past migration soon after it, not up to twice as late
        // as a doubling backoff would leave them.
        self.delay = (self.start.elapsed() / 8).clamp(FIRST_DELAY, MAX_DELAY);
        self.attempt += 1;
        Ok(())
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        match self.conn.take() {
            Some(Conn::Borrowed(_)) => tracing::warn!(
                key = self.key,
                "migration lock left held on the caller's session"
            ),
            // Never back to the pool with the lock held: closing the session releases it.
            Some(conn) => discard(conn),
            None => {}
        }
    }
}

/// Closes a pooled session instead of returning it to the pool (an owned one closes itself
/// unless it was marked clean).
fn discard(conn: Conn<'_>) {
    if let Conn::Pooled(o) = conn {
        drop(deadpool_postgres::Object::take(o));
    }
}

async fn reconnect<'a>(db: Db<'a>, start: Instant, timeout: Duration) -> Result<Conn<'a>, Error> {
    loop {
        match db.shared().await {
            Ok(c) => return Ok(c),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One attempt. Pooled: the lock is taken in a transaction that stays open while it is held
/// (with no idle-in-transaction timeout for it), and rolled back when it is not granted.
/// A server in recovery (a hot standby) is refused in the same statement, before the lock is
/// tried: advisory locks work there, the migrations would not.
async fn try_lock(conn: &Conn<'_>, key: i64, pooled: bool) -> Result<bool, Error> {
    let attempt = format!(
        "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' \
         ELSE pg_try_advisory_lock({key})::text END"
    );
    let sql = if pooled {
        format!("BEGIN; SET LOCAL idle_in_transaction_session_timeout = 0; {attempt}")
    } else {
        attempt
    };
    let answer = first_value(conn, &sql).await?;
    let granted = answer.as_deref() == Some("true");
    if pooled && !granted {
        conn.simple_query("ROLLBACK")
            .await
            .map_err(Error::db("taking the migration lock"))?;
    }
    if answer.as_deref() == Some("standby") {
        return Err(Error::ReadOnlyServer);
    }
    Ok(granted)
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn first_value(conn: &Conn<'_>, sql: &str) -> Result<Option<String>, Error> {
    crate::sql::first_value(conn, sql)
        .await
        .map_err(Error::db("taking or releasing the migration lock"))
}

/// Who holds the lock, for the log and the timeout error.
async fn holder(conn: &Conn<'_>, key: i64) -> String {
    let b = key.to_be_bytes();
    let (hi, lo) = (
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    );
    let sql = format!(
        "SELECT 'pid ' || a.pid || coalesce(' (' || nullif(a.application_name, '') || ')', '') \
         || ', ' || coalesce(a.state, 'unknown state') || ' since ' || coalesce(a.state_change::text, '?') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {hi} AND l.objid = {lo} \
         AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    );
    match first_value(conn, &sql).await {
        Ok(Some(h)) => h,
        _ => "another session".to_owned(),
    }
}
