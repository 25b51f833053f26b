//! Creating the bookkeeping tables, and only what is missing: `CREATE … IF NOT EXISTS` checks the
//! CREATE privilege before it checks existence, so a role that may not create anything could not
//! even run migrations on tables an administrator created. Each object is looked up first
//! (`to_regnamespace`, `to_regclass`, `pg_trigger`) inside one `DO` block, and a creation lost to
//! a concurrent migrator (`duplicate_*`, or the unique index of the catalog) is not an error.
//!
//! The guard trigger clears the stored digest whenever history changes outside tidemark (an
//! operator deleting a row by hand), so the one-query fast path never trusts a stale digest.
//! tidemark's own batches skip it (`tidemark.bookkeeping` set in their transactions).

use super::Tables;
use crate::sql::{ident, literal};

/// The setting that tidemark's own history writes set in their transaction, so the guard
/// trigger lets them be.
pub(crate) const BOOKKEEPING_SETTING: &str = "tidemark.bookkeeping";

impl Tables {
    /// The guard trigger's (and its function's) name: `{table}_guard`.
    pub(crate) fn guard_name(&self) -> String {
        format!("{}_guard", self.table)
    }

    /// `CREATE TABLE` of the history table (no trailing semicolon).
    fn create_history_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (\n\
             \x20 version text PRIMARY KEY,\n\
             \x20 version_key bigint[],\n\
             \x20 name text NOT NULL,\n\
             \x20 kind text NOT NULL,\n\
             \x20 checksum bytea NOT NULL,\n\
             \x20 down_checksum bytea,\n\
             \x20 applied_at timestamptz NOT NULL DEFAULT now(),\n\
             \x20 execution_ms bigint NOT NULL DEFAULT 0,\n\
             \x20 applied_by text NOT NULL DEFAULT current_user,\n\
             \x20 success boolean NOT NULL\n)",
            self.history
        )
    }

    /// `CREATE TABLE` of the one-row state table (no trailing semicolon).
    fn create_state_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (\n\
             \x20 id boolean PRIMARY KEY DEFAULT true CHECK (id),\n\
             \x20 digest bytea NOT NULL,\n\
             \x20 updated_at timestamptz NOT NULL DEFAULT now()\n)",
            self.state
        )
    }

    /// The guard's function and trigger, each statement ending in a semicolon.
    fn create_guard_sql(&self) -> String {
        let guard = format!("{}.{}", ident(&self.schema), ident(&self.guard_name()));
        format!(
            "CREATE OR REPLACE FUNCTION {guard}() RETURNS trigger LANGUAGE plpgsql AS $g$ BEGIN DELETE FROM {state}; RETURN NULL; END $g$;\n\
             CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {history} FOR EACH STATEMENT \
             WHEN (current_setting('{BOOKKEEPING_SETTING}', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION {guard}();\n",
            state = self.state,
            history = self.history,
            trigger = ident(&self.guard_name()),
        )
    }

    /// A `DO` block that creates what is missing: the schema (unless `public`), both tables
    /// and the guard trigger. A role without the privilege to create the trigger gets a
    /// warning from the server, not an error (the fast path then cannot see edits by hand).
    pub(crate) fn ensure_sql(&self) -> String {
        let schema_lit = literal(&ident(&self.schema));
        let history_lit = literal(&self.history);
        let state_lit = literal(&self.state);
        let guard_lit = literal(&self.guard_name());
        let raced = "EXCEPTION WHEN duplicate_schema OR duplicate_table OR duplicate_object OR unique_violation THEN NULL;";
        let mut body = String::new();
        if self.schema != "public" {
            body.push_str(&format!(
                "IF to_regnamespace({schema_lit}) IS NULL THEN BEGIN CREATE SCHEMA {}; {raced} END; END IF;\n",
                ident(&self.schema)
            ));
        }
        body.push_str(&format!(
            "IF to_regclass({history_lit}) IS NULL THEN BEGIN {}; {raced} END; END IF;\n",
            self.create_history_sql()
        ));
        body.push_str(&format!(
            "IF to_regclass({state_lit}) IS NULL THEN BEGIN {}; {raced} END; END IF;\n",
            self.create_state_sql()
        ));
        body.push_str(&format!(
            "IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {history_lit}::regclass AND tgname = {guard_lit}) THEN BEGIN\n\
             {}\
             {raced} WHEN insufficient_privilege THEN RAISE WARNING 'tidemark: cannot create the guard trigger on %: %', {history_lit}, SQLERRM;\n\
             END; END IF;\n",
            self.create_guard_sql()
        ));
        format!("DO $tidemark$ BEGIN\n{body}END $tidemark$;\n")
    }

    /// Plain DDL for a database the fast path found without the tables: the schema when
    /// `schema` is set, both tables and the guard, in one transaction. No `DO` block: that
    /// costs about as much as creating a table (the block is compiled and run by PL/pgSQL),
    /// paid by every new database. Any object already there fails the whole transaction, and
    /// the caller falls back to [`ensure_sql`](Self::ensure_sql), which looks everything up.
    pub(crate) fn create_sql(&self, schema: bool) -> String {
        let schema = if schema {
            format!("CREATE SCHEMA {};\n", ident(&self.schema))
        } else {
            String::new()
        };
        format!(
            "BEGIN;\n{schema}{};\n{};\n{}COMMIT;\n",
            self.create_history_sql(),
            self.create_state_sql(),
            self.create_guard_sql()
        )
    }

    /// Whether the guard trigger exists: part of the read under the lock, so a history table
    /// made by an earlier tidemark gets one.
    pub(crate) fn guard_exists_sql(&self) -> String {
        format!(
            "SELECT count(*) AS tidemark_guard FROM pg_trigger WHERE tgrelid = {}::regclass AND tgname = {}",
            literal(&self.history),
            literal(&self.guard_name())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_looks_everything_up_before_creating_it() {
        let t = Tables::new("app", "h").unwrap();
        let sql = t.ensure_sql();
        assert!(sql.starts_with("DO $tidemark$ BEGIN\n"));
        assert!(
            sql.contains("IF to_regnamespace('\"app\"') IS NULL THEN BEGIN CREATE SCHEMA \"app\";"),
            "{sql}"
        );
        assert!(
            sql.contains(
                "IF to_regclass('\"app\".\"h\"') IS NULL THEN BEGIN CREATE TABLE \"app\".\"h\" ("
            ),
            "{sql}"
        );
        assert!(
            sql.contains("IF to_regclass('\"app\".\"h_state\"') IS NULL"),
            "{sql}"
        );
        assert!(sql.contains("CREATE TRIGGER \"h_guard\" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON \"app\".\"h\""), "{sql}");
        assert_eq!(
            sql.matches("unique_violation THEN NULL").count(),
            4,
            "every creation may lose a race"
        );
        assert!(!Tables::new("public", "h")
            .unwrap()
            .ensure_sql()
            .contains("CREATE SCHEMA"));
    }
}
