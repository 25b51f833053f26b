//! Applying a folder to an empty database, and the no-op second run.

use crate::support::fresh_db;
use tidemark::{Direction, Migrations};
use tidemark_core::to_hex as hex;

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");

#[tokio::test]
async fn applies_the_example_folder_then_does_nothing() {
    let db = fresh_db().await;
    let report = EXAMPLE.migrator().run(&db.pool).await.unwrap();
    let applied = report.versions();
    assert_eq!(applied, ["1", "2", "3", "R__post_counts"]);
    assert!(report.steps.iter().all(|s| s.direction == Direction::Up));
    for table in [
        "users",
        "posts",
        "users_email_key",
        "posts_author_id_idx",
        "post_counts",
    ] {
        assert!(
            db.table_exists(table).await,
            "{table} is missing from the catalog"
        );
    }
    let history = db.history().await;
    let expected: Vec<(String, String, String, bool)> = EXAMPLE
        .iter()
        .map(|m| {
            (
                m.version().to_owned(),
                m.name().to_owned(),
                hex(m.up().checksum()),
                true,
            )
        })
        .collect();
    assert_eq!(
        history, expected,
        "one history row per migration with the build-time checksum"
    );

    assert!(EXAMPLE.is_up_to_date(&db.pool).await.unwrap());
    let again = EXAMPLE.migrator().run(&db.pool).await.unwrap();
    assert!(again.is_noop());
    assert!(
        again.fast_path,
        "an up-to-date database takes the lock-free fast path"
    );
    assert_eq!(db.history().await.len(), EXAMPLE.len());
}

#[tokio::test]
async fn a_client_works_as_well_as_a_pool() {
    let db = fresh_db().await;
    let client = db.pool.get().await.unwrap();
    let report = EXAMPLE.migrator().run(&client).await.unwrap();
    assert_eq!(report.steps.len(), EXAMPLE.len());
    assert_eq!(
        db.advisory_locks().await,
        0,
        "the lock is released on the caller's session"
    );
    assert!(EXAMPLE.migrator().run(&client).await.unwrap().is_noop());
}

static MIXED: Migrations =
    tidemark::embed_migrations!("tests/fixtures/mixed_forms", ignore = ["seed_data.sql"]);

#[tokio::test]
async fn applies_every_file_form() {
    let db = fresh_db().await;
    let report = MIXED.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.steps.len(), MIXED.len());
    for object in [
        "mf_setup",
        "mf_v1",
        "mf_v2",
        "mf_v3",
        "mf_events",
        "mf_events_at",
        "mf_view",
    ] {
        assert!(db.table_exists(object).await, "{object} is missing");
    }
    let c = db.pool.get().await.unwrap();
    let note: i64 = c
        .query_one("SELECT count(*) FROM information_schema.columns WHERE table_name = 'mf_v3' AND column_name = 'note'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(note, 1, "V3.1 ran after 3");
    let seeded: i64 = c
        .query_one("SELECT count(*) FROM mf_v1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seeded, 0, "the ignored seed script is not a migration");
    assert_eq!(db.history().await.len(), MIXED.len());
}

#[tokio::test]
async fn each_migration_of_a_batch_records_its_own_start_and_duration() {
    // One message carries both; PostgreSQL's now() is the same for every transaction in it.
    let db = crate::support::fresh_db().await;
    let set = crate::support::set_of(&[
        ("V1__slow.sql", "SELECT pg_sleep(0.3);"),
        ("V2__instant.sql", "SELECT 1;"),
    ]);
    let report = set.migrator().run(&db.pool).await.unwrap();
    let c = db.pool.get().await.unwrap();
    let rows = c
        .query(
            "SELECT execution_ms, extract(epoch from applied_at)::float8 FROM tidemark_history \
             ORDER BY version_key",
            &[],
        )
        .await
        .unwrap();
    let (slow_ms, slow_at): (i64, f64) = (rows[0].get(0), rows[0].get(1));
    let (instant_ms, instant_at): (i64, f64) = (rows[1].get(0), rows[1].get(1));
    // Compared with each other, not with thresholds: the batch's time would be the slow one's.
    assert!(
        instant_ms < slow_ms,
        "the instant migration is recorded with its own time, not the batch's: {instant_ms} ms, \
         the slow one {slow_ms} ms"
    );
    assert!(
        instant_at > slow_at,
        "each migration has its own start: {slow_at} then {instant_at}"
    );
    assert!(report.steps[1].duration < report.steps[0].duration);
    let status = set.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.entries[1].execution_ms, Some(instant_ms));
    assert_ne!(status.entries[0].applied_at, status.entries[1].applied_at);
}

/// A new database is set up with plain DDL in one transaction; when part of the bookkeeping is
/// already there (here the state table, as an operator who dropped only the history table
/// leaves it), that transaction fails, is rolled back, and the objects are looked up one by
/// one instead: the run succeeds and ends with both tables and the guard.
#[tokio::test]
async fn a_database_with_half_the_bookkeeping_gets_the_rest() {
    let db = fresh_db().await;
    let c = db.pool.get().await.unwrap();
    c.batch_execute(
        "CREATE TABLE tidemark_history_state (id boolean PRIMARY KEY DEFAULT true CHECK (id), \
         digest bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    let report = EXAMPLE.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.steps.len(), EXAMPLE.len());
    assert_eq!(db.history().await.len(), EXAMPLE.len());
    let guards: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tidemark_history'::regclass \
             AND tgname = 'tidemark_history_guard'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(guards, 1, "the guard trigger is created on the way");
    assert!(EXAMPLE.migrator().run(&db.pool).await.unwrap().fast_path);
}

/// The guard made on a new database works: history edited by hand clears the stored digest,
/// so the fast path no longer says up to date.
#[tokio::test]
async fn the_guard_made_on_a_new_database_sees_edits_by_hand() {
    let db = fresh_db().await;
    EXAMPLE.migrator().run(&db.pool).await.unwrap();
    assert!(EXAMPLE.is_up_to_date(&db.pool).await.unwrap());
    let c = db.pool.get().await.unwrap();
    c.batch_execute("DELETE FROM tidemark_history WHERE version = '3'")
        .await
        .unwrap();
    assert!(!EXAMPLE.is_up_to_date(&db.pool).await.unwrap());
}

/// After a run that applied migrations, the session they ran on goes back to the pool: the
/// application's next `get()` opens no connection (its backend existed before the `get`). A
/// failed run's session is closed instead (its state is unknown).
#[tokio::test]
async fn after_a_run_the_pools_next_get_opens_no_connection() {
    let db = crate::support::fresh_db().await;
    let pool = db.new_pool(4);
    let set = crate::support::set_of(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        (
            "V2__b.sql",
            "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);",
        ),
    ]);
    let report = set.migrator().run(&pool).await.unwrap();
    assert_eq!(report.versions(), ["1", "2"]);
    let checker = db.pool.get().await.unwrap();
    let mine: i32 = checker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let before: Vec<i32> = checker
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1",
            &[&mine],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let size = pool.status().size;
    let next = pool.get().await.unwrap();
    let pid: i32 = next
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        before.contains(&pid),
        "{pid} is a new backend; there were {before:?}"
    );
    assert_eq!(pool.status().size, size, "the pool opened no connection");
    // Nothing of the run is left on it.
    let name: String = next
        .query_one("SHOW application_name", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!name.starts_with("tidemark:"), "{name}");
    let in_transaction: String = next
        .query_one(
            "SELECT state FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_transaction, "active");
    drop(next);

    // A failed run's session does not come back.
    let broken = crate::support::set_of(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        (
            "V2__b.sql",
            "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);",
        ),
        ("V3__c.sql", "SELECT 1 / 0;"),
    ]);
    let size = pool.status().size;
    broken.migrator().run(&pool).await.unwrap_err();
    assert!(
        pool.status().size < size + 1,
        "the failed run's session was closed, not pooled"
    );
}

/// A message with many versioned steps prepares their history insert once and deallocates it at
/// its end; the rows are those the plain insert writes (their own start, duration and
/// checksums), and the caller's session keeps no prepared statement of tidemark's, after a
/// success or after a failure midway.
#[tokio::test]
async fn a_prepared_history_insert_records_the_same_rows_and_leaves_nothing_behind() {
    let db = fresh_db().await;
    let client = db.pool.get().await.unwrap();
    let prepared = async || -> i64 {
        client
            .query_one(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tidemark%'",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    let files = [
        ("V1__slow.sql", "SELECT pg_sleep(0.2);"),
        ("V2__a.sql", "CREATE TABLE a (id int);"),
        ("V3__b.sql", "CREATE TABLE b (id int);"),
        ("V4__c.sql", "CREATE TABLE c (id int);"),
        ("V5__d.sql", "CREATE TABLE d (id int);"),
    ];
    let set = crate::support::set_of(&files[..4]);
    set.migrator().run(&client).await.unwrap();
    assert_eq!(prepared().await, 0, "deallocated at the end of the message");
    let rows = client
        .query(
            "SELECT version, name, kind, checksum, execution_ms, extract(epoch from applied_at)::float8, \
             version_key, success FROM tidemark_history ORDER BY version_key",
            &[],
        )
        .await
        .unwrap();
    for (row, m) in rows.iter().zip(set.iter()) {
        assert_eq!(row.get::<_, String>(0), m.version());
        assert_eq!(row.get::<_, String>(1), m.name());
        assert_eq!(row.get::<_, String>(2), "versioned");
        assert_eq!(row.get::<_, Vec<u8>>(3), m.up().checksum().to_vec());
        assert_eq!(
            row.get::<_, Vec<i64>>(6),
            [m.version().parse::<i64>().unwrap()]
        );
        assert!(row.get::<_, bool>(7));
    }
    let (slow_ms, slow_at): (i64, f64) = (rows[0].get(4), rows[0].get(5));
    let (next_ms, next_at): (i64, f64) = (rows[1].get(4), rows[1].get(5));
    assert!(
        next_ms < slow_ms && next_at > slow_at,
        "each row has its own times"
    );

    // Four new steps, the third of them failing: the two before it stay, nothing is left
    // prepared on the caller's session.
    let broken = crate::support::set_of(&[
        files[0],
        files[1],
        files[2],
        files[3],
        files[4],
        ("V6__e.sql", "CREATE TABLE e (id int);"),
        ("V7__bad.sql", "CREATE TABLE a (id int);"),
        ("V8__f.sql", "CREATE TABLE f (id int);"),
    ]);
    let err = broken.migrator().run(&client).await.unwrap_err();
    assert_eq!(err.kind(), "migration_failed", "{err:?}");
    assert_eq!(prepared().await, 0, "deallocated after the failure");
    assert_eq!(db.history().await.len(), 6);
    assert!(db.table_exists("e").await && !db.table_exists("f").await);
}
