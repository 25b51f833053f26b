//! Round trips, counted on the wire: one for the up-to-date check whatever the number of
//! migrations, and one message for a whole batch of transactional migrations.

use crate::support::{fresh_db, set_of};
use tidemark::testing::server;
use tidemark_rig::RoundTripCounter as Proxy;

fn generated(n: usize) -> &'static tidemark::Migrations {
    let files: Vec<(String, String)> = (1..=n)
        .map(|i| {
            (
                format!("V{i}__t{i}.sql"),
                format!("CREATE TABLE t{i} (id int PRIMARY KEY, name text);"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    set_of(&refs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_up_to_date_check_is_one_round_trip_with_1000_applied() {
    let db = fresh_db().await;
    let set = generated(1000);
    set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(db.history().await.len(), 1000);

    let proxy = Proxy::start(server().unwrap().config(&db.name))
        .await
        .unwrap();
    let pool = proxy.pool();
    drop(pool.get().await.unwrap()); // connect outside the measurement
    proxy.take();
    let report = set.migrator().run(&pool).await.unwrap();
    assert!(report.is_noop() && report.fast_path);
    let seen = proxy.take();
    assert_eq!(seen.queries.len(), 1, "{:?}", seen.queries);
    assert_eq!(seen.syncs, 0);
    assert!(seen.queries[0].starts_with("SELECT encode(digest, 'hex')"));

    assert!(set.migrator().is_up_to_date(&pool).await.unwrap());
    assert_eq!(proxy.take().queries.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_migrations_travel_in_one_message() {
    let db = fresh_db().await;
    let set = generated(100);
    let proxy = Proxy::start(server().unwrap().config(&db.name))
        .await
        .unwrap();
    let pool = proxy.pool();
    drop(pool.get().await.unwrap());
    proxy.take();
    let report = set.migrator().run(&pool).await.unwrap();
    assert_eq!(report.steps.len(), 100);
    let seen = proxy.take();
    let kinds: Vec<&str> = seen
        .queries
        .iter()
        .map(|q| match q {
            q if q.starts_with("SELECT encode(digest") => "fast path",
            q if q.contains("pg_try_advisory_lock(") => "lock",
            q if q.starts_with("DO $tidemark$") => "history",
            q if q.contains("CREATE TABLE \"public\".\"tidemark_history\"") => "history",
            q if q.starts_with("BEGIN;") => "migrations",
            q if q.starts_with("SELECT pg_advisory_unlock") => "unlock",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["fast path", "lock", "history", "migrations", "unlock"],
        "{:#?}",
        seen.queries
    );
    assert_eq!(seen.syncs, 0, "no extended-protocol round trips");
    assert_eq!(
        seen.queries[3].matches("COMMIT;").count(),
        100,
        "one transaction per migration"
    );
    assert_eq!(db.history().await.len(), 100);
}

/// A deploy (5 new migrations onto 995 applied) plans from the stored digest, which says that
/// history is the set without its 5 newest: no history row travels, before or under the lock,
/// and the run is five messages as on a new database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_onto_995_applied_reads_no_history_row() {
    let db = fresh_db().await;
    generated(995).migrator().run(&db.pool).await.unwrap();
    let set = generated(1000);
    let proxy = Proxy::start(server().unwrap().config(&db.name))
        .await
        .unwrap();
    let pool = proxy.pool();
    drop(pool.get().await.unwrap());
    proxy.take();
    let report = set.migrator().run(&pool).await.unwrap();
    assert_eq!(report.versions(), ["996", "997", "998", "999", "1000"]);
    let seen = proxy.take();
    assert_eq!(seen.queries.len(), 5, "{:#?}", seen.queries);
    let reads: Vec<&String> = seen
        .queries
        .iter()
        .filter(|q| q.contains("FROM \"public\".\"tidemark_history\""))
        .collect();
    assert!(
        reads
            .iter()
            .all(|q| q.contains("WHERE NOT success OR NOT EXISTS")),
        "only failed rows (none here) are read: {reads:#?}"
    );
    assert_eq!(db.history().await.len(), 1000);
    assert!(set.is_up_to_date(&pool).await.unwrap());
}
