//! Lines for people and documents for machines; a closed stdout or stderr is never a panic
//! (`tidemark check | head -1`).

use std::io::Write;

/// A line on stdout.
pub(crate) fn out(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// A line on stderr.
pub(crate) fn err(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// `error: …` on stderr.
pub(crate) fn error(text: &str) {
    err(&format!("error: {text}"));
}

/// `1 migration`, `2 migrations`.
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
