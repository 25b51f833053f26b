//! Many migrators at once on one database: each migration applied exactly once, no lock left.

use crate::support::fresh_db;
use std::process::{Command, Stdio};
use tidemark::Migrations;

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");

const RUNNERS: usize = 8;
const CHILD_ENV: &str = "TIDEMARK_IT_CHILD_CONN";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_pools_at_once_apply_each_migration_once() {
    let db = fresh_db().await;
    let mut tasks = Vec::new();
    for _ in 0..RUNNERS {
        let pool = db.new_pool(2);
        tasks.push(tokio::spawn(
            async move { EXAMPLE.migrator().run(&pool).await },
        ));
    }
    let mut applied = 0;
    for t in tasks {
        let report = t.await.unwrap().expect("every runner succeeds");
        applied += report.steps.len();
    }
    assert_eq!(
        applied,
        EXAMPLE.len(),
        "each migration applied by exactly one runner"
    );
    assert_eq!(db.history().await.len(), EXAMPLE.len());
    assert_eq!(db.advisory_locks().await, 0, "no advisory lock left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_at_once_apply_each_migration_once() {
    let db = fresh_db().await;
    let exe = std::env::current_exe().unwrap();
    // All children are started before any is waited for, so their runs overlap.
    let children: Vec<_> = (0..RUNNERS)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "concurrency::child_runner",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, db.conn_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a child process")
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().expect("child process ran");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        applied += stdout
            .lines()
            .find_map(|l| l.split_once("APPLIED ").map(|(_, n)| n))
            .and_then(|n| n.split_whitespace().next()?.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("the child reports what it applied; its output:\n{stdout}"));
    }
    assert_eq!(
        applied,
        EXAMPLE.len(),
        "each migration applied by exactly one process"
    );
    assert_eq!(db.history().await.len(), EXAMPLE.len());
    assert_eq!(db.advisory_locks().await, 0, "no advisory lock left behind");
}

/// Run by `eight_processes_at_once_…` in child processes; does nothing when run directly.
#[tokio::test]
#[ignore = "helper run in child processes by eight_processes_at_once_apply_each_migration_once"]
async fn child_runner() {
    let Ok(conn) = std::env::var(CHILD_ENV) else {
        return;
    };
    let config: tidemark::tokio_postgres::Config = conn.parse().unwrap();
    let manager =
        tidemark::deadpool_postgres::Manager::new(config, tidemark::tokio_postgres::NoTls);
    let pool = tidemark::deadpool_postgres::Pool::builder(manager)
        .max_size(2)
        .build()
        .unwrap();
    let report = EXAMPLE
        .migrator()
        .run(&pool)
        .await
        .expect("the child's run succeeds");
    println!("APPLIED {}", report.steps.len());
}
