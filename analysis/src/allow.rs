//! `-- tidemark:allow(rule, …)`: in the comments before a file's first statement it silences
//! the rules for the file; in the comments right before a statement, for that statement.

use tidemark_core::lexer::{split, Statement};

/// What is silenced in one script.
pub(crate) struct Allowed {
    file: Vec<String>,
    /// Each statement's byte range and the rules its leading comments allow.
    statements: Vec<(std::ops::Range<usize>, Vec<String>)>,
}

/// The rules that `tidemark:allow` comments in `comments` name.
fn rules_in(comments: &str) -> Vec<String> {
    comments
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--"))
        .filter_map(tidemark_core::allowed_rules)
        .flatten()
        .collect()
}

impl Allowed {
    pub(crate) fn read(text: &str, set: &[String]) -> Self {
        let statements: Vec<Statement> = split(text).unwrap_or_default();
        let mut file = set.to_vec();
        let mut per = Vec::new();
        for (i, s) in statements.iter().enumerate() {
            let Some(code) = s.code_start else { continue };
            let rules = rules_in(&text[s.range.start..code]);
            if i == 0 || statements[..i].iter().all(|p| !p.has_code()) {
                // Before the first statement: the file's directives.
                file.extend(rules);
            } else {
                per.push((code..s.range.end, rules));
            }
        }
        Self {
            file,
            statements: per,
        }
    }

    /// Whether `rule` is silenced at byte `at`.
    pub(crate) fn allows(&self, rule: &str, at: usize) -> bool {
        let names = |rules: &[String]| rules.iter().any(|r| r == rule || r == "*");
        names(&self.file)
            || self
                .statements
                .iter()
                .any(|(range, rules)| range.contains(&at) && names(rules))
    }
}
