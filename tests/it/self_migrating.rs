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
