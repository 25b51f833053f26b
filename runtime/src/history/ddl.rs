//! Creating the bookkeeping tables.

use super::Tables;
use crate::sql::ident;

impl Tables {
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
}
