//! End-to-end tests of the `tidemark` binary against a real PostgreSQL: exit codes, output and
//! catalog state.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tidemark::testing::TestDatabase;

/// A project directory of its own and an empty database (both removed when the test ends).
struct Project {
    dir: PathBuf,
    url: String,
    db: TestDatabase,
    _tmp: tempfile::TempDir,
}

impl Project {
    async fn new() -> Self {
        let db = TestDatabase::empty()
            .await
            .unwrap_or_else(|e| panic!("no test database: {e}"));
        let tmp = tempfile::tempdir().unwrap();
        Self {
            dir: tmp.path().to_path_buf(),
            url: tidemark_rig::connection_string(&db.config()),
            db,
            _tmp: tmp,
        }
    }

    /// `tidemark ARGS` in the project directory, with the database in DATABASE_URL.
    fn tidemark(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("tidemark")
            .unwrap()
            .current_dir(&self.dir)
            .env("DATABASE_URL", &self.url)
            .env("NO_COLOR", "1")
            .args(args)
            .assert()
    }

    fn write(&self, file: &str, sql: &str) {
        let path = self.dir.join("migrations").join(file);
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(path, existing + sql).unwrap();
    }

    async fn exists(&self, relation: &str) -> bool {
        let c = self.db.pool().get().await.unwrap();
        c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&relation])
            .await
            .unwrap()
            .get(0)
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[tokio::test]
async fn new_check_up_status_down_to_dry_run_baseline_repair() {
    let p = Project::new().await;
    std::fs::write(p.dir.join("Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
    let created = p
        .tidemark(&["new", "create users", "--reversible"])
        .success();
    assert_eq!(
        stdout(&created),
        "migrations/V1__create_users.sql\nmigrations/U1__create_users.sql\n"
    );
    let note = "has no build.rs that reruns on new migrations";
    assert!(stderr(&created).contains(note), "{}", stderr(&created));
    let build = "fn main() { tidemark_core::rerun_if_changed(\"migrations\"); }\n";
    std::fs::write(p.dir.join("build.rs"), build).unwrap();
    let second = p
        .tidemark(&["new", "index_email", "--reversible", "--no-transaction"])
        .success();
    assert_eq!(
        stderr(&second),
        "",
        "no note once build.rs reruns on new files"
    );
    p.write(
        "V1__create_users.sql",
        "CREATE TABLE users (id int PRIMARY KEY, email text);\n",
    );
    p.write("U1__create_users.sql", "DROP TABLE users;\n");
    p.write(
        "V2__index_email.sql",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    p.write(
        "U2__index_email.sql",
        "DROP INDEX CONCURRENTLY users_email;\n",
    );
    let first = std::fs::read_to_string(p.dir.join("migrations/V2__index_email.sql")).unwrap();
    assert!(first.starts_with("-- tidemark:no-transaction\n"));

    let check = p.tidemark(&["check"]).success();
    assert_eq!(
        stdout(&check),
        "checked 2 migrations: 0 errors, 0 warnings\n"
    );

    let up = p.tidemark(&["up"]).success();
    assert!(stdout(&up).contains("index_email"), "{}", stdout(&up));
    assert!(p.exists("users").await && p.exists("users_email").await);

    let table = stdout(&p.tidemark(&["status"]).success());
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("version  name          state"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("1        create_users  applied"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&p.tidemark(&["status", "--json"]).success())).unwrap();
    assert_eq!(json["up_to_date"], true);
    assert_eq!(
        json["migrations"][1]["path"],
        "migrations/V2__index_email.sql"
    );

    p.tidemark(&["down"]).success();
    assert!(!p.exists("users_email").await && p.exists("users").await);
    p.tidemark(&["status", "--exit-code"]).code(3);

    let dry: serde_json::Value =
        serde_json::from_str(&stdout(&p.tidemark(&["to", "1", "--json"]).success())).unwrap();
    assert_eq!(dry["noop"], true, "already at 1");
    p.tidemark(&["to", "initial"]).success();
    assert!(!p.exists("users").await);
    // The no-transaction index cannot be rolled back: the dry run runs the rest and says so.
    let dry = p.tidemark(&["dry-run"]).code(6);
    assert!(
        stdout(&dry)
            .contains("not run: up 2 (migrations/V2__index_email.sql): runs outside a transaction"),
        "{}",
        stdout(&dry)
    );
    assert!(!p.exists("users").await, "the dry run kept nothing");

    // Adopt a database that already has version 1, then apply the rest.
    p.db.pool().get().await.unwrap().batch_execute(
        "DROP TABLE tidemark_history, tidemark_history_state; CREATE TABLE users (id int PRIMARY KEY, email text);",
    ).await.unwrap();
    let baseline = p.tidemark(&["baseline", "1"]).success();
    assert_eq!(
        stdout(&baseline),
        "recorded 1 migration as applied without running: 1\n"
    );
    p.tidemark(&["up"]).success();
    assert!(p.exists("users_email").await);

    // Edit an applied migration: refused until repaired.
    p.write("V1__create_users.sql", "-- reformatted\n");
    let divergent = p.tidemark(&["up"]).code(1);
    assert!(stderr(&divergent)
        .contains("migrations/V1__create_users.sql (version 1) was changed after it was applied"));
    assert_eq!(
        stdout(&p.tidemark(&["repair"]).success()),
        "re-recorded the checksum of version 1\n"
    );
    assert_eq!(
        stdout(&p.tidemark(&["validate"]).success()),
        "history is consistent with the migrations\n"
    );
    p.tidemark(&["status", "--exit-code"]).success();
}

#[tokio::test]
async fn check_names_the_contract_migrations_and_lints_only_expand_ones() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write(
        "V1__users.sql",
        "CREATE TABLE users (id int, name text, nick text);\n",
    );
    p.write("V2__drop_nick.sql", "ALTER TABLE users DROP COLUMN nick;\n");
    p.write(
        "V3__drop_name.sql",
        "-- tidemark:contract\nALTER TABLE users DROP COLUMN name;\n",
    );
    let check = p
        .tidemark(&["check", "--lint", "--allow", "require-lock-timeout"])
        .success();
    let err = stderr(&check);
    assert!(
        err.contains("migrations/V2__drop_nick.sql:1:19: [ban-drop-column]")
            && err.contains("mark the migration `-- tidemark:contract`"),
        "{err}"
    );
    assert!(
        !err.contains("V3__drop_name.sql"),
        "quiet in a contract migration: {err}"
    );
    assert_eq!(
        stdout(&check),
        "checked 3 migrations (1 contract migration: 3): 0 errors, 1 warning\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&p.tidemark(&["check", "--json"]).success())).unwrap();
    assert_eq!(json["contracts"], serde_json::json!(["3"]));
}

#[tokio::test]
async fn a_bad_folder_gives_compiler_style_diagnostics_and_exit_1() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__ok.sql", "CREATE TABLE t (id int);\n");
    p.write("V1__dup.sql", "CREATE TABLE u (id int);\n");
    p.write(
        "V2__index.sql",
        "-- oops\nCREATE TABLE u (id int);\nCREATE INDEX CONCURRENTLY i ON t (id);\n",
    );
    let check = p.tidemark(&["check"]).code(1);
    let err = stderr(&check);
    assert!(err.contains("error: migrations/V1__ok.sql: duplicate version 1: `migrations/V1__dup.sql` has it too"), "{err}");
    assert!(err.contains("error: migrations/V2__index.sql:3:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this file's statement at line 2 must run in one"), "{err}");
    assert!(
        err.contains("  help: move it to a migration of its own"),
        "{err}"
    );
    assert!(
        err.ends_with("checked 2 migrations: 2 errors, 0 warnings\n"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&p.tidemark(&["check", "--json"]).code(1))).unwrap();
    assert_eq!(json["errors"], 2);
    assert_eq!(json["diagnostics"][1]["line"], 3);
    // The database verbs refuse the folder the same way, before connecting.
    let up = p.tidemark(&["up"]).code(1);
    assert!(stderr(&up).contains("duplicate version 1"));
    assert!(!p.exists("t").await);
}

#[tokio::test]
async fn check_with_a_database_has_the_server_parse_every_script() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__ok.sql", "CREATE TABLE t (id int);\n");
    p.write(
        "V2__typo.sql",
        "-- tidemark:allow(syntax)\nCREATE TABLE u (\n  id int,\n  name text NOT NUL\n);\n",
    );
    p.tidemark(&["check", "--database-url", ""]).code(5);
    // Without the directive squawk's grammar finds the typo first (no server needed); with it,
    // the server is the judge.
    let checked = p.tidemark(&["check"]).code(1);
    assert!(
        stderr(&checked).contains(
            "error: migrations/V2__typo.sql:4:17: syntax error at or near \"NUL\" (SQLSTATE 42601)"
        ),
        "{}",
        stderr(&checked)
    );
    assert!(!p.exists("t").await, "checking runs nothing");
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__ok.sql", "CREATE TABLE t (id int);\n");
    let server = tidemark_rig::password_server("the-right-one")
        .await
        .unwrap();
    let url = tidemark_rig::connection_string(&server.config("postgres", "s3cr3t-wrong-pw"));
    let out = Command::cargo_bin("tidemark")
        .unwrap()
        .current_dir(&p.dir)
        .args(["status", "--database-url", &url, "--json"])
        .assert()
        .code(5);
    let text = stdout(&out) + &stderr(&out);
    assert!(
        text.contains("password authentication failed for user"),
        "{text}"
    );
    assert!(
        !text.contains("s3cr3t-wrong-pw"),
        "the password leaked: {text}"
    );
    let verbose = Command::cargo_bin("tidemark")
        .unwrap()
        .current_dir(&p.dir)
        .args(["up", "--database-url", &url])
        .assert()
        .code(5);
    assert!(!stderr(&verbose).contains("s3cr3t-wrong-pw"));
}

#[tokio::test]
async fn new_continues_the_folder_style() {
    let p = Project::new().await;
    let m = p.dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("0007_seven.up.sql"), "SELECT 1;").unwrap();
    std::fs::write(m.join("0007_seven.down.sql"), "SELECT 1;").unwrap();
    let out = p.tidemark(&["new", "eight"]).success();
    assert_eq!(
        stdout(&out),
        "migrations/0008_eight.up.sql\nmigrations/0008_eight.down.sql\n"
    );

    let d = p.dir.join("diesel");
    std::fs::create_dir_all(d.join("2024-01-31-120000_first")).unwrap();
    std::fs::write(d.join("2024-01-31-120000_first/up.sql"), "SELECT 1;").unwrap();
    let out = p.tidemark(&["new", "second", "--dir", "diesel"]).success();
    let made = stdout(&out);
    assert!(
        made.starts_with("diesel/20")
            && made.contains("_second/up.sql\n")
            && made.ends_with("_second/down.sql\n"),
        "{made}"
    );
    assert!(Path::new(&p.dir.join(made.lines().next().unwrap())).exists());
}

/// `tidemark ARGS --json` in `p`: the exit code and the JSON error object's `kind`, after
/// checking that the object has every documented key.
fn error_kind(p: &Project, args: &[&str]) -> (i32, String) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = p.tidemark(&all).failure();
    let code = out.get_output().status.code().unwrap_or(-1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)));
    let error = json["error"].as_object().expect("an error object");
    let keys: Vec<&str> = error.keys().map(String::as_str).collect();
    let mut expected = [
        "column", "kind", "line", "message", "path", "sqlstate", "version",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected, "the same keys every time: {json}");
    (code, error["kind"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn every_json_error_names_its_kind() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__one.sql", "CREATE TABLE one (id int);\n");
    p.write("V2__two.sql", "CREATE TABLE two (id int);\n");
    let no_url = Command::cargo_bin("tidemark")
        .unwrap()
        .current_dir(&p.dir)
        .env_remove("DATABASE_URL")
        .args(["status", "--json"])
        .assert()
        .code(2);
    let json: serde_json::Value = serde_json::from_str(&stdout(&no_url)).unwrap();
    assert_eq!(json["error"]["kind"], "config");
    let bad_host = "host=/nonexistent/socket/dir dbname=x";
    assert_eq!(
        error_kind(&p, &["status", "--database-url", bad_host]),
        (5, "connection".to_owned())
    );
    assert_eq!(
        error_kind(&p, &["up", "--schema", ""]),
        (1, "invalid_name".to_owned())
    );
    assert_eq!(
        error_kind(&p, &["to", "9"]),
        (1, "unknown_target".to_owned())
    );
    p.tidemark(&["to", "1"]).success();
    assert_eq!(error_kind(&p, &["down"]), (1, "no_rollback".to_owned()));
    p.write("V1__one.sql", "-- edited\n");
    assert_eq!(error_kind(&p, &["up"]), (1, "divergent".to_owned()));
    assert_eq!(
        error_kind(&p, &["baseline", "1"]),
        (1, "history_not_empty".to_owned())
    );
    p.tidemark(&["repair"]).success();
    std::fs::write(
        p.dir.join("migrations/V1__one.sql"),
        "CREATE TABLE one (id int);\n",
    )
    .unwrap();
    p.tidemark(&["repair"]).success();
    p.tidemark(&["up"]).success();
    // Version 1 gone from inside the range (2 is newer): missing, not a newer build's work.
    std::fs::remove_file(p.dir.join("migrations/V1__one.sql")).unwrap();
    assert_eq!(error_kind(&p, &["up"]), (1, "missing".to_owned()));
    p.write("V1__one.sql", "CREATE TABLE one (id int);\n");
    p.write("V1_5__between.sql", "CREATE TABLE between (id int);\n");
    assert_eq!(error_kind(&p, &["up"]), (1, "out_of_order".to_owned()));
    std::fs::remove_file(p.dir.join("migrations/V1_5__between.sql")).unwrap();
    p.write("V3__fails.sql", "INSERT INTO nowhere VALUES (1);\n");
    let (code, kind) = error_kind(&p, &["up"]);
    assert_eq!((code, kind.as_str()), (1, "migration_failed"));
    std::fs::write(
        p.dir.join("migrations/V3__fails.sql"),
        "CREATE TABLE two (id int);\nCREATE INDEX CONCURRENTLY one_id ON one (id);\n",
    )
    .unwrap();
    assert!(p.tidemark(&["check"]).get_output().status.code() == Some(1));
    std::fs::write(
        p.dir.join("migrations/V3__fails.sql"),
        "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY one_id ON one (nope);\n",
    )
    .unwrap();
    assert_eq!(
        error_kind(&p, &["up", "--single-transaction"]),
        (1, "no_transaction_in_single_run".to_owned())
    );
    assert_eq!(error_kind(&p, &["up"]), (1, "migration_failed".to_owned()));
    assert_eq!(error_kind(&p, &["up"]), (1, "dirty".to_owned()));

    let c = p.db.pool().get().await.unwrap();
    let key = tidemark::__private::EMPTY.migrator().effective_lock_key();
    c.batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .await
        .unwrap();
    assert_eq!(
        error_kind(&p, &["repair", "--lock-timeout", "0"]),
        (4, "lock_timeout".to_owned())
    );
    c.batch_execute(&format!("SELECT pg_advisory_unlock({key})"))
        .await
        .unwrap();
    c.batch_execute("UPDATE tidemark_history SET kind = 'mystery' WHERE version = '1'")
        .await
        .unwrap();
    assert_eq!(
        error_kind(&p, &["status"]),
        (1, "corrupt_history".to_owned())
    );
    c.batch_execute("DROP TABLE tidemark_history; CREATE TABLE tidemark_history (x int)")
        .await
        .unwrap();
    assert_eq!(error_kind(&p, &["status"]), (1, "database".to_owned()));
}

#[tokio::test]
async fn a_failed_up_says_what_committed_in_words_and_in_json() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__one.sql", "CREATE TABLE one (id int);\n");
    p.write("V2__two.sql", "CREATE TABLE two (id int);\n");
    p.write("V3__three.sql", "INSERT INTO nowhere VALUES (1);\n");
    let out = p.tidemark(&["up"]).code(1);
    let text = stdout(&out);
    assert!(
        text.starts_with("committed before the failure (2 migrations):\nversion  name  dir"),
        "{text}"
    );
    assert!(text.contains("\n1        one   up "), "{text}");
    assert!(text.contains("\n2        two   up "), "{text}");
    assert!(
        stderr(&out).contains("migrations/V3__three.sql:1:13: migration 3 (three) failed: relation \"nowhere\" does not exist"),
        "{}",
        stderr(&out)
    );
    p.db.pool()
        .get()
        .await
        .unwrap()
        .batch_execute(
            "DROP TABLE one, two; DELETE FROM tidemark_history; DELETE FROM tidemark_history_state",
        )
        .await
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&p.tidemark(&["up", "--json"]).code(1))).unwrap();
    assert_eq!(json["error"]["kind"], "migration_failed");
    let committed: Vec<&str> = json["committed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["version"].as_str().unwrap())
        .collect();
    assert_eq!(committed, ["1", "2"]);
}

/// The repository's example folder, run through the binary.
fn example_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/migrations")
        .display()
        .to_string()
}

#[tokio::test]
async fn the_example_folder_goes_to_initial_and_back_and_dry_runs() {
    let p = Project::new().await;
    let dir = example_dir();
    let dry = p.tidemark(&["--dir", &dir, "dry-run"]).code(6);
    let text = stdout(&dry);
    assert!(text.contains("\n1 "), "{text}");
    assert!(text.contains("not run: up 3 ("), "{text}");
    assert!(text.contains("not run: up R__post_counts ("), "{text}");
    assert!(!p.exists("users").await);
    p.tidemark(&["--dir", &dir, "up"]).success();
    let down = p.tidemark(&["--dir", &dir, "to", "initial"]).success();
    assert!(
        stdout(&down).contains("R__post_counts  post_counts        down"),
        "{}",
        stdout(&down)
    );
    assert!(!p.exists("users").await && !p.exists("post_counts").await);
    let again = p.tidemark(&["--dir", &dir, "to", "initial"]).success();
    assert_eq!(
        stdout(&again),
        "already at the initial state: no migration is applied\n"
    );
    p.tidemark(&["--dir", &dir, "up"]).success();
    assert!(p.exists("post_counts").await);
    p.tidemark(&["--dir", &dir, "to", "2"]).success();
    assert_eq!(
        stdout(&p.tidemark(&["--dir", &dir, "to", "2"]).success()),
        "already at version 2\n"
    );
}

#[tokio::test]
async fn the_small_things_of_the_command_line() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__one.sql", "CREATE TABLE one (id int);\n");
    // A subcommand takes only its own flags.
    p.tidemark(&["new", "x", "--lock-timeout", "3"]).code(2);
    p.tidemark(&["check", "--allow-divergent"]).code(2);
    // A closed stdout is not a panic.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tidemark"))
        .current_dir(&p.dir)
        .env("DATABASE_URL", &p.url)
        .arg("status")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    // `.SQL` is never skipped silently.
    std::fs::write(p.dir.join("migrations/V2__loud.SQL"), "SELECT 1;").unwrap();
    let check = p.tidemark(&["check"]).code(1);
    assert!(
        stderr(&check)
            .contains("migrations/V2__loud.SQL: `V2__loud.SQL` ends in `.SQL`, not `.sql`"),
        "{}",
        stderr(&check)
    );
    assert!(
        stderr(&check).contains("or pass `--ignore V2__loud.SQL` if it is not a migration"),
        "CLI words, not the macro's: {}",
        stderr(&check)
    );
    assert!(
        stderr(&check).ends_with("checked 1 migration: 1 error, 0 warnings\n"),
        "the misnamed file is reported, not counted as a migration: {}",
        stderr(&check)
    );
    std::fs::remove_file(p.dir.join("migrations/V2__loud.SQL")).unwrap();
    // A --dir that is a file.
    let file = p
        .tidemark(&["--dir", "migrations/V1__one.sql", "status"])
        .code(2);
    assert!(
        stderr(&file).contains("--dir migrations/V1__one.sql is a file, not a migration folder")
    );
    // check says when the server parsed too, and counts in words.
    let checked = p.tidemark(&["check"]).success();
    assert!(
        stderr(&checked).contains("parsed 1 script (--database-url or DATABASE_URL; nothing ran)"),
        "{}",
        stderr(&checked)
    );
    assert_eq!(
        stdout(&checked),
        "checked 1 migration: 0 errors, 0 warnings\n"
    );
    // A bad connection string and an unreachable server name what is wrong, never the password.
    let bad = p
        .tidemark(&["status", "--database-url", "postgres://u:hunter2@[::1"])
        .code(5);
    assert!(
        stderr(&bad).contains("the connection string cannot be used: invalid connection string"),
        "{}",
        stderr(&bad)
    );
    assert!(!stderr(&bad).contains("hunter2"));
    let gone = p
        .tidemark(&[
            "status",
            "--database-url",
            "postgresql://u:hunter2@localhost:1/db",
        ])
        .code(5);
    assert!(
        stderr(&gone).contains(
            "cannot connect to localhost:1 (database db, user u): error connecting to server"
        ),
        "{}",
        stderr(&gone)
    );
    assert!(!stderr(&gone).contains("hunter2"));
    // `.env` is read like sqlx-cli and diesel do.
    std::fs::write(
        p.dir.join(".env"),
        format!("DATABASE_URL=\"{}\"\n", p.url.replace('"', "\\\"")),
    )
    .unwrap();
    let from_env = Command::cargo_bin("tidemark")
        .unwrap()
        .current_dir(&p.dir)
        .env_remove("DATABASE_URL")
        .args(["status", "--json"])
        .assert()
        .success();
    assert!(
        stdout(&from_env).contains("\"up_to_date\":false"),
        "{}",
        stdout(&from_env)
    );
}

#[tokio::test]
async fn new_never_makes_a_version_that_exists() {
    let p = Project::new().await;
    let d = p.dir.join("diesel");
    std::fs::create_dir_all(d.join("2024-01-31-120000_first")).unwrap();
    std::fs::write(d.join("2024-01-31-120000_first/up.sql"), "SELECT 1;").unwrap();
    for name in ["a", "b", "c"] {
        p.tidemark(&["new", name, "--dir", "diesel"]).success();
    }
    let mut versions: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .split('_')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    versions.sort();
    let before = versions.len();
    versions.dedup();
    assert_eq!((before, versions.len()), (4, 4), "{versions:?}");
}

#[tokio::test]
async fn a_long_run_in_a_log_says_it_is_still_going() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__slow.sql", "SELECT pg_sleep(6);\n");
    let out = p.tidemark(&["up"]).success();
    // The line's shape, not its number of seconds (which a loaded machine may make larger).
    let said = stderr(&out);
    assert!(
        said.lines().any(
            |l| l.starts_with("  still running after ") && l.ends_with(" s: 0 migrations done")
        ),
        "{said}"
    );
}

#[tokio::test]
async fn adopt_takes_over_a_diesel_database_and_up_runs_only_the_new_migration() {
    let p = Project::new().await;
    for (dir, sql) in [
        ("2024-01-01-000000_users", "CREATE TABLE users (id int);\n"),
        ("2024-02-01-000000_posts", "CREATE TABLE posts (id int);\n"),
    ] {
        std::fs::create_dir_all(p.dir.join("migrations").join(dir)).unwrap();
        p.write(&format!("{dir}/up.sql"), sql);
    }
    // What diesel leaves: its table (diesel's own DDL) and the first migration applied.
    let c = p.db.pool().get().await.unwrap();
    c.batch_execute(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); \
         CREATE TABLE users (id int); \
         INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000'), ('20990101000000');",
    )
    .await
    .unwrap();
    let refused = p.tidemark(&["adopt", "--json"]).code(1);
    let err: serde_json::Value = serde_json::from_str(&stdout(&refused)).unwrap();
    assert_eq!(err["error"]["kind"], "adopt_mismatch", "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("version 20990101000000"), "{message}");
    assert!(
        !p.exists("tidemark_history").await,
        "a refusal leaves nothing"
    );
    c.batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20990101000000'")
        .await
        .unwrap();

    let adopted = stdout(&p.tidemark(&["adopt"]).success());
    assert_eq!(
        adopted,
        "adopted 1 migration from __diesel_schema_migrations (diesel) as applied without running them\n\
         1 migration pending, for the next `up`: 20240201000000\n"
    );
    let again: serde_json::Value = serde_json::from_str(&stdout(
        &p.tidemark(&["adopt", "diesel", "--json"]).success(),
    ))
    .unwrap();
    assert_eq!(again["already_recorded"][0], "20240101000000");
    assert_eq!(again["adopted"].as_array().unwrap().len(), 0);
    p.tidemark(&["up"]).success();
    assert!(p.exists("posts").await);
    p.tidemark(&["status", "--exit-code"]).success();
}

#[tokio::test]
async fn code_migrations_are_checked_and_listed_but_not_run_by_the_binary() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__items.sql", "CREATE TABLE items (id int, name text);\n");
    p.write(
        "V2__backfill.rs",
        "pub async fn up(tx: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {\n    tx.batch_execute(\"UPDATE items SET name = upper(name)\").await\n}\n",
    );
    p.write(
        "V3__index.sql",
        "CREATE INDEX items_name ON items (name);\n",
    );
    let check = p.tidemark(&["check"]).success();
    let said = stdout(&check) + &stderr(&check);
    assert!(
        said.contains("checked 3 migrations: 0 errors, 0 warnings\n"),
        "{said}"
    );
    let status = stdout(&p.tidemark(&["status"]).success());
    assert!(status.contains("backfill (code)  pending"), "{status}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&p.tidemark(&["status", "--json"]).success())).unwrap();
    assert_eq!(json["migrations"][1]["kind"], "code");

    let refused = p.tidemark(&["up"]).code(1);
    let err = stderr(&refused);
    assert_eq!(
        err,
        "error: migrations/V2__backfill.rs (version 2) is a Rust code migration, which this \
         program cannot run (it reads the folder, the code is compiled into your application); \
         nothing was run: run your application's own `migrate` subcommand (`tidemark-cli`), \
         which has it embedded\n"
    );
    assert!(!p.exists("items").await, "not even the SQL before it ran");
    assert!(!p.exists("tidemark_history").await, "nothing was created");
    // Up to the version before it is fine: the binary runs SQL.
    p.tidemark(&["to", "1"]).success();
    assert!(p.exists("items").await);
    let (code, kind) = error_kind(&p, &["up"]);
    assert_eq!((code, kind.as_str()), (1, "code_not_embedded"));
    // The schema verbs would run it on a scratch database: refused before anything starts,
    // naming the verb of the application's own binary that runs it.
    for verb in ["schema", "drift", "squash"] {
        let args: &[&str] = match verb {
            "squash" => &["squash", "--up-to", "2"],
            _ => &[verb],
        };
        let err = stderr(&p.tidemark(args).code(1));
        assert!(
            err.starts_with("error: migrations/V2__backfill.rs is a Rust code migration")
                && err.contains(&format!("`<your application> migrate {verb}`")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn check_finds_syntax_errors_without_a_server_and_lints_with_lint() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__t.sql", "CREATE TABLE t (id int, total int);\n");
    p.write("V2__index.sql", "CREATE INDEX t_total ON t (total);\n");
    let plain = p.tidemark(&["check"]).success();
    assert!(stdout(&plain).contains("0 errors, 0 warnings"));
    let linted: serde_json::Value = serde_json::from_str(&stdout(
        &p.tidemark(&["check", "--lint", "--json"]).success(),
    ))
    .unwrap();
    let rules: Vec<&str> = linted["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"require-concurrent-index-creation"),
        "{linted}"
    );
    assert_eq!(linted["errors"], 0);
    let denied = p
        .tidemark(&[
            "check",
            "--lint",
            "--deny",
            "require-concurrent-index-creation",
        ])
        .code(1);
    assert!(stderr(&denied)
        .contains("error: migrations/V2__index.sql:1:1: [require-concurrent-index-creation]"));
    let unknown = p.tidemark(&["check", "--lint", "--allow", "ban-drop-tables"]);
    assert!(stderr(&unknown.code(1)).contains("error: allow: unknown rule `ban-drop-tables`"));
    p.write("V3__typo.sql", "ALTER TABLE t ADD COLUMN;\n");
    let typo = p.tidemark(&["check"]).code(1);
    assert!(
        stderr(&typo).contains("error: migrations/V3__typo.sql:1:25: syntax error: expected name"),
        "{}",
        stderr(&typo)
    );
}

#[tokio::test]
async fn up_and_status_over_each_tenant_schema_and_a_targets_file() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__items.sql", "CREATE TABLE items (id int);\n");
    p.write(
        "V2__owner.sql",
        "COMMENT ON TABLE items IS 'owner ${owner} of ${tidemark.schema}';\n",
    );
    let c = p.db.pool().get().await.unwrap();
    c.batch_execute(
        "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_c;
         CREATE TABLE tenant_b.items (other int);",
    )
    .await
    .unwrap();
    let each = ["--each-schema", "tenant\\_%", "--concurrency", "2"];
    // Substitution on, `${owner}` without a value: refused before anything runs.
    let unset = p
        .tidemark(&[&["up", "--json", "--placeholder", "x=1"][..], &each].concat())
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&unset)).unwrap();
    assert_eq!(
        doc["targets"][0]["error"]["kind"], "placeholder_unset",
        "{doc}"
    );
    assert!(!p.exists("tenant_a.items").await);
    let run = |extra: &[&str]| {
        p.tidemark(
            &[
                &["up", "--json", "--placeholder", "owner=ops"][..],
                &each,
                extra,
            ]
            .concat(),
        )
    };
    // tenant_b fails; with the stop policy and concurrency 2, tenant_c may or may not start,
    // so continue on errors to know.
    let up = run(&["--continue-on-error"]).code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&up)).unwrap();
    assert_eq!(
        (doc["migrated"].as_u64(), doc["failed"].as_u64()),
        (Some(2), Some(1)),
        "{doc}"
    );
    assert_eq!(doc["targets"][1]["target"], "tenant_b");
    assert_eq!(doc["targets"][1]["error"]["sqlstate"], "42P07");
    assert_eq!(doc["targets"][0]["applied"], serde_json::json!(["1", "2"]));
    let comment: String = c
        .query_one("SELECT obj_description('tenant_c.items'::regclass)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(comment, "owner ops of tenant_c");
    let status = p
        .tidemark(&[&["status", "--exit-code"][..], &each].concat())
        .code(3);
    let table = stdout(&status);
    assert!(table.contains("tenant_a  2"), "{table}");
    assert!(table.contains("tenant_b  -"), "{table}");

    // A targets file of connection strings: the same database twice is one target twice, the
    // second a no-op.
    let file = p.dir.join("targets.txt");
    std::fs::write(&file, format!("# production\n{}\n\n{}\n", p.url, p.url)).unwrap();
    let listed = p
        .tidemark(&[
            "up",
            "--placeholder",
            "owner=ops",
            "--targets",
            file.to_str().unwrap(),
        ])
        .success();
    let text = stdout(&listed);
    assert!(
        text.contains("2 targets: 1 migrated, 1 up to date, 0 failed, 0 skipped"),
        "{text}"
    );
    assert!(p.exists("public.items").await);
}

/// The library never prints; the command line prints its warnings (stderr; JSON on stdout).
#[tokio::test]
async fn warnings_of_the_library_are_printed_by_the_command_line() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__a.sql", "CREATE TABLE a (id int);\n");
    p.write("V2__b.sql", "CREATE TABLE b (id int);\n");
    p.tidemark(&["up"]).success();
    // An older build: version 2 is gone from its folder.
    std::fs::remove_file(p.dir.join("migrations/V2__b.sql")).unwrap();
    for verb in ["up", "status"] {
        let out = p.tidemark(&[verb]).success();
        assert!(
            stderr(&out).contains(
                "warning: the database has versions newer than this build's migrations (2)"
            ),
            "{verb}: {}",
            stderr(&out)
        );
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&p.tidemark(&[verb, "--json"]).success())).unwrap();
        assert_eq!(
            json["warnings"][0]["kind"], "future_versions",
            "{verb}: {json}"
        );
    }
}

/// The JSON `error.path` of `args`.
fn error_path(p: &Project, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = p.tidemark(&all).failure();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    json["error"]["path"].clone()
}

/// Messages that say what to do: baseline run twice, a migration failing on what is already
/// there in a database without history, and a JSON `path` wherever the message names a file.
#[tokio::test]
async fn messages_point_at_the_file_and_at_what_to_do() {
    let p = Project::new().await;
    std::fs::create_dir_all(p.dir.join("migrations")).unwrap();
    p.write("V1__users.sql", "CREATE TABLE users (id int);\n");
    p.write("V2__posts.sql", "CREATE TABLE posts (id int);\n");
    // Made by hand before tidemark: the first migration finds its table there.
    let c = p.db.pool().get().await.unwrap();
    c.batch_execute("CREATE TABLE users (id int)")
        .await
        .unwrap();
    let err = stderr(&p.tidemark(&["up"]).code(1));
    assert!(
        err.contains("already exists (SQLSTATE 42P07)")
            && err.contains("hint: the database has no tidemark history but already has what")
            && err.contains("`baseline VERSION`"),
        "{err}"
    );
    p.tidemark(&["baseline", "1"]).success();
    let err = stderr(&p.tidemark(&["baseline", "1"]).code(1));
    assert!(
        err.contains("this database already has tidemark history (1 rows")
            && err.contains("run `up`"),
        "{err}"
    );
    p.tidemark(&["up"]).success();
    // An applied migration edited: the JSON names its file, as the message does.
    p.write("V2__posts.sql", "-- edited\n");
    assert_eq!(
        error_path(&p, &["validate"]),
        "migrations/V2__posts.sql",
        "divergent"
    );
    std::fs::write(
        p.dir.join("migrations/V2__posts.sql"),
        "CREATE TABLE posts (id int);\n",
    )
    .unwrap();
    p.write(
        "V3__code.rs",
        "pub async fn up(_tx: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {\n    Ok(())\n}\n",
    );
    assert_eq!(
        error_path(&p, &["up"]),
        "migrations/V3__code.rs",
        "code_not_embedded"
    );
}
