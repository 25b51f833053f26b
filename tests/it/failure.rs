//! A failing migration: the ones before it stay, it leaves nothing, the error names its file and
//! line, the lock is released, and a fixed folder then completes.

use crate::support::fresh_db;
use tidemark::{Error, Migrations};

static FAILING: Migrations = tidemark::embed_migrations!("tests/fixtures/failing_third");
// The typo is the point: with the `syntax` feature on, the build would reject it first.
static SYNTAX: Migrations =
    tidemark::embed_migrations!("tests/fixtures/failing_syntax", allow = ["syntax"]);
static FIXED: Migrations = tidemark::embed_migrations!("tests/fixtures/fixed_third");

#[tokio::test]
async fn a_run_time_error_in_the_third_keeps_the_first_two() {
    let db = fresh_db().await;
    let err = FAILING.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("expected MigrationFailed, got {err:?}")
    };
    assert_eq!(f.path, "tests/fixtures/failing_third/V3__gamma.sql");
    assert_eq!(err.kind(), "migration_failed");
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
    let applied = f.applied.versions();
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

#[tokio::test]
async fn a_syntax_error_on_line_12_is_reported_at_line_12_and_its_column() {
    let db = fresh_db().await;
    // Multi-byte text before the error: the server counts characters, not bytes.
    let second = "-- Größenänderung: ünïcödé comments\n\
                  CREATE TABLE sizes (\n\
                  \x20   id int PRIMARY KEY,\n\
                  \x20   label text DEFAULT 'größe'\n\
                  );\n\
                  \n\
                  INSERT INTO sizes VALUES (1, 'ß');\n\
                  \n\
                  -- line 9\n\
                  -- line 10\n\
                  -- line 11\n\
                  SELECT id FROM sizes WHERE label = 'ü' ORDER id;\n";
    let set = crate::support::set_of(&[
        ("V1__first.sql", "CREATE TABLE first (id int);"),
        ("V2__sizes.sql", second),
    ]);
    let err = set.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.path, "migrations/V2__sizes.sql");
    assert_eq!(f.sqlstate.as_deref(), Some("42601"));
    assert_eq!(f.message, "syntax error at or near \"id\"");
    assert_eq!(
        (f.line, f.column),
        (Some(12), Some(46)),
        "the `id` after ORDER"
    );
    assert_eq!(
        f.statement.as_deref(),
        Some("SELECT id FROM sizes WHERE label = 'ü' ORDER id;")
    );
    assert!(err
        .to_string()
        .starts_with("migrations/V2__sizes.sql:12:46: migration 2 (sizes) failed"));
    // The first migration was in the same message; it is committed all the same.
    let versions: Vec<String> = db.history().await.into_iter().map(|r| r.0).collect();
    assert_eq!(versions, ["1"]);
}

#[tokio::test]
async fn detail_and_positions_inside_a_do_block_are_reported() {
    let db = fresh_db().await;
    let set = crate::support::set_of(&[
        (
            "V1__t.sql",
            "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);",
        ),
        (
            "V2__dup.sql",
            "-- duplicate key\nINSERT INTO t VALUES (2);\nINSERT INTO t VALUES (1);",
        ),
    ]);
    let err = set.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.sqlstate.as_deref(), Some("23505"));
    assert_eq!(f.detail.as_deref(), Some("Key (id)=(1) already exists."));
    assert!(err
        .to_string()
        .contains("\n  detail: Key (id)=(1) already exists."));

    let db = fresh_db().await;
    let body = "CREATE TABLE u (id int);\n\
                DO $$\n\
                BEGIN\n\
                \x20 PERFORM 1;\n\
                \x20 INSERT INTO u SELECT missing_column FROM u;\n\
                END\n\
                $$;\n";
    let set = crate::support::set_of(&[("V1__do.sql", body)]);
    let err = set.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.sqlstate.as_deref(), Some("42703"));
    assert_eq!(
        (f.line, f.column),
        (Some(5), Some(24)),
        "inside the DO body: {err}"
    );
    assert!(!db.table_exists("u").await);
}
