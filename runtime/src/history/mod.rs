//! The bookkeeping tables. Every statement tidemark runs against them is built in this module:
//! [`ddl`] creates them, [`read`] reads them, [`write`] records what runs; [`prefix`] knows
//! the history a stored digest stands for without reading it.
//!
//! The history table has one row per applied migration; the state table (`{table}_state`) one
//! row holding the digest of the applied set, which makes the up-to-date check one query.

mod ddl;
pub(crate) mod digest;
mod legacy;
mod prefix;
pub(crate) mod read;
mod write;

pub(crate) use digest::applied_digest;
pub(crate) use legacy::translate;
pub(crate) use read::{Prior, Recorded};
pub(crate) use write::{
    application_name, named_step_start, step_start_sql, Timing, PID_COLUMN, START_COLUMN,
    STEP_COLUMN,
};

use crate::error::Error;
use crate::migrations::MigrationKind;
use crate::sql::ident;

/// Quoted, qualified names of the bookkeeping tables.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    schema: String,
    table: String,
    history: String,
    state: String,
}

impl Tables {
    /// The tables `schema.table` and `schema.{table}_state`.
    pub(crate) fn new(schema: &str, table: &str) -> Result<Self, Error> {
        // PostgreSQL keeps 63 bytes of a name and silently cuts the rest: `{table}_state`
        // (and `{table}_guard`) must fit, or the state table would land on the history table.
        for (what, name, room) in [
            ("schema", schema, 63),
            ("table", table, 63 - "_state".len()),
        ] {
            let reason = if name.is_empty() {
                Some("it is empty")
            } else if name.len() > room {
                Some(if what == "table" {
                    "it is longer than 57 bytes, and PostgreSQL would cut `{table}_state` to 63"
                } else {
                    "it is longer than the 63 bytes PostgreSQL keeps"
                })
            } else if name.contains('\0') {
                Some("it holds a NUL character")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Error::InvalidName {
                    what,
                    name: name.to_owned(),
                    reason,
                });
            }
        }
        Ok(Self {
            schema: schema.to_owned(),
            table: table.to_owned(),
            history: format!("{}.{}", ident(schema), ident(table)),
            state: format!("{}.{}", ident(schema), ident(&format!("{table}_state"))),
        })
    }
}

impl Tables {
    /// The quoted, qualified history table.
    pub(crate) fn history(&self) -> &str {
        &self.history
    }

    /// The quoted, qualified table `{table}{suffix}` beside history (the instance registry), or
    /// [`Error::InvalidName`] when PostgreSQL would cut that name.
    pub(crate) fn beside(&self, suffix: &str) -> Result<String, Error> {
        let name = format!("{}{suffix}", self.table);
        if name.len() > 63 {
            return Err(Error::InvalidName {
                what: "table",
                name: self.table.clone(),
                reason: "`{table}_instances` (the instance registry) would be longer than the 63 bytes PostgreSQL keeps",
            });
        }
        Ok(format!("{}.{}", ident(&self.schema), ident(&name)))
    }
}

/// One row of the history table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HistoryRow {
    /// Canonical version text, or `R__{name}`.
    pub(crate) version: String,
    /// The name recorded.
    pub(crate) name: String,
    /// Versioned or repeatable.
    pub(crate) kind: MigrationKind,
    /// The forward checksum recorded.
    pub(crate) checksum: [u8; 32],
    /// `false` for a no-transaction migration that has not finished.
    pub(crate) success: bool,
    /// When it was applied, UTC, ISO 8601.
    pub(crate) applied_at: String,
    /// How long it took, in milliseconds.
    pub(crate) execution_ms: i64,
}

impl HistoryRow {
    /// The row's entry in the set digest.
    pub(crate) fn entry_digest(&self) -> [u8; 32] {
        tidemark_core::entry_digest(self.kind, &self.version, &self.checksum)
    }
}

/// The history row `m` leaves when applied (unit tests).
#[cfg(test)]
pub(crate) fn applied(m: &crate::migrations::Migration) -> HistoryRow {
    HistoryRow {
        version: m.version().to_owned(),
        name: m.name().to_owned(),
        kind: m.kind,
        checksum: m.up.checksum,
        success: true,
        applied_at: "2026-01-01T00:00:00.000Z".to_owned(),
        execution_ms: 3,
    }
}

impl Tables {
    /// Gives history the columns a run's flagged steps are recorded with when it lacks them
    /// ([`flag_columns_sql`](Self::flag_columns_sql)); a role that may not alter the table gets
    /// [`Error::MissingPrivilege`](crate::Error::MissingPrivilege) naming the statement an
    /// administrator runs.
    pub(crate) async fn add_flag_columns(
        &self,
        client: &tokio_postgres::Client,
        out_of_order: bool,
        phase: bool,
    ) -> Result<(), crate::Error> {
        client
            .batch_execute(&self.flag_columns_sql(out_of_order, phase))
            .await
            .map_err(|e| {
                read::privilege_or(
                    "adding a column to the history table",
                    format!(
                        "ownership of {h} (or an administrator runs: ALTER TABLE {h} ADD COLUMN \
                         out_of_order boolean NOT NULL DEFAULT false, ADD COLUMN phase text NOT NULL \
                         DEFAULT 'expand')",
                        h = self.history
                    ),
                    e,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(version: &str, sql: &str, success: bool) -> HistoryRow {
        HistoryRow {
            version: version.to_owned(),
            name: format!("m{version}"),
            kind: MigrationKind::Versioned,
            checksum: tidemark_core::checksum(sql),
            success,
            applied_at: String::new(),
            execution_ms: 0,
        }
    }

    #[test]
    fn names_are_quoted_and_empty_ones_refused() {
        let t = Tables::new("my \"s\"", "h").unwrap();
        assert_eq!(t.history, "\"my \"\"s\"\"\".\"h\"");
        assert_eq!(t.state, "\"my \"\"s\"\"\".\"h_state\"");
        let err = Tables::new("", "h").unwrap_err();
        assert!(
            matches!(err, Error::InvalidName { what: "schema", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn the_applied_digest_counts_successful_rows_only() {
        let ok = row("1", "a", true);
        let failed = row("2", "b", false);
        let expected = tidemark_core::set_digest([(MigrationKind::Versioned, "1", &ok.checksum)]);
        assert_eq!(applied_digest([&ok, &failed]), expected);
        assert_eq!(applied_digest([]), [0; 32]);
    }
}
