//! Real folders as their owners run them: diesel's string order and names without `_`, files
//! that can only run outside a transaction, an error's place when the server gives none, and a
//! database that an earlier tidemark recorded differently.

use crate::support::{fresh_db, set_of};
use tidemark::Error;

#[tokio::test]
async fn a_diesel_folder_runs_in_diesels_string_order() {
    // A single-digit day makes a 13-digit version; numerically it would come first and fail.
    let db = fresh_db().await;
    let set = set_of(&[
        ("2020-01-01-000000_a/up.sql", "CREATE TABLE a (id int);"),
        (
            "2020-12-7-190800_b/up.sql",
            "ALTER TABLE a ADD COLUMN b int;",
        ),
    ]);
    let versions: Vec<&str> = set.iter().map(|m| m.version()).collect();
    assert_eq!(versions, ["20200101000000", "2020127190800"]);
    let report = set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["20200101000000", "2020127190800"]);
    let status = set.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.entries[1].version, "2020127190800");
    assert!(status.is_up_to_date());
}

#[tokio::test]
async fn a_diesel_directory_without_an_underscore_is_its_own_version() {
    let db = fresh_db().await;
    let set = set_of(&[
        (
            "2023-05-22-000000_first/up.sql",
            "CREATE TABLE deployments (id int);",
        ),
        (
            "2023-05-23-1715-update-subgraph-deployment-assignment/up.sql",
            "ALTER TABLE deployments ADD COLUMN assigned text;",
        ),
        (
            "2023-05-23-1715-update-subgraph-deployment-assignment/down.sql",
            "ALTER TABLE deployments DROP COLUMN assigned;",
        ),
    ]);
    let second = set.iter().nth(1).unwrap();
    assert_eq!(
        second.version(),
        "202305231715updatesubgraphdeploymentassignment"
    );
    assert_eq!(
        second.name(),
        "2023-05-23-1715-update-subgraph-deployment-assignment"
    );
    set.migrator().run(&db.pool).await.unwrap();
    set.migrator()
        .target(tidemark::Target::version("2023-05-22-000000"))
        .run(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        db.history().await.len(),
        1,
        "a target in diesel's own spelling"
    );
}

#[tokio::test]
async fn a_file_of_only_concurrently_statements_runs_outside_a_transaction() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__t.sql", "CREATE TABLE t (id int, name text);"),
        (
            "V2__index.sql",
            "CREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_name ON t (name);",
        ),
    ]);
    assert!(
        set.iter().nth(1).unwrap().up().no_transaction(),
        "as Flyway does"
    );
    set.migrator().run(&db.pool).await.unwrap();
    assert!(db.table_exists("t_id").await && db.table_exists("t_name").await);
    // `check` says so, as a note suggesting the directive.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("V1__index.sql"),
        "CREATE INDEX CONCURRENTLY t_id ON t (id);\n",
    )
    .unwrap();
    let checked = tidemark_core::check(dir.path(), &tidemark_core::ScanOptions::default());
    let notes: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == tidemark_core::Severity::Note)
        .map(ToString::to_string)
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(":1:1: runs outside a transaction, statement by statement"),
        "{notes:?}"
    );
    assert!(
        notes[0].contains("add `-- tidemark:no-transaction`"),
        "{notes:?}"
    );
    assert!(!checked.has_errors());
}

#[tokio::test]
async fn an_error_without_a_server_position_names_its_statement() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__t.sql", "CREATE TABLE t (id int, x int);"),
        (
            "V2__again.sql",
            "-- x exists already: the server gives no position\nCREATE TABLE u (id int);\n\n  ALTER TABLE t\n    ADD COLUMN x int;\nCREATE TABLE v (id int);\n",
        ),
    ]);
    let err = set.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.sqlstate.as_deref(), Some("42701"));
    assert_eq!(
        (f.line, f.column),
        (Some(4), Some(3)),
        "the failing statement's start"
    );
    assert_eq!(f.statement.as_deref(), Some("ALTER TABLE t"));
    assert!(
        err.to_string()
            .starts_with("migrations/V2__again.sql:4:3: migration 2 (again) failed"),
        "{err}"
    );
    assert!(!db.table_exists("u").await, "rolled back");
}

#[tokio::test]
async fn a_database_an_earlier_tidemark_recorded_still_validates_and_is_renamed() {
    // tidemark 0.1 recorded diesel's `…-0000` versions as `20240131120000.0`, and version
    // 00000000000000 as `0`.
    let db = fresh_db().await;
    let set = set_of(&[
        (
            "00000000000000_diesel_initial_setup/up.sql",
            "CREATE TABLE setup (id int);",
        ),
        (
            "2024-01-31-120000-0000_events/up.sql",
            "CREATE TABLE events (id int);",
        ),
    ]);
    set.migrator().run(&db.pool).await.unwrap();
    let c = db.pool.get().await.unwrap();
    c.batch_execute(
        "UPDATE tidemark_history SET version = '0', version_key = '{0}' WHERE version = '00000000000000';
         UPDATE tidemark_history SET version = '20240131120000.0', version_key = '{20240131120000,0}' \
         WHERE version = '202401311200000000';",
    )
    .await
    .unwrap();
    set.migrator()
        .validate(&db.pool)
        .await
        .expect("the old texts are the same migrations");
    assert!(set
        .migrator()
        .status(&db.pool)
        .await
        .unwrap()
        .is_up_to_date());
    assert!(set.is_up_to_date(&db.pool).await.unwrap());
    let report = set.migrator().run(&db.pool).await.unwrap();
    assert!(report.is_noop(), "nothing runs again");
    let versions: Vec<String> = db.history().await.into_iter().map(|r| r.0).collect();
    assert_eq!(
        versions,
        ["00000000000000", "202401311200000000"],
        "renamed to diesel's text"
    );
    assert!(set.migrator().run(&db.pool).await.unwrap().fast_path);
}

#[tokio::test]
async fn a_file_wrapped_in_its_own_transaction_runs_in_tidemarks_with_its_history_row() {
    // As golang-migrate and psql folders have them (16 files of openmeter's).
    let db = fresh_db().await;
    let set = set_of(&[
        ("1_t.up.sql", "CREATE TABLE t (id int);\n"),
        (
            "2_backfill.up.sql",
            "-- a backfill\nBEGIN;\nCREATE TABLE u (id int);\nINSERT INTO t VALUES (1);\nCOMMIT;\n",
        ),
        ("2_backfill.down.sql", "BEGIN;\nDROP TABLE u;\nCOMMIT;\n"),
        (
            "3_broken.up.sql",
            "BEGIN;\nCREATE TABLE w (id int);\nINSERT INTO nowhere VALUES (1);\nCOMMIT;\n",
        ),
    ]);
    let wrapped: Vec<bool> = set.iter().map(|m| m.up().own_transaction()).collect();
    assert_eq!(wrapped, [false, true, true]);
    assert!(set.iter().nth(1).unwrap().down().unwrap().own_transaction());
    let err = set.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((f.version.as_str(), f.line), ("3", Some(3)), "{err}");
    assert_eq!(err.partial_report().unwrap().versions(), ["1", "2"]);
    assert!(db.table_exists("u").await);
    assert!(!db.table_exists("w").await, "the failing file left nothing");
    let status = set.migrator().status(&db.pool).await.unwrap();
    let states: Vec<_> = status.entries.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            tidemark::State::Applied,
            tidemark::State::Applied,
            tidemark::State::Pending
        ]
    );
    set.migrator()
        .target(tidemark::Target::Version("1".into()))
        .run(&db.pool)
        .await
        .unwrap();
    assert!(!db.table_exists("u").await, "its wrapped rollback ran");
}
