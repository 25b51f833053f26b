//! Error kinds that no other test produces, and `Error::kind()` for each: the machine names the
//! CLI's JSON carries (the README lists them).

use crate::support::{fresh_db, set_of};
use tidemark::{Error, MigrationKind, Migrations};

fn one() -> &'static Migrations {
    set_of(&[("V1__one.sql", "CREATE TABLE one (id int);")])
}

#[tokio::test]
async fn every_condition_has_its_kind() {
    let db = fresh_db().await;
    let cases: Vec<(Error, &str)> = vec![
        (
            one().migrator().schema("").run(&db.pool).await.unwrap_err(),
            "invalid_name",
        ),
        (
            one().migrator().baseline(&db.pool, "9").await.unwrap_err(),
            "unknown_target",
        ),
    ];
    for (err, kind) in cases {
        assert_eq!(err.kind(), kind, "{err:?}");
    }
    let err = one()
        .migrator()
        .table("")
        .status(&db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidName { what: "table", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_history_table_tidemark_did_not_write_is_corrupt_history() {
    let db = fresh_db().await;
    let c = db.pool.get().await.unwrap();
    c.batch_execute(
        "CREATE TABLE tidemark_history (version text PRIMARY KEY, version_key bigint[], name text, \
         kind text, checksum bytea, down_checksum bytea, applied_at timestamptz DEFAULT now(), \
         execution_ms bigint DEFAULT 0, applied_by text, success boolean);
         INSERT INTO tidemark_history (version, name, kind, checksum, success)
         VALUES ('1', 'one', 'versioned', '\\x0102', true);",
    )
    .await
    .unwrap();
    let err = one().migrator().status(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::CorruptHistory { what, table } if what == "checksum" && table == "\"public\".\"tidemark_history\""),
        "{err:?}"
    );
    assert_eq!(err.kind(), "corrupt_history");
    assert!(
        err.to_string().contains("is it a tidemark history table?"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_bookkeeping_query_is_a_database_error_with_the_servers_words() {
    let db = fresh_db().await;
    let c = db.pool.get().await.unwrap();
    // A table of that name, but not tidemark's: reading history fails on the server.
    c.batch_execute("CREATE TABLE tidemark_history (x int)")
        .await
        .unwrap();
    let err = one().migrator().status(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::Database { context, .. } if *context == "reading the history table"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "database");
    assert_eq!(err.sqlstate(), Some("42703"));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "reading the history table: column \"version\" does not exist (SQLSTATE 42703)"
        ),
        "{text}"
    );
    assert!(err.driver_error().is_some());
    assert!(
        std::error::Error::source(&err).is_none(),
        "the message is complete; no chain repeats it"
    );
}

#[tokio::test]
async fn a_no_transaction_script_that_cannot_be_split_is_refused_not_recorded() {
    // Only a set that bypassed the build-time checks can hold such a script.
    use tidemark::__private::{migration, migrations, script};
    const BROKEN: &[tidemark::Migration] = &[migration(
        "1",
        &[1],
        "broken",
        MigrationKind::Versioned,
        "",
        script(
            "CREATE INDEX CONCURRENTLY i ON t ('oops);",
            "migrations/V1__broken.sql",
            [7; 32],
            true,
            false,
        ),
        None,
    )];
    static SET: Migrations = migrations(BROKEN, [7; 32], None, tidemark::__private::NUMERIC);
    let db = fresh_db().await;
    let err = SET.migrator().run(&db.pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidScript { path, line: 1, column: 35, .. } if path == "migrations/V1__broken.sql"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "invalid_script");
    let rows: i64 = db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM tidemark_history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "nothing is recorded as applied");
}
