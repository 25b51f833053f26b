//! The advisory lock: waiting and timing out, hostile names, secrets (released after a panic:
//! `tests/panic.rs`).

use crate::support::{fresh_db, set_of};
use std::time::Duration;
use tidemark::testing::server;
use tidemark::Error;

fn small() -> &'static tidemark::Migrations {
    set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
    ])
}

/// A session of another deployer (`application_name` other-deployer) holding the migration
/// lock `key` on database `name`.
async fn hold_lock(name: &str, key: i64) -> tidemark::tokio_postgres::Client {
    let mut config = server().unwrap().config(name);
    config.application_name("other-deployer");
    let (holder, conn) = config
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .await
        .unwrap();
    holder
}

/// Waits until a session of `c`'s database other than `c`, holding no advisory lock, has tried
/// the migration lock (a waiter polls `pg_try_advisory_lock`): observed, not assumed after a
/// fixed time.
async fn tried_the_lock(c: &tidemark::tokio_postgres::Client) {
    let tried = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' \
                 AND datname = current_database() AND pid <> pg_backend_pid() \
                 AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)";
    for _ in 0..3000 {
        if c.query_one(tried, &[]).await.unwrap().get::<_, i64>(0) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no run tried the lock");
}

/// A stop while the run waits for the lock ends the wait: nothing ran, the holder keeps it.
#[tokio::test]
async fn a_stop_while_waiting_for_the_lock_ends_the_wait() {
    let db = fresh_db().await;
    let set = small();
    let holder = hold_lock(&db.name, set.migrator().effective_lock_key()).await;
    let stop = tidemark::Stop::new();
    let (pool, switch) = (db.pool.clone(), stop.clone());
    let run = tokio::spawn(async move {
        // Ten minutes: a stop that did not end the wait would end in LockTimeout, much later.
        let m = set.migrator().stop_on(switch);
        m.lock_timeout(Duration::from_secs(600)).run(&pool).await
    });
    tried_the_lock(&holder).await;
    stop.stop();
    let err = run.await.unwrap().unwrap_err();
    let Error::Interrupted { applied } = &err else {
        panic!("{err:?}")
    };
    assert!(applied.steps.is_empty());
    assert!(!db.table_exists("one").await, "nothing ran");
    assert_eq!(db.advisory_locks().await, 1, "only the holder's lock");
}

#[tokio::test]
async fn a_lock_held_elsewhere_makes_run_wait_then_fail_with_lock_timeout() {
    let db = fresh_db().await;
    let set = small();
    let key = set.migrator().effective_lock_key();
    let holder = hold_lock(&db.name, key).await;
    let pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);

    let timeout = Duration::from_millis(300);
    let err = set
        .migrator()
        .lock_timeout(timeout)
        .run(&db.pool)
        .await
        .unwrap_err();
    let Error::LockTimeout {
        key: k,
        waited,
        holder: who,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*k, key);
    assert_eq!(err.kind(), "lock_timeout");
    assert!(*waited >= timeout, "gave up after {waited:?}");
    assert!(
        who.starts_with(&format!("pid {pid} (other-deployer)")),
        "{who}"
    );
    assert!(!db.table_exists("one").await);

    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({key})"))
        .await
        .unwrap();
    set.migrator()
        .lock_timeout(timeout)
        .run(&db.pool)
        .await
        .unwrap();
    assert!(db.table_exists("two").await);
    assert_eq!(db.advisory_locks().await, 0);
}

#[tokio::test]
async fn hostile_schema_and_table_names_work() {
    let db = fresh_db().await;
    let set = small();
    let (schema, table) = ("Tide \"Mark\" schema", "hist'ory; DROP TABLE one; --");
    let m = set.migrator().schema(schema).table(table);
    assert_eq!(m.clone().run(&db.pool).await.unwrap().steps.len(), 2);
    assert!(m.clone().run(&db.pool).await.unwrap().fast_path);
    let c = db.pool.get().await.unwrap();
    let rows: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname IN ($2, $3)",
            &[&schema, &table, &format!("{table}_state")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "history and state tables under their exact names");
    let history: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM \"Tide \"\"Mark\"\" schema\".\"{table}\""),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(history, 2);
    assert!(!db.table_exists("tidemark_history").await);
    assert_ne!(m.effective_lock_key(), set.migrator().effective_lock_key());
}

#[tokio::test]
async fn a_password_never_shows_in_an_error() {
    let mut config = server().unwrap().config("no_such_database_for_tidemark");
    config.password("s3cr3t-hunter2");
    let manager =
        tidemark::deadpool_postgres::Manager::new(config, tidemark::tokio_postgres::NoTls);
    let pool = tidemark::deadpool_postgres::Pool::builder(manager)
        .max_size(1)
        .build()
        .unwrap();
    let err = small().migrator().run(&pool).await.unwrap_err();
    assert!(matches!(err, Error::Pool(_)), "{err:?}");
    assert_eq!(err.kind(), "connection");
    for text in [err.to_string(), format!("{err:?}"), format!("{pool:?}")] {
        assert!(!text.contains("s3cr3t-hunter2"), "password leaked: {text}");
    }
}

/// A run queued behind the lock's holder stops waiting as soon as the stored digest becomes
/// its set's (what the holder writes when it has applied the same set), without the lock.
#[tokio::test]
async fn a_waiter_returns_once_the_holder_has_applied_the_set() {
    let db = fresh_db().await;
    let set = small();
    set.migrator().lock_key(4242).run(&db.pool).await.unwrap();
    // Another migrator holds the lock and has not yet written the new digest.
    let holder = db.new_pool(1).get().await.unwrap();
    let digest: Vec<u8> = holder
        .query_one(
            "SELECT pg_advisory_lock(4242)::text, digest FROM tidemark_history_state",
            &[],
        )
        .await
        .unwrap()
        .get(1);
    holder
        .batch_execute("DELETE FROM tidemark_history_state")
        .await
        .unwrap();
    let pool = db.new_pool(2);
    let waiter = tokio::spawn(async move {
        set.migrator()
            .lock_key(4242)
            .lock_timeout(Duration::from_secs(30))
            .run(&pool)
            .await
    });
    tried_the_lock(&holder).await;
    assert!(!waiter.is_finished(), "the waiter waits for the lock");
    holder
        .execute(
            "INSERT INTO tidemark_history_state (id, digest) VALUES (true, $1)",
            &[&digest],
        )
        .await
        .unwrap();
    // The lock stays held to the end: a waiter that did not see the digest would give up after
    // its 30 s lock timeout with `LockTimeout`, not return a report.
    let report = waiter.await.unwrap().unwrap();
    assert!(report.is_noop() && report.fast_path);
    assert_eq!(db.advisory_locks().await, 1, "only the holder's lock");
}

/// A run reuses under the lock the history its fast path read only while the stored digest is
/// unchanged. Here an operator deletes a history row while the run waits for the lock (the
/// guard clears the digest): the run reads history again and re-applies that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_edited_while_a_run_waits_for_the_lock_is_read_again() {
    let db = fresh_db().await;
    let files = [
        ("V1__a.sql", "CREATE TABLE IF NOT EXISTS a (id int);"),
        ("V2__b.sql", "CREATE TABLE IF NOT EXISTS b (id int);"),
        ("V3__c.sql", "CREATE TABLE c (id int);"),
    ];
    set_of(&files[..2]).migrator().run(&db.pool).await.unwrap();
    let set = set_of(&files);
    let key = set.migrator().effective_lock_key();
    let holder = hold_lock(&db.name, key).await;
    let pool = db.pool.clone();
    let run = tokio::spawn(async move { set.migrator().run(&pool).await });
    // The run has passed its fast path once it tries the lock.
    tried_the_lock(&holder).await;
    holder
        .batch_execute(&format!(
            "DELETE FROM tidemark_history WHERE version = '2'; SELECT pg_advisory_unlock({key})"
        ))
        .await
        .unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.versions(), ["2", "3"]);
    assert_eq!(db.history().await.len(), 3);
}
