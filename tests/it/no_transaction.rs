//! No-transaction migrations: statement by statement, a failed row when one fails midway.

use crate::support::{fresh_db, set_of};
use tidemark::{Error, State};

const TABLE: (&str, &str) = ("V1__t.sql", "CREATE TABLE t (a int, b int, c int);");
/// Three CONCURRENTLY statements in one no-transaction file.
const INDEXES: (&str, &str) = (
    "V2__indexes.sql",
    "-- tidemark:no-transaction\n\
     CREATE INDEX CONCURRENTLY t_a ON t (a);\n\
     CREATE INDEX CONCURRENTLY t_b ON t (b);\n\
     CREATE INDEX CONCURRENTLY t_c ON t (c);\n",
);

#[tokio::test]
async fn several_concurrently_statements_succeed() {
    let db = fresh_db().await;
    let set = set_of(&[TABLE, INDEXES]);
    let report = set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.steps.len(), 2);
    for i in ["t_a", "t_b", "t_c"] {
        assert!(db.table_exists(i).await, "{i}");
    }
    assert!(
        db.history().await.iter().all(|r| r.3),
        "every row flipped to success"
    );
    assert!(set.migrator().is_up_to_date(&db.pool).await.unwrap());
}

#[tokio::test]
async fn a_failure_midway_leaves_a_failed_row_that_blocks_until_repair() {
    let db = fresh_db().await;
    let broken = set_of(&[
        TABLE,
        (
            "V2__indexes.sql",
            "-- tidemark:no-transaction\n\
             CREATE INDEX CONCURRENTLY t_a ON t (a);\n\
             CREATE INDEX CONCURRENTLY t_b ON t (no_such_column);\n\
             CREATE INDEX CONCURRENTLY t_c ON t (c);\n",
        ),
        ("V3__later.sql", "CREATE TABLE later (id int);"),
    ]);
    let err = broken.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert!(f.failed_row_recorded);
    assert_eq!(
        (f.version.as_str(), f.sqlstate.as_deref()),
        ("2", Some("42703"))
    );
    // The server gives no position for this error: the failing statement's start is reported.
    assert_eq!((f.line, f.column), (Some(3), Some(1)));
    assert_eq!(f.message, "column \"no_such_column\" does not exist");
    assert_eq!(
        f.statement.as_deref(),
        Some("CREATE INDEX CONCURRENTLY t_b ON t (no_such_column);")
    );
    assert!(err.to_string().contains("run `repair`"), "{err}");
    assert!(
        db.table_exists("t_a").await,
        "the statement before the failure was kept"
    );
    assert!(!db.table_exists("t_c").await && !db.table_exists("later").await);
    let history = db.history().await;
    assert_eq!(
        history
            .iter()
            .map(|r| (r.0.as_str(), r.3))
            .collect::<Vec<_>>(),
        [("1", true), ("2", false)]
    );

    let err = broken.migrator().run(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::Dirty { version, .. } if version == "2"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "dirty");
    assert!(
        err.to_string()
            .starts_with("migrations/V2__indexes.sql (version 2, indexes) failed midway"),
        "{err}"
    );
    let status = broken.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.entries[1].state, State::Failed);

    // Clean up by hand, repair, then run the fixed folder.
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute("DROP INDEX t_a")
        .await
        .unwrap();
    let repaired = broken.migrator().repair(&db.pool).await.unwrap();
    assert_eq!(repaired.removed_failed, ["2"]);
    let fixed = set_of(&[
        TABLE,
        INDEXES,
        ("V3__later.sql", "CREATE TABLE later (id int);"),
    ]);
    let report = fixed.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["2", "3"]);
    assert!(db.history().await.iter().all(|r| r.3));
}

/// A stop after a no-transaction step cancels the step that runs then: the no-transaction
/// step's bookkeeping reply has a row before the backend's pid, which was once taken for it,
/// leaving the stop nothing to cancel (the slow step then committed and the run succeeded).
#[tokio::test]
async fn a_stop_after_a_no_transaction_step_cancels_the_running_one() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__t.sql", "CREATE TABLE t (a int);"),
        (
            "V2__index.sql",
            "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);",
        ),
        (
            "V3__slow.sql",
            "SELECT pg_sleep(30);\nALTER TABLE t ADD COLUMN b int;",
        ),
    ]);
    let stop = tidemark::Stop::new();
    let (pool, switch) = (db.pool.clone(), stop.clone());
    let run = tokio::spawn(async move { set.migrator().stop_on(switch).run(&pool).await });
    let c = db.pool.get().await.unwrap();
    let mut sleeping = false;
    for _ in 0..1000 {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND datname = current_database() \
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            sleeping = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(sleeping, "V3 started");
    stop.stop();
    let err = run.await.unwrap().unwrap_err();
    let Error::Interrupted { applied } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        applied.versions(),
        ["1", "2"],
        "what committed before the stop"
    );
    let versions: Vec<String> = db.history().await.into_iter().map(|r| r.0).collect();
    assert_eq!(versions, ["1", "2"], "V3 rolled back, not recorded");
    let b: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'b'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(b, 0, "V3's ALTER TABLE did not commit");
    assert_eq!(db.advisory_locks().await, 0);
}

/// An operator looking at `pg_stat_activity` during a long run sees which migration runs: its
/// `application_name` is `tidemark: up 1 waits` while a transactional step runs and `tidemark:
/// up 2 waits_outside` while a no-transaction one does (each blocked here on a table the test
/// locks, so the state is observed, not raced), and nothing of it stays in the pooled sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_stat_activity_names_the_running_migration() {
    let db = fresh_db().await;
    let c = db.pool.get().await.unwrap();
    c.batch_execute("CREATE TABLE gate1 (id int); CREATE TABLE gate2 (id int);")
        .await
        .unwrap();
    let locker = |table: &'static str| {
        let pool = db.new_pool(1);
        async move {
            let held = pool.get().await.unwrap();
            held.batch_execute(&format!(
                "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
            ))
            .await
            .unwrap();
            held
        }
    };
    let (gate1, gate2) = (locker("gate1").await, locker("gate2").await);
    let set = set_of(&[
        ("V1__waits.sql", "SELECT count(*) FROM gate1;"),
        (
            "V2__waits_outside.sql",
            "-- tidemark:no-transaction\nSELECT count(*) FROM gate2;",
        ),
    ]);
    let pool = db.new_pool(2);
    let run = tokio::spawn({
        let pool = pool.clone();
        async move { set.migrator().run(&pool).await }
    });
    assert_eq!(waiting_application(&c).await, "tidemark: up 1 waits");
    gate1.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        waiting_application(&c).await,
        "tidemark: up 2 waits_outside"
    );
    gate2.batch_execute("COMMIT").await.unwrap();
    assert_eq!(run.await.unwrap().unwrap().versions(), ["1", "2"]);
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    for session in [&a, &b] {
        let name: String = session
            .query_one("SHOW application_name", &[])
            .await
            .unwrap()
            .get(0);
        assert!(!name.starts_with("tidemark:"), "left in the pool: {name}");
    }
}

/// The `application_name` of the session of `c`'s database that waits for a lock.
async fn waiting_application(c: &tidemark::tokio_postgres::Client) -> String {
    for _ in 0..3000 {
        if let Some(row) = c
            .query_opt(
                "SELECT application_name FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' LIMIT 1",
                &[],
            )
            .await
            .unwrap()
        {
            return row.get(0);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no migration waited on the gate");
}
