//! The folder's lock file, `tidemark.sum`: written by `lock`, kept current by `new`, checked by
//! `check` (and the macro, through the same core check); two branches that each add a migration
//! conflict in it when they merge in a real git repository, and `renumber` resolves that.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `tidemark ARGS` in `dir`: exit code and everything it printed.
fn tidemark(dir: &Path, args: &[&str]) -> (i32, String) {
    let bin = std::env::var_os("TIDEMARK_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tidemark")));
    let out = Command::new(bin)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `git ARGS` in `dir`: exit code and output.
fn git(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn sum_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("migrations/tidemark.sum"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn lock_check_and_new_keep_the_file_and_the_folder_in_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let write = |name: &str, sql: &str| std::fs::write(dir.join("migrations").join(name), sql);
    assert_eq!(tidemark(dir, &["new", "a"]).0, 0);
    write("V1__a.sql", "CREATE TABLE a (id int);\n").unwrap();
    assert!(!dir.join("migrations/tidemark.sum").exists(), "opt-in");
    let (code, out) = tidemark(dir, &["lock"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(tidemark(dir, &["check"]).0, 0);

    // An applied migration edited: the file's line for it no longer agrees.
    write("V1__a.sql", "CREATE TABLE a (id bigint);\n").unwrap();
    let (code, out) = tidemark(dir, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "migrations/tidemark.sum:4:1: the lock file disagrees with the folder at V1__a.sql"
        ),
        "{out}"
    );
    assert!(out.contains("run `tidemark lock`"), "{out}");
    assert_eq!(tidemark(dir, &["lock"]).0, 0);

    // `new` keeps it current; a file added by hand is named as missing from it.
    let (code, out) = tidemark(dir, &["new", "b"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(sum_lines(dir), ["V1__a.sql", "V2__b.sql"]);
    assert_eq!(tidemark(dir, &["check"]).0, 0);
    write("V3__c.sql", "CREATE TABLE c (id int);\n").unwrap();
    let (code, out) = tidemark(dir, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the lock file does not list V3__c.sql"),
        "{out}"
    );
}

/// Two branches each run `tidemark new`; the merge conflicts in `tidemark.sum` (both appended a
/// line after the same last one), and `check` refuses the merged folder. `tidemark renumber` on
/// the migration that came in second gives it the next version and rewrites the lock file:
/// `check` passes and the folder is committed.
#[test]
fn two_branches_conflict_in_the_lock_file_and_renumber_resolves_it() {
    if Command::new("git").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "git is needed for this test"
        );
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sql = |name: &str, table: &str| {
        std::fs::write(
            dir.join("migrations").join(name),
            format!("CREATE TABLE {table} (id int);\n"),
        )
        .unwrap();
    };
    assert_eq!(git(dir, &["init", "-q"]).0, 0);
    tidemark(dir, &["new", "users"]);
    sql("V1__users.sql", "users");
    assert_eq!(tidemark(dir, &["lock"]).0, 0);
    git(dir, &["add", "-A"]);
    assert_eq!(git(dir, &["commit", "-qm", "users"]).0, 0);

    for (branch, name) in [("emails", "add_emails"), ("orders", "add_orders")] {
        git(dir, &["checkout", "-q", "-b", branch, "main"]);
        let (code, out) = tidemark(dir, &["new", name]);
        assert_eq!(code, 0, "{out}");
        sql(&format!("V2__{name}.sql"), name);
        // The edit after `new` changes the line `new` wrote.
        assert_eq!(tidemark(dir, &["lock"]).0, 0);
        git(dir, &["add", "-A"]);
        assert_eq!(git(dir, &["commit", "-qm", name]).0, 0);
    }

    git(dir, &["checkout", "-q", "emails"]);
    let (code, out) = git(dir, &["merge", "orders"]);
    assert_ne!(code, 0, "the merge must conflict: {out}");
    assert!(
        out.contains("CONFLICT (content): Merge conflict in migrations/tidemark.sum"),
        "{out}"
    );
    let (code, out) = tidemark(dir, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the lock file has merge conflict markers"),
        "{out}"
    );
    assert!(out.contains("duplicate version 2"), "{out}");

    // Keep either side of the file; renumber the migration that merged in.
    git(dir, &["checkout", "--ours", "migrations/tidemark.sum"]);
    let (code, out) = tidemark(dir, &["renumber", "migrations/V2__add_orders.sql"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("V3__add_orders.sql"), "{out}");
    assert!(!dir.join("migrations/V2__add_orders.sql").exists());
    assert_eq!(
        sum_lines(dir),
        ["V1__users.sql", "V2__add_emails.sql", "V3__add_orders.sql"]
    );
    let (code, out) = tidemark(dir, &["check"]);
    assert_eq!(code, 0, "{out}");
    git(dir, &["add", "-A"]);
    assert_eq!(git(dir, &["commit", "-qm", "merge orders"]).0, 0);
}

/// A renumber case: the folder's files, the file to renumber, names expected after it.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a [&'a str]);

/// `renumber` keeps each form's own naming: a Flyway pair, a sqlx reversible pair, a diesel
/// directory and a code migration's `.rs` file.
#[test]
fn renumber_keeps_each_forms_naming() {
    let cases: [Case<'_>; 4] = [
        (
            &[
                ("V1__a.sql", "SELECT 1;"),
                ("V2__b.sql", "SELECT 1;"),
                ("U2__b.sql", "SELECT 1;"),
                ("V3__c.sql", "SELECT 1;"),
            ],
            "migrations/U2__b.sql",
            &["V4__b.sql", "U4__b.sql"],
        ),
        (
            &[
                ("0001_a.up.sql", "SELECT 1;"),
                ("0001_a.down.sql", "SELECT 1;"),
                ("0002_b.up.sql", "SELECT 1;"),
                ("0002_b.down.sql", "SELECT 1;"),
            ],
            "migrations/0001_a.up.sql",
            &["0003_a.up.sql", "0003_a.down.sql"],
        ),
        (
            &[
                ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
                ("2024-02-01-000000_b/up.sql", "SELECT 1;"),
            ],
            "migrations/2024-01-01-000000_a",
            &["_a/up.sql"],
        ),
        (
            &[
                ("V1__a.sql", "SELECT 1;"),
                (
                    "V2__seed.rs",
                    "pub async fn up(tx: &tidemark::Transaction<'_>) -> Result<(), tidemark::BoxError> { let _ = tx; Ok(()) }\n",
                ),
                ("V3__c.sql", "SELECT 1;"),
            ],
            "migrations/V2__seed.rs",
            &["V4__seed.rs"],
        ),
    ];
    for (files, target, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for (name, text) in files {
            let path = dir.join("migrations").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let (code, out) = tidemark(dir, &["renumber", target]);
        assert_eq!(code, 0, "{target}: {out}");
        let names: Vec<String> = walk(&dir.join("migrations"));
        for want in expected {
            assert!(
                names.iter().any(|n| n.ends_with(want)),
                "{target}: {want} in {names:?}"
            );
        }
        assert!(!dir.join(target).exists(), "{target} was moved: {names:?}");
        assert!(
            !dir.join("migrations/tidemark.sum").exists(),
            "no lock file was there: none is made"
        );
    }
}

/// Every file under `dir`, relative, with `/`.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            out.extend(walk(&e.path()).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(name);
        }
    }
    out
}
