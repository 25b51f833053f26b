//! The schema as an artefact: `Schema::read` renders a database's catalog as SQL that
//! re-creates it (the same catalog, the same bytes), on the example folder and on the real
//! folders of `../shared/corpora`.

use crate::corpora::{copy_dir, corpora, load};
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
/// and has the same catalog snapshot.
pub(crate) async fn renders_and_recreates(name: &str, set: &'static Migrations) -> String {
    let migrated = fresh_db().await;
    set.migrator().run(&migrated.pool).await.unwrap();
    let sql = read(&migrated).await.to_sql(&format!("schema of {name}"));
    let recreated = fresh_db().await;
    let c = recreated.pool.get().await.unwrap();
    c.batch_execute(&format!("BEGIN;\n{sql}\nCOMMIT;"))
        .await
        .unwrap_or_else(|e| panic!("{name}: the rendering does not run: {e:?}"));
    let again = read(&recreated).await.to_sql(&format!("schema of {name}"));
    assert!(
        again == sql,
        "{name}: not the same rendering:\n{}",
        first_difference(&sql, &again)
    );
    let kit = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            tidemark::testing::snapshot(&pool.get().await.unwrap())
                .await
                .unwrap()
        }
    };
    let (a, b) = (kit(&migrated).await, kit(&recreated).await);
    let only_migrated: Vec<_> = a.difference(&b).collect();
    let only_recreated: Vec<_> = b.difference(&a).collect();
    assert!(
        only_migrated.is_empty() && only_recreated.is_empty(),
        "{name}: not the same catalog: only migrated {only_migrated:#?}, only re-created {only_recreated:#?}"
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
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path().join("cratesio");
    copy_dir(&root.join("cratesio"), &dir);
    std::fs::write(
        dir.join("2024-04-12-144536_remove-downloads-column/metadata.toml"),
        "run_in_transaction = false\n",
    )
    .unwrap();
    renders_and_recreates(
        "cratesio",
        load(Path::new(&dir), &["data_oauth_github.sql"]),
    )
    .await;
}
