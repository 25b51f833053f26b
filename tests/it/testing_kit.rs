//! The testing kit: isolated databases from a template, a database at a version, the test
//! attribute, and the reversibility check.

use crate::support::set_of;
use tidemark::deadpool_postgres::Pool;
use tidemark::testing::{check_reversible, server, TestDatabase};
use tidemark::{Migrations, Target};

static MIGRATIONS: Migrations = tidemark::embed_migrations!("examples/migrations");

async fn users(pool: &Pool) -> i64 {
    let c = pool.get().await.unwrap();
    c.query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn databases_are_isolated_and_cloned_from_one_template() {
    let (a, b) = tokio::join!(
        TestDatabase::new(&MIGRATIONS),
        TestDatabase::new(&MIGRATIONS)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.name(), b.name());
    let c = a.pool().get().await.unwrap();
    c.execute(
        "INSERT INTO users (email) VALUES ('only-in-a@example.com')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(users(a.pool()).await, 1);
    assert_eq!(
        users(b.pool()).await,
        0,
        "a write in one database is invisible in the other"
    );
    assert!(
        MIGRATIONS.migrator().is_up_to_date(b.pool()).await.unwrap(),
        "clones carry history"
    );

    let admin = server().unwrap().connect("postgres").await.unwrap();
    let digest = tidemark_core::to_hex(&MIGRATIONS.digest()[..8]);
    let templates: Vec<String> = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
            &[&format!("tm_tmpl_{digest}%")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Other tests build templates of this set at other versions (`_v1`) at the same time.
    assert_eq!(
        templates
            .iter()
            .filter(|t| !t.contains("_v"))
            .collect::<Vec<_>>(),
        [&format!("tm_tmpl_{digest}")],
        "one template of the latest version, no half-built one (`_build`) left"
    );
}

// Two tests that would see each other's row if they shared a database.
#[tidemark::test]
async fn attribute_gives_a_fresh_pool_one(pool: Pool) {
    let c = pool.get().await.unwrap();
    c.execute("INSERT INTO users (email) VALUES ('one@example.com')", &[])
        .await
        .unwrap();
    assert_eq!(users(&pool).await, 1);
}

#[tidemark::test(migrations = MIGRATIONS)]
async fn attribute_gives_a_fresh_pool_two(
    db: &TestDatabase,
) -> Result<(), Box<dyn std::error::Error>> {
    let c = db.pool().get().await?;
    c.execute("INSERT INTO users (email) VALUES ('two@example.com')", &[])
        .await?;
    assert_eq!(users(db.pool()).await, 1);
    Ok(())
}

#[tokio::test]
async fn at_version_then_migrate_forward_transforms_the_data() {
    let set = set_of(&[
        ("V1__people.sql", "CREATE TABLE people (name text NOT NULL);"),
        (
            "V2__shout.sql",
            "ALTER TABLE people ADD COLUMN shout text;\nUPDATE people SET shout = upper(name) || '!';",
        ),
    ]);
    let db = TestDatabase::at_version(set, 1).await.unwrap();
    let c = db.pool().get().await.unwrap();
    c.execute("INSERT INTO people (name) VALUES ('ada'), ('grace')", &[])
        .await
        .unwrap();
    let report = db.migrate(set, Target::Latest).await.unwrap();
    assert_eq!(report.versions(), ["2"]);
    let shouts: Vec<String> = c
        .query("SELECT shout FROM people ORDER BY name", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(shouts, ["ADA!", "GRACE!"]);
}

#[tokio::test]
async fn the_example_folder_is_reversible() {
    let checked = tidemark::testing::assert_all_reversible(&MIGRATIONS).await;
    assert_eq!(checked.checked, ["1", "2", "3"]);
    assert!(checked.without_rollback.is_empty());
    assert_eq!(
        checked.to_string(),
        "checked the rollbacks of 3 of 3 versioned migrations"
    );
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let payload = e.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn assert_reversible_fails_when_it_would_check_nothing_and_names_the_test_line() {
    let none = set_of(&[("V1__a.sql", "CREATE TABLE a (id int);")]);
    let line = line!() + 1;
    let vacuous = tidemark::testing::assert_reversible(none);
    let text = panic_text(tokio::spawn(vacuous).await.unwrap_err());
    assert!(text.contains("checked nothing"), "{text}");
    assert!(
        text.contains(&format!("tests/it/testing_kit.rs:{line}:")),
        "points at the test: {text}"
    );

    let partly = set_of(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        ("U1__a.sql", "DROP TABLE a;"),
        ("V2__b.sql", "CREATE TABLE b (id int);"),
    ]);
    let checked = tidemark::testing::assert_reversible(partly).await;
    assert_eq!(
        (checked.checked, checked.without_rollback),
        (vec!["1".to_owned()], vec!["2".to_owned()])
    );
    let strict = tidemark::testing::assert_all_reversible(partly);
    let text = panic_text(tokio::spawn(strict).await.unwrap_err());
    assert!(text.contains("these have no rollback script: 2"), "{text}");
}

async fn irreversible(up: &str, down: &str) -> tidemark::testing::Irreversible {
    let set = set_of(&[
        (
            "V1__base.sql",
            "CREATE TABLE base (id int PRIMARY KEY, v int);",
        ),
        ("U1__base.sql", "DROP TABLE base;"),
        ("V2__change.sql", up),
        ("U2__change.sql", down),
    ]);
    check_reversible(set)
        .await
        .expect_err("the rollback is incomplete")
}

#[tokio::test]
async fn a_rollback_that_forgets_a_table_is_named() {
    let e = irreversible("CREATE TABLE extra (id int);", "-- forgot to drop extra").await;
    assert_eq!(
        (e.version.as_str(), e.path.as_str()),
        ("2", "migrations/U2__change.sql")
    );
    assert!(
        e.left_behind.contains(&"table public.extra".to_owned()),
        "{e}"
    );
    assert!(e.missing.is_empty());
    assert!(e.to_string().starts_with(
        "migrations/U2__change.sql: the rollback of version 2 (change) does not undo"
    ));
}

#[tokio::test]
async fn a_rollback_that_forgets_an_index_is_named() {
    let e = irreversible("CREATE INDEX base_v ON base (v);", "SELECT 1;").await;
    assert_eq!(
        e.left_behind,
        ["index public.base_v: CREATE INDEX base_v ON public.base USING btree (v)"]
    );
}

#[tokio::test]
async fn a_rollback_that_forgets_a_column_default_is_named() {
    let e = irreversible(
        "ALTER TABLE base ALTER COLUMN v SET DEFAULT 42;",
        "SELECT 1;",
    )
    .await;
    assert_eq!(
        e.left_behind,
        ["column public.base.v: v integer DEFAULT 42"]
    );
    assert_eq!(e.missing, ["column public.base.v: v integer"]);
}

#[tokio::test]
async fn a_rollback_that_forgets_a_function_is_named() {
    let e = irreversible(
        "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;",
        "-- DROP FUNCTION answer(); forgotten",
    )
    .await;
    assert_eq!(e.left_behind.len(), 1);
    assert!(
        e.left_behind[0].starts_with("function public.answer(): "),
        "{e}"
    );
}

#[tokio::test]
async fn a_forward_script_that_cannot_reapply_is_named() {
    // The schema is restored, but the rollback leaves the inserted row behind: applying the
    // forward script again violates the primary key.
    let e = irreversible("INSERT INTO base VALUES (1, 1);", "SELECT 1;").await;
    assert!(e.left_behind.is_empty() && e.missing.is_empty());
    let reapply = e.reapply_error.as_deref().unwrap_or_default();
    assert!(
        reapply.contains("duplicate key value violates unique constraint \"base_pkey\""),
        "{e}"
    );
    assert!(e.to_string().contains("the forward script fails again"));
}

const CHILD_ENV: &str = "TIDEMARK_IT_LEFTOVER_CHILD";

/// Run by `a_test_process_leaves_no_database_behind` in a child process that shares this
/// process's server; does nothing when run directly.
#[tokio::test]
#[ignore = "helper run in a child process by a_test_process_leaves_no_database_behind"]
async fn leftover_child() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("hold") => {
            let db = TestDatabase::empty().await.unwrap();
            println!("HOLDING {}", db.name());
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            return;
        }
        Ok("sweep") => {
            TestDatabase::empty().await.unwrap().close().await.unwrap();
            return;
        }
        Ok(_) => {}
        Err(_) => return,
    }
    let closed = TestDatabase::new(&MIGRATIONS).await.unwrap();
    closed.close().await.unwrap();
    let dropped = TestDatabase::at_version(&MIGRATIONS, 1).await.unwrap();
    let client = dropped.pool().get().await.unwrap();
    client.execute("SELECT 1", &[]).await.unwrap();
    drop(client);
    let _held_until_exit = TestDatabase::empty().await.unwrap();
    tidemark::testing::assert_reversible(&MIGRATIONS).await;
    drop(dropped);
    println!("CHILD PID {}", std::process::id());
}

/// The test binary, re-run as a child in `mode` on this process's server.
fn child(mode: &str) -> std::process::Command {
    let server = server().unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "testing_kit::leftover_child",
        "--exact",
        "--ignored",
        "--nocapture",
    ])
    .env(CHILD_ENV, mode)
    .env(
        tidemark::testing::URL_VARIABLE,
        tidemark_rig::connection_string(&server.config(server.admin_database())),
    );
    cmd
}

async fn databases_like(pattern: &str) -> Vec<String> {
    let server = server().unwrap();
    let admin = server.connect(server.admin_database()).await.unwrap();
    admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1",
            &[&pattern],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_test_process_is_swept_by_the_next_one() {
    use std::io::BufRead;
    let mut holder = child("hold")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(holder.stdout.take().unwrap()).lines();
    let name = lines
        .find_map(|l| l.ok()?.strip_prefix("HOLDING ").map(str::to_owned))
        .expect("the child reports its database");
    holder.kill().unwrap(); // SIGKILL: no Drop runs
    holder.wait().unwrap();
    assert_eq!(
        databases_like(&name).await,
        std::slice::from_ref(&name),
        "left behind by the kill"
    );
    // The server notices the dead client's sessions within milliseconds.
    let server = server().unwrap();
    let admin = server.connect(server.admin_database()).await.unwrap();
    let token = name
        .trim_start_matches("tm_t_")
        .rsplit_once('_')
        .unwrap()
        .0
        .to_owned();
    for _ in 0..500 {
        let alive: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&format!("tidemark-kit {token}")],
            )
            .await
            .unwrap()
            .get(0);
        if alive == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let out = child("sweep").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        databases_like(&name).await.is_empty(),
        "the next test process swept it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_process_leaves_no_database_behind() {
    let out = child("1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CHILD PID "))
        .unwrap_or_else(|| panic!("the child reports its pid: {stdout}"));
    let left = databases_like(&format!("tm\\_t\\_{pid}\\_%")).await;
    assert!(left.is_empty(), "databases left behind: {left:?}");
}

static DATA: Migrations = tidemark::embed_migrations!("tests/ui/fixtures/data-tests");
static ONE_ROW: &[tidemark::testing::Fixture] =
    tidemark::fixtures!("tests/ui/fixtures/data-tests-rows/one_row.sql");

async fn rows_in_t(pool: &Pool) -> i64 {
    let c = pool.get().await.unwrap();
    c.query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn fixtures_are_loaded_at_the_version_and_are_part_of_the_template() {
    let plain = TestDatabase::builder(&DATA).at("2").build().await.unwrap();
    assert_eq!(rows_in_t(plain.pool()).await, 0);
    let loaded = TestDatabase::builder(&DATA)
        .at("V2")
        .fixtures(ONE_ROW)
        .build()
        .await
        .unwrap();
    assert_eq!(rows_in_t(loaded.pool()).await, 1);
    let history = "SELECT version FROM tidemark_history ORDER BY version_key";
    let versions = crate::support::strings(loaded.pool(), history).await;
    assert_eq!(versions, ["1", "2"], "the fixture loaded at version 2");
    let report = loaded.migrate_to(5).await.unwrap();
    assert_eq!(report.versions(), ["5"]);
    assert_eq!(
        rows_in_t(loaded.pool()).await,
        1,
        "the row went through migration 5"
    );

    // Two templates at version 2: one without rows, one with the fixture's.
    let srv = server().unwrap();
    let admin = srv.connect(srv.admin_database()).await.unwrap();
    let digest = tidemark_core::to_hex(&DATA.digest()[..8]);
    let templates: Vec<String> = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
            &[&format!("tm_tmpl_{digest}_v2%")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(templates.len(), 2, "{templates:?}");
    assert!(templates[1].starts_with(&format!("tm_tmpl_{digest}_v2_f")));
}

#[tokio::test]
async fn a_fixture_the_server_rejects_names_its_file_line_and_column() {
    static BAD: &[tidemark::testing::Fixture] = &[tidemark::testing::Fixture::new(
        "tests/fixtures/bad.sql",
        "INSERT INTO t (id) VALUES (1);\nINSERT INTO nowhere VALUES (2);\n",
    )];
    let err = TestDatabase::builder(&DATA)
        .fixtures(BAD)
        .build()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, tidemark::testing::TestError::Fixture { path, .. } if path == "tests/fixtures/bad.sql"),
        "{err:?}"
    );
    assert!(
        text.contains("2:13: ") && text.contains("relation \"nowhere\" does not exist"),
        "{text}"
    );
}
