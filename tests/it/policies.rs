//! Divergent, missing and out-of-order migrations: each refused by default, then allowed by its
//! option; and a failed (dirty) row blocks runs.

use crate::support::{fresh_db, set_of};
use tidemark::{Error, State};

#[tokio::test]
async fn a_changed_applied_migration_is_divergent_until_allowed_or_repaired() {
    let db = fresh_db().await;
    let v1 = set_of(&[("V1__one.sql", "CREATE TABLE one (id int);")]);
    v1.migrator().run(&db.pool).await.unwrap();
    let edited = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id bigint);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
    ]);
    let err = edited.migrator().run(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::Divergent { version, path, .. } if version == "1" && path == "migrations/V1__one.sql"),
        "{err:?}"
    );
    assert!(err.to_string().contains("was changed after it was applied"));
    assert_eq!(err.kind(), "divergent");
    assert!(!db.table_exists("two").await, "nothing ran");
    assert!(matches!(
        edited.migrator().validate(&db.pool).await,
        Err(Error::Divergent { .. })
    ));
    let status = edited.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.entries[0].state, State::Divergent);

    edited
        .migrator()
        .allow_divergent(true)
        .run(&db.pool)
        .await
        .unwrap();
    assert!(db.table_exists("two").await);

    let repaired = edited.migrator().repair(&db.pool).await.unwrap();
    assert_eq!(repaired.realigned, ["1"]);
    assert!(edited.migrator().validate(&db.pool).await.is_ok());
    assert!(
        edited.migrator().is_up_to_date(&db.pool).await.unwrap(),
        "repair records the new digest"
    );
}

#[tokio::test]
async fn an_applied_migration_unknown_to_the_set_is_missing_until_allowed() {
    let db = fresh_db().await;
    let newer = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
    ]);
    newer.migrator().run(&db.pool).await.unwrap();
    // Version 2 is gone from inside the set's range: a gap, not a newer build's work.
    let gapped = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
        ("R__view.sql", "CREATE OR REPLACE VIEW v AS SELECT 1 AS x;"),
    ]);
    let err = gapped.migrator().run(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::Missing { version, name } if version == "2" && name == "two"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "missing");
    assert!(!db.table_exists("v").await);
    let status = gapped.migrator().status(&db.pool).await.unwrap();
    assert_eq!(
        status
            .in_state(State::Missing)
            .map(|e| e.version.as_str())
            .collect::<Vec<_>>(),
        ["2"]
    );

    gapped
        .migrator()
        .allow_missing(true)
        .run(&db.pool)
        .await
        .unwrap();
    assert!(db.table_exists("v").await);
}

/// Collects the `versions` field of tidemark's "future" warnings.
#[derive(Clone, Default)]
struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        m.target() == tidemark::events::FUTURE
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct V<'a>(&'a std::sync::Mutex<Vec<String>>);
        impl tracing::field::Visit for V<'_> {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "versions" {
                    self.0.lock().unwrap().push(format!("{v:?}"));
                }
            }
        }
        event.record(&mut V(&self.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn an_older_build_starts_on_a_database_a_newer_build_migrated_with_a_warning() {
    use tracing::instrument::WithSubscriber;
    let db = fresh_db().await;
    let newer = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
    ]);
    newer.migrator().run(&db.pool).await.unwrap();
    let older = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
    ]);
    let warnings = Warnings::default();
    let report = older
        .migrator()
        .run(&db.pool)
        .with_subscriber(warnings.clone())
        .await
        .expect("a rolled-back deploy starts");
    assert!(report.is_noop());
    assert_eq!(
        *warnings.0.lock().unwrap(),
        ["3"],
        "one warning naming the future version"
    );
    assert!(
        older.is_up_to_date(&db.pool).await.unwrap(),
        "and it is ready"
    );
    let status = older.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.entries[2].state, State::Future);
    assert!(status.is_up_to_date());
    let strict = older
        .migrator()
        .allow_future(false)
        .run(&db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&strict, Error::Missing { version, .. } if version == "3"),
        "{strict:?}"
    );
    assert_eq!(db.history().await.len(), 3, "history untouched");
}

/// `-- tidemark:out-of-order` lets that one migration apply below the highest applied version:
/// with V1 and V3 applied, a later-added V2 marked so applies, and history records it as applied
/// out of order (a column added to a table that lacked it); an unmarked one is refused, the
/// error naming the directive. Everything else stays strict.
#[tokio::test]
async fn a_migration_marked_out_of_order_applies_below_the_highest_and_history_says_so() {
    let db = fresh_db().await;
    let one = ("V1__one.sql", "CREATE TABLE one (id int);");
    let three = ("V3__three.sql", "CREATE TABLE three (id int);");
    set_of(&[one, three])
        .migrator()
        .run(&db.pool)
        .await
        .unwrap();

    let unmarked = set_of(&[one, ("V2__two.sql", "CREATE TABLE two (id int);"), three]);
    let err = unmarked.migrator().run(&db.pool).await.unwrap_err();
    assert_eq!(err.kind(), "out_of_order", "{err:?}");
    assert!(
        err.to_string().contains("-- tidemark:out-of-order"),
        "{err}"
    );
    assert!(!db.table_exists("two").await);

    let marked = set_of(&[
        one,
        (
            "V2__two.sql",
            "-- tidemark:out-of-order\nCREATE TABLE two (id int);",
        ),
        three,
    ]);
    assert!(marked.iter().nth(1).unwrap().up().out_of_order());
    let report = marked.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["2"]);
    assert!(db.table_exists("two").await);
    let c = db.pool.get().await.unwrap();
    let rows: Vec<(String, bool)> = c
        .query(
            "SELECT version, out_of_order FROM tidemark_history ORDER BY version_key",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [
            ("1".to_owned(), false),
            ("2".to_owned(), true),
            ("3".to_owned(), false)
        ]
    );
    assert!(marked.migrator().validate(&db.pool).await.is_ok());

    // A second marked one, and an unmarked one beside it: the unmarked one is still refused.
    let more = set_of(&[
        one,
        (
            "V2__two.sql",
            "-- tidemark:out-of-order\nCREATE TABLE two (id int);",
        ),
        ("V2_5__half.sql", "CREATE TABLE half (id int);"),
        three,
    ]);
    let err = more.migrator().run(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::OutOfOrder { version, .. } if version == "2.5"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_pending_version_below_the_highest_applied_is_out_of_order_until_allowed() {
    let db = fresh_db().await;
    set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
    ])
    .migrator()
    .run(&db.pool)
    .await
    .unwrap();
    let merged = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
        ("V3__three.sql", "CREATE TABLE three (id int);"),
    ]);
    let err = merged.migrator().run(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::OutOfOrder { version, highest, .. } if version == "2" && highest == "3"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "out_of_order");
    assert!(!db.table_exists("two").await);
    let report = merged
        .migrator()
        .allow_out_of_order(true)
        .run(&db.pool)
        .await
        .unwrap();
    assert_eq!(report.steps.len(), 1);
    assert!(db.table_exists("two").await);
}
