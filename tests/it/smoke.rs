//! The smoke set CI runs on every supported PostgreSQL major (13 to 18): a run, a rollback and
//! back, a test database from a template, the reversibility check, and the schema file of a
//! folder with every kind of object, byte for byte. (`cargo run --example quickstart` goes
//! with it.)

use tidemark::testing::{assert_reversible, TestDatabase};
use tidemark::{Migrations, Target};

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");

/// The schema objects of the database (tidemark's own tables left out), `kind name` each.
async fn objects(db: &TestDatabase) -> Vec<String> {
    let c = db.pool().get().await.unwrap();
    tidemark::schema::Schema::read(&c, "public", "tidemark_history")
        .await
        .unwrap()
        .objects()
        .iter()
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect()
}

#[tokio::test]
async fn smoke_run_rollback_and_back() {
    let db = TestDatabase::empty().await.unwrap();
    let report = EXAMPLE.migrator().run(db.pool()).await.unwrap();
    assert_eq!(report.steps.len(), 4);
    let migrated = objects(&db).await;
    assert!(
        migrated.contains(&"table public.users".to_owned())
            && migrated.contains(&"view public.post_counts".to_owned()),
        "{migrated:?}"
    );
    assert!(EXAMPLE.migrator().run(db.pool()).await.unwrap().fast_path);
    let down = EXAMPLE
        .migrator()
        .target(Target::Initial)
        .run(db.pool())
        .await
        .unwrap();
    assert_eq!(down.steps.len(), 4);
    // The catalog, not the step count: every object the migrations made is gone.
    assert_eq!(
        objects(&db).await,
        Vec::<String>::new(),
        "rolled back to nothing"
    );
    EXAMPLE.migrator().run(db.pool()).await.unwrap();
    assert!(EXAMPLE.is_up_to_date(db.pool()).await.unwrap());
    assert_eq!(objects(&db).await, migrated, "and back to the same schema");
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

/// A folder with every kind of object the schema file holds.
static EVERY_KIND: Migrations = tidemark::embed_migrations!("tests/fixtures/schema/migrations");

/// The schema file is the same, byte for byte, on every major of a group: PostgreSQL 13 to 15
/// give `every_kind.sql`, 16 to 18 `every_kind.pg16.sql`. The two differ only in view
/// definitions, which `pg_get_viewdef` words without the table name before a column of a
/// single-table query from PostgreSQL 16 on. (`TIDEMARK_SCHEMA_DUMP=DIR` writes the rendering
/// there, to regenerate them.)
#[tokio::test]
async fn smoke_schema_file_is_byte_identical_per_major() {
    let sql = crate::schema::renders_and_recreates("every kind", &EVERY_KIND).await;
    if let Ok(dir) = std::env::var("TIDEMARK_SCHEMA_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join("every_kind.sql"), &sql).unwrap();
    }
    let db = TestDatabase::empty().await.unwrap();
    let major: i32 = db
        .pool()
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let expected = if major >= 16 {
        include_str!("../fixtures/schema/every_kind.pg16.sql")
    } else {
        include_str!("../fixtures/schema/every_kind.sql")
    };
    assert!(
        sql == expected,
        "PostgreSQL {major} renders another schema file than tests/fixtures/schema/:\n{sql}"
    );
}
