//! The self-migrating example, run both ways: migrating at start-up, and `migrate status`.

use crate::support::fresh_db;
use std::path::PathBuf;
use std::process::Command;

fn example() -> PathBuf {
    crate::support::example("self_migrating")
}

#[tokio::test]
async fn migrates_at_start_up_and_answers_migrate_status() {
    let db = fresh_db().await;
    let url = db.conn_string();
    let serve = Command::new(example())
        .arg("serve")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&serve.stdout);
    assert!(
        serve.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&serve.stderr)
    );
    assert!(stdout.contains("applied 4 migrations"), "{stdout}");
    assert!(db.table_exists("users").await && db.table_exists("post_counts").await);

    let again = Command::new(example())
        .arg("serve")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("schema up to date"));

    let status = Command::new(example())
        .args(["migrate", "status", "--json", "--exit-code"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["up_to_date"], true);
    let states: Vec<&str> = json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied"; 4]);

    let down = Command::new(example())
        .args(["migrate", "down", "1"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(
        !db.table_exists("users_email_key").await,
        "version 3 rolled back"
    );
    let pending = Command::new(example())
        .args(["migrate", "status", "--exit-code"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        pending.status.code(),
        Some(3),
        "pending migrations give exit code 3"
    );
}

/// 64 replicas of the binary start at once on one new database: the set is applied exactly
/// once, every replica gets past migration and serves. The figures (total, slowest replica)
/// are printed, not asserted (`cargo test … sixty_four -- --nocapture`).
#[tokio::test]
async fn sixty_four_replicas_start_at_once_and_apply_the_set_exactly_once() {
    let db = fresh_db().await;
    let url = db.conn_string();
    let started = std::time::Instant::now();
    let children: Vec<_> = (0..64)
        .map(|_| {
            let t = std::time::Instant::now();
            let child = Command::new(example())
                .arg("serve")
                .env("DATABASE_URL", &url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (t, child)
        })
        .collect();
    let mut applied = 0;
    let mut slowest = std::time::Duration::ZERO;
    for (t, child) in children {
        let out = child.wait_with_output().unwrap();
        slowest = slowest.max(t.elapsed());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("serving"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if stdout.contains("applied 4 migrations") {
            applied += 1;
        } else {
            assert!(stdout.contains("schema up to date"), "{stdout}");
        }
    }
    assert_eq!(applied, 1, "exactly one replica applied the set");
    assert_eq!(db.history().await.len(), 4);
    assert_eq!(db.advisory_locks().await, 0);
    let all = started.elapsed();
    // For scale: one replica starting on the database now up to date (process start,
    // connection, the one-query fast path).
    let t = std::time::Instant::now();
    let one = Command::new(example())
        .arg("serve")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&one.stdout).contains("schema up to date"));
    eprintln!(
        "64 replicas: all serving after {:.0} ms, slowest replica {:.0} ms; one replica alone \
         on the up-to-date database {:.0} ms",
        all.as_secs_f64() * 1000.0,
        slowest.as_secs_f64() * 1000.0,
        t.elapsed().as_secs_f64() * 1000.0
    );
}
