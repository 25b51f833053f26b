//! Statements that cannot run inside a transaction block, and transaction control.

use crate::lexer::Statement;

/// If the statement cannot run inside a transaction block, what it is (for the message).
pub(crate) fn needs_no_transaction(s: &Statement) -> Option<&'static str> {
    let w = |words: &[&str]| s.starts_with_words(words);
    if w(&["CREATE", "INDEX", "CONCURRENTLY"]) || w(&["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"])
    {
        Some("CREATE INDEX CONCURRENTLY")
    } else if w(&["DROP", "INDEX", "CONCURRENTLY"]) {
        Some("DROP INDEX CONCURRENTLY")
    } else if w(&["REINDEX"]) && s.words.iter().any(|x| x == "CONCURRENTLY") {
        Some("REINDEX CONCURRENTLY")
    } else if w(&["VACUUM"]) {
        Some("VACUUM")
    } else if w(&["CREATE", "DATABASE"]) {
        Some("CREATE DATABASE")
    } else if w(&["DROP", "DATABASE"]) {
        Some("DROP DATABASE")
    } else if w(&["CREATE", "TABLESPACE"]) {
        Some("CREATE TABLESPACE")
    } else if w(&["DROP", "TABLESPACE"]) {
        Some("DROP TABLESPACE")
    } else if w(&["ALTER", "SYSTEM"]) {
        Some("ALTER SYSTEM")
    } else {
        None
    }
}

/// If the statement starts, ends or aborts a transaction, which keyword it is.
pub(crate) fn transaction_control(s: &Statement) -> Option<&'static str> {
    const KEYWORDS: [&str; 6] = ["BEGIN", "COMMIT", "ROLLBACK", "END", "ABORT", "START"];
    let first = s.words.first()?;
    if first == "START" && !s.starts_with_words(&["START", "TRANSACTION"]) {
        return None;
    }
    KEYWORDS.into_iter().find(|k| k == first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::split;

    fn first(sql: &str) -> Statement {
        split(sql).unwrap().remove(0)
    }

    #[test]
    fn recognises_statements_that_need_no_transaction() {
        for (sql, what) in [
            (
                "create index concurrently i on t (x);",
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY i ON t (x);",
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "drop index concurrently if exists i;",
                "DROP INDEX CONCURRENTLY",
            ),
            (
                "reindex (verbose) index concurrently i;",
                "REINDEX CONCURRENTLY",
            ),
            ("vacuum analyze t;", "VACUUM"),
            ("create database x;", "CREATE DATABASE"),
            ("alter system set work_mem = '1MB';", "ALTER SYSTEM"),
        ] {
            assert_eq!(needs_no_transaction(&first(sql)), Some(what), "{sql}");
        }
        for sql in [
            "create index i on t (x);",
            "alter type e add value 'x';",
            "reindex index i;",
        ] {
            assert_eq!(needs_no_transaction(&first(sql)), None, "{sql}");
        }
    }

    #[test]
    fn recognises_transaction_control() {
        assert_eq!(transaction_control(&first("BEGIN;")), Some("BEGIN"));
        assert_eq!(
            transaction_control(&first("start transaction;")),
            Some("START")
        );
        assert_eq!(transaction_control(&first("commit;")), Some("COMMIT"));
        assert_eq!(transaction_control(&first("select 'begin';")), None);
        assert_eq!(
            transaction_control(&first("do $$ begin commit; end $$;")),
            None
        );
    }
}
