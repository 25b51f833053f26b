//! Files wrapped in their own transaction: a first statement `BEGIN` and a last `COMMIT`, as
//! psql and golang-migrate folders often have. tidemark's transaction takes the place of the
//! file's (so the history row commits with its work): those two statements are left out when
//! the file runs, blanked in place so that every byte offset, line and column stays the file's.

use crate::lexer::{split, Statement};
use std::ops::Range;

/// Whether the statement is a plain `BEGIN` / `START TRANSACTION` (no isolation level or other
/// option, which tidemark's own `BEGIN` would not carry).
fn is_plain_begin(s: &Statement) -> bool {
    match s.words.as_slice() {
        [b] => b == "BEGIN",
        [b, t] => {
            (b == "BEGIN" && (t == "TRANSACTION" || t == "WORK"))
                || (b == "START" && t == "TRANSACTION")
        }
        _ => false,
    }
}

/// Whether the statement is a plain `COMMIT` / `END` (not `AND CHAIN`).
fn is_plain_commit(s: &Statement) -> bool {
    match s.words.as_slice() {
        [c] => c == "COMMIT" || c == "END",
        [c, t] => (c == "COMMIT" || c == "END") && (t == "TRANSACTION" || t == "WORK"),
        _ => false,
    }
}

/// The statements that wrap the file (its first `BEGIN`, its last `COMMIT`), when it is wrapped
/// and holds no other transaction control. Ranges run from each statement's first character
/// through its `;`.
pub(crate) fn wrapper(statements: &[Statement]) -> Option<[Range<usize>; 2]> {
    let code: Vec<&Statement> = statements.iter().filter(|s| s.has_code()).collect();
    let (first, last) = (code.first()?, code.last()?);
    if code.len() < 2 || !is_plain_begin(first) || !is_plain_commit(last) {
        return None;
    }
    let inner = &code[1..code.len() - 1];
    if inner
        .iter()
        .any(|s| crate::nontx::transaction_control(s).is_some())
    {
        return None;
    }
    let span = |s: &Statement| s.code_start.unwrap_or(s.range.start)..s.range.end;
    Some([span(first), span(last)])
}

/// The script as it runs inside tidemark's transaction: `body` (without a byte-order mark) with
/// its wrapping `BEGIN` and `COMMIT` turned into spaces, or `None` when it is not wrapped.
pub fn without_own_transaction(body: &str) -> Option<String> {
    let statements = split(body).ok()?;
    let ranges = wrapper(&statements)?;
    let mut bytes = body.as_bytes().to_vec();
    for r in ranges {
        for b in &mut bytes[r] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Only ASCII keywords, `;` and the spaces between them were replaced.
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_file_loses_only_its_wrapper_and_keeps_every_offset() {
        let sql =
            "-- backfill\nBEGIN;\nUPDATE t SET x = 1;\nDO $$ BEGIN PERFORM 1; END $$;\nCOMMIT;\n";
        let run = without_own_transaction(sql).unwrap();
        assert_eq!(run.len(), sql.len());
        assert_eq!(
            run,
            "-- backfill\n      \nUPDATE t SET x = 1;\nDO $$ BEGIN PERFORM 1; END $$;\n       \n"
        );
        for wrapped in [
            "begin transaction; select 1; end;",
            "START TRANSACTION; SELECT 1; COMMIT WORK;",
        ] {
            assert!(without_own_transaction(wrapped).is_some(), "{wrapped}");
        }
    }

    #[test]
    fn anything_else_is_not_a_wrapper() {
        for sql in [
            "SELECT 1;",
            "BEGIN; SELECT 1;",
            "SELECT 1; COMMIT;",
            "BEGIN; COMMIT; BEGIN; SELECT 1; COMMIT;",
            "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT 1; COMMIT;",
            "BEGIN; SELECT 1; COMMIT AND CHAIN;",
            "BEGIN; SELECT 1; COMMIT; SELECT 2;",
            "BEGIN; SELECT 1; ROLLBACK;",
            "BEGIN;",
        ] {
            assert_eq!(without_own_transaction(sql), None, "{sql}");
        }
    }
}
