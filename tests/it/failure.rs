//! A failing migration: the ones before it stay, it leaves nothing, the error names its file and
//! line, the lock is released, and a fixed folder then completes.

use crate::support::fresh_db;
use tidemark::{Error, Migrations};

static FAILING: Migrations = tidemark::embed_migrations!("tests/fixtures/failing_third");
static SYNTAX: Migrations = tidemark::embed_migrations!("tests/fixtures/failing_syntax");
static FIXED: Migrations = tidemark::embed_migrations!("tests/fixtures/fixed_third");

#[tokio::test]
async fn a_run_time_error_in_the_third_keeps_the_first_two() {
    let db = fresh_db().await;
    let err = FAILING.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("expected MigrationFailed, got {err:?}")
    };
    assert_eq!(f.path, "tests/fixtures/failing_third/V3__gamma.sql");
    assert_eq!((f.version.as_str(), f.name.as_str()), ("3", "gamma"));
    assert_eq!(f.sqlstate.as_deref(), Some("42P01"));
    assert_eq!(f.message, "relation \"no_such_table\" does not exist");
    assert_eq!(
        (f.line, f.column),
        (Some(6), Some(16)),
        "points at no_such_table"
    );
    assert_eq!(f.statement.as_deref(), Some("INSERT INTO gamma (id)"));
    assert!(!f.failed_row_recorded);
    let applied: Vec<&str> = f.applied.steps.iter().map(|s| s.version.as_str()).collect();
    assert_eq!(
        applied,
        ["1", "2"],
        "the partial report lists what was committed"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "tests/fixtures/failing_third/V3__gamma.sql:6:16: migration 3 (gamma) failed"
        ),
        "{msg}"
    );

    assert!(db.table_exists("alpha").await && db.table_exists("beta").await);
    assert!(
        !db.table_exists("gamma").await,
        "the failed migration left its table behind"
    );
    let versions: Vec<String> = db.history().await.into_iter().map(|r| r.0).collect();
    assert_eq!(versions, ["1", "2"]);
    assert_eq!(db.advisory_locks().await, 0);

    let report = FIXED
        .migrator()
        .run(&db.pool)
        .await
        .expect("the fixed folder completes");
    assert_eq!(report.steps.len(), 1);
    assert!(db.table_exists("gamma").await);
    assert_eq!(db.history().await.len(), 3);
}

#[tokio::test]
async fn a_syntax_error_in_the_third_keeps_the_first_two() {
    // The three migrations travel in one message, which the server rejects as a whole for a
    // syntax error; the first two must still end up committed, as if each had been sent alone.
    let db = fresh_db().await;
    let err = SYNTAX.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("expected MigrationFailed, got {err:?}")
    };
    assert_eq!(f.path, "tests/fixtures/failing_syntax/V3__gamma.sql");
    assert_eq!(f.sqlstate.as_deref(), Some("42601"));
    assert_eq!((f.line, f.column), (Some(3), Some(1)));
    assert_eq!(f.statement.as_deref(), Some("CREAT TABLE delta (id int);"));
    let versions: Vec<String> = db.history().await.into_iter().map(|r| r.0).collect();
    assert_eq!(versions, ["1", "2"]);
    assert!(db.table_exists("beta").await && !db.table_exists("gamma").await);
    assert_eq!(db.advisory_locks().await, 0);
}
