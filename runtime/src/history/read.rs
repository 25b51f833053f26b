//! Reading the bookkeeping tables: the fast-path digest, and history with the digest.

use super::{HistoryRow, Tables};
use crate::error::Error;
use crate::migrations::{MigrationKind, Migrations};
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

/// The backend's pid and the server's version, in the reads under the lock.
const PID_SQL: &str =
    "SELECT pg_backend_pid() AS tidemark_pid, current_setting('server_version_num')";

/// What the check a deferred read puts in the first message says when history is no longer what
/// was read: an error whose text starts so (see [`Tables::unchanged_sql`]).
pub(crate) const CHANGED: &str = "tidemark: history changed since it was read";

/// The column name that tells the digest row apart from history rows in one reply.
pub(crate) const DIGEST_COLUMN: &str = "tidemark_digest";

/// What of the bookkeeping a read found missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Absent {
    /// Nothing (or not known: the read did not look).
    Nothing,
    /// The tables, in a schema that exists.
    Tables,
    /// The schema, so the tables too.
    Schema,
}

impl Recorded {
    /// Nothing recorded, because the read failed with `e`, an undefined table or schema.
    fn absent(e: &tokio_postgres::Error) -> Self {
        Self {
            history: Vec::new(),
            digest: None,
            absent: if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_SCHEMA_NAME) {
                Absent::Schema
            } else {
                Absent::Tables
            },
            pid: None,
            server_version: None,
            check: None,
        }
    }

    /// Whether what the fast path read can stand under the lock unread, its check travelling
    /// with the first message: a digest, the backend's pid, and no failed row among the rows
    /// read (a failed row is planned from history read again).
    fn can_defer(&self) -> bool {
        self.absent == Absent::Nothing
            && self.pid.is_some()
            && self.digest.as_deref().and_then(from_hex).is_some()
            && self.history.iter().all(|r| r.success)
    }

    /// Whether a read of the reply `e` is the refusal of [`Tables::unchanged_sql`]: history
    /// changed between the read and the message, which ran nothing.
    pub(crate) fn is_changed(e: &tokio_postgres::Error) -> bool {
        e.code() == Some(&tokio_postgres::error::SqlState::INVALID_TEXT_REPRESENTATION)
            && e.as_db_error()
                .is_some_and(|d| d.message().contains(CHANGED))
    }
}

/// What a verb knew of the bookkeeping before reading it again (under the lock).
pub(crate) enum Prior {
    /// Nothing: read it all.
    Unknown,
    /// What the fast path read, creating nothing: history (or its absence) with the digest.
    Seen(Recorded),
}

/// What the database records: history rows and the stored digest of the applied set (hex).
pub(crate) struct Recorded {
    pub(crate) history: Vec<HistoryRow>,
    pub(crate) digest: Option<String>,
    /// What of the bookkeeping the fast path found missing.
    pub(crate) absent: Absent,
    /// The backend that answered (read under the lock: the one that runs the migrations).
    pub(crate) pid: Option<i32>,
    /// The server's `server_version_num`, when the read asked.
    pub(crate) server_version: Option<u32>,
    /// Set when this is what the fast path read, not read again under the lock: the statement
    /// that the first message must carry (see [`Tables::unchanged_sql`]), and that refuses it
    /// when history changed since. [`Tables::settle`] reads it instead.
    pub(crate) check: Option<String>,
}

impl Tables {
    /// Every history row, in version order then repeatables by name.
    pub(crate) fn read_sql(&self) -> String {
        format!(
            "{} ORDER BY version_key NULLS LAST, version",
            self.read_sql_unordered()
        )
    }

    fn read_sql_unordered(&self) -> String {
        format!(
            "SELECT version, name, kind, encode(checksum, 'hex'), success, \
             to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), execution_ms \
             FROM {}",
            self.history
        )
    }

    /// History with only what planning needs (no times: formatting a thousand timestamps is
    /// most of a read's cost on the server), in no particular order: the rows carry an empty
    /// `applied_at` and zero `execution_ms`.
    fn plan_sql_unordered(&self) -> String {
        format!(
            "SELECT version, name, kind, encode(checksum, 'hex'), success FROM {}",
            self.history
        )
    }

    /// The stored digest of the applied set (hex).
    pub(crate) fn digest_sql(&self) -> String {
        format!(
            "SELECT encode(digest, 'hex') AS {DIGEST_COLUMN} FROM {}",
            self.state
        )
    }

    /// The fast path's statement: the stored digest, with the backend's pid and the server's
    /// version (so the work under the lock need not ask for them again).
    fn fast_sql(&self) -> String {
        format!(
            "SELECT encode(digest, 'hex') AS {DIGEST_COLUMN}, pg_backend_pid(), \
             current_setting('server_version_num') FROM {}",
            self.state
        )
    }

    /// One statement that does nothing while history is as a read before the lock saw it (the
    /// stored digest `digest`, no failed row, the guard trigger in place, so every change since
    /// would have changed or cleared the digest) and otherwise fails with an error that starts
    /// with [`CHANGED`], aborting its message before anything in it ran. It travels inside the
    /// first transaction of the first message under the lock, instead of a read of its own: a
    /// round trip and a statement less for every run that applies something.
    pub(crate) fn unchanged_sql(&self, digest: &[u8; 32]) -> String {
        format!(
            "SELECT CASE WHEN (SELECT digest FROM {state}) = {d} \
             AND NOT EXISTS (SELECT FROM {history} WHERE NOT success) \
             AND EXISTS (SELECT FROM pg_trigger WHERE tgrelid = {history_lit}::regclass AND tgname = {guard}) \
             THEN 0 ELSE ('{CHANGED} (backend ' || pg_backend_pid() || ')')::int END AS tidemark_check;\n",
            state = self.state,
            history = self.history,
            d = crate::sql::bytea(digest),
            history_lit = crate::sql::literal(&self.history),
            guard = crate::sql::literal(&self.guard_name()),
        )
    }

    /// What `recorded` says, read again when it is a deferred read (its check pending):
    /// before anything is said from it that the first message would not check.
    pub(crate) async fn settle(
        &self,
        client: &Client,
        recorded: Recorded,
    ) -> Result<Recorded, Error> {
        if recorded.check.is_none() {
            return Ok(recorded);
        }
        self.reread(client, recorded).await
    }

    /// Reads history without creating anything; no table means no history.
    pub(crate) async fn read_existing(&self, client: &Client) -> Result<Vec<HistoryRow>, Error> {
        match client.simple_query(&self.read_sql()).await {
            Ok(msgs) => rows(&msgs).map(|r| self.parse(r)).collect(),
            Err(e) if is_undefined_table(&e) => Ok(Vec::new()),
            Err(e) => Err(privilege_or(
                "reading the history table",
                format!("SELECT on {}", self.history),
                e,
            )),
        }
    }

    /// The fast path, creating nothing: the stored digest, in one round trip of one small
    /// statement; `None` when it is the set's. Otherwise what is recorded: the successful rows
    /// are known without reading them when the digest is the set's without its newest
    /// migrations (a deploy: [`prefix`](super::prefix); failed rows, which the digest leaves
    /// out, are read under the lock by [`reread`](Self::reread)), and read in a second round
    /// trip when it is not.
    pub(crate) async fn check(
        &self,
        client: &Client,
        set: &Migrations,
    ) -> Result<Option<Recorded>, Error> {
        let (digest, pid, server_version) = match client.simple_query(&self.fast_sql()).await {
            Ok(msgs) => {
                let r = self.recorded(&msgs)?;
                (r.digest, r.pid, r.server_version)
            }
            Err(e) if is_undefined_table(&e) => return Ok(Some(Recorded::absent(&e))),
            Err(e) => return Err(Error::db("reading the migration state")(e)),
        };
        let stored = digest.as_deref().and_then(from_hex);
        if stored.as_ref() == Some(set.digest()) {
            return Ok(None);
        }
        let history = match stored.and_then(|d| super::prefix::history_without_newest(set, &d)) {
            Some(rows) => rows,
            None => match client.simple_query(&self.plan_sql_unordered()).await {
                Ok(msgs) => rows(&msgs)
                    .map(|r| self.parse(r))
                    .collect::<Result<_, _>>()?,
                // A state table without the history table.
                Err(e) if is_undefined_table(&e) => return Ok(Some(Recorded::absent(&e))),
                Err(e) => return Err(Error::db("reading the migration state")(e)),
            },
        };
        Ok(Some(Recorded {
            history,
            digest,
            absent: Absent::Nothing,
            pid,
            server_version,
            check: None,
        }))
    }

    /// One value, `t` when the stored digest is `expected`: what a waiter for the lock asks
    /// (an error when the tables do not exist yet, which means no).
    pub(crate) fn current_sql(&self, expected: &[u8; 32]) -> String {
        format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE digest = {})",
            self.state,
            crate::sql::bytea(expected)
        )
    }

    /// What is recorded, creating what is missing (history, the stored digest and the
    /// backend's pid), reusing what `prior` knew where the stored digest says nothing changed
    /// since. Inside a transaction (`in_transaction`: a dry run, an all-or-nothing verb) a
    /// failed read would abort it, so the tables are made sure of first. On the session that
    /// read `prior` (`same_session`), what it read is not read again: it comes back with the
    /// check the first message carries ([`Recorded::check`]).
    pub(crate) async fn read_creating(
        &self,
        client: &Client,
        prior: Prior,
        in_transaction: bool,
        same_session: bool,
    ) -> Result<Recorded, Error> {
        match prior {
            _ if in_transaction => self.ensure_and_read(client).await,
            Prior::Seen(mut seen) if same_session && seen.can_defer() => {
                let digest = seen.digest.as_deref().and_then(from_hex);
                seen.check = digest.map(|d| self.unchanged_sql(&d));
                Ok(seen)
            }
            Prior::Unknown => self.read_or_create(client).await,
            // The fast path saw a new database: create without looking first.
            Prior::Seen(seen) if seen.absent != Absent::Nothing => {
                self.create_and_read(client, seen.absent).await
            }
            Prior::Seen(seen) => self.reread(client, seen).await,
        }
    }

    /// Reads history and the stored digest under the lock, creating what is missing: in one
    /// round trip when the tables exist (the common case: no DDL, so no CREATE privilege
    /// needed), else the lookup-and-create block and the read again.
    async fn read_or_create(&self, client: &Client) -> Result<Recorded, Error> {
        let sql = format!(
            "{};\n{};\n{};\n{PID_SQL};",
            self.read_sql(),
            self.digest_sql(),
            self.guard_exists_sql()
        );
        match client.simple_query(&sql).await {
            Ok(msgs) => {
                if guarded(&msgs) {
                    return self.recorded(&msgs);
                }
                // A history table from an earlier tidemark, or one an administrator made.
                self.ensure_and_read(client).await
            }
            Err(e) if is_undefined_table(&e) => self.ensure_and_read(client).await,
            Err(e) => Err(privilege_or(
                "reading the history table",
                format!("SELECT on {} and {}", self.history, self.state),
                e,
            )),
        }
    }

    /// On a database the fast path found without the tables (`absent`): creates them with
    /// plain DDL, in one round trip, and knows history is empty. Anything unexpected (another
    /// migrator created them meanwhile, a privilege missing for the guard) rolls that back and
    /// takes [`ensure_and_read`](Self::ensure_and_read)'s way, which looks everything up.
    async fn create_and_read(&self, client: &Client, absent: Absent) -> Result<Recorded, Error> {
        let sql = format!(
            "{}{PID_SQL};",
            self.create_sql(absent == Absent::Schema && self.schema != "public")
        );
        match client.simple_query(&sql).await {
            Ok(msgs) => self.recorded(&msgs),
            Err(_) => {
                client
                    .batch_execute("ROLLBACK")
                    .await
                    .map_err(Error::db("creating the history tables"))?;
                self.ensure_and_read(client).await
            }
        }
    }

    /// Under the lock, after the fast path read `seen`: the stored digest, the guard and the
    /// backend's pid, and history only when the digest is no longer the one seen (else only
    /// its failed rows), in one round trip. While the guard trigger is in place every change
    /// of history changes or clears the digest (tidemark's writes store a new one, anything
    /// else clears it), so an unchanged digest means unchanged successful rows and the rows
    /// `seen` brought (or knew from the digest) are reused: a deploy onto a thousand applied
    /// migrations reads them at most once. Failed rows, which the digest leaves out, are read
    /// here every time. Without a digest seen, without the guard, or without the tables,
    /// [`read_or_create`](Self::read_or_create) reads it all.
    async fn reread(&self, client: &Client, seen: Recorded) -> Result<Recorded, Error> {
        let Some(digest) = seen.digest.as_deref().and_then(crate::sql::from_hex) else {
            return self.read_or_create(client).await;
        };
        let sql = format!(
            "{};\n{};\n{PID_SQL};\n{} WHERE NOT success OR NOT EXISTS (SELECT 1 FROM {} WHERE digest = {});",
            self.digest_sql(),
            self.guard_exists_sql(),
            self.plan_sql_unordered(),
            self.state,
            crate::sql::bytea(&digest)
        );
        let msgs = match client.simple_query(&sql).await {
            Ok(msgs) => msgs,
            Err(e) if is_undefined_table(&e) => return self.read_or_create(client).await,
            Err(e) => {
                return Err(privilege_or(
                    "reading the history table",
                    format!("SELECT on {} and {}", self.history, self.state),
                    e,
                ))
            }
        };
        if !guarded(&msgs) {
            return self.read_or_create(client).await;
        }
        let mut now = self.recorded(&msgs)?;
        if now.digest == seen.digest {
            // Only failed rows came: the successful ones are those seen.
            let failed = std::mem::take(&mut now.history);
            now.history = seen.history.into_iter().filter(|r| r.success).collect();
            now.history.extend(failed);
        }
        Ok(now)
    }

    /// Creates what is missing and reads history and the stored digest, in one round trip.
    ///
    /// A creation race can still fail the block once: when a concurrent migrator commits the
    /// schema between the block's lookup and its `CREATE SCHEMA`, the duplicate is caught, but
    /// the backend's catalog cache may still hold the lookup's "no such schema" until its next
    /// transaction, so the `CREATE TABLE` after it says the schema does not exist (seen with 16
    /// migrators creating tables in one new schema). The block is then run again, in a new
    /// transaction, which sees every committed object.
    async fn ensure_and_read(&self, client: &Client) -> Result<Recorded, Error> {
        let sql = format!(
            "{}{};\n{};\n{PID_SQL};",
            self.ensure_sql(),
            self.read_sql(),
            self.digest_sql()
        );
        let mut attempts = 1;
        let msgs = loop {
            match client.simple_query(&sql).await {
                Err(e) if attempts < ENSURE_ATTEMPTS && is_creation_race(&e) => attempts += 1,
                result => break result,
            }
        };
        let msgs = msgs.map_err(|e| {
            privilege_or(
                "creating the history tables",
                format!(
                    "CREATE on schema {} (on the database too if the schema does not exist), \
                     or an administrator creates the history tables once",
                    crate::sql::ident(&self.schema)
                ),
                e,
            )
        })?;
        self.recorded(&msgs)
    }

    /// History rows and the digest row of one reply.
    fn recorded(&self, msgs: &[SimpleQueryMessage]) -> Result<Recorded, Error> {
        let mut recorded = Recorded {
            history: Vec::new(),
            digest: None,
            absent: Absent::Nothing,
            pid: None,
            server_version: None,
            check: None,
        };
        for r in rows(msgs) {
            match r.columns().first().map(|c| c.name()) {
                Some(DIGEST_COLUMN) => {
                    recorded.digest = r.get(0).map(str::to_owned);
                    if r.len() >= 3 {
                        recorded.pid = r.get(1).and_then(|p| p.parse().ok());
                        recorded.server_version = r.get(2).and_then(|v| v.parse().ok());
                    }
                }
                Some("tidemark_guard") => {}
                Some(crate::history::PID_COLUMN) => {
                    recorded.pid = r.get(0).and_then(|p| p.parse().ok());
                    recorded.server_version = r.get(1).and_then(|v| v.parse().ok());
                }
                _ => recorded.history.push(self.parse(r)?),
            }
        }
        Ok(recorded)
    }

    /// One row of [`read_sql`](Self::read_sql) or of a read for planning.
    fn parse(&self, r: &SimpleQueryRow) -> Result<HistoryRow, Error> {
        let bad = |what: &str| Error::CorruptHistory {
            table: self.history.clone(),
            what: what.to_owned(),
        };
        let text = |i: usize| r.get(i).unwrap_or_default();
        let checksum = from_hex(text(3)).ok_or_else(|| bad("checksum"))?;
        let timed = r.len() >= 7;
        Ok(HistoryRow {
            version: text(0).to_owned(),
            name: text(1).to_owned(),
            kind: MigrationKind::from_history(text(2))
                .ok_or_else(|| bad(&format!("kind {:?}", text(2))))?,
            checksum,
            success: text(4) == "t",
            // A read for planning has no times.
            applied_at: if timed {
                text(5).to_owned()
            } else {
                String::new()
            },
            execution_ms: if timed {
                text(6).parse().map_err(|_| bad("execution_ms"))?
            } else {
                0
            },
        })
    }
}

/// Whether a reply with [`Tables::guard_exists_sql`] in it says the guard trigger is there.
fn guarded(msgs: &[SimpleQueryMessage]) -> bool {
    msgs.iter().any(|m| {
        matches!(m, SimpleQueryMessage::Row(r)
            if r.columns().first().is_some_and(|c| c.name() == "tidemark_guard")
                && r.get(0) != Some("0"))
    })
}

fn rows(msgs: &[SimpleQueryMessage]) -> impl Iterator<Item = &SimpleQueryRow> {
    msgs.iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    })
}

fn from_hex(hex: &str) -> Option<[u8; 32]> {
    crate::sql::from_hex(hex)?.try_into().ok()
}

/// A missing privilege as [`Error::MissingPrivilege`] (naming what is `needed`), else a
/// bookkeeping [`Error::Database`].
pub(crate) fn privilege_or(doing: &'static str, needed: String, e: tokio_postgres::Error) -> Error {
    if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
        return Error::MissingPrivilege {
            doing,
            needed,
            message: crate::error::driver_text(&e),
        };
    }
    Error::db(doing)(e)
}

/// How many times [`Tables::ensure_and_read`] runs its block when it loses a creation race.
const ENSURE_ATTEMPTS: u32 = 3;

/// An error a concurrent creator of the same schema or objects can cause, which a new
/// transaction no longer meets: the schema not seen yet (a stale catalog cache entry), or an
/// object created meanwhile that the block's handlers did not catch.
fn is_creation_race(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        [
            SqlState::INVALID_SCHEMA_NAME,
            SqlState::UNIQUE_VIOLATION,
            SqlState::DUPLICATE_SCHEMA,
            SqlState::DUPLICATE_TABLE,
            SqlState::DUPLICATE_OBJECT,
            SqlState::T_R_DEADLOCK_DETECTED,
        ]
        .contains(c)
    })
}

fn is_undefined_table(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code()
        .is_some_and(|c| *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_checksums_round_trip_and_bad_ones_are_refused() {
        let sum = tidemark_core::checksum("x");
        assert_eq!(from_hex(&tidemark_core::to_hex(&sum)), Some(sum));
        assert_eq!(from_hex("ab"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn one_message_reads_history_then_the_digest() {
        let t = Tables::new("public", "h").unwrap();
        let sql = t.read_sql();
        assert!(sql.starts_with("SELECT version, name, kind"));
        assert!(sql.ends_with("FROM \"public\".\"h\" ORDER BY version_key NULLS LAST, version"));
        assert_eq!(
            t.digest_sql(),
            "SELECT encode(digest, 'hex') AS tidemark_digest FROM \"public\".\"h_state\""
        );
    }
}
