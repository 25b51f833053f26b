//! The schema as an artefact: `Schema::read` renders a database's catalog as SQL that
//! re-creates it (the same catalog, the same bytes), on the example folder and on the real
//! folders of `../shared/corpora`.

use crate::corpora::{corpora, load};
use crate::support::{fresh_db, TestDb};
use std::path::Path;
use tidemark::schema::Schema;
use tidemark::Migrations;

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");

async fn read(db: &TestDb) -> Schema {
    let c = db.pool.get().await.unwrap();
    Schema::read(&c, "public", "tidemark_history")
        .await
        .unwrap()
}

/// Migrates a database with `set`, renders its schema, runs the rendering on an empty
/// database in one transaction, and checks that the second database renders to the same bytes
/// and has the same schema, object by object.
pub(crate) async fn renders_and_recreates(name: &str, set: &'static Migrations) -> String {
    let migrated = fresh_db().await;
    set.migrator().run(&migrated.pool).await.unwrap();
    let sql = read(&migrated)
        .await
        .to_sql(&format!("schema of {name}"))
        .unwrap();
    let recreated = fresh_db().await;
    let c = recreated.pool.get().await.unwrap();
    c.batch_execute(&format!("BEGIN;\n{sql}\nCOMMIT;"))
        .await
        .unwrap_or_else(|e| panic!("{name}: the rendering does not run: {e:?}"));
    let again = read(&recreated)
        .await
        .to_sql(&format!("schema of {name}"))
        .unwrap();
    assert!(
        again == sql,
        "{name}: not the same rendering:\n{}",
        first_difference(&sql, &again)
    );
    let drift = read(&migrated).await.diff(&read(&recreated).await);
    assert!(
        drift.is_empty(),
        "{name}: not the same catalog, object by object:\n{drift}"
    );
    eprintln!(
        "{name}: {} lines, {} bytes; re-created identically",
        sql.lines().count(),
        sql.len()
    );
    sql
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  - {x}\n  + {y}", i + 1);
        }
    }
    format!("lengths {} and {}", a.lines().count(), b.lines().count())
}

#[tokio::test]
async fn the_example_folder_renders_and_recreates() {
    let sql = renders_and_recreates("example", &EXAMPLE).await;
    assert!(sql.contains("CREATE TABLE public.users ("), "{sql}");
}

#[tokio::test]
async fn the_corpora_render_and_recreate() {
    let Some(root) = corpora() else { return };
    renders_and_recreates("docsrs", load(&root.join("docsrs"), &[])).await;
    renders_and_recreates("openmeter", load(&root.join("openmeter"), &[])).await;
    let Some((_copy, dir)) = crate::corpora::cratesio_runnable(&root).await else {
        return;
    };
    renders_and_recreates(
        "cratesio",
        load(Path::new(&dir), &["data_oauth_github.sql"]),
    )
    .await;
}

const A: &str = "CREATE TABLE a (id int PRIMARY KEY, note text DEFAULT 'x');\n";
const B: &str = "CREATE INDEX a_note ON a (note);\n";
const C: &str = "CREATE TABLE c (id int);\n";

/// The folder of V1 (A), V2 (B) and V3 (C) after `squash --up-to 2` and the deletion of the
/// squashed files: a checkpoint standing for 1 and 2, and V3.
fn squashed_folder() -> &'static Migrations {
    let sums = [tidemark_core::checksum(A), tidemark_core::checksum(B)];
    let header = tidemark_core::checkpoint_header(
        tidemark_core::Order::Numeric,
        [
            ("1", tidemark::MigrationKind::Versioned, &sums[0], "a"),
            ("2", tidemark::MigrationKind::Versioned, &sums[1], "b"),
        ],
    );
    let checkpoint = format!("{header}{A}{B}");
    crate::support::set_of(&[("B2__checkpoint.sql", &checkpoint), ("V3__c.sql", C)])
}

#[tokio::test]
async fn a_new_database_runs_the_checkpoint_and_records_what_it_stands_for() {
    let full = crate::support::set_of(&[("V1__a.sql", A), ("V2__b.sql", B), ("V3__c.sql", C)]);
    let squashed = squashed_folder();
    assert_eq!(
        squashed.digest(),
        full.digest(),
        "the same set digest with or without the files"
    );
    let (through_files, through_checkpoint) = (fresh_db().await, fresh_db().await);
    full.migrator().run(&through_files.pool).await.unwrap();
    let report = squashed
        .migrator()
        .run(&through_checkpoint.pool)
        .await
        .unwrap();
    assert_eq!(
        report.versions(),
        ["2", "3"],
        "the checkpoint (as its newest version), then 3"
    );
    assert_eq!(read(&through_files).await, read(&through_checkpoint).await);
    let versions = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            let c = pool.get().await.unwrap();
            c.query(
                "SELECT version, checksum FROM tidemark_history ORDER BY version",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)))
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        versions(&through_files).await,
        versions(&through_checkpoint).await
    );
    // Each database is up to date for either folder: one fast-path query.
    for db in [&through_files, &through_checkpoint] {
        assert!(squashed.is_up_to_date(&db.pool).await.unwrap());
        assert!(full.is_up_to_date(&db.pool).await.unwrap());
    }
    // No drift either way.
    let scratch = fresh_db().await;
    let drift = squashed
        .migrator()
        .drift(&through_files.pool, &scratch.pool)
        .await
        .unwrap();
    assert!(drift.is_empty(), "{drift}");
}

#[tokio::test]
async fn a_database_between_the_squashed_versions_needs_their_files() {
    let full = crate::support::set_of(&[("V1__a.sql", A), ("V2__b.sql", B), ("V3__c.sql", C)]);
    let db = fresh_db().await;
    full.migrator()
        .target(tidemark::Target::Version("1".into()))
        .run(&db.pool)
        .await
        .unwrap();
    let err = squashed_folder()
        .migrator()
        .run(&db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, tidemark::Error::Squashed { version, checkpoint } if version == "2" && checkpoint == "migrations/B2__checkpoint.sql"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "squashed");
    assert_eq!(db.history().await.len(), 1, "nothing ran");
    // A target below the checkpoint on a new database needs them too.
    let new = fresh_db().await;
    let err = squashed_folder()
        .migrator()
        .target(tidemark::Target::Version("1".into()))
        .run(&new.pool)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "squashed", "{err:?}");
}

#[tokio::test]
async fn drift_through_the_library_and_a_scratch_database_that_is_not_empty() {
    let db = fresh_db().await;
    EXAMPLE.migrator().run(&db.pool).await.unwrap();
    let scratch = fresh_db().await;
    let drift = EXAMPLE
        .migrator()
        .drift(&db.pool, &scratch.pool)
        .await
        .unwrap();
    assert!(drift.is_empty(), "{drift}");
    assert!(drift.to_string().starts_with("no drift"));
    // The scratch database now holds the schema: it cannot be used again.
    let err = EXAMPLE
        .migrator()
        .drift(&db.pool, &scratch.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(err, tidemark::Error::ScratchNotEmpty { objects } if objects > 0),
        "{err:?}"
    );
    assert_eq!(err.kind(), "scratch_not_empty");
    // A column default dropped and an index added by hand.
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "ALTER TABLE posts ALTER COLUMN body DROP DEFAULT; CREATE INDEX p_t ON posts (title)",
        )
        .await
        .unwrap();
    let drift = EXAMPLE
        .migrator()
        .drift(&db.pool, &fresh_db().await.pool)
        .await
        .unwrap();
    let seen: Vec<(&str, &str, &str)> = drift
        .differences
        .iter()
        .map(|d| (d.kind.as_str(), d.object_kind.as_str(), d.name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("changed", "column", "public.posts.body"),
            ("unexpected", "index", "public.p_t")
        ]
    );
}

#[tokio::test]
async fn the_kit_asserts_that_a_schema_file_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.sql");
    let db = fresh_db().await;
    EXAMPLE.migrator().run(&db.pool).await.unwrap();
    let c = db.pool.get().await.unwrap();
    let sql = Schema::read(&c, "public", "tidemark_history")
        .await
        .unwrap()
        .to_sql(tidemark::schema::file_header())
        .unwrap();
    std::fs::write(&file, &sql).unwrap();
    tidemark::testing::assert_schema_file(&EXAMPLE, file.to_str().unwrap()).await;
    std::fs::write(&file, sql.replace("email text NOT NULL", "email text")).unwrap();
    let err = tidemark::testing::check_schema_file(&EXAMPLE, &file)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("out of date") && err.contains("the file has `    email text,`"),
        "{err}"
    );
}
