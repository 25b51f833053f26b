//! Benchmark (not a test): time to provision one migrated test database, by template clone
//! (`TestDatabase::new`) versus creating a database and running every migration (what
//! `#[sqlx::test]` does), for generated folders of 10, 100 and 1,000 migrations.
//!
//! `cargo run --release --example bench_provision [runs]`. Uses TIDEMARK_TEST_DATABASE_URL or a throwaway
//! cluster (on /dev/shm). Prints a markdown table of medians with min–max. Both sides drop their
//! database after each run, outside the timed part (the teardown column times the
//! `TestDatabase` drop), so the cluster does not fill up, which slows clones down.

use std::time::{Duration, Instant};
use tidemark::testing::{server, TestDatabase};
use tidemark::Migrations;

/// `n` small realistic migrations: a table with a primary key and an index each, and every 10th
/// an ALTER of an earlier table.
fn generated(n: usize) -> Migrations {
    let dir = std::env::temp_dir().join(format!("tidemark-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=n {
        let mut sql = format!(
            "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, \
             created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX t{i}_name ON t{i} (name);\n"
        );
        if i % 10 == 0 {
            sql.push_str(&format!(
                "ALTER TABLE t{} ADD COLUMN extra_{i} int;\n",
                i - 5
            ));
        }
        std::fs::write(dir.join(format!("V{i}__table_{i}.sql")), sql).unwrap();
    }
    let set = tidemark_core::scan(&dir, &tidemark_core::ScanOptions::default()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    tidemark::__private::from_scanned(set)
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[0]), ms(v[v.len() - 1]))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let server = server()?;
    println!("| migrations | template clone (median, min–max) | create + migrate (median, min–max) | ratio | teardown (drop), median |");
    println!("|---:|---:|---:|---:|---:|");
    for n in [10, 100, 1000] {
        let set = generated(n);
        TestDatabase::new(&set).await?.close().await?; // builds the template once, not timed
        let (mut clone, mut teardown) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let db = TestDatabase::new(&set).await?;
            clone.push(t.elapsed());
            let t = Instant::now();
            db.close().await?; // drops the database
            teardown.push(t.elapsed());
        }
        let mut create = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let name = tidemark_rig::create_database(server).await?;
            let pool = server.pool(&name, 4);
            set.migrator().run(&pool).await?;
            create.push(t.elapsed());
            pool.close();
            tidemark_rig::drop_database(server, &name).await?;
        }
        let (c, cmin, cmax) = stats(clone);
        let (m, mmin, mmax) = stats(create);
        let (d, _, _) = stats(teardown);
        println!(
            "| {n} | {c:.1} ms ({cmin:.1}–{cmax:.1}) | {m:.1} ms ({mmin:.1}–{mmax:.1}) | {:.1}× | {d:.1} ms |",
            m / c
        );
    }
    Ok(())
}
