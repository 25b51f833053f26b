//! Fills `accounts.domain` with the program's own `email_domain`, 500 rows per round trip, and
//! reports its progress. A Rust code migration: `embed_migrations!` includes this file as a
//! module of the crate, so `crate::` is the application.

use tokio_postgres::Transaction;

const BATCH: i64 = 500;

pub async fn up(tx: &Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    let total: i64 = tx
        .query_one("SELECT count(*) FROM accounts WHERE domain IS NULL", &[])
        .await?
        .get(0);
    let mut done = 0;
    loop {
        let rows = tx
            .query(
                "SELECT id, email FROM accounts WHERE domain IS NULL ORDER BY id LIMIT $1",
                &[&BATCH],
            )
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let domains: Vec<String> = rows
            .iter()
            .map(|r| crate::email_domain(r.get(1)))
            .collect();
        tx.execute(
            "UPDATE accounts SET domain = d.domain \
             FROM unnest($1::bigint[], $2::text[]) AS d(id, domain) WHERE accounts.id = d.id",
            &[&ids, &domains],
        )
        .await?;
        done += rows.len() as u64;
        tidemark::progress(done, u64::try_from(total).ok());
    }
}

pub async fn down(tx: &Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute("UPDATE accounts SET domain = NULL").await
}
