//! Checks of one script: encoding, quoting, directives, transaction safety.

use crate::checksum::checksum;
use crate::diagnostic::Diagnostic;
use crate::lexer::split;
use crate::model::Script;
use crate::{directive, nontx};
use std::path::PathBuf;

/// What the caller knows about a script besides its bytes.
pub(crate) struct ScriptSource {
    pub(crate) path: String,
    pub(crate) abs_path: PathBuf,
    /// Diesel's `metadata.toml` says `run_in_transaction = false`.
    pub(crate) metadata_no_transaction: bool,
    /// The folder uses diesel directories (changes the advice given).
    pub(crate) diesel: bool,
    /// A forward script (an empty one earns a warning).
    pub(crate) forward: bool,
}

/// Checks a Rust code migration's file: UTF-8, its directives, its checksum. Its Rust is the
/// compiler's to check (the macro includes it as a module and checks `up`'s shape).
pub(crate) fn analyze_code(
    src: ScriptSource,
    bytes: Vec<u8>,
    out: &mut Vec<Diagnostic>,
) -> Option<Script> {
    let text = utf8(&src.path, bytes, out)?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let no_transaction = directive::code_no_transaction(&src.path, body, out);
    let out_of_order = directive::out_of_order(body, body.len(), "//");
    let header = directive::header_end(body, "//");
    let contract = directive::contract(body, header, "//");
    misplaced_contract(&src.path, body, header, "//", out);
    Some(Script {
        path: src.path,
        abs_path: src.abs_path,
        checksum: checksum(&text),
        text,
        no_transaction,
        code: true,
        own_transaction: false,
        out_of_order,
        contract,
    })
}

/// A `tidemark:contract` line below the first statement is not read (directives end there): an
/// error at that line, since the migration would otherwise run as an expand one.
fn misplaced_contract(
    path: &str,
    body: &str,
    header: usize,
    marker: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(at) = directive::find_after(body, header, marker, directive::CONTRACT) {
        out.push(
            Diagnostic::error(path, "`tidemark:contract` after the first statement is not read")
                .at(body, at)
                .help(format!("move `{marker} tidemark:contract` above the first statement, with the other directives")),
        );
    }
}

/// The file's text, or an error at the first byte that is not UTF-8.
fn utf8(path: &str, bytes: Vec<u8>, out: &mut Vec<Diagnostic>) -> Option<String> {
    match String::from_utf8(bytes) {
        Ok(t) => Some(t),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let valid = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or_default();
            out.push(
                Diagnostic::error(path, format!("not valid UTF-8 at byte offset {offset}"))
                    .at(valid, offset)
                    .help("save the file as UTF-8"),
            );
            None
        }
    }
}

/// Checks a script, pushing every problem to `out`. Returns the script unless its text could not
/// be had (not UTF-8); a script with errors is still returned, so a check can list it.
pub(crate) fn analyze(
    src: ScriptSource,
    bytes: Vec<u8>,
    out: &mut Vec<Diagnostic>,
) -> Option<Script> {
    let path = src.path.as_str();
    let text = utf8(path, bytes, out)?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let statements = statements(path, body, out)?;
    let no_transaction = runs_outside_transaction(&src, body, &statements, out);
    // A file wrapped in its own BEGIN … COMMIT runs in tidemark's transaction instead.
    let wrapper = if no_transaction {
        None
    } else {
        crate::wrapper::wrapper(&statements)
    };
    if let Some([begin, commit]) = &wrapper {
        note_own_transaction(path, body, begin.start, commit.start, out);
    }
    if src.forward
        && statements.iter().all(|s| s.code_start.is_none())
        && statements_ok(&statements, body)
    {
        out.push(
            Diagnostic::warning(path, "the forward script is empty")
                .help("it will be recorded as applied without doing anything; add its SQL or remove the file"),
        );
    }
    if !no_transaction {
        check_in_transaction(&src, body, &statements, wrapper.as_ref(), out);
    }
    let first_code = statements.iter().find_map(|s| s.code_start);
    let header = first_code.unwrap_or(body.len());
    let out_of_order = directive::out_of_order(body, header, "--");
    let contract = directive::contract(body, header, "--");
    misplaced_contract(path, body, header, "--", out);
    Some(Script {
        path: src.path,
        abs_path: src.abs_path,
        checksum: checksum(&text),
        text,
        no_transaction,
        code: false,
        own_transaction: wrapper.is_some(),
        out_of_order,
        contract,
    })
}

/// The script's statements; `None`, with the error, for a NUL character or a quote or comment
/// left open.
fn statements(
    path: &str,
    body: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Vec<crate::lexer::Statement>> {
    if let Some(nul) = body.find('\0') {
        out.push(
            Diagnostic::error(
                path,
                "a NUL character, which PostgreSQL cannot take in a query",
            )
            .at(body, nul)
            .help("remove it (a file saved as UTF-16 is full of them: save it as UTF-8)"),
        );
        return None;
    }
    match split(body) {
        Ok(s) => Some(s),
        Err(e) => {
            out.push(
                Diagnostic::error(path, e.describe())
                    .at(body, e.offset)
                    .help(
                    "close it; if it should be closed already, look for a stray quote before it",
                ),
            );
            None
        }
    }
}

/// Whether the script runs outside a transaction: by its directive, its diesel metadata, or,
/// as Flyway does, because every statement in it must (it can only turn a certain failure into
/// success; said as a note).
fn runs_outside_transaction(
    src: &ScriptSource,
    body: &str,
    statements: &[crate::lexer::Statement],
    out: &mut Vec<Diagnostic>,
) -> bool {
    let path = src.path.as_str();
    let first_code = statements.iter().find_map(|s| s.code_start);
    let directive = directive::no_transaction(path, body, first_code.unwrap_or(body.len()), out);
    if directive || src.metadata_no_transaction {
        return true;
    }
    let code: Vec<&crate::lexer::Statement> = statements.iter().filter(|s| s.has_code()).collect();
    let outside: Vec<(&crate::lexer::Statement, &str)> = code
        .iter()
        .filter_map(|s| nontx::needs_no_transaction(s).map(|what| (*s, what)))
        .collect();
    if outside.is_empty() || outside.len() != code.len() {
        return false;
    }
    out.push(
        Diagnostic::note(
            path,
            format!(
                "runs outside a transaction, statement by statement: every statement in it must ({})",
                outside[0].1
            ),
        )
        .at(body, outside[0].0.code_start.unwrap_or_default())
        .help("add `-- tidemark:no-transaction` as the file's first line to say so"),
    );
    true
}

/// The note for a file wrapped in its own `BEGIN` … `COMMIT`, which is left out.
fn note_own_transaction(
    path: &str,
    body: &str,
    begin: usize,
    commit: usize,
    out: &mut Vec<Diagnostic>,
) {
    let line = |at: usize| crate::position::line_col(body, at).0;
    out.push(
        Diagnostic::note(
            path,
            format!(
                "its own transaction (BEGIN at line {}, COMMIT at line {}) is left out: the \
                 file runs in tidemark's transaction, which commits it with its history row",
                line(begin),
                line(commit)
            ),
        )
        .at(body, begin)
        .help("nothing to do (removing the two statements says the same)"),
    );
}

/// In a script that runs in a transaction: a statement that cannot (`CREATE INDEX
/// CONCURRENTLY`), or transaction control of its own (other than a whole-file wrapper), is an
/// error naming the way out.
fn check_in_transaction(
    src: &ScriptSource,
    body: &str,
    statements: &[crate::lexer::Statement],
    wrapper: Option<&[std::ops::Range<usize>; 2]>,
    out: &mut Vec<Diagnostic>,
) {
    let path = src.path.as_str();
    let code = || statements.iter().filter(|s| s.has_code());
    // The first statement that must run in a transaction, for a message about a mixed file.
    let inside = code()
        .find(|s| nontx::needs_no_transaction(s).is_none())
        .map(|s| crate::position::line_col(body, s.code_start.unwrap_or_default()).0);
    let wrapping = |s: &crate::lexer::Statement| {
        wrapper.is_some_and(|w| w.iter().any(|r| s.code_start == Some(r.start)))
    };
    let opt_out = if src.diesel {
        "put `run_in_transaction = false` in the migration's metadata.toml (or `-- tidemark:no-transaction` as the file's first line)"
    } else {
        "add `-- tidemark:no-transaction` as the file's first line"
    };
    for s in code() {
        let at = s.code_start.unwrap_or_default();
        if let Some(what) = nontx::needs_no_transaction(s) {
            let others = inside.map_or_else(String::new, |line| {
                format!(", and this file's statement at line {line} must run in one")
            });
            out.push(
                Diagnostic::error(
                    path,
                    format!("{what} cannot run inside a transaction block{others}"),
                )
                .at(body, at)
                .help(format!(
                    "move it to a migration of its own (which then runs outside a transaction by \
                     itself), or {opt_out} so this file runs outside a transaction, statement by statement"
                )),
            );
        } else if let Some(kw) = nontx::transaction_control(s).filter(|_| !wrapping(s)) {
            out.push(
                Diagnostic::error(
                    path,
                    format!("`{kw}` inside a migration would commit it apart from its history row"),
                )
                .at(body, at)
                .help(format!(
                    "remove it: tidemark already runs each migration and its history row in one transaction \
                     (to control transactions yourself instead, {opt_out})"
                )),
            );
        }
    }
}

/// Whether the split covered the text (it is empty when the lexer failed on a non-empty text).
fn statements_ok(statements: &[crate::lexer::Statement], body: &str) -> bool {
    !statements.is_empty() || body.is_empty()
}

/// Checks a SQL file that is not a migration (a test fixture, loaded after migrating): UTF-8, no
/// NUL character, no quote or comment left open. Returns its text, or the errors at
/// `path:line:col`.
pub fn check_sql_file(path: &str, bytes: Vec<u8>) -> Result<String, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let text = utf8(path, bytes, &mut out).ok_or_else(|| out.clone())?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match statements(path, body, &mut out) {
        Some(_) => Ok(text),
        None => Err(out),
    }
}

/// Every check of one script, on its bytes as a file would hold them: what the fuzzers and the
/// property tests drive (encoding, directives, the lexer, transaction safety, the checksum).
/// Not public API.
#[doc(hidden)]
pub fn check_script_bytes(bytes: &[u8], diesel: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let src = ScriptSource {
        path: "migrations/V1__fuzz.sql".to_owned(),
        abs_path: PathBuf::from("/nonexistent/V1__fuzz.sql"),
        metadata_no_transaction: false,
        diesel,
        forward: true,
    };
    analyze(src, bytes.to_vec(), &mut out);
    out
}
