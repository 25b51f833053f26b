//! The advisory lock: waiting and timing out, released after a panic, hostile names, secrets.

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

#[tokio::test]
async fn a_lock_held_elsewhere_makes_run_wait_then_fail_with_lock_timeout() {
    let db = fresh_db().await;
    let set = small();
    let mut config = server().unwrap().config(&db.name);
    config.application_name("other-deployer");
    let (holder, conn) = config
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let key = set.migrator().effective_lock_key();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .await
        .unwrap();
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

/// A subscriber that panics on tidemark's "applied" event: a panic inside the run, with the
/// lock held.
struct PanicOnApplied;

impl tracing::Subscriber for PanicOnApplied {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        if m.0 == "applied" {
            panic!("injected panic while the migration lock is held");
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_panic_inside_the_run_leaves_no_lock_and_the_next_run_does_not_wait() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(fresh_db());
    let set = small();
    let pool = db.pool.clone();
    let joined = tracing::subscriber::with_default(PanicOnApplied, || {
        rt.block_on(
            async move { tokio::spawn(async move { set.migrator().run(&pool).await }).await },
        )
    });
    assert!(joined.unwrap_err().is_panic(), "the run panicked");
    rt.block_on(async {
        // The detached lock connection was dropped by the unwinding; its backend exits and the
        // server releases the lock asynchronously, within milliseconds.
        for _ in 0..500 {
            if db.advisory_locks().await == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            db.advisory_locks().await,
            0,
            "the lock died with the panicking run"
        );
        set.migrator()
            .lock_timeout(Duration::from_millis(200))
            .run(&db.pool)
            .await
            .expect("no wait for a dead lock");
        assert_eq!(db.history().await.len(), 2);
    });
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
