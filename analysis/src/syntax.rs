//! Syntax: the first error of squawk's parse of a script, at `path:line:column`.

use crate::allow::Allowed;
use tidemark_core::{Diagnostic, Script};

/// The rule name of a syntax error (for `tidemark:allow(syntax)`, the escape hatch should the
/// grammar ever reject what PostgreSQL accepts).
pub(crate) const RULE: &str = "syntax";

pub(crate) fn first_error(
    script: &Script,
    text: &str,
    parse: &squawk_syntax::Parse<squawk_syntax::SourceFile>,
    allowed: &Allowed,
) -> Option<Diagnostic> {
    let error = parse.errors().into_iter().next()?;
    let at = usize::from(error.range().start()).min(text.len());
    if allowed.allows(RULE, at) {
        return None;
    }
    let mut d = Diagnostic::error(
        &script.path,
        format!("syntax error: {}", error.message()),
    )
    .at(text, at)
    .help(
        "PostgreSQL would reject this script; fix it (tidemark checks with squawk's PostgreSQL \
         grammar; should it ever be wrong, `-- tidemark:allow(syntax)` before the statement \
         silences it)",
    );
    d.rule = Some(RULE.to_owned());
    Some(d)
}
