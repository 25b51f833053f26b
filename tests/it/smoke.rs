//! The smoke set CI runs on every supported PostgreSQL major (13 to 18): a run, a rollback and
//! back, a test database from a template, and the reversibility check. (`cargo run --example
//! quickstart` goes with it.)

use tidemark::testing::{assert_reversible, TestDatabase};
use tidemark::{Migrations, Target};

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");

#[tokio::test]
async fn smoke_run_rollback_and_back() {
    let db = TestDatabase::empty().await.unwrap();
    let report = EXAMPLE.migrator().run(db.pool()).await.unwrap();
    assert_eq!(report.steps.len(), 4);
    assert!(EXAMPLE.migrator().run(db.pool()).await.unwrap().fast_path);
    let down = EXAMPLE
        .migrator()
        .target(Target::Initial)
        .run(db.pool())
        .await
        .unwrap();
    assert_eq!(down.steps.len(), 4);
    EXAMPLE.migrator().run(db.pool()).await.unwrap();
    assert!(EXAMPLE.is_up_to_date(db.pool()).await.unwrap());
    let version: i32 = db
        .pool()
        .get()
        .await
        .unwrap()
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    eprintln!("smoke on PostgreSQL {}", version / 10000);
}

#[tokio::test]
async fn smoke_test_databases_and_reversibility() {
    let db = TestDatabase::at_version(&EXAMPLE, 1).await.unwrap();
    db.pool()
        .get()
        .await
        .unwrap()
        .execute("INSERT INTO users (email) VALUES ('a@b.c')", &[])
        .await
        .unwrap();
    db.migrate(&EXAMPLE, Target::Latest).await.unwrap();
    let full = TestDatabase::new(&EXAMPLE).await.unwrap();
    assert!(EXAMPLE.is_up_to_date(full.pool()).await.unwrap());
    let checked = assert_reversible(&EXAMPLE).await;
    assert_eq!(checked.checked, ["1", "2", "3"]);
}
