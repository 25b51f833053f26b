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
    let (applied, all, slowest) = sixty_four(&url);
    assert_eq!(applied, 1, "exactly one replica applied the set");
    assert_eq!(db.history().await.len(), 4);
    assert_eq!(db.advisory_locks().await, 0);
    // For scale: one replica alone on the database now up to date (process start, connection,
    // the one-query fast path), and 64 at once on it (no one waits for a lock).
    let t = std::time::Instant::now();
    let one = Command::new(example())
        .arg("serve")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&one.stdout).contains("schema up to date"));
    let one = t.elapsed();
    let (again, all_again, slowest_again) = sixty_four(&url);
    assert_eq!(again, 0);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "64 replicas on a new database: all serving after {:.0} ms, slowest {:.0} ms; \
         64 on the up-to-date database: {:.0} ms, slowest {:.0} ms; one alone: {:.0} ms",
        ms(all),
        ms(slowest),
        ms(all_again),
        ms(slowest_again),
        ms(one)
    );
}

/// Starts 64 replicas of `serve` at once on `url`: how many applied the set, how long until all
/// served, and the slowest replica's time from its own start.
fn sixty_four(url: &str) -> (usize, std::time::Duration, std::time::Duration) {
    let started = std::time::Instant::now();
    let children: Vec<_> = (0..64)
        .map(|_| {
            let t = std::time::Instant::now();
            let child = Command::new(example())
                .arg("serve")
                .env("DATABASE_URL", url)
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
    (applied, started.elapsed(), slowest)
}
