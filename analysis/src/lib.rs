//! Implementation detail of [tidemark](https://docs.rs/tidemark): build-time analysis of a
//! scanned migration folder, for `embed_migrations!` (tidemark's `syntax` and `lint` features)
//! and `tidemark check`. Every SQL script is parsed with squawk's PostgreSQL grammar (a syntax
//! error is an error at `path:line:column`); the lints are squawk's rules, told whether each
//! file runs in a transaction, silenced per statement, per file (`-- tidemark:allow(rule)`) or
//! per set, and promoted to errors per set.

mod allow;
mod lint;
mod syntax;

use tidemark_core::{Diagnostic, ScannedMigration, Script, Severity};

/// What to analyse and how strictly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Parse every SQL script.
    pub syntax: bool,
    /// Run the lints (implies parsing).
    pub lint: bool,
    /// Rules silenced for the whole set.
    pub allow: Vec<String>,
    /// Rules whose findings are errors, not warnings (`*`: every rule).
    pub deny: Vec<String>,
}

/// The lints tidemark runs: the lock-heavy and destructive classes of squawk's rules (the
/// others, such as preferring `bigint`, are matters of taste).
pub const RULES: &[&str] = &[
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
    "adding-field-with-default",
    "adding-foreign-key-constraint",
    "constraint-missing-not-valid",
    "adding-not-nullable-field",
    "adding-required-field",
    "disallowed-unique-constraint",
    "changing-column-type",
    "renaming-column",
    "renaming-table",
    "ban-drop-column",
    "ban-drop-table",
    "ban-drop-database",
    "ban-truncate-cascade",
    "require-lock-timeout",
];

/// The first syntax error of one SQL script that is not a migration (a test fixture), as the
/// PostgreSQL grammar finds it; `None` when it parses.
pub fn syntax_error(script: &Script) -> Option<Diagnostic> {
    let text = script.text.strip_prefix('\u{feff}').unwrap_or(&script.text);
    let allowed = allow::Allowed::read(text, &[]);
    let parse = squawk_syntax::SourceFile::parse(text);
    syntax::first_error(script, text, &parse, &allowed)
}

/// Analyses every SQL script of the migrations (Rust code migrations are the compiler's):
/// parses forward and rollback scripts, lints forward ones. Returns the findings: syntax
/// errors, lint warnings (errors where `deny` says so), and errors for rule names in `options`
/// that do not exist (labelled `allow` or `deny`).
pub fn analyze(migrations: &[ScannedMigration], options: &Options) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let known = |r: &str| r == syntax::RULE || RULES.contains(&r);
    for (what, list) in [("allow", &options.allow), ("deny", &options.deny)] {
        for rule in list.iter().filter(|r| !known(r) && *r != "*") {
            out.push(
                Diagnostic::error(what, format!("unknown rule `{rule}`")).help(format!(
                    "the rules are {}, {} (or `*` for all)",
                    syntax::RULE,
                    RULES.join(", ")
                )),
            );
        }
    }
    if !options.syntax && !options.lint {
        return out;
    }
    // Rollbacks are parsed, not linted: undoing what the forward script made (a `DROP TABLE`
    // of the table it created) is what they are for, and they run when someone chooses to.
    let scripts = migrations
        .iter()
        .flat_map(|m| std::iter::once((&m.up, true)).chain(m.down.iter().map(|d| (d, false))))
        .filter(|(s, _)| !s.code);
    for (script, forward) in scripts {
        let body = script.text.strip_prefix('\u{feff}').unwrap_or(&script.text);
        // A file wrapped in its own BEGIN … COMMIT runs without them, in tidemark's transaction.
        let run = tidemark_core::without_own_transaction(body).filter(|_| script.own_transaction);
        let text = run.as_deref().unwrap_or(body);
        let allowed = allow::Allowed::read(text, &options.allow);
        let parse = squawk_syntax::SourceFile::parse(text);
        if let Some(d) = syntax::first_error(script, text, &parse, &allowed) {
            out.push(d);
            continue;
        }
        if options.lint && forward {
            lint::lint(script, text, &parse, &allowed, options, &mut out);
        }
    }
    out
}

/// Whether `options` promote `rule`'s findings to errors.
fn denied(options: &Options, rule: &str) -> bool {
    options.deny.iter().any(|d| d == "*" || d == rule)
}

fn severity(options: &Options, rule: &str) -> Severity {
    if denied(options, rule) {
        Severity::Error
    } else {
        Severity::Warning
    }
}
