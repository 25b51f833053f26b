//! Declarative targets: up to v, down to v, down to initial; rollbacks checked before anything runs.

use crate::support::{fresh_db, set_of, snapshot};
use tidemark::{Direction, Error, Migrations, Target};

fn three() -> &'static Migrations {
    set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("U1__one.sql", "DROP TABLE one;"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        ("U2__two.sql", "DROP TABLE two;"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
        ("U3__three.sql", "DROP TABLE three;"),
    ])
}

async fn versions(db: &crate::support::TestDb) -> Vec<String> {
    db.history().await.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn up_to_a_version_then_down_to_another_then_to_initial() {
    let db = fresh_db().await;
    let set = three();
    let up = set
        .migrator()
        .target(Target::version(2))
        .run(&db.pool)
        .await
        .unwrap();
    assert_eq!(up.versions(), ["1", "2"]);
    assert!(db.table_exists("two").await && !db.table_exists("three").await);

    let all = set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(all.steps.len(), 1);
    assert_eq!(versions(&db).await, ["1", "2", "3"]);

    let down = set
        .migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();
    let steps: Vec<(&str, Direction)> = down
        .steps
        .iter()
        .map(|s| (s.version.as_str(), s.direction))
        .collect();
    assert_eq!(
        steps,
        [("3", Direction::Down), ("2", Direction::Down)],
        "newest first"
    );
    assert_eq!(down.steps[0].path, "migrations/U3__three.sql");
    assert!(
        db.table_exists("one").await
            && !db.table_exists("two").await
            && !db.table_exists("three").await
    );
    assert_eq!(versions(&db).await, ["1"]);

    let same = set
        .migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();
    assert!(same.is_noop(), "already at the target: nothing to do");

    set.migrator()
        .target(Target::Initial)
        .run(&db.pool)
        .await
        .unwrap();
    assert!(!db.table_exists("one").await);
    assert!(versions(&db).await.is_empty());
    assert!(!set.migrator().is_up_to_date(&db.pool).await.unwrap());
    set.migrator().run(&db.pool).await.unwrap();
    assert!(
        set.migrator().is_up_to_date(&db.pool).await.unwrap(),
        "the digest follows downs and ups"
    );
}

#[tokio::test]
async fn a_rollback_across_a_migration_without_one_is_refused_before_any_change() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("U1__one.sql", "DROP TABLE one;"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
        ("U3__three.sql", "DROP TABLE three;"),
    ]);
    set.migrator().run(&db.pool).await.unwrap();
    let before = snapshot(&db.pool).await;
    let err = set
        .migrator()
        .target(Target::Initial)
        .run(&db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoRollback { version, path: Some(path) } if version == "2" && path == "migrations/V2__two.sql"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "no_rollback");
    assert_eq!(
        snapshot(&db.pool).await,
        before,
        "3 was not rolled back although it could be"
    );
    assert_eq!(db.advisory_locks().await, 0);
    // A target above the gap is fine.
    set.migrator()
        .target(Target::version(2))
        .run(&db.pool)
        .await
        .unwrap();
    assert!(!db.table_exists("three").await);
}

#[tokio::test]
async fn an_unknown_target_is_refused() {
    let db = fresh_db().await;
    let set = three();
    for bad in ["4", "1.5", "abc"] {
        let err = set
            .migrator()
            .target(Target::version(bad))
            .run(&db.pool)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::UnknownTarget { version } if version == bad),
            "{err:?}"
        );
    }
    assert!(!db.table_exists("one").await);
}

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");

#[tokio::test]
async fn the_example_folder_goes_to_initial_and_back_up() {
    let db = fresh_db().await;
    let empty = snapshot(&db.pool).await;
    EXAMPLE.migrator().run(&db.pool).await.unwrap();
    let full = snapshot(&db.pool).await;
    // The repeatable view reads `posts`: its undo script runs before the versioned rollbacks.
    let down = EXAMPLE
        .migrator()
        .target(Target::Initial)
        .run(&db.pool)
        .await
        .unwrap();
    let steps: Vec<(&str, Direction)> = down
        .steps
        .iter()
        .map(|s| (s.version.as_str(), s.direction))
        .collect();
    assert_eq!(
        steps,
        [
            ("R__post_counts", Direction::Down),
            ("3", Direction::Down),
            ("2", Direction::Down),
            ("1", Direction::Down)
        ]
    );
    assert!(versions(&db).await.is_empty());
    assert_eq!(
        snapshot(&db.pool).await,
        empty,
        "nothing of the schema is left"
    );
    EXAMPLE.migrator().run(&db.pool).await.unwrap();
    assert_eq!(snapshot(&db.pool).await.len(), full.len());
    assert!(EXAMPLE.is_up_to_date(&db.pool).await.unwrap());

    // Down two: the view is undone and left pending; `up` brings it back.
    EXAMPLE
        .migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();
    assert!(!db.table_exists("post_counts").await && !db.table_exists("posts").await);
    let status = EXAMPLE.migrator().status(&db.pool).await.unwrap();
    assert_eq!(
        status
            .in_state(tidemark::State::Pending)
            .map(|e| e.version.as_str())
            .collect::<Vec<_>>(),
        ["2", "3", "R__post_counts"]
    );
    EXAMPLE.migrator().run(&db.pool).await.unwrap();
    assert!(db.table_exists("post_counts").await);
}

#[tokio::test]
async fn a_dry_run_of_the_example_runs_what_it_can_and_says_what_it_did_not() {
    let db = fresh_db().await;
    let before = snapshot(&db.pool).await;
    let report = EXAMPLE.migrator().dry_run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["1", "2"]);
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.version.as_str()).collect();
    assert_eq!(
        skipped,
        ["3", "R__post_counts"],
        "the CONCURRENTLY index and what follows"
    );
    assert_eq!(snapshot(&db.pool).await, before);
}

#[tokio::test]
async fn a_repeatable_without_an_undo_script_blocks_going_back_to_initial() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("U1__one.sql", "DROP TABLE one;"),
        (
            "R__f.sql",
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        ),
    ]);
    set.migrator().run(&db.pool).await.unwrap();
    let err = set
        .migrator()
        .target(Target::Initial)
        .run(&db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoRollback { version, path: Some(path) } if version == "R__f" && path == "migrations/R__f.sql"),
        "{err:?}"
    );
    assert!(db.table_exists("one").await, "nothing ran");
}
