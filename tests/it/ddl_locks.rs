//! The run-time DDL lock policy: a migration whose DDL waits behind a long-running transaction
//! waits without it (the default), fails fast with `ddl_lock_timeout` and no retries, and with
//! retries succeeds once the blocker ends.

use crate::support::{fresh_db, set_of, TestDb};
use std::time::Duration;
use tidemark::{Error, Target};

fn set() -> &'static tidemark::Migrations {
    set_of(&[
        ("V1__t.sql", "CREATE TABLE t (id int);"),
        ("V2__x.sql", "ALTER TABLE t ADD COLUMN x int;"),
        ("U2__x.sql", "ALTER TABLE t DROP COLUMN x;"),
    ])
}

/// A transaction that reads `t` and stays open: its ACCESS SHARE lock blocks `ALTER TABLE`.
async fn blocker(db: &TestDb) -> tidemark::deadpool_postgres::Object {
    let c = db.new_pool(1).get().await.unwrap();
    c.batch_execute("BEGIN; SELECT * FROM t;").await.unwrap();
    c
}

/// Waits until some session of the database waits for a lock.
async fn someone_waits(db: &TestDb) {
    let c = db.pool.get().await.unwrap();
    for _ in 0..1000 {
        let waiting: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                 WHERE NOT l.granted AND d.datname = current_database()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing waited for a lock");
}

/// Waits until a session waiting for a lock has given up once and waits again: a retry is a
/// new transaction, so the waiter's `xact_start` changes.
async fn someone_retries(db: &TestDb) {
    let c = db.pool.get().await.unwrap();
    let waiting =
        "SELECT a.xact_start::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                   WHERE NOT l.granted AND a.datname = current_database() LIMIT 1";
    let mut first: Option<String> = None;
    for _ in 0..3000 {
        let now: Option<String> = c
            .query_opt(waiting, &[])
            .await
            .unwrap()
            .and_then(|r| r.get(0));
        match (&first, now) {
            (None, Some(t)) => first = Some(t),
            (Some(f), Some(t)) if *f != t => return,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no waiter retried");
}

#[tokio::test]
async fn ddl_waits_fails_fast_or_retries_until_the_blocker_ends() {
    let db = fresh_db().await;
    let set = set();
    set.migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();

    // Fail fast: no retries.
    let b = blocker(&db).await;
    let err = set
        .migrator()
        .ddl_lock_timeout(Duration::from_millis(50))
        .ddl_lock_retries(0)
        .run(&db.pool)
        .await
        .unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (f.version.as_str(), f.sqlstate.as_deref()),
        ("2", Some("55P03"))
    );
    assert_eq!(db.history().await.len(), 1, "nothing committed");

    // Retries: the blocker ends while it is retrying.
    let pool = db.pool.clone();
    let run = tokio::spawn(async move {
        set.migrator()
            .ddl_lock_timeout(Duration::from_millis(50))
            .ddl_lock_retries(50)
            .run(&pool)
            .await
    });
    someone_retries(&db).await;
    b.batch_execute("COMMIT").await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.versions(), ["2"]);
    assert!(report.lock_retries >= 1, "{report:?}");
    set.migrator()
        .target(Target::version(1))
        .run(&db.pool)
        .await
        .unwrap();

    // The default: it waits for as long as the blocker holds on.
    let b = blocker(&db).await;
    let pool = db.pool.clone();
    let run = tokio::spawn(async move { set.migrator().run(&pool).await });
    someone_waits(&db).await;
    assert!(!run.is_finished());
    b.batch_execute("COMMIT").await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.versions(), report.lock_retries), (vec!["2"], 0));
}
