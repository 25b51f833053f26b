//! The advisory lock that serialises migrators, held on a dedicated session.

use crate::db::Conn;
use crate::error::Error;
use crate::events;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};
use tokio_postgres::SimpleQueryMessage;

const FIRST_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_millis(250);
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A held advisory lock. [`Lock::release`] unlocks it; if the lock is dropped instead (an error
/// or a panic on the way), its detached connection is closed and the server releases the lock.
pub(crate) struct Lock<'a> {
    conn: Conn<'a>,
    key: i64,
    held: bool,
}

impl<'a> Lock<'a> {
    /// Polls `pg_try_advisory_lock` with backoff and jitter until it is granted or `timeout`
    /// passes. It never waits inside `pg_advisory_lock`: a session blocked there holds an open
    /// statement, which deadlocks with `CREATE INDEX CONCURRENTLY` run by the lock holder.
    pub(crate) async fn acquire(
        conn: Conn<'a>,
        key: i64,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let start = Instant::now();
        let mut delay = FIRST_DELAY;
        let mut next_log = Duration::ZERO;
        let jitter = RandomState::new();
        for attempt in 0u64.. {
            if first_value(&conn, &format!("SELECT pg_try_advisory_lock({key})"))
                .await?
                .as_deref()
                == Some("t")
            {
                if attempt > 0 {
                    tracing::info!(
                        target: events::LOCK_ACQUIRED,
                        key,
                        waited_ms = elapsed_ms(start),
                        "acquired the migration lock"
                    );
                }
                return Ok(Self {
                    conn,
                    key,
                    held: true,
                });
            }
            let waited = start.elapsed();
            if waited >= timeout {
                let holder = holder(&conn, key).await;
                return Err(Error::LockTimeout {
                    key,
                    waited,
                    holder,
                });
            }
            if waited >= next_log {
                let holder = holder(&conn, key).await;
                tracing::info!(
                    target: events::LOCK_WAIT,
                    key,
                    %holder,
                    waited_ms = elapsed_ms(start),
                    "waiting for the migration lock"
                );
                next_log = waited + LOG_EVERY;
            }
            // Sleep between half and all of `delay`, never past the deadline.
            let spread = u64::try_from(delay.as_micros() / 2).unwrap_or(1).max(1);
            let sleep = delay / 2 + Duration::from_micros(jitter.hash_one(attempt) % spread);
            tokio::time::sleep(sleep.min(timeout - waited)).await;
            delay = (delay * 2).min(MAX_DELAY);
        }
        unreachable!("the attempt counter does not run out")
    }

    /// The session holding the lock.
    pub(crate) fn client(&self) -> &tokio_postgres::Client {
        &self.conn
    }

    /// Unlocks explicitly, so the lock is free the moment this returns.
    pub(crate) async fn release(mut self) -> Result<(), Error> {
        let unlocked = first_value(
            &self.conn,
            &format!("SELECT pg_advisory_unlock({})", self.key),
        )
        .await;
        self.held = false;
        unlocked.map(drop)
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if self.held {
            if let Conn::Borrowed(_) = self.conn {
                tracing::warn!(
                    key = self.key,
                    "migration lock left held on the caller's session"
                );
            }
            // A detached connection is closed as it drops here, which releases the lock.
        }
    }
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn first_value(conn: &Conn<'_>, sql: &str) -> Result<Option<String>, Error> {
    let msgs = conn
        .simple_query(sql)
        .await
        .map_err(Error::db("taking or releasing the migration lock"))?;
    Ok(msgs.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    }))
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
