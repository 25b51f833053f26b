//! Data tests at a version (`#[tidemark::test(at = …, fixtures(…))]`) in a crate of their own,
//! built as a user's crate is: rows a fixture loads at version 2 are transformed by migration 3,
//! and the same test binary passes again once the migrations and fixtures folders are gone.

use tidemark_rig::scratch::Scratch;

const MANIFEST: &str = r#"
[dependencies]
tidemark = { {tidemark}, features = ["testing"] }
tokio = { version = "1", features = ["macros", "rt"] }
"#;

const SPLIT_TEST: &str = r#"
use data_probe::MIGRATIONS;

#[tidemark::test(migrations = MIGRATIONS, at = "2", fixtures("users.sql"))]
async fn migration_3_splits_the_names_the_fixture_loaded(db: &tidemark::testing::TestDatabase) {
    let c = db.pool().get().await.unwrap();
    let before: i64 = c.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert_eq!(before, 2, "the fixture's rows, at version 2");
    db.migrate_to(3).await.unwrap();
    let rows = c
        .query("SELECT first_name, last_name, email FROM users ORDER BY id", &[])
        .await
        .unwrap();
    let names: Vec<(String, String, String)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        names,
        [
            ("Ada".to_owned(), "Lovelace".to_owned(), "ada@example.com".to_owned()),
            ("Alan".to_owned(), "Turing".to_owned(), "alan@example.com".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_builder_gives_the_same_database() {
    static USERS: &[tidemark::testing::Fixture] = tidemark::fixtures!("users.sql");
    let db = tidemark::testing::TestDatabase::builder(&MIGRATIONS)
        .at("V2")
        .fixtures(USERS)
        .build()
        .await
        .unwrap();
    assert_eq!(USERS[0].path(), "tests/fixtures/users.sql");
    let report = db.migrate_to_target(tidemark::Target::Latest).await.unwrap();
    assert_eq!(report.versions(), ["3"]);
    db.close().await.unwrap();
}
"#;

/// The crate's test binary (`cargo test --no-run`'s executable for `tests/split.rs`).
fn test_binary(c: &Scratch) -> std::path::PathBuf {
    let out = c.cargo(&[
        "test",
        "--test",
        "split",
        "--no-run",
        "--message-format=json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .expect("the test executable")
}

#[test]
fn a_fixture_at_version_2_is_transformed_by_migration_3_even_without_the_folders() {
    let c = Scratch::new("data_probe", MANIFEST);
    c.write(
        "src/lib.rs",
        "pub static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!(\"migrations\");\n",
    );
    c.write(
        "migrations/V1__users.sql",
        "CREATE TABLE users (id int PRIMARY KEY, full_name text NOT NULL);\n",
    );
    c.write(
        "migrations/V2__emails.sql",
        "ALTER TABLE users ADD COLUMN email text;\n",
    );
    c.write(
        "migrations/V3__split_names.sql",
        "ALTER TABLE users ADD COLUMN first_name text, ADD COLUMN last_name text;\n\
         UPDATE users SET first_name = split_part(full_name, ' ', 1), last_name = split_part(full_name, ' ', 2);\n\
         ALTER TABLE users DROP COLUMN full_name;\n",
    );
    c.write(
        "tests/fixtures/users.sql",
        "INSERT INTO users (id, full_name, email) VALUES\n  (1, 'Ada Lovelace', 'ada@example.com'),\n  (2, 'Alan Turing', 'alan@example.com');\n",
    );
    c.write("tests/split.rs", SPLIT_TEST);
    let binary = test_binary(&c);
    let run = |when: &str| {
        let out = std::process::Command::new(&binary)
            .current_dir(c.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{when}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("2 passed"),
            "{when}"
        );
    };
    run("with the folders");
    let away = tempfile::tempdir().unwrap();
    for folder in ["migrations", "tests/fixtures"] {
        std::fs::rename(
            c.path().join(folder),
            away.path().join(folder.replace('/', "_")),
        )
        .unwrap();
    }
    run("with the migrations and fixtures folders moved away");
}
