//! The lints: squawk's rules over the parse tree, told whether the file runs in a transaction.

use crate::allow::Allowed;
use crate::{severity, Options, RULES};
use squawk_linter::{Linter, Rule};
use tidemark_core::{Diagnostic, Script};

/// The rules about what the previous release of an application uses (design §11): a contract
/// migration is where such changes belong, so they stay quiet there; in an expand migration
/// their help names the `contract` directive.
pub(crate) const PHASE_RULES: &[&str] = &[
    "ban-drop-column",
    "ban-drop-table",
    "renaming-column",
    "renaming-table",
    "changing-column-type",
    "adding-required-field",
];

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
        let phase_rule = PHASE_RULES.contains(&rule.as_str());
        if allowed.allows(&rule, at) || (phase_rule && script.contract) {
            continue;
        }
        let mut help = v.help.unwrap_or_default();
        if !help.is_empty() && !help.ends_with('.') {
            help.push('.');
        }
        if phase_rule {
            help.push_str(
                " The previous release may still use it during a rolling deploy: if this removes \
                 what it uses, mark the migration `-- tidemark:contract` (first line) so it runs \
                 once no instance of that release is alive.",
            );
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
