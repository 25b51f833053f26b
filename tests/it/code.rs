//! Rust code migrations against a real server: in order with SQL, one history row each (kind
//! `code`), failures, no-transaction code killed midway, rollbacks, dry runs, divergence, the
//! testing kit across them.

use crate::support::{fresh_db, set_of};
use std::time::Duration;
use tidemark::testing::{assert_reversible, TestDatabase};
use tidemark::{Error, Migrations, Target, TransactionMode};

static OK: Migrations = tidemark::embed_migrations!("tests/fixtures/code/ok");
static FAILING: Migrations = tidemark::embed_migrations!("tests/fixtures/code/failing");
static NO_TX: Migrations = tidemark::embed_migrations!("tests/fixtures/code/no_tx");
static SLOW: Migrations = tidemark::embed_migrations!("tests/fixtures/code/slow");

/// The test crate's own code, which `V2__shout_names.rs` calls.
pub(crate) fn shout(name: &str) -> String {
    format!("{}!", name.to_uppercase())
}

async fn names(pool: &tidemark::deadpool_postgres::Pool) -> Vec<String> {
    let c = pool.get().await.unwrap();
    c.query("SELECT name FROM items ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn kinds(pool: &tidemark::deadpool_postgres::Pool) -> Vec<(String, String)> {
    let c = pool.get().await.unwrap();
    c.query(
        "SELECT version, kind FROM tidemark_history ORDER BY version_key",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

async fn insert_items(pool: &tidemark::deadpool_postgres::Pool, n: i32) {
    let c = pool.get().await.unwrap();
    for id in 1..=n {
        c.execute(
            "INSERT INTO items VALUES ($1, $2)",
            &[&id, &format!("item {id}")],
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn sql_then_code_then_sql_in_order_with_a_history_row_each() {
    assert_eq!(
        OK.iter().map(|m| m.kind().as_str()).collect::<Vec<_>>(),
        ["versioned", "code", "versioned"]
    );
    let db = TestDatabase::at_version(&OK, 1).await.unwrap();
    insert_items(db.pool(), 5).await;
    let report = db.migrate(&OK, Target::Latest).await.unwrap();
    assert_eq!(report.versions(), ["2", "3"]);
    assert_eq!(
        names(db.pool()).await,
        ["ITEM 1!", "ITEM 2!", "ITEM 3!", "ITEM 4!", "ITEM 5!"],
        "transformed by the crate's own function, in batches"
    );
    assert_eq!(
        kinds(db.pool()).await,
        [
            ("1".to_owned(), "versioned".to_owned()),
            ("2".to_owned(), "code".to_owned()),
            ("3".to_owned(), "versioned".to_owned())
        ]
    );
    assert!(OK.is_up_to_date(db.pool()).await.unwrap());
    assert!(OK.migrator().run(db.pool()).await.unwrap().fast_path);
    let status = OK.migrator().status(db.pool()).await.unwrap();
    assert!(status.is_up_to_date());
    assert_eq!(
        status.entries[1].path.as_deref(),
        Some("tests/fixtures/code/ok/V2__shout_names.rs")
    );

    // Down runs the code rollback (after the SQL one of version 3).
    let down = db.migrate(&OK, Target::version(1)).await.unwrap();
    assert_eq!(down.versions(), ["3", "2"]);
    assert_eq!(names(db.pool()).await[0], "item 1!");
    assert_eq!(kinds(db.pool()).await.len(), 1);
}

#[tokio::test]
async fn a_failing_code_migration_rolls_back_with_its_row_and_names_its_file() {
    let db = fresh_db().await;
    let err = FAILING.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.version, "2");
    assert_eq!(f.path, "tests/fixtures/code/failing/V2__fails.rs");
    assert_eq!(f.message, "the backfill found a row it cannot convert");
    assert_eq!(f.cause().to_string(), f.message);
    assert_eq!(f.applied.versions(), ["1"], "the SQL before it stays");
    assert!(!f.failed_row_recorded);
    assert!(err.to_string().starts_with(
        "tests/fixtures/code/failing/V2__fails.rs: migration 2 (fails) failed: the backfill found a row it cannot convert"
    ), "{err}");
    assert!(db.table_exists("items").await);
    let c = db.pool.get().await.unwrap();
    let rows: i64 = c
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "its insert was rolled back with it");
    assert_eq!(db.history().await.len(), 1);
}

#[tokio::test]
async fn a_no_transaction_code_migration_killed_midway_leaves_a_failed_row() {
    let db = fresh_db().await;
    let pool = db.pool.clone();
    let run = tokio::spawn(async move { NO_TX.migrator().run(&pool).await });
    // Kill it once some batches committed.
    let c = db.pool.get().await.unwrap();
    let mut seen = 0;
    for _ in 0..500 {
        if db.table_exists("items").await {
            seen = c
                .query_one("SELECT count(*) FROM items", &[])
                .await
                .unwrap()
                .get::<_, i64>(0);
            if seen >= 3 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen >= 3, "batches commit as it goes");
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let history = db.history().await;
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[1].0.as_str(), history[1].3),
        ("2", false),
        "a failed row"
    );
    // The aborted run's session lets go of the lock once its connection is gone.
    while db.advisory_locks().await > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let err = NO_TX.migrator().run(&db.pool).await.unwrap_err();
    assert_eq!(err.kind(), "dirty", "{err}");
    assert!(err.to_string().contains("V2__slow_batches.rs"), "{err}");
}

#[tokio::test]
async fn a_dry_run_runs_the_code_and_keeps_nothing() {
    let db = fresh_db().await;
    let report = OK.migrator().dry_run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["1", "2", "3"]);
    assert!(!db.table_exists("items").await);
    assert!(!db.table_exists("tidemark_history").await);
    // A single-transaction run holds the code migration too.
    let single = OK
        .migrator()
        .transaction(TransactionMode::Single)
        .run(&db.pool)
        .await
        .unwrap();
    assert_eq!(single.versions(), ["1", "2", "3"]);
    assert!(OK.is_up_to_date(&db.pool).await.unwrap());
}

/// The ok folder's files, with `V2__shout_names.rs` replaced by `v2`.
fn ok_files(v2: &str) -> Vec<(String, String)> {
    std::fs::read_dir("tests/fixtures/code/ok")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let text = if name == "V2__shout_names.rs" {
                v2.to_owned()
            } else {
                std::fs::read_to_string(e.path()).unwrap()
            };
            (name, text)
        })
        .collect()
}

#[tokio::test]
async fn editing_the_code_file_is_divergent_and_changes_the_set_digest() {
    let db = fresh_db().await;
    OK.migrator().run(&db.pool).await.unwrap();
    let original = std::fs::read_to_string("tests/fixtures/code/ok/V2__shout_names.rs").unwrap();
    let same: Vec<(String, String)> = ok_files(&original);
    let same: Vec<(&str, &str)> = same.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        set_of(&same).digest(),
        OK.digest(),
        "read at run time: the same set"
    );
    let edited = ok_files(&original.replace("LIMIT 2", "LIMIT 3"));
    let edited: Vec<(&str, &str)> = edited
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let edited = set_of(&edited);
    assert_ne!(
        edited.digest(),
        OK.digest(),
        "the template key changes with the source"
    );
    let err = edited.migrator().validate(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::Divergent { path, .. } if path == "migrations/V2__shout_names.rs"),
        "{err:?}"
    );
}

#[tokio::test]
async fn code_from_a_folder_read_at_run_time_or_on_a_shared_client_is_refused_before_running() {
    let db = fresh_db().await;
    let files =
        ok_files(&std::fs::read_to_string("tests/fixtures/code/ok/V2__shout_names.rs").unwrap());
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let err = set_of(&files).migrator().run(&db.pool).await.unwrap_err();
    assert_eq!(err.kind(), "code_not_embedded", "{err}");
    assert!(err.to_string().contains("`migrate` subcommand"), "{err}");
    assert!(!db.table_exists("items").await, "nothing ran");
    assert!(
        !db.table_exists("tidemark_history").await,
        "nothing was created"
    );
    let client = db.pool.get().await.unwrap();
    let err = OK.migrator().run(&**client).await.unwrap_err();
    assert_eq!(err.kind(), "code_needs_pool", "{err}");
    assert!(!db.table_exists("items").await, "nothing ran");
}

#[tokio::test]
async fn assert_reversible_crosses_code_migrations() {
    let checked = assert_reversible(&OK).await;
    assert_eq!(checked.checked, ["1", "2", "3"]);
}

#[tokio::test]
async fn the_embedded_migrate_subcommand_runs_code_migrations() {
    let db = fresh_db().await;
    let bin = crate::support::example("code_migrations");
    let run = |args: &[&str]| {
        std::process::Command::new(&bin)
            .arg("migrate")
            .args(args)
            .env("DATABASE_URL", db.conn_string())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let status = run(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("backfill_domains (code)  pending"), "{text}");
    let c = db.pool.get().await.unwrap();
    let up = run(&["to", "2"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    c.batch_execute("INSERT INTO accounts (email) VALUES ('a@Example.COM'), ('b@mail.test')")
        .await
        .unwrap();
    let up = run(&["up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let out = String::from_utf8_lossy(&up.stdout);
    assert!(out.contains("backfill_domains"), "{out}");
    let domains: Vec<String> = c
        .query("SELECT domain FROM accounts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        domains,
        ["example.com", "mail.test"],
        "the application's function ran"
    );
    assert_eq!(
        kinds(&db.pool).await[2],
        ("3".to_owned(), "code".to_owned())
    );
}

#[tokio::test]
async fn stopping_a_run_midway_through_a_code_migration_rolls_it_back() {
    let db = fresh_db().await;
    let stop = tidemark::Stop::new();
    let (pool, switch) = (db.pool.clone(), stop.clone());
    let run = tokio::spawn(async move { SLOW.migrator().stop_on(switch).run(&pool).await });
    // Stop once the code migration is under way (its backend sleeping between batches).
    let c = db.pool.get().await.unwrap();
    for _ in 0..500 {
        let busy: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(0.02)%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if busy > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.stop();
    let err = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the stop ends the run promptly")
        .unwrap()
        .unwrap_err();
    let Error::Interrupted { applied } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(applied.versions(), ["1"]);
    let rows: i64 = c
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "the code migration's inserts were rolled back");
    assert_eq!(db.history().await.len(), 1);
    assert_eq!(db.advisory_locks().await, 0);
}

/// The schema verbs in the application's own binary run its code migrations on the scratch
/// database: `migrate schema` writes what the library's `Schema` gives for a database the
/// example migrated, and `migrate drift` finds nothing there (and finds a hand change).
#[tokio::test]
async fn the_embedded_migrate_subcommand_writes_the_schema_and_finds_drift() {
    let db = fresh_db().await;
    let bin = crate::support::example("code_migrations");
    let server = tidemark::testing::server().unwrap();
    let scratch = tidemark_rig::connection_string(&server.config(server.admin_database()));
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(&bin)
            .current_dir(dir.path())
            .arg("migrate")
            .args(args)
            .env("DATABASE_URL", db.conn_string())
            .env("TIDEMARK_SCRATCH_URL", &scratch)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let up = run(&["up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let schema = run(&["schema", "-o", "schema.sql"]);
    assert!(
        schema.status.success(),
        "{}",
        String::from_utf8_lossy(&schema.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("schema.sql")).unwrap();
    let c = db.pool.get().await.unwrap();
    let library = tidemark::schema::Schema::read(&c, "public", "tidemark_history")
        .await
        .unwrap()
        .to_sql(tidemark::schema::file_header())
        .unwrap();
    assert_eq!(written, library);
    assert!(written.contains("domain text NOT NULL"), "{written}");

    let drift = run(&["drift"]);
    assert_eq!(
        (
            drift.status.code(),
            String::from_utf8_lossy(&drift.stdout).trim()
        ),
        (
            Some(0),
            "no drift: the schema is what the applied migrations make"
        ),
        "{}",
        String::from_utf8_lossy(&drift.stderr)
    );
    c.batch_execute("CREATE INDEX by_hand ON accounts (domain)")
        .await
        .unwrap();
    let drift = run(&["drift"]);
    let said = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(7), "{said}");
    assert!(said.contains("by_hand"), "{said}");
}
