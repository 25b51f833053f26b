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

/// A pool whose sessions go through a round-trip counter, connected outside the count.
async fn counted(dbname: &str) -> (Proxy, tidemark::deadpool_postgres::Pool) {
    let proxy = Proxy::start(server().unwrap().config(dbname))
        .await
        .unwrap();
    let pool = proxy.pool();
    drop(pool.get().await.unwrap());
    proxy.take();
    (proxy, pool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_up_to_date_check_is_one_round_trip_with_1000_applied() {
    let db = fresh_db().await;
    let set = generated(1000);
    set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(db.history().await.len(), 1000);

    let (proxy, pool) = counted(&db.name).await;
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
    let (proxy, pool) = counted(&db.name).await;
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
            q if q.starts_with("BEGIN;") || q.starts_with("PREPARE tidemark_record") => {
                "migrations"
            }
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
/// and nothing is read again under the lock: the check that history is still what the fast
/// path saw opens the migrations' message. Four messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_onto_995_applied_reads_no_history_row() {
    let db = fresh_db().await;
    generated(995).migrator().run(&db.pool).await.unwrap();
    let set = generated(1000);
    let (proxy, pool) = counted(&db.name).await;
    let report = set.migrator().run(&pool).await.unwrap();
    assert_eq!(report.versions(), ["996", "997", "998", "999", "1000"]);
    let seen = proxy.take();
    assert_eq!(seen.queries.len(), 4, "{:#?}", seen.queries);
    assert!(seen.queries[1].contains("pg_try_advisory_lock("));
    assert!(
        seen.queries[2].starts_with("PREPARE tidemark_record_")
            && seen.queries[2].contains(";\nBEGIN;\nSELECT CASE WHEN (SELECT digest FROM"),
        "the check opens the first transaction: {}",
        seen.queries[2]
    );
    assert_eq!(seen.queries[2].matches("COMMIT;").count(), 5);
    let reads: Vec<&String> = seen
        .queries
        .iter()
        .filter(|q| q.contains("SELECT version"))
        .collect();
    assert!(reads.is_empty(), "no history row is read: {reads:#?}");
    assert_eq!(db.history().await.len(), 1000);
    assert!(set.is_up_to_date(&pool).await.unwrap());
}

/// The check that opens a deploy's message refuses it when history is not what the fast path
/// saw, and nothing in the message runs: here the guard trigger is missing (as on a history
/// table an earlier tidemark made), so the digest could not be trusted. The run then reads
/// history again, puts the guard back and applies the migration in a second message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_whose_check_refuses_reads_history_again_and_runs_nothing_twice() {
    let db = fresh_db().await;
    generated(3).migrator().run(&db.pool).await.unwrap();
    let admin = db.pool.get().await.unwrap();
    admin
        .batch_execute("DROP TRIGGER tidemark_history_guard ON tidemark_history")
        .await
        .unwrap();
    let set = generated(4);
    let (proxy, pool) = counted(&db.name).await;
    let report = set.migrator().run(&pool).await.unwrap();
    assert_eq!(report.versions(), ["4"]);
    let seen = proxy.take();
    let batches: Vec<&String> = seen
        .queries
        .iter()
        .filter(|q| q.contains("CREATE TABLE t4 "))
        .collect();
    assert_eq!(batches.len(), 2, "{:#?}", seen.queries);
    assert!(batches[0].contains("SELECT CASE WHEN (SELECT digest FROM"));
    assert!(!batches[1].contains("SELECT CASE WHEN"), "checked once");
    assert_eq!(
        admin
            .query_one(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'tidemark_history_guard'",
                &[]
            )
            .await
            .unwrap()
            .get::<_, i64>(0),
        1,
        "the guard is back"
    );
    assert_eq!(db.history().await.len(), 4, "version 4 recorded once");
}

/// A failed row the stored digest does not speak of (written with the guard switched off) is
/// found by the check: the message that would have applied version 2 runs nothing, and the run
/// reports the failed row as a run that read it under the lock would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_row_the_digest_does_not_show_stops_the_deploy_before_it_runs() {
    let db = fresh_db().await;
    generated(1).migrator().run(&db.pool).await.unwrap();
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "BEGIN; SET LOCAL tidemark.bookkeeping = 'on'; \
             INSERT INTO tidemark_history (version, name, kind, checksum, success) \
             VALUES ('0', 'x', 'versioned', decode(repeat('00', 32), 'hex'), false); COMMIT",
        )
        .await
        .unwrap();
    let err = generated(2).migrator().run(&db.pool).await.unwrap_err();
    assert_eq!(err.kind(), "dirty", "{err:?}");
    assert!(!db.table_exists("t2").await, "nothing of version 2 ran");
    assert_eq!(db.history().await.len(), 2);
}

/// The benchmark's slow link relays a whole run to the test server, however its config names it
/// (a URL may name `localhost` before a socket directory: the relay tries the hosts in order, as
/// libpq does). How much it delays is a figure the benchmark measures and prints
/// (`DelayRelay::measured_round_trip`), not something a test asserts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delay_relay_carries_a_run() {
    let db = fresh_db().await;
    let one_way = std::time::Duration::from_millis(2);
    let relay =
        tidemark_rig::DelayRelay::start(server().unwrap().config(&db.name), one_way).unwrap();
    let (client, connection) = relay
        .config(&db.name)
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let report = generated(3).migrator().run(&client).await.unwrap();
    assert_eq!(report.versions(), ["1", "2", "3"]);
    assert_eq!(db.history().await.len(), 3);
}

/// A syntax error in a later script makes the server reject the whole first message, check
/// included, so nothing in it ran: the steps before the failing one are re-sent with the check,
/// never on the strength of an unchecked read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_re_sent_after_a_syntax_error_carry_the_check_again() {
    let db = fresh_db().await;
    generated(3).migrator().run(&db.pool).await.unwrap();
    let mut files: Vec<(String, String)> = (1..=4)
        .map(|i| {
            (
                format!("V{i}__t{i}.sql"),
                format!("CREATE TABLE t{i} (id int PRIMARY KEY, name text);"),
            )
        })
        .collect();
    files.push(("V5__broken.sql".into(), "CREATE TABLE t5 (id int,);".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let set = set_of(&refs);
    let (proxy, pool) = counted(&db.name).await;
    let err = set.migrator().run(&pool).await.unwrap_err();
    assert_eq!(err.kind(), "migration_failed", "{err:?}");
    let sent: Vec<String> = proxy
        .take()
        .queries
        .into_iter()
        .filter(|q| q.contains("CREATE TABLE t4 "))
        .collect();
    assert_eq!(
        sent.len(),
        2,
        "the whole message, then the step before the error: {sent:#?}"
    );
    assert!(sent
        .iter()
        .all(|q| q.contains("SELECT CASE WHEN (SELECT digest FROM")));
    assert!(!sent[1].contains("CREATE TABLE t5"));
    assert!(db.table_exists("t4").await && !db.table_exists("t5").await);
    assert_eq!(db.history().await.len(), 4);
}

/// A no-transaction step is its statements plus two messages: the start (failed row, digest,
/// pid and the session's settings for the step) and the finish (row, digest, settings back);
/// the session's `application_name` is what it was before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_transaction_step_costs_two_messages_besides_its_statements() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__t.sql", "CREATE TABLE t (a int, b int);"),
        (
            "V2__indexes.sql",
            "-- tidemark:no-transaction\n\
             CREATE INDEX CONCURRENTLY t_a ON t (a);\n\
             CREATE INDEX CONCURRENTLY t_b ON t (b);\n",
        ),
    ]);
    let (proxy, pool) = counted(&db.name).await;
    let client = pool.get().await.unwrap();
    client
        .batch_execute("SET application_name = 'the app'")
        .await
        .unwrap();
    proxy.take();
    set.migrator().run(&**client).await.unwrap();
    let sent = proxy.take().queries;
    let first = sent
        .iter()
        .position(|q| q.contains("'2', '{2}'::bigint[], 'indexes'"))
        .expect("the start message");
    assert!(
        sent[first].contains("set_config('application_name'"),
        "{}",
        sent[first]
    );
    assert!(sent[first + 1].starts_with("CREATE INDEX CONCURRENTLY t_a"));
    assert!(sent[first + 2].starts_with("CREATE INDEX CONCURRENTLY t_b"));
    assert!(
        sent[first + 3].contains("SET success = true")
            && sent[first + 3].contains("set_config('application_name', 'the app', false)"),
        "{}",
        sent[first + 3]
    );
    assert!(sent[first + 4].contains("pg_advisory_unlock"), "{sent:#?}");
    let name: String = client
        .query_one("SHOW application_name", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "the app");
    assert!(db.table_exists("t_b").await);
}
