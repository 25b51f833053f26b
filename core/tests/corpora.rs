//! The real migration folders in `../shared/corpora` (crates.io, openmeter, docs.rs): counts,
//! order equal to the owning tool's, exactly the known findings, and a lexer that splits every
//! script. Skipped, saying so, when the corpora are absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tidemark_core::{check, lexer, Checked, ScanOptions, Severity};

fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is absent, and CI must run the corpus tests",
            dir.display()
        );
        eprintln!(
            "SKIPPED: {} is absent; the corpus tests need ../shared/corpora beside the repository",
            dir.display()
        );
        None
    }
}

fn check_corpus(root: &Path, name: &str, ignore: &[&str]) -> Checked {
    let options = ScanOptions {
        display_path: Some(name.to_owned()),
        ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
        ..ScanOptions::default()
    };
    check(&root.join(name), &options)
}

/// `path:line: message` of each diagnostic of a severity (line 0 when it has none).
fn findings(c: &Checked, severity: Severity) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| format!("{}:{}: {}", d.path, d.line.unwrap_or(0), d.message))
        .collect()
}

/// The name each migration has in its folder (a file stem or a diesel directory).
fn folder_names(c: &Checked) -> Vec<String> {
    c.migrations
        .iter()
        .map(|m| {
            let rel = m.up.path.split_once('/').unwrap().1;
            rel.split('/')
                .next()
                .unwrap()
                .trim_end_matches(".up.sql")
                .to_owned()
        })
        .collect()
}

#[test]
fn cratesio_diesel_folder() {
    let Some(root) = corpora() else { return };
    // A seed script that is not a migration sits at the top of the folder.
    let c = check_corpus(&root, "cratesio", &["data_oauth_github.sql"]);
    assert_eq!(c.migrations.len(), 285);
    assert!(
        c.migrations.iter().all(|m| m.down.is_some()),
        "all have down.sql"
    );
    assert_eq!(
        c.migrations[0].id(),
        "00000000000000",
        "diesel's initial setup, as diesel names its version"
    );
    assert_eq!(
        c.migrations[0].version.as_ref().unwrap().legacy_text(),
        Some("0"),
        "what an earlier tidemark recorded for it"
    );
    assert_eq!(c.order, tidemark_core::Order::Text);
    let no_tx = c.migrations.iter().filter(|m| m.up.no_transaction).count();
    assert_eq!(
        no_tx, 7,
        "the 7 metadata.toml files say run_in_transaction = false"
    );
    let down = "cratesio/2024-04-12-144536_remove-downloads-column/down.sql";
    assert_eq!(
        findings(&c, Severity::Error),
        [
            format!("{down}:4: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this file's statement at line 1 must run in one"),
            format!("{down}:7: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this file's statement at line 1 must run in one"),
        ]
    );
    assert!(findings(&c, Severity::Warning).is_empty());
    // diesel orders by the version text with dashes removed, compared as strings.
    let mut diesel = folder_names(&c);
    diesel.sort_by_key(|n| n.split('_').next().unwrap().replace('-', ""));
    assert_eq!(folder_names(&c), diesel);
    // Without the ignore entry the seed script is reported, not skipped.
    let unignored = check_corpus(&root, "cratesio", &[]);
    let seed =
        "cratesio/data_oauth_github.sql:0: `data_oauth_github.sql` matches no migration file form";
    assert!(findings(&unignored, Severity::Error).contains(&seed.to_owned()));
}

#[test]
fn openmeter_golang_migrate_folder() {
    let Some(root) = corpora() else { return };
    let c = check_corpus(&root, "openmeter", &[]);
    assert_eq!(c.migrations.len(), 269);
    assert!(findings(&c, Severity::Error).is_empty());
    // 16 files are wrapped in their own BEGIN … COMMIT: they run in tidemark's transaction.
    let notes = findings(&c, Severity::Note);
    let files: BTreeSet<&str> = c.diagnostics.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(files.len(), 16, "the 16 wrapped files: {files:#?}");
    assert_eq!(notes.len(), 16, "{notes:#?}");
    let one = "openmeter/20260716150455_cleanup_gathering_invoice_details.up.sql:1: \
               its own transaction (BEGIN at line 1, COMMIT at line 316) is left out: the file \
               runs in tidemark's transaction, which commits it with its history row";
    assert!(notes.contains(&one.to_owned()), "{notes:#?}");
    let wrapped = c
        .migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
        .filter(|s| s.own_transaction)
        .count();
    assert_eq!(wrapped, 16);
    // golang-migrate orders by the numeric version.
    let mut numeric = folder_names(&c);
    numeric.sort_by_key(|n| n.split('_').next().unwrap().parse::<u64>().unwrap());
    assert_eq!(folder_names(&c), numeric);
    let non_ascii = c
        .migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
        .filter(|s| !s.text.is_ascii())
        .count();
    assert_eq!(
        non_ascii, 3,
        "3 files hold non-ASCII UTF-8 and are accepted"
    );
}

#[test]
fn docsrs_sqlx_folder() {
    let Some(root) = corpora() else { return };
    let c = check_corpus(&root, "docsrs", &[]);
    assert_eq!(c.migrations.len(), 33);
    assert!(findings(&c, Severity::Error).is_empty());
    assert_eq!(
        findings(&c, Severity::Warning),
        [
            "docsrs/20240221114302_ensure_no_buildless_releases_exist.up.sql:0: the forward script is empty",
            "docsrs/20251220165302_remove-files.up.sql:0: the forward script is empty",
        ]
    );
    assert!(
        c.migrations
            .iter()
            .any(|m| m.name == "release_status_view.sql"),
        "a name containing .sql"
    );
    let mut numeric = folder_names(&c);
    numeric.sort_by_key(|n| n.split('_').next().unwrap().parse::<i64>().unwrap());
    assert_eq!(folder_names(&c), numeric);
    let set = tidemark_core::scan(&root.join("docsrs"), &ScanOptions::default())
        .expect("warnings do not fail a scan");
    assert_eq!(set.warnings.len(), 2);
}

#[test]
fn the_lexer_splits_every_corpus_script() {
    let Some(root) = corpora() else { return };
    let mut files = Vec::new();
    collect_sql(&root, &mut files);
    assert!(files.len() > 1100, "found {} scripts", files.len());
    let mut statements = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let parts = lexer::split(&text).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        let joined: String = parts.iter().map(|p| &text[p.range.clone()]).collect();
        assert_eq!(joined, text, "{}: pieces must cover the text", f.display());
        statements += parts.iter().filter(|p| p.has_code()).count();
    }
    assert!(statements > 3000, "{statements} statements");
}

fn collect_sql(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_sql(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}
