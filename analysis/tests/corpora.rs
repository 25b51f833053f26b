//! The build must never reject what PostgreSQL accepts: every script of the real folders in
//! `../shared/corpora` (crates.io, openmeter, docs.rs) and of this repository's own fixtures
//! parses, except the one known to be broken (crates.io's rollback with a missing `;`, which
//! psql rejects too). Also the lint findings per folder, for the record. Skipped, saying so,
//! when the corpora are absent.

use std::path::{Path, PathBuf};
use std::time::Instant;
use tidemark_analysis::{analyze, Options};
use tidemark_core::{check, ScanOptions, Severity};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpora() -> Option<PathBuf> {
    let dir = root().join("../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is absent, and CI must run the corpus tests",
            dir.display()
        );
        eprintln!(
            "SKIPPED: {} is absent; the corpus syntax test needs ../shared/corpora beside the repository",
            dir.display()
        );
        None
    }
}

/// `path:line: message` of every finding of `rule` in a folder.
fn findings(dir: &Path, shown: &str, ignore: &[&str], lint: bool) -> (Vec<String>, usize, f64) {
    let options = ScanOptions {
        display_path: Some(shown.to_owned()),
        ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
        ..ScanOptions::default()
    };
    let checked = check(dir, &options);
    let started = Instant::now();
    let out = analyze(
        &checked.migrations,
        &Options {
            syntax: true,
            lint,
            ..Options::default()
        },
    );
    let secs = started.elapsed().as_secs_f64();
    let syntax = out
        .iter()
        .filter(|d| d.rule.as_deref() == Some("syntax"))
        .map(|d| format!("{}:{}: {}", d.path, d.line.unwrap_or(0), d.message))
        .collect();
    let lints = out
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    (syntax, lints, secs)
}

#[test]
fn no_false_syntax_errors_in_the_corpora() {
    let Some(corpora) = corpora() else { return };
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "cratesio",
            &["data_oauth_github.sql"],
            &["cratesio/20170318181441_downloads_need_no_id/down.sql:1: syntax error: missing comma"],
        ),
        ("openmeter", &[], &[]),
        ("docsrs", &[], &[]),
    ];
    for (name, ignore, expected) in cases {
        let (syntax, lints, secs) = findings(&corpora.join(name), name, ignore, true);
        assert_eq!(syntax, expected, "{name}");
        eprintln!(
            "corpus {name}: syntax errors {}, lint warnings {lints}, analysed in {secs:.3} s",
            syntax.len()
        );
    }
}

#[test]
fn no_false_syntax_errors_in_the_fixtures() {
    let fixtures = root().join("tests/fixtures");
    let mut dirs = vec![
        root().join("examples/migrations"),
        root().join("examples/code_migrations"),
    ];
    for e in std::fs::read_dir(&fixtures).unwrap().flatten() {
        if e.path().is_dir() {
            dirs.push(e.path());
        }
    }
    for e in std::fs::read_dir(fixtures.join("code")).unwrap().flatten() {
        dirs.push(e.path());
    }
    for dir in dirs {
        let shown = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (syntax, _, _) = findings(&dir, &shown, &[], false);
        if shown == "failing_syntax" {
            assert_eq!(syntax.len(), 1, "{syntax:?}");
        } else {
            assert!(syntax.is_empty(), "{shown}: {syntax:?}");
        }
    }
}
