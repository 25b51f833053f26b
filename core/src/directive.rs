//! Directives: `--` comment lines before the first statement of a script.

use crate::diagnostic::Diagnostic;

/// The directive tidemark knows, after the `-- tidemark:` prefix.
const NO_TRANSACTION: &str = "no-transaction";
/// The directive that lets one migration apply below the highest applied version.
const OUT_OF_ORDER: &str = "out-of-order";
/// The directive that makes a migration a contract one: it removes or renames what the
/// previous release uses, so it waits until no instance of that release is alive.
pub(crate) const CONTRACT: &str = "contract";
/// The directive that opens a checkpoint's header (see the checkpoint module).
pub(crate) const CHECKPOINT: &str = "checkpoint";
/// The directive that lists one migration a checkpoint squashes (see the checkpoint module).
pub(crate) const SQUASHES: &str = "squashes";
/// What follows [`CHECKPOINT`] in the checkpoint of a diesel folder: its versions are diesel's
/// (spelled as written, ordered as strings).
pub(crate) const DIESEL: &str = "diesel";

/// `allow(rule, …)`: silences build-time analysis rules for the file (or, before a statement,
/// for that statement).
fn is_allow(directive: &str) -> bool {
    directive.starts_with("allow(") && directive.ends_with(')')
}

/// The rules a `tidemark:allow(…)` directive in `comment` (one `--` line without its marker)
/// names, if it is one.
pub fn allowed_rules(comment: &str) -> Option<Vec<String>> {
    let inner = comment
        .trim()
        .strip_prefix("tidemark:")?
        .trim()
        .strip_prefix("allow(")?
        .strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect(),
    )
}

/// Reads the directives: the comment lines (`--` in SQL, `//` in Rust) at the top of
/// `text[..first_code]`, before the first statement and before anything else that is not a
/// blank line. Returns whether the script runs outside a transaction; unknown `tidemark:`
/// directives are reported as errors.
pub(crate) fn no_transaction(
    path: &str,
    text: &str,
    first_code: usize,
    out: &mut Vec<Diagnostic>,
) -> bool {
    scan(path, text, first_code, "--", out)
}

/// The directives of a Rust code migration: `// tidemark:no-transaction` (or `//!`) lines
/// before the first line of code.
pub(crate) fn code_no_transaction(path: &str, text: &str, out: &mut Vec<Diagnostic>) -> bool {
    scan(path, text, text.len(), "//", out)
}

/// Whether the comment lines (`marker`: `--` or `//`) at the top of `text[..first_code]` hold
/// `tidemark:out-of-order`: the migration may apply below the highest applied version.
pub(crate) fn out_of_order(text: &str, first_code: usize, marker: &str) -> bool {
    find(text, first_code, marker, OUT_OF_ORDER).is_some()
}

/// Whether the comment lines (`marker`: `--` or `//`) at the top of `text[..first_code]` hold
/// `tidemark:contract`: the migration is a contract one (design §11).
pub(crate) fn contract(text: &str, first_code: usize, marker: &str) -> bool {
    find(text, first_code, marker, CONTRACT).is_some()
}

/// The byte offset of the directive `tidemark:{name}` among the comment lines (`marker`) at the
/// top of `text[..first_code]`, if it is there.
pub(crate) fn find(text: &str, first_code: usize, marker: &str, name: &str) -> Option<usize> {
    let mut at = 0;
    for line in text[..first_code.min(text.len())].split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            let comment = trimmed.strip_prefix(marker)?;
            let directive = comment.trim_start_matches(['/', '!']).trim();
            if directive
                .strip_prefix("tidemark:")
                .is_some_and(|d| d.trim() == name)
            {
                return Some(at + (line.len() - line.trim_start().len()));
            }
        }
        at += line.len();
    }
    None
}

/// Where the header of comment lines (`marker`) and blank lines at the top of `text` ends: the
/// first line that is neither (a Rust file's first line of code).
pub(crate) fn header_end(text: &str, marker: &str) -> usize {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with(marker) {
            return at;
        }
        at += line.len();
    }
    text.len()
}

/// The byte offset of a `tidemark:{name}` comment line at or after `from`: a directive written
/// where it is not read (directives end at the first statement).
pub(crate) fn find_after(text: &str, from: usize, marker: &str, name: &str) -> Option<usize> {
    let from = from.min(text.len());
    let mut at = from;
    for line in text[from..].split_inclusive('\n') {
        let trimmed = line.trim();
        let directive = trimmed
            .strip_prefix(marker)
            .map(|c| c.trim_start_matches(['/', '!']).trim());
        if directive
            .and_then(|d| d.strip_prefix("tidemark:"))
            .is_some_and(|d| d.trim() == name)
        {
            return Some(at + (line.len() - line.trim_start().len()));
        }
        at += line.len();
    }
    None
}

/// `checkpoint`, `checkpoint diesel` and `squashes …`: a checkpoint's header lines (see the
/// checkpoint module).
fn is_checkpoint_header(directive: &str) -> bool {
    directive == CHECKPOINT
        || directive
            .strip_prefix(CHECKPOINT)
            .is_some_and(|rest| rest.trim() == DIESEL && rest.starts_with(' '))
        || directive
            .strip_prefix(SQUASHES)
            .is_some_and(|rest| rest.starts_with(' '))
}

fn scan(
    path: &str,
    text: &str,
    first_code: usize,
    marker: &str,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let mut found = false;
    let mut line_start = 0;
    for line in text[..first_code].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.trim_end().is_empty() {
            line_start += line.len();
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix(marker) {
            let comment = comment.trim_start_matches(['/', '!']).trim();
            if let Some(directive) = comment.strip_prefix("tidemark:") {
                let at = line_start + (line.len() - trimmed.len());
                if directive.trim() == NO_TRANSACTION {
                    found = true;
                } else if directive.trim() == OUT_OF_ORDER || directive.trim() == CONTRACT {
                    // Read by `out_of_order` and `contract`.
                } else if is_allow(directive.trim()) {
                    // Build-time analysis reads these (`tidemark-analysis`).
                } else if is_checkpoint_header(directive.trim()) {
                    // A checkpoint's header (see the checkpoint module).
                } else {
                    out.push(
                        Diagnostic::error(
                            path,
                            format!("unknown directive `tidemark:{}`", directive.trim()),
                        )
                        .at(text, at)
                        .help(format!("the directives are `{marker} tidemark:no-transaction`, `{marker} tidemark:out-of-order`, `{marker} tidemark:contract` and `{marker} tidemark:allow(rule, …)`; fix the spelling or make it a plain comment")),
                    );
                }
            } else if comment == NO_TRANSACTION {
                found = true;
            }
        } else {
            break; // directives end at the first line that is not a comment
        }
        line_start += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_is_read_from_the_header_only_and_is_a_known_directive() {
        let sql = "-- why: merged late\n-- tidemark:out-of-order\nCREATE TABLE t ();\n";
        let first_code = sql.find("CREATE").unwrap();
        assert!(out_of_order(sql, first_code, "--"));
        let mut out = Vec::new();
        assert!(!no_transaction("V2__t.sql", sql, first_code, &mut out));
        assert!(out.is_empty(), "a known directive: {out:?}");
        let later = "CREATE TABLE t ();\n-- tidemark:out-of-order\n";
        assert!(!out_of_order(later, 0, "--"), "after the first statement");
        let rust = "//! tidemark:out-of-order\npub async fn up() {}\n";
        assert!(out_of_order(rust, rust.len(), "//"));
        assert!(!out_of_order("-- tidemark:out-of-orders\n", 26, "--"));
    }

    #[test]
    fn contract_is_read_from_the_header_and_found_where_it_is_not_read() {
        let sql =
            "-- drops what release 1 reads\n-- tidemark:contract\nALTER TABLE t DROP COLUMN a;\n";
        let first_code = sql.find("ALTER").unwrap();
        assert!(contract(sql, first_code, "--"));
        assert_eq!(
            find(sql, first_code, "--", CONTRACT),
            sql.find("-- tidemark:contract")
        );
        let mut out = Vec::new();
        no_transaction("V3__drop.sql", sql, first_code, &mut out);
        assert!(out.is_empty(), "a known directive: {out:?}");
        let late = "ALTER TABLE t DROP COLUMN a;\n  -- tidemark:contract\n";
        assert!(!contract(late, 0, "--"));
        assert_eq!(
            find_after(late, 0, "--", CONTRACT),
            Some(late.find("--").unwrap())
        );
        let rust = "// tidemark:contract\npub async fn up() {}\n";
        assert!(contract(rust, rust.len(), "//"));
    }
}
