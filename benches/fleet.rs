//! Benchmark (not a test): one set over many targets on one local cluster (the testing kit's
//! throwaway server, or TIDEMARK_TEST_DATABASE_URL's). `scripts/bench-fleet` runs it:
//!
//! - 1,000 tenant schemas of one database × 20 migrations;
//! - 100 databases × 100 migrations;
//!
//! each with a fleet at concurrency 1, 4 and 16, against a sequential loop of single-target
//! runs, each on fresh targets; then fleet `status` over the migrated fleet. Under `cargo test`
//! (no `--bench` argument) it does nothing.

use std::time::{Duration, Instant};
use tidemark::connect::ConnectOptions;
use tidemark::fleet::FleetTarget;
use tidemark::testing::TestDatabase;
use tidemark::Migrations;

fn set(n: usize) -> &'static Migrations {
    let tmp = tempfile::tempdir().unwrap();
    for i in 1..=n {
        std::fs::write(
            tmp.path().join(format!("V{i}__t{i}.sql")),
            format!(
                "CREATE TABLE t{i} (id bigint PRIMARY KEY, name text NOT NULL);\n\
                 CREATE INDEX t{i}_name ON t{i} (name);\n"
            ),
        )
        .unwrap();
    }
    let scanned = tidemark_core::scan(tmp.path(), &tidemark_core::ScanOptions::default()).unwrap();
    Box::leak(Box::new(tidemark::__private::from_scanned(scanned)))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// A database with `n` empty schemas `tenant_0000` …; its pool sized for 16 targets at once.
async fn tenant_db(n: usize) -> (TestDatabase, tidemark::deadpool_postgres::Pool, Vec<String>) {
    let db = TestDatabase::empty().await.unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("tenant_{i:04}")).collect();
    let sql: String = names
        .iter()
        .map(|s| format!("CREATE SCHEMA {s};"))
        .collect();
    db.pool()
        .get()
        .await
        .unwrap()
        .batch_execute(&sql)
        .await
        .unwrap();
    let pool = ConnectOptions::parse(&db.url()).unwrap().pool(40).unwrap();
    (db, pool, names)
}

async fn schemas(tenants: usize, migrations: usize) {
    let set = set(migrations);
    println!("\n## {tenants} tenant schemas × {migrations} migrations (one database)\n");
    println!("| run | time | per target |");
    println!("|---|---:|---:|");
    {
        let (_db, pool, names) = tenant_db(tenants).await;
        let t = Instant::now();
        for s in &names {
            set.migrator()
                .schema(s.clone())
                .search_path(s.clone())
                .run(&pool)
                .await
                .unwrap();
        }
        let e = t.elapsed();
        println!(
            "| sequential loop of single runs | {} | {:.1} ms |",
            ms(e),
            per(e, tenants)
        );
    }
    for c in [1, 4, 16] {
        let (_db, pool, names) = tenant_db(tenants).await;
        let fleet = set
            .migrator()
            .fleet(names.iter().map(|s| FleetTarget::schema(&pool, s.clone())))
            .concurrency(c);
        let t = Instant::now();
        let report = fleet.run().await;
        let e = t.elapsed();
        assert!(report.is_success(), "{report}");
        println!(
            "| fleet, concurrency {c} | {} | {:.1} ms |",
            ms(e),
            per(e, tenants)
        );
        if c == 16 {
            let t = Instant::now();
            let status = fleet.status().await;
            assert!(status.is_up_to_date());
            println!("| fleet status, concurrency 16 | {} | |", ms(t.elapsed()));
            let t = Instant::now();
            let again = fleet.run().await;
            assert_eq!(again.counts().1, tenants);
            println!(
                "| fleet no-op run, concurrency 16 | {} | |",
                ms(t.elapsed())
            );
        }
    }
}

async fn databases(n: usize, migrations: usize) {
    let set = set(migrations);
    println!("\n## {n} databases × {migrations} migrations (one server)\n");
    println!("| run | time | per target |");
    println!("|---|---:|---:|");
    let fresh = async || {
        let mut dbs = Vec::new();
        for _ in 0..n {
            dbs.push(TestDatabase::empty().await.unwrap());
        }
        dbs
    };
    {
        let dbs = fresh().await;
        let t = Instant::now();
        for d in &dbs {
            let pool = ConnectOptions::parse(&d.url()).unwrap().pool(2).unwrap();
            set.migrator().run(&pool).await.unwrap();
            pool.close();
        }
        let e = t.elapsed();
        println!(
            "| sequential loop of single runs | {} | {:.1} ms |",
            ms(e),
            per(e, n)
        );
    }
    for c in [1, 4, 16] {
        let dbs = fresh().await;
        let targets: Vec<FleetTarget> = dbs
            .iter()
            .map(|d| FleetTarget::connect(d.name(), ConnectOptions::parse(&d.url()).unwrap()))
            .collect();
        let fleet = set.migrator().fleet(targets).concurrency(c);
        let t = Instant::now();
        let report = fleet.run().await;
        let e = t.elapsed();
        assert!(report.is_success(), "{report}");
        println!(
            "| fleet, concurrency {c} | {} | {:.1} ms |",
            ms(e),
            per(e, n)
        );
        if c == 16 {
            let t = Instant::now();
            assert!(fleet.status().await.is_up_to_date());
            println!("| fleet status, concurrency 16 | {} | |", ms(t.elapsed()));
        }
    }
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / n as f64
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("# tidemark fleet benchmark ({cores} cores, one local PostgreSQL)");
    schemas(1000, 20).await;
    databases(100, 100).await;
}
