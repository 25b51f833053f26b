//! One set, many databases: 50 tenant schemas of one database and 20 databases, migrated at
//! once with bounded concurrency; the stop and continue policies around a failing tenant, the
//! canary phase, fleet status, discovery, and `${name}` placeholders.

use crate::support::{fresh_db, set_of, TestDb};
use tidemark::connect::ConnectOptions;
use tidemark::fleet::{self, FleetTarget, Outcome};
use tidemark::testing::TestDatabase;
use tidemark::Error;

fn tenant_set() -> &'static tidemark::Migrations {
    set_of(&[
        (
            "V1__items.sql",
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);",
        ),
        (
            "V2__items_name.sql",
            "CREATE INDEX items_name ON items (name);",
        ),
    ])
}

/// `tenant_00` … `tenant_{n-1}`; `bad` gets an `items` table of its own first, so its V1 fails.
async fn tenants(db: &TestDb, n: usize, bad: Option<usize>) -> Vec<String> {
    let c = db.pool.get().await.unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("tenant_{i:02}")).collect();
    let mut sql: String = names
        .iter()
        .map(|s| format!("CREATE SCHEMA {s};"))
        .collect();
    if let Some(b) = bad {
        sql.push_str(&format!("CREATE TABLE {}.items (other int);", names[b]));
    }
    c.batch_execute(&sql).await.unwrap();
    names
}

/// How many history rows a tenant has (`None`: it has no history table).
async fn history_rows(db: &TestDb, schema: &str) -> Option<i64> {
    let c = db.pool.get().await.unwrap();
    let exists: bool = c
        .query_one(
            "SELECT to_regclass(format('%I.tidemark_history', $1::text)) IS NOT NULL",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    if !exists {
        return None;
    }
    let sql = format!("SELECT count(*) FROM {schema}.tidemark_history WHERE success");
    Some(c.query_one(&sql, &[]).await.unwrap().get(0))
}

async fn has_index(db: &TestDb, schema: &str) -> bool {
    let c = db.pool.get().await.unwrap();
    c.query_one(
        "SELECT count(*) = 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'items_name'",
        &[&schema],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn fifty_tenant_schemas_at_once_continue_past_a_failing_one() {
    let db = fresh_db().await;
    tenants(&db, 50, Some(17)).await;
    let names = fleet::schemas(&db.pool, "tenant\\_%").await.unwrap();
    assert_eq!(names.len(), 50);
    let pool = db.new_pool(20);
    let report = tenant_set()
        .migrator()
        .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
        .concurrency(8)
        .continue_on_error(true)
        .run()
        .await;
    assert_eq!(report.counts(), (49, 0, 1, 0), "{report}");
    let failed: Vec<(&str, &Error)> = report.failed().collect();
    assert_eq!(failed[0].0, "tenant_17");
    assert_eq!(failed[0].1.sqlstate(), Some("42P07"), "{}", failed[0].1);
    for name in &names {
        if name == "tenant_17" {
            // The failed tenant is as before: V1 rolled back with its history row.
            assert_eq!(history_rows(&db, name).await, Some(0));
            assert!(!has_index(&db, name).await);
        } else {
            assert_eq!(history_rows(&db, name).await, Some(2), "{name}");
            assert!(has_index(&db, name).await, "{name}");
        }
    }
    // Nothing landed outside the tenants' schemas, and the pool's sessions kept their
    // search_path (it was set per transaction).
    assert!(!db.table_exists("public.items").await);
    assert!(!db.table_exists("public.tidemark_history").await);
    for _ in 0..4 {
        let c = pool.get().await.unwrap();
        let path: String = c.query_one("SHOW search_path", &[]).await.unwrap().get(0);
        assert_eq!(path, "\"$user\", public");
    }

    // Fleet status: 49 at version 2, the failed one at nothing with 2 pending.
    let status = tenant_set()
        .migrator()
        .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
        .concurrency(8)
        .status()
        .await;
    assert!(!status.is_up_to_date());
    for t in &status.targets {
        if t.target == "tenant_17" {
            assert_eq!((t.version(), t.pending(), t.failed()), (None, 2, 0));
        } else {
            assert_eq!((t.version(), t.pending(), t.failed()), (Some("2"), 0, 0));
        }
    }
    assert!(status.to_string().contains("tenant_17  -"), "{status}");

    // A second run: 49 up to date (the fast path), the fixed tenant migrated.
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute("DROP TABLE tenant_17.items")
        .await
        .unwrap();
    let again = tenant_set()
        .migrator()
        .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
        .concurrency(8)
        .run()
        .await;
    assert_eq!(again.counts(), (1, 49, 0, 0), "{again}");
    assert!(again.is_success());
}

#[tokio::test]
async fn the_stop_policy_finishes_what_runs_and_starts_nothing_after_a_failure() {
    let db = fresh_db().await;
    let names = tenants(&db, 50, Some(5)).await;
    let pool = db.new_pool(10);
    let report = tenant_set()
        .migrator()
        .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
        .concurrency(4)
        .run()
        .await;
    let (_, noop, failed, skipped) = report.counts();
    assert_eq!((noop, failed), (0, 1), "{report}");
    assert!(skipped > 0, "{report}");
    // Targets start in order and none starts once the failure is known: the skipped ones are
    // a suffix, everything before tenant_05 ran, and those that ran beside it finished.
    let labels: Vec<&str> = report.targets.iter().map(|t| t.outcome.label()).collect();
    let first_skipped = labels.iter().position(|l| *l == "skipped").unwrap();
    assert!(first_skipped > 5, "{report}");
    assert!(
        labels[first_skipped..].iter().all(|l| *l == "skipped"),
        "{report}"
    );
    assert!(labels[..5].iter().all(|l| *l == "migrated"), "{report}");
    for t in &report.targets {
        let rows = history_rows(&db, &t.target).await;
        match &t.outcome {
            Outcome::Migrated(r) => {
                assert_eq!(r.versions(), ["1", "2"]);
                assert_eq!(rows, Some(2));
            }
            Outcome::Failed(_) => assert_eq!(rows, Some(0)),
            // Untouched: not even a history table.
            Outcome::Skipped(why) => {
                assert_eq!(rows, None, "{}", t.target);
                assert!(why.contains("earlier target failed"));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(!report.is_success());
}

#[tokio::test]
async fn a_canary_phase_stops_a_bad_set_after_k_targets() {
    let db = fresh_db().await;
    let names = tenants(&db, 10, None).await;
    let bad = set_of(&[
        (
            "V1__items.sql",
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);",
        ),
        (
            "V2__items_name.sql",
            "ALTER TABLE no_such_table ADD COLUMN x int;",
        ),
    ]);
    let pool = db.new_pool(10);
    let report = bad
        .migrator()
        .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
        .canary(3)
        .concurrency(3)
        .continue_on_error(true)
        .run()
        .await;
    assert_eq!(report.counts(), (0, 0, 3, 7), "{report}");
    for (i, t) in report.targets.iter().enumerate() {
        if i < 3 {
            assert!(t.outcome.is_failure());
            // V1 committed before V2 failed: what committed stays, as in one database.
            assert_eq!(history_rows(&db, &t.target).await, Some(1));
        } else {
            assert!(matches!(t.outcome, Outcome::Skipped(w) if w.contains("canary")));
            assert_eq!(history_rows(&db, &t.target).await, None);
        }
    }
    // The fixed set passes its canary and goes on to the rest.
    let good = tenant_set()
        .migrator()
        .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
        .canary(3)
        .concurrency(3)
        .run()
        .await;
    assert_eq!(good.counts(), (10, 0, 0, 0), "{good}");
}

#[tokio::test]
async fn twenty_databases_by_connection_string_one_failing() {
    let mut dbs = Vec::new();
    for _ in 0..20 {
        dbs.push(TestDatabase::empty().await.unwrap());
    }
    dbs[11]
        .pool()
        .get()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE items (other int)")
        .await
        .unwrap();
    let base = ConnectOptions::parse(&tidemark_rig::connection_string(&dbs[0].config())).unwrap();
    // Discovery finds a database by its name (other tests' databases share the server).
    let found = fleet::databases(dbs[0].pool(), dbs[3].name())
        .await
        .unwrap();
    assert_eq!(found, [dbs[3].name()]);
    let targets = dbs
        .iter()
        .map(|d| FleetTarget::connect(d.name(), base.with_dbname(d.name())));
    let report = tenant_set()
        .migrator()
        .fleet(targets)
        .concurrency(4)
        .continue_on_error(true)
        .run()
        .await;
    assert_eq!(report.counts(), (19, 0, 1, 0), "{report}");
    assert_eq!(report.failed().next().unwrap().0, dbs[11].name());
    for (i, d) in dbs.iter().enumerate() {
        let c = d.pool().get().await.unwrap();
        let rows: i64 = match c
            .query_one("SELECT count(*) FROM tidemark_history", &[])
            .await
        {
            Ok(r) => r.get(0),
            Err(_) => -1,
        };
        assert_eq!(rows, if i == 11 { 0 } else { 2 }, "{}", d.name());
    }
    // The fleet closed the connections it opened: only the test pools' remain.
    let c = dbs[0].pool().get().await.unwrap();
    let theirs: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1)",
            &[&dbs.iter().map(|d| d.name().to_owned()).collect::<Vec<_>>()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        theirs <= 20,
        "{theirs} connections left on the fleet's databases"
    );
}

#[tokio::test]
async fn discovery_by_query() {
    let db = fresh_db().await;
    tenants(&db, 3, None).await;
    let c = db.pool.get().await.unwrap();
    c.batch_execute(
        "CREATE TABLE tenants (schema_name text, active bool);
         INSERT INTO tenants VALUES ('tenant_02', true), ('tenant_00', true), ('tenant_01', false), (NULL, true);",
    )
    .await
    .unwrap();
    let names = fleet::query(
        &db.pool,
        "SELECT schema_name FROM tenants WHERE active ORDER BY schema_name DESC",
    )
    .await
    .unwrap();
    assert_eq!(names, ["tenant_02", "tenant_00"]);
}

#[tokio::test]
async fn placeholders_are_substituted_refused_when_unset_and_untouched_when_off() {
    let db = fresh_db().await;
    let names = tenants(&db, 2, None).await;
    let set = set_of(&[(
        "V1__f.sql",
        "CREATE TABLE items (id int);\n\
             CREATE FUNCTION ${tidemark.schema}.item_count() RETURNS bigint LANGUAGE sql\n\
             AS $$ SELECT count(*) FROM ${tidemark.schema}.items $$;\n\
             COMMENT ON TABLE items IS 'owned by ${owner}';",
    )]);
    let pool = db.new_pool(4);
    // Unset: refused before anything runs, at the placeholder's line and column.
    let err = set
        .migrator()
        .placeholders([("x", "y")])
        .schema("tenant_00")
        .search_path("tenant_00")
        .run(&pool)
        .await
        .unwrap_err();
    let Error::PlaceholderUnset {
        path,
        line,
        column,
        name,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (path.as_str(), *line, *column, name.as_str()),
        ("migrations/V1__f.sql", 4, 37, "owner")
    );
    assert_eq!(err.kind(), "placeholder_unset");
    assert_eq!(history_rows(&db, "tenant_00").await.unwrap_or(0), 0);
    assert!(!db.table_exists("tenant_00.items").await);

    // Per tenant: the built-in schema and a value of each tenant's own.
    let report = set
        .migrator()
        .placeholder("owner", "nobody")
        .fleet(names.iter().map(|s| {
            FleetTarget::schema(&pool, s.clone()).placeholder("owner", format!("{s}_admin"))
        }))
        .run()
        .await;
    assert!(report.is_success(), "{report}");
    let c = db.pool.get().await.unwrap();
    for s in &names {
        let row = c
            .query_one(
                &format!(
                    "SELECT {s}.item_count(), obj_description('{s}.items'::regclass), \
                     (SELECT encode(checksum, 'hex') FROM {s}.tidemark_history)"
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 0);
        assert_eq!(row.get::<_, String>(1), format!("owned by {s}_admin"));
    }
    // One digest for all tenants: the checksums are over the file as written.
    let sums: Vec<String> = checksums(&db, &names).await;
    assert_eq!(sums[0], sums[1]);
    assert_eq!(
        sums[0],
        tidemark_core::to_hex(set.iter().next().unwrap().up().checksum())
    );

    // Off (the default): `${` is sent as written.
    let plain = set_of(&[(
        "V1__text.sql",
        "CREATE TABLE notes (body text DEFAULT '${not_a_placeholder}');",
    )]);
    plain.migrator().run(&db.pool).await.unwrap();
    let default: String = c
        .query_one(
            "SELECT column_default FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'notes'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(default, "'${not_a_placeholder}'::text");
}

async fn checksums(db: &TestDb, names: &[String]) -> Vec<String> {
    let c = db.pool.get().await.unwrap();
    let mut out = Vec::new();
    for s in names {
        let sql = format!("SELECT encode(checksum, 'hex') FROM {s}.tidemark_history");
        out.push(c.query_one(&sql, &[]).await.unwrap().get(0));
    }
    out
}

#[tokio::test]
async fn a_no_transaction_migration_runs_in_the_tenant_schema_and_the_session_gets_its_path_back() {
    let db = fresh_db().await;
    tenants(&db, 1, None).await;
    let set = set_of(&[
        ("V1__items.sql", "CREATE TABLE items (id int, name text);"),
        (
            "V2__index.sql",
            "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY items_name ON items (name);",
        ),
    ]);
    let client = db.pool.get().await.unwrap();
    client
        .batch_execute("SET search_path TO public, pg_temp")
        .await
        .unwrap();
    let report = set
        .migrator()
        .schema("tenant_00")
        .search_path("tenant_00")
        .run(&client)
        .await
        .unwrap();
    assert_eq!(report.versions(), ["1", "2"]);
    assert!(has_index(&db, "tenant_00").await);
    assert!(!db.table_exists("public.items").await);
    let path: String = client
        .query_one("SHOW search_path", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(path, "public, pg_temp");
}
