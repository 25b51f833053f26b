//! Finding a fleet's targets on the server: schemas or databases whose names match a `LIKE`
//! pattern, or the first column of a query the caller gives (`SELECT schema_name FROM
//! tenants`).

use crate::db::Db;
use crate::error::Error;
use tokio_postgres::SimpleQueryMessage;

/// The schemas of the database whose names match `pattern` (SQL `LIKE`: `tenant_%`), by name;
/// never the system's own (`pg_*`, `information_schema`).
pub async fn schemas<'a>(db: impl Into<Db<'a>>, pattern: &str) -> Result<Vec<String>, Error> {
    names(
        db.into(),
        "SELECT nspname FROM pg_catalog.pg_namespace \
         WHERE nspname LIKE $1 AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' \
         ORDER BY nspname",
        pattern,
    )
    .await
}

/// The databases of the server whose names match `pattern` (SQL `LIKE`), by name; never a
/// template or a database that refuses connections.
pub async fn databases<'a>(db: impl Into<Db<'a>>, pattern: &str) -> Result<Vec<String>, Error> {
    names(
        db.into(),
        "SELECT datname FROM pg_catalog.pg_database \
         WHERE datname LIKE $1 AND datallowconn AND NOT datistemplate ORDER BY datname",
        pattern,
    )
    .await
}

/// The first column of every row of `sql`, as text, in the order the query gives; a `NULL`
/// is skipped.
pub async fn query<'a>(db: impl Into<Db<'a>>, sql: &str) -> Result<Vec<String>, Error> {
    let conn = db.into().shared().await?;
    let rows = conn
        .simple_query(sql)
        .await
        .map_err(Error::db("listing fleet targets"))?;
    Ok(rows
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect())
}

async fn names(db: Db<'_>, sql: &str, pattern: &str) -> Result<Vec<String>, Error> {
    let conn = db.shared().await?;
    let rows = conn
        .query(sql, &[&pattern])
        .await
        .map_err(Error::db("listing fleet targets"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
