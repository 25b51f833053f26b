//! A panic inside a run, with the lock held, leaves no lock: its own test binary, because the
//! panic is injected through a thread-local tracing subscriber, and tracing's per-callsite
//! interest cache can miss a scoped subscriber while other tests in the same process register
//! the same callsite on other threads.

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::time::Duration;
use support::{fresh_db, set_of};

fn small() -> &'static tidemark::Migrations {
    set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
    ])
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
