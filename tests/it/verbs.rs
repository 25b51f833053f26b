//! plan/execute, dry run, status, baseline, whole-run transactions and repeatables.

use crate::support::{fresh_db, set_of, snapshot};
use tidemark::{Direction, Error, Reason, SkipReason, State, Target, TransactionMode};

#[tokio::test]
async fn a_plan_is_inspectable_and_executes_as_planned() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        (
            "R__view.sql",
            "CREATE OR REPLACE VIEW v AS SELECT id FROM one;",
        ),
    ]);
    let plan = set.migrator().plan(&db.pool).await.unwrap();
    let steps: Vec<(&str, Direction, Reason)> = plan
        .steps()
        .iter()
        .map(|s| (s.migration().version(), s.direction(), s.reason()))
        .collect();
    assert_eq!(
        steps,
        [
            ("1", Direction::Up, Reason::Pending),
            ("2", Direction::Up, Reason::Pending),
            ("R__view", Direction::Up, Reason::RepeatableNew)
        ]
    );
    assert_eq!(plan.direction(), Some(Direction::Up));
    assert!(!db.table_exists("one").await, "planning runs nothing");
    let report = set.migrator().execute(&db.pool, &plan).await.unwrap();
    assert_eq!(report.steps.len(), 3);
    assert!(db.table_exists("v").await);
    // The same plan again: history moved on, so it is refused rather than re-applied.
    let err = set.migrator().execute(&db.pool, &plan).await.unwrap_err();
    assert!(matches!(&err, Error::StalePlan), "{err:?}");
    assert_eq!(err.kind(), "stale_plan");
}

#[tokio::test]
async fn a_dry_run_validates_for_real_and_changes_nothing() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int PRIMARY KEY);"),
        ("U1__one.sql", "DROP TABLE one;"),
        (
            "V2__two.sql",
            "CREATE TABLE two (id int REFERENCES one (id));",
        ),
    ]);
    let empty = snapshot(&db.pool).await;
    let report = set.migrator().dry_run(&db.pool).await.unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(
        snapshot(&db.pool).await,
        empty,
        "not even the history tables are left"
    );

    set.migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();
    let before = snapshot(&db.pool).await;
    set.migrator().dry_run(&db.pool).await.unwrap();
    set.migrator()
        .target(Target::Initial)
        .dry_run(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        snapshot(&db.pool).await,
        before,
        "catalog and history unchanged, byte for byte"
    );

    // A real error surfaces from the dry run; still nothing is kept.
    let broken = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int PRIMARY KEY);"),
        ("U1__one.sql", "DROP TABLE one;"),
        (
            "V2__two.sql",
            "CREATE TABLE two (id int REFERENCES nowhere (id));",
        ),
    ]);
    let err = broken.migrator().dry_run(&db.pool).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("42P01"));
    assert_eq!(snapshot(&db.pool).await, before);
    assert_eq!(db.advisory_locks().await, 0);

    let no_tx = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int PRIMARY KEY);"),
        ("U1__one.sql", "DROP TABLE one;"),
        (
            "V2__idx.sql",
            "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY i ON one (id);",
        ),
    ]);
    // What can be rolled back runs; the no-transaction step and what follows it do not.
    let fresh = fresh_db().await;
    let empty = snapshot(&fresh.pool).await;
    let report = no_tx.migrator().dry_run(&fresh.pool).await.unwrap();
    assert_eq!(report.versions(), ["1"]);
    let skipped: Vec<(&str, SkipReason)> = report
        .skipped
        .iter()
        .map(|s| (s.version.as_str(), s.reason))
        .collect();
    assert_eq!(skipped, [("2", SkipReason::NoTransaction)]);
    assert!(report
        .to_string()
        .contains("not run: up 2 (migrations/V2__idx.sql): runs outside a transaction"));
    assert_eq!(snapshot(&fresh.pool).await, empty, "nothing kept");
    let err = no_tx
        .migrator()
        .transaction(TransactionMode::Single)
        .run(&fresh.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoTransactionInSingleRun { version, .. } if version == "2"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "no_transaction_in_single_run");
}

#[tokio::test]
async fn status_lists_applied_pending_and_failed() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        ("R__view.sql", "CREATE OR REPLACE VIEW v AS SELECT 1 AS x;"),
    ]);
    let fresh = set.migrator().status(&db.pool).await.unwrap();
    assert!(fresh.entries.iter().all(|e| e.state == State::Pending));
    assert!(
        !db.table_exists("tidemark_history").await,
        "status creates nothing"
    );
    set.migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();
    let status = set.migrator().status(&db.pool).await.unwrap();
    let states: Vec<(&str, State)> = status
        .entries
        .iter()
        .map(|e| (e.version.as_str(), e.state))
        .collect();
    assert_eq!(
        states,
        [
            ("1", State::Applied),
            ("2", State::Pending),
            ("R__view", State::Pending)
        ]
    );
    let one = &status.entries[0];
    assert!(one.applied_at.as_deref().is_some_and(|t| t.ends_with('Z')));
    assert!(one.execution_ms.is_some());
    assert_eq!(one.path.as_deref(), Some("migrations/V1__one.sql"));
    assert!(status.to_string().contains("applied"));
    assert!(!status.is_up_to_date());
}

#[tokio::test]
async fn baseline_adopts_an_existing_database_then_run_applies_the_rest() {
    let db = fresh_db().await;
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE legacy_one (id int); CREATE TABLE legacy_two (id int);")
        .await
        .unwrap();
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE legacy_one (id int);"),
        ("V2__two.sql", "CREATE TABLE legacy_two (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
    ]);
    let adopted = set.migrator().baseline(&db.pool, "2").await.unwrap();
    assert_eq!(adopted, ["1", "2"]);
    let report = set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["3"]);
    assert!(set.migrator().is_up_to_date(&db.pool).await.unwrap());
    let err = set.migrator().baseline(&db.pool, "2").await.unwrap_err();
    assert!(
        matches!(&err, Error::HistoryNotEmpty { rows: 3 }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "history_not_empty");
    assert!(matches!(
        set.migrator().baseline(&db.pool, "9").await,
        Err(Error::UnknownTarget { .. })
    ));
}

#[tokio::test]
async fn whole_run_mode_keeps_nothing_when_the_fifth_of_five_fails() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        ("V2__b.sql", "CREATE TABLE b (id int);"),
        ("V3__c.sql", "CREATE TABLE c (id int);"),
        ("V4__d.sql", "CREATE TABLE d (id int);"),
        (
            "V5__e.sql",
            "CREATE TABLE e (id int);\nINSERT INTO e SELECT 1 / 0;",
        ),
    ]);
    let err = set
        .migrator()
        .transaction(TransactionMode::Single)
        .run(&db.pool)
        .await
        .unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (f.version.as_str(), f.sqlstate.as_deref()),
        ("5", Some("22012"))
    );
    assert!(f.applied.steps.is_empty(), "nothing was committed");
    for t in ["a", "b", "c", "d", "e"] {
        assert!(
            !db.table_exists(t).await,
            "{t} survived the failed single-transaction run"
        );
    }
    assert!(db.history().await.is_empty());
    // Per migration (the default), the first four stay.
    set.migrator().run(&db.pool).await.unwrap_err();
    assert_eq!(db.history().await.len(), 4);
}

#[tokio::test]
async fn a_repeatable_reruns_only_when_its_checksum_changes() {
    let db = fresh_db().await;
    let v1 = set_of(&[
        ("V1__t.sql", "CREATE TABLE t (id int, name text);"),
        (
            "R__view.sql",
            "CREATE OR REPLACE VIEW v AS SELECT id FROM t;",
        ),
    ]);
    assert_eq!(v1.migrator().run(&db.pool).await.unwrap().steps.len(), 2);
    assert!(v1.migrator().run(&db.pool).await.unwrap().is_noop());
    let v2 = set_of(&[
        ("V1__t.sql", "CREATE TABLE t (id int, name text);"),
        (
            "R__view.sql",
            "CREATE OR REPLACE VIEW v AS SELECT id, name FROM t;",
        ),
    ]);
    let report = v2.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["R__view"]);
    let c = db.pool.get().await.unwrap();
    let cols: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'v'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cols, 2, "the new view definition is in place");
    assert_eq!(
        db.history().await.len(),
        2,
        "one row per repeatable, replaced"
    );
    assert!(v2.migrator().is_up_to_date(&db.pool).await.unwrap());
}
