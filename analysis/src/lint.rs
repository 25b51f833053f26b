//! The lints: squawk's rules over the parse tree, told whether the file runs in a transaction.

use crate::allow::Allowed;
use crate::{severity, Options, RULES};
use squawk_linter::{Linter, Rule};
use tidemark_core::{Diagnostic, Script};

pub(crate) fn lint(
    script: &Script,
    text: &str,
    parse: &squawk_syntax::Parse<squawk_syntax::SourceFile>,
    allowed: &Allowed,
    options: &Options,
    out: &mut Vec<Diagnostic>,
) {
    let rules: Vec<Rule> = RULES
        .iter()
        .filter_map(|r| Rule::try_from(*r).ok())
        .collect();
    let mut linter = Linter::from(rules);
    linter.settings.assume_in_transaction = !script.no_transaction;
    for v in linter.lint(parse, text) {
        let rule = v.code.to_string();
        let at = usize::from(v.text_range.start()).min(text.len());
        if allowed.allows(&rule, at) {
            continue;
        }
        let mut help = v.help.unwrap_or_default();
        if !help.is_empty() && !help.ends_with('.') {
            help.push('.');
        }
        help.push_str(&format!(
            " If it is safe here, `-- tidemark:allow({rule})` before the statement allows it"
        ));
        let mut d = Diagnostic::error(&script.path, format!("[{rule}] {}", v.message))
            .at(text, at)
            .help(help.trim_start().to_owned());
        d.severity = severity(options, &rule);
        d.rule = Some(rule);
        out.push(d);
    }
}
