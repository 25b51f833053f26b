//! `assert_schema_file`: the committed schema file is what `tidemark schema` writes today.

use super::database::TestDatabase;
use super::TestError;
use crate::migrations::Migrations;
use crate::schema::{file_header, Schema};
use std::path::Path;

/// Fails, naming the first line that differs, when `path` (relative to the crate root, as
/// `tidemark schema -o` wrote it) is not the schema `set` makes: a migration changed the schema
/// and the file in the pull request was not regenerated. The schema is built on a new, empty
/// [`TestDatabase`] (no template: `tidemark check --schema` builds it the same way on a
/// server of the user's) and rendered as the CLI renders it.
///
/// ```no_run
/// # static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
/// #[tokio::test]
/// async fn the_schema_file_is_up_to_date() {
///     tidemark::testing::assert_schema_file(&MIGRATIONS, "schema.sql").await;
/// }
/// ```
#[track_caller]
pub fn assert_schema_file<'a>(
    set: &'a Migrations,
    path: &'a str,
) -> impl std::future::Future<Output = ()> + 'a {
    let caller = std::panic::Location::caller();
    async move {
        if let Err(e) = check_schema_file(set, Path::new(path)).await {
            panic!("{path}: {e}\n  (assert_schema_file at {caller})");
        }
    }
}

/// [`assert_schema_file`] as a `Result`: `Err` says what differs (the file's path is the
/// caller's to add).
pub async fn check_schema_file(set: &Migrations, path: &Path) -> Result<(), TestError> {
    let db = TestDatabase::empty().await?;
    db.migrate(set, crate::Target::Latest).await?;
    let client = db.pool().get().await?;
    let schema = Schema::read(&client, "public", "tidemark_history")
        .await
        .map_err(TestError::Schema)?;
    drop(client);
    db.close().await?;
    let expected = schema.to_sql(file_header()).map_err(TestError::Schema)?;
    let committed = std::fs::read_to_string(path).map_err(|error| TestError::Read {
        path: path.to_owned(),
        error,
    })?;
    match crate::schema::compare_file(&committed, &expected) {
        None => Ok(()),
        Some(difference) => Err(TestError::SchemaFile {
            path: path.to_owned(),
            difference,
        }),
    }
}
