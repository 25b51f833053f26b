//! The SQL that records what runs: history rows for each step, the state digest, and the
//! bookkeeping-only changes of `baseline` and `repair`. Pure text builders; the executor and the
//! verbs send them.

use super::Tables;
use crate::migrations::{Migration, MigrationKind};
use crate::report::Direction;
use crate::sql::{bigint_array, bytea, literal};

/// Column of the row each step returns, so the client learns which steps committed and how
/// long each took (microseconds).
pub(crate) const STEP_COLUMN: &str = "tidemark_step_us";

/// The server's clock now, in microseconds since the epoch. `clock_timestamp()`, because `now()`
/// is the same for every transaction of a many-migration message.
const CLOCK_US: &str = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";
/// When the current step started, as [`step_start_sql`] recorded it.
const START_US: &str = "current_setting('tidemark.step_start')::bigint";

/// The column of the row that names the backend that runs the migrations (so a stop can
/// cancel its statement). It comes with replies that end before anything long runs: the
/// server holds back the rows of a message until the message ends.
pub(crate) const PID_COLUMN: &str = "tidemark_pid";

/// Sent just before each step's script, setting in its transaction: the step's start, so its
/// history row gets its own `applied_at` and `execution_ms`; the bookkeeping flag, so the guard
/// trigger lets tidemark's own writes be; on PostgreSQL 14+,
/// `client_connection_check_interval`, so the server stops a migration soon after its client
/// dies instead of running it to the end; and, when given, `lock_timeout`, so the step's DDL
/// gives up waiting for a lock instead of queueing every query behind it; and, when given,
/// `search_path` (a tenant's schema). All transaction-local: nothing leaks into a pooled
/// session. One statement, one row. With the server's version known (`server_version`, as
/// `server_version_num`) the check interval is set or left out here, not asked of the server
/// at each step.
pub(crate) fn step_start_sql(
    lock_timeout: Option<std::time::Duration>,
    search_path: Option<&str>,
    server_version: Option<u32>,
) -> String {
    let mut lock = lock_timeout.map_or_else(String::new, |d| {
        format!(
            ", set_config('lock_timeout', '{}ms', true)",
            d.as_millis().max(1)
        )
    });
    if let Some(path) = search_path {
        lock.push_str(&format!(
            ", set_config('search_path', {}, true)",
            crate::sql::literal(path)
        ));
    }
    const CHECK_INTERVAL: &str = "set_config('client_connection_check_interval', '250ms', true)";
    let check = match server_version {
        Some(v) if v >= 140_000 => format!(", {CHECK_INTERVAL}"),
        Some(_) => String::new(),
        None => format!(
            ", CASE WHEN current_setting('server_version_num')::int >= 140000 THEN {CHECK_INTERVAL} END"
        ),
    };
    format!(
        "SELECT set_config('tidemark.step_start', \
         (extract(epoch from clock_timestamp()) * 1000000)::bigint::text, true), \
         set_config('tidemark.bookkeeping', 'on', true){check}{lock};\n"
    )
}

/// [`step_start_sql`] naming the step where operators look: the transaction-local
/// `application_name` `tidemark: up 3 slow`, which `pg_stat_activity` shows while the step
/// runs (its query column holds only the start of a long message) and which ends with the
/// step's transaction.
pub(crate) fn named_step_start(step_start: &str, m: &Migration, direction: Direction) -> String {
    let shared = step_start.trim_end().trim_end_matches(';');
    format!(
        "{shared}, set_config('application_name', {}, true);\n",
        literal(&application_name(m, direction))
    )
}

/// What a running step is called in `pg_stat_activity`: `tidemark: up 3 slow` (cut to the 63
/// bytes the server keeps).
pub(crate) fn application_name(m: &Migration, direction: Direction) -> String {
    let mut name = format!("tidemark: {direction} {} {}", m.id, m.name);
    if name.len() > 63 {
        let mut end = 63;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// The first column of [`step_start_sql`]'s row: a step of the message started.
pub(crate) const START_COLUMN: &str = "set_config";

/// How a forward step's row is timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timing {
    /// From [`step_start_sql`] to the row's insert (a transactional step).
    Step,
    /// Starting now and not finished (a no-transaction step's first row), or not run at all
    /// (`baseline`): zero milliseconds.
    Now,
    /// When another tool applied it (microseconds since the epoch; now when it did not say)
    /// and how long it took: `adopt`.
    #[cfg(feature = "adopt")]
    At {
        applied_us: Option<i64>,
        execution_ms: i64,
    },
}

impl Timing {
    /// `applied_at`, `execution_ms` and the step's microseconds, as SQL expressions.
    fn columns(self) -> (String, String, String) {
        match self {
            Self::Step => (
                format!("'epoch'::timestamptz + {START_US} * interval '1 microsecond'"),
                format!("({CLOCK_US} - {START_US}) / 1000"),
                format!("{CLOCK_US} - {START_US}"),
            ),
            Self::Now => (
                "clock_timestamp()".to_owned(),
                "0".to_owned(),
                "0".to_owned(),
            ),
            #[cfg(feature = "adopt")]
            Self::At {
                applied_us,
                execution_ms,
            } => (
                applied_us.map_or_else(
                    || "clock_timestamp()".to_owned(),
                    |us| format!("'epoch'::timestamptz + {us} * interval '1 microsecond'"),
                ),
                execution_ms.to_string(),
                "0".to_owned(),
            ),
        }
    }
}

/// The columns a history row is inserted with.
const HISTORY_COLUMNS: &str = "(version, version_key, name, kind, checksum, down_checksum, applied_at, execution_ms, success)";

/// A history row's values, in [`HISTORY_COLUMNS`]' order.
fn history_values(m: &Migration, success: bool, applied_at: &str, execution_ms: &str) -> String {
    let key = if m.kind.is_versioned() {
        bigint_array(&m.version_parts)
    } else {
        "NULL".to_owned()
    };
    format!(
        "({v}, {key}, {n}, '{k}', {c}, {down}, {applied_at}, {execution_ms}, {success})",
        v = literal(&m.id),
        n = literal(&m.name),
        k = m.kind.as_str(),
        c = bytea(&m.up.checksum),
        down = down_checksum(m),
    )
}

impl Tables {
    /// Records a forward step and returns its [`STEP_COLUMN`] row (the step's microseconds). A
    /// versioned migration gets a plain insert (it cannot be there: history was read under the
    /// lock); a repeatable one replaces its row.
    pub(crate) fn record_up_sql(&self, m: &Migration, success: bool, timing: Timing) -> String {
        self.record_up_flagged(m, success, timing, false)
    }

    /// [`record_up_sql`](Self::record_up_sql), `out_of_order` set on the row when the step
    /// applies a migration marked `-- tidemark:out-of-order` below the highest applied version
    /// (a column [`flag_columns_sql`](Self::flag_columns_sql) adds to history the
    /// first time).
    pub(crate) fn record_up_flagged(
        &self,
        m: &Migration,
        success: bool,
        timing: Timing,
        out_of_order: bool,
    ) -> String {
        let (applied_at, execution_ms, step_us) = timing.columns();
        let upsert = match m.kind {
            MigrationKind::Versioned | MigrationKind::Code => "",
            _ => {
                " ON CONFLICT (version) DO UPDATE SET name = excluded.name, checksum = excluded.checksum, \
                 down_checksum = excluded.down_checksum, applied_at = excluded.applied_at, \
                 execution_ms = excluded.execution_ms, applied_by = current_user, success = excluded.success"
            }
        };
        let mut row = history_values(m, success, &applied_at, &execution_ms);
        let mut columns = HISTORY_COLUMNS.to_owned();
        let mut flag = |column: &str, value: &str| {
            row.insert_str(row.len() - 1, &format!(", {value}"));
            columns.insert_str(columns.len() - 1, &format!(", {column}"));
        };
        if out_of_order {
            flag("out_of_order", "true");
        }
        if m.up.contract {
            flag("phase", "'contract'");
        }
        format!(
            "INSERT INTO {h} AS h {columns} VALUES {row}{upsert} \
             RETURNING {step_us} AS {STEP_COLUMN};\n",
            h = self.history,
        )
    }

    /// Adds the columns history records a step's flags in, to a history table that lacks them
    /// (made before they existed, or before the first step that needs them): `out_of_order` (a
    /// marked migration applied below the highest applied version) and `phase` (a contract
    /// migration). One `DO` block.
    pub(crate) fn flag_columns_sql(&self, out_of_order: bool, phase: bool) -> String {
        let mut body = String::new();
        for (wanted, column, definition) in [
            (
                out_of_order,
                "out_of_order",
                "boolean NOT NULL DEFAULT false",
            ),
            (phase, "phase", "text NOT NULL DEFAULT 'expand'"),
        ] {
            if wanted {
                body.push_str(&format!(
                    "IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = {lit}::regclass \
                     AND attname = '{column}' AND NOT attisdropped) THEN \
                     ALTER TABLE {h} ADD COLUMN {column} {definition}; END IF; ",
                    lit = literal(&self.history),
                    h = self.history,
                ));
            }
        }
        format!("DO $tidemark$ BEGIN {body}END $tidemark$;\n")
    }

    /// `PREPARE`s [`record_up_sql`](Self::record_up_sql)'s insert of a successful versioned step
    /// as `name`, for a message that records many: each step then sends only its values
    /// ([`execute_record_sql`](Self::execute_record_sql)) and the server skips parsing and
    /// planning the insert again (a third of a step's bookkeeping in backend CPU, measured with
    /// `scripts/bench steps`). Prepared and deallocated in the same message: a message runs on
    /// one server session even behind a transaction-mode pooler.
    pub(crate) fn prepare_record_sql(&self, name: &str) -> String {
        let (applied_at, execution_ms, step_us) = Timing::Step.columns();
        format!(
            "PREPARE {name} (text, bigint[], text, text, bytea, bytea) AS \
             INSERT INTO {h} {HISTORY_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, {applied_at}, {execution_ms}, true) \
             RETURNING {step_us} AS {STEP_COLUMN};\n",
            h = self.history,
        )
    }

    /// Records a successful versioned (or code) step through the statement
    /// [`prepare_record_sql`](Self::prepare_record_sql) prepared as `name`; the same row and reply
    /// as [`record_up_sql`](Self::record_up_sql) with [`Timing::Step`].
    pub(crate) fn execute_record_sql(name: &str, m: &Migration) -> String {
        format!(
            "EXECUTE {name} ({v}, {key}, {n}, '{k}', {c}, {down});\n",
            v = literal(&m.id),
            key = bigint_array(&m.version_parts),
            n = literal(&m.name),
            k = m.kind.as_str(),
            c = bytea(&m.up.checksum),
            down = down_checksum(m),
        )
    }

    /// Records the migrations a checkpoint stands for (`covers`), in one statement that returns
    /// one [`STEP_COLUMN`] row like any other step's record. All were applied when the
    /// checkpoint started; the time it took is its newest migration's (the others took none of
    /// their own).
    pub(crate) fn record_squashed_sql(&self, covers: &[Migration]) -> String {
        let (applied_at, execution_ms, step_us) = Timing::Step.columns();
        let last = covers.len().saturating_sub(1);
        let rows: Vec<String> = covers
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let ms = if i == last {
                    execution_ms.as_str()
                } else {
                    "0"
                };
                history_values(m, true, &applied_at, ms)
            })
            .collect();
        format!(
            "WITH squashed AS (INSERT INTO {h} {HISTORY_COLUMNS} VALUES {rows} RETURNING 1) \
             SELECT {step_us} AS {STEP_COLUMN} FROM (SELECT count(*) FROM squashed) AS recorded;\n",
            h = self.history,
            rows = rows.join(", "),
        )
    }

    /// Records a rollback step (removes the row) and returns its [`STEP_COLUMN`] row.
    pub(crate) fn record_down_sql(&self, m: &Migration) -> String {
        format!(
            "DELETE FROM {} WHERE version = {} RETURNING {CLOCK_US} - {START_US} AS {STEP_COLUMN};\n",
            self.history,
            literal(&m.id)
        )
    }

    /// Marks a no-transaction rollback as started: its row becomes a failed row until the
    /// rollback finishes.
    pub(crate) fn mark_down_started_sql(&self, m: &Migration) -> String {
        format!(
            "UPDATE {} SET success = false WHERE version = {};\n",
            self.history,
            literal(&m.id)
        )
    }

    /// Marks a no-transaction forward step as finished, with its duration (its `applied_at` is
    /// when its first row was written, as it started).
    pub(crate) fn finish_up_sql(&self, m: &Migration, execution_ms: u128) -> String {
        format!(
            "UPDATE {} SET success = true, execution_ms = {execution_ms} WHERE version = {};\n",
            self.history,
            literal(&m.id)
        )
    }

    /// Removes a history row: a finished no-transaction rollback, or a failed row `repair`
    /// clears.
    pub(crate) fn remove_sql(&self, version: &str) -> String {
        format!(
            "DELETE FROM {} WHERE version = {};\n",
            self.history,
            literal(version)
        )
    }

    /// Re-records an edited migration's checksums and name (`repair`).
    pub(crate) fn realign_sql(&self, m: &Migration) -> String {
        format!(
            "UPDATE {} SET checksum = {}, down_checksum = {}, name = {} WHERE version = {};\n",
            self.history,
            bytea(&m.up.checksum),
            down_checksum(m),
            literal(&m.name),
            literal(&m.id)
        )
    }

    /// Removes the stored digest: what is applied is unknown until the next digest is stored,
    /// and the fast path falls back to the full check.
    pub(crate) fn invalidate_sql(&self) -> String {
        format!("DELETE FROM {};\n", self.state)
    }

    /// Stores the digest of what is applied.
    pub(crate) fn store_digest_sql(&self, digest: &[u8; 32]) -> String {
        format!(
            "INSERT INTO {s} (id, digest) VALUES (true, {d}) \
             ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, updated_at = now();\n",
            s = self.state,
            d = bytea(digest)
        )
    }
}

fn down_checksum(m: &Migration) -> String {
    m.down
        .as_ref()
        .map_or("NULL".to_owned(), |d| bytea(&d.checksum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::__private::{migration, script};

    const UP: crate::migrations::Script =
        script("CREATE TABLE t ();", "m/V2__t.sql", [1; 32], false, false);
    const DOWN: crate::migrations::Script =
        script("DROP TABLE t;", "m/U2__t.sql", [2; 32], false, false);

    #[test]
    fn a_versioned_step_is_a_plain_insert_that_returns_its_time() {
        let t = Tables::new("public", "h").unwrap();
        let m = migration(
            "2.1",
            &[2, 1],
            "it's",
            MigrationKind::Versioned,
            "",
            UP,
            Some(DOWN),
        );
        let sql = t.record_up_sql(&m, true, Timing::Now);
        assert!(
            sql.starts_with("INSERT INTO \"public\".\"h\" AS h "),
            "{sql}"
        );
        assert!(
            sql.contains("VALUES ('2.1', '{2,1}'::bigint[], 'it''s', 'versioned', E'\\\\x0101"),
            "{sql}"
        );
        assert!(
            sql.contains(", E'\\\\x0202"),
            "the rollback checksum: {sql}"
        );
        assert!(!sql.contains("ON CONFLICT"), "{sql}");
        assert!(sql.ends_with(&format!("AS {STEP_COLUMN};\n")), "{sql}");
    }

    #[test]
    fn a_repeatable_step_replaces_its_row() {
        let t = Tables::new("public", "h").unwrap();
        let m = migration("R__v", &[], "v", MigrationKind::Repeatable, "", UP, None);
        let sql = t.record_up_sql(&m, false, Timing::Step);
        assert!(
            sql.contains("VALUES ('R__v', NULL, 'v', 'repeatable'"),
            "{sql}"
        );
        assert!(
            sql.contains("::bytea, NULL, 'epoch'::timestamptz + current_setting("),
            "no rollback checksum: {sql}"
        );
        assert!(
            sql.contains("false) ON CONFLICT (version) DO UPDATE"),
            "{sql}"
        );
    }

    #[test]
    fn bookkeeping_statements_name_their_row() {
        let t = Tables::new("s", "h").unwrap();
        let m = migration("3", &[3], "x", MigrationKind::Versioned, "", UP, None);
        assert_eq!(
            t.record_down_sql(&m),
            format!("DELETE FROM \"s\".\"h\" WHERE version = '3' RETURNING {CLOCK_US} - {START_US} AS {STEP_COLUMN};\n")
        );
        assert_eq!(
            t.remove_sql("3"),
            "DELETE FROM \"s\".\"h\" WHERE version = '3';\n"
        );
        assert!(t.finish_up_sql(&m, 12).contains("execution_ms = 12"));
        assert!(t.realign_sql(&m).contains("down_checksum = NULL"));
        assert_eq!(t.invalidate_sql(), "DELETE FROM \"s\".\"h_state\";\n");
        assert!(t
            .store_digest_sql(&[0; 32])
            .starts_with("INSERT INTO \"s\".\"h_state\" (id, digest)"));
    }
}
