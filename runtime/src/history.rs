//! The history and state tables: DDL, reads, and the SQL that records a step.

use crate::error::Error;
use crate::migrations::{Migration, MigrationKind};
use crate::sql::{bigint_array, bytea, ident, literal};
use tokio_postgres::{Client, SimpleQueryMessage};

/// Column of the row each step returns, so the client learns which steps committed and how
/// long each took (microseconds).
pub(crate) const STEP_COLUMN: &str = "tidemark_step_us";

/// Server-side time spent in the current transaction so far, in microseconds.
pub(crate) const ELAPSED_US: &str =
    "(extract(epoch from clock_timestamp() - now()) * 1000000)::bigint";

/// Quoted, qualified names of the bookkeeping tables.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    schema: String,
    pub(crate) history: String,
    pub(crate) state: String,
}

impl Tables {
    pub(crate) fn new(schema: &str, table: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            history: format!("{}.{}", ident(schema), ident(table)),
            state: format!("{}.{}", ident(schema), ident(&format!("{table}_state"))),
        }
    }

    /// Creates the schema (unless `public`) and both tables if missing.
    pub(crate) fn ensure_sql(&self) -> String {
        let mut sql = String::new();
        if self.schema != "public" {
            sql.push_str(&format!(
                "CREATE SCHEMA IF NOT EXISTS {};\n",
                ident(&self.schema)
            ));
        }
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {} (\n\
             \x20 version text PRIMARY KEY,\n\
             \x20 version_key bigint[],\n\
             \x20 name text NOT NULL,\n\
             \x20 kind text NOT NULL,\n\
             \x20 checksum bytea NOT NULL,\n\
             \x20 down_checksum bytea,\n\
             \x20 applied_at timestamptz NOT NULL DEFAULT now(),\n\
             \x20 execution_ms bigint NOT NULL DEFAULT 0,\n\
             \x20 applied_by text NOT NULL DEFAULT current_user,\n\
             \x20 success boolean NOT NULL\n);\n\
             CREATE TABLE IF NOT EXISTS {} (\n\
             \x20 id boolean PRIMARY KEY DEFAULT true CHECK (id),\n\
             \x20 digest bytea NOT NULL,\n\
             \x20 updated_at timestamptz NOT NULL DEFAULT now()\n);\n",
            self.history, self.state
        ));
        sql
    }

    /// Reads every history row, in version order then repeatables by name.
    pub(crate) fn read_sql(&self) -> String {
        format!(
            "SELECT version, name, kind, encode(checksum, 'hex'), success, \
             to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), execution_ms \
             FROM {} ORDER BY version_key NULLS LAST, version",
            self.history
        )
    }

    /// Records a forward step. A versioned migration gets a plain insert (it cannot be there:
    /// history was read under the lock); a repeatable one replaces its row.
    pub(crate) fn record_up_sql(&self, m: &Migration, success: bool, elapsed_ms: &str) -> String {
        let key = match m.kind {
            MigrationKind::Versioned => bigint_array(&m.version_parts),
            MigrationKind::Repeatable => "NULL".to_owned(),
        };
        let down = m
            .down
            .as_ref()
            .map_or("NULL".to_owned(), |d| bytea(&d.checksum));
        let upsert = match m.kind {
            MigrationKind::Versioned => "",
            MigrationKind::Repeatable => {
                " ON CONFLICT (version) DO UPDATE SET name = excluded.name, checksum = excluded.checksum, \
                 down_checksum = excluded.down_checksum, applied_at = now(), execution_ms = excluded.execution_ms, \
                 applied_by = current_user, success = excluded.success"
            }
        };
        format!(
            "INSERT INTO {h} AS h (version, version_key, name, kind, checksum, down_checksum, execution_ms, success) \
             VALUES ({v}, {key}, {n}, '{k}', {c}, {down}, {elapsed_ms}, {success}){upsert} \
             RETURNING {ELAPSED_US} AS {STEP_COLUMN};\n",
            h = self.history,
            v = literal(&m.id),
            n = literal(&m.name),
            k = m.kind.as_str(),
            c = bytea(&m.up.checksum),
        )
    }

    /// Removes the stored digest: what is applied is unknown until the next digest is stored,
    /// and the fast path falls back to the full check.
    pub(crate) fn invalidate_sql(&self) -> String {
        format!("DELETE FROM {};\n", self.state)
    }

    /// Stores the digest of what is applied.
    pub(crate) fn state_sql(&self, digest: &[u8; 32]) -> String {
        format!(
            "INSERT INTO {s} (id, digest) VALUES (true, {d}) \
             ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, updated_at = now();\n",
            s = self.state,
            d = bytea(digest)
        )
    }

    /// The fast path: the recorded digest of the applied set, in one round trip. `None` when
    /// nothing is recorded yet (no table, no row).
    pub(crate) async fn recorded_digest(&self, client: &Client) -> Result<Option<String>, Error> {
        let sql = format!("SELECT encode(digest, 'hex') FROM {}", self.state);
        match client.simple_query(&sql).await {
            Ok(msgs) => Ok(msgs.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })),
            Err(e) if is_undefined_table(&e) => Ok(None),
            Err(e) => Err(Error::db("reading the migration state")(e)),
        }
    }

    /// Reads history without creating anything; no table means no history.
    pub(crate) async fn read_existing(&self, client: &Client) -> Result<Vec<HistoryRow>, Error> {
        match client.simple_query(&self.read_sql()).await {
            Ok(msgs) => msgs
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => Some(HistoryRow::parse(r)),
                    _ => None,
                })
                .collect(),
            Err(e) if is_undefined_table(&e) => Ok(Vec::new()),
            Err(e) => Err(Error::db("reading the history table")(e)),
        }
    }

    /// Creates the tables if needed and reads history and the stored digest, in one round trip.
    pub(crate) async fn ensure_and_read(&self, client: &Client) -> Result<Recorded, Error> {
        let sql = format!(
            "{}{};\nSELECT encode(digest, 'hex') AS {DIGEST_COLUMN} FROM {};",
            self.ensure_sql(),
            self.read_sql(),
            self.state
        );
        let msgs = client
            .simple_query(&sql)
            .await
            .map_err(Error::db("creating or reading the history table"))?;
        let mut recorded = Recorded {
            history: Vec::new(),
            digest: None,
        };
        for m in &msgs {
            let SimpleQueryMessage::Row(r) = m else {
                continue;
            };
            if r.columns()
                .first()
                .is_some_and(|c| c.name() == DIGEST_COLUMN)
            {
                recorded.digest = r.get(0).map(str::to_owned);
            } else {
                recorded.history.push(HistoryRow::parse(r)?);
            }
        }
        Ok(recorded)
    }
}

const DIGEST_COLUMN: &str = "tidemark_digest";

/// What the database records: history rows and the stored digest of the applied set (hex).
pub(crate) struct Recorded {
    pub(crate) history: Vec<HistoryRow>,
    pub(crate) digest: Option<String>,
}

fn is_undefined_table(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code()
        .is_some_and(|c| *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME)
}

/// One row of the history table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// Canonical version text, or `R__{name}`.
    pub version: String,
    /// The name recorded.
    pub name: String,
    /// Repeatable (`true`) or versioned.
    pub repeatable: bool,
    /// The forward checksum recorded.
    pub checksum: [u8; 32],
    /// `false` for a no-transaction migration that has not finished.
    pub success: bool,
    /// When it was applied, UTC, ISO 8601.
    pub applied_at: String,
    /// How long it took, in milliseconds.
    pub execution_ms: i64,
}

impl HistoryRow {
    fn parse(r: &tokio_postgres::SimpleQueryRow) -> Result<Self, Error> {
        let bad = |what: &str| Error::InvalidConfig {
            message: format!(
                "the history table has an unexpected {what}; is it a tidemark history table?"
            ),
        };
        let text = |i: usize| r.get(i).unwrap_or_default();
        let hex = text(3);
        let mut checksum = [0u8; 32];
        if hex.len() != 64 {
            return Err(bad("checksum"));
        }
        for (i, b) in checksum.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad("checksum"))?;
        }
        Ok(Self {
            version: text(0).to_owned(),
            name: text(1).to_owned(),
            repeatable: text(2) == "repeatable",
            checksum,
            success: text(4) == "t",
            applied_at: text(5).to_owned(),
            execution_ms: text(6).parse().map_err(|_| bad("execution_ms"))?,
        })
    }

    pub(crate) fn digest_kind(&self) -> tidemark_core::DigestKind {
        if self.repeatable {
            tidemark_core::DigestKind::Repeatable
        } else {
            tidemark_core::DigestKind::Versioned
        }
    }
}
