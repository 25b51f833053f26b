//! Directives: `--` comment lines before the first statement of a script.

use crate::diagnostic::Diagnostic;

/// The directive tidemark knows, after the `-- tidemark:` prefix.
const NO_TRANSACTION: &str = "no-transaction";
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
                        .help(format!("the directives are `{marker} tidemark:no-transaction` and `{marker} tidemark:allow(rule, …)`; fix the spelling or make it a plain comment")),
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
