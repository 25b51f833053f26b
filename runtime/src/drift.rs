//! Drift: is a database's schema what its applied migrations make? [`Migrator::drift`]
//! applies exactly the migrations the database's history records to an empty scratch database
//! and compares the two catalogs object by object. It only reads the database it checks.

use crate::db::Db;
use crate::error::Error;
use crate::history::{translate, HistoryRow, Tables};
use crate::migrations::{Migration, Migrations};
use crate::schema::{Drift, Schema};
use crate::Migrator;
use std::borrow::Cow;

impl<'m> Migrator<'m> {
    /// Compares `target`'s schema with the schema its applied migrations produce, built on
    /// `scratch`, an empty database this call migrates (on a server of the same PostgreSQL
    /// major as `target`: the server's deparsers word some definitions differently across
    /// majors). Only reads `target`: its history (this migrator's `schema` and `table`) and its
    /// catalog; needs no lock and no privilege but `SELECT` on the history tables.
    ///
    /// Applied versions this set does not have, and failed rows, are errors
    /// ([`Error::Missing`], [`Error::Dirty`]): the schema they made cannot be rebuilt. A
    /// repeatable migration is applied as the set has it now.
    ///
    /// ```no_run
    /// # async fn f(prod: &tidemark::deadpool_postgres::Pool, scratch: &tidemark::deadpool_postgres::Pool, set: &tidemark::Migrations) -> Result<(), tidemark::Error> {
    /// let drift = set.migrator().drift(prod, scratch).await?;
    /// if !drift.is_empty() {
    ///     eprintln!("{drift}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn drift<'a, 'b>(
        &self,
        target: impl Into<Db<'a>>,
        scratch: impl Into<Db<'b>>,
    ) -> Result<Drift, Error> {
        Box::pin(self.drift_on(target.into(), scratch.into())).await
    }

    async fn drift_on(&self, target: Db<'_>, scratch: Db<'_>) -> Result<Drift, Error> {
        let (set, schema, table) = self.parts();
        let tables = Tables::new(schema, table)?;
        let conn = target.shared().await?;
        let mut history = tables.read_existing(&conn).await?;
        translate(set, &mut history);
        let actual = Schema::read(&conn, schema, table).await?;
        let target_major = major(&conn).await?;
        drop(conn);

        let applied = applied_subset(set, &history)?;
        let scratch_conn = scratch.shared().await?;
        let before = Schema::read(&scratch_conn, schema, table).await?;
        if !before.objects().is_empty() {
            return Err(Error::ScratchNotEmpty {
                objects: before.objects().len(),
            });
        }
        let scratch_major = major(&scratch_conn).await?;
        drop(scratch_conn);
        applied
            .migrator()
            .schema(schema)
            .table(table)
            .allow_out_of_order(true)
            .run(scratch)
            .await?;
        let conn = scratch.shared().await?;
        let expected = Schema::read(&conn, schema, table).await?;
        let mut drift = expected.diff(&actual);
        if target_major != scratch_major {
            drift.notes.push(format!(
                "the database runs PostgreSQL {target_major} and the scratch database {scratch_major}: \
                 definitions the two majors word differently show as changed; use a scratch \
                 server of the same major"
            ));
        }
        Ok(drift)
    }
}

/// The set restricted to what `history` records as applied (what the scratch database must
/// run), with the checkpoint when every migration it stands for is applied.
fn applied_subset(set: &Migrations, history: &[HistoryRow]) -> Result<Migrations, Error> {
    crate::plan::check_no_failed_row(set, history)?;
    if let Some(row) = history.iter().find(|r| set.get(&r.version).is_none()) {
        return Err(Error::Missing {
            version: row.version.clone(),
            name: row.name.clone(),
        });
    }
    let items: Vec<Migration> = set
        .iter()
        .filter(|m| history.iter().any(|r| r.version == m.version()))
        .cloned()
        .collect();
    let digest =
        tidemark_core::set_digest(items.iter().map(|m| (m.kind, m.version(), &m.up.checksum)));
    let checkpoint = set.checkpoint.clone().filter(|c| {
        set.iter()
            .take(c.squashes)
            .all(|m| items.iter().any(|i| i.version() == m.version()))
    });
    Ok(Migrations {
        items: Cow::Owned(items),
        digest,
        source: None,
        order: set.order,
        checkpoint,
    })
}

async fn major(client: &tokio_postgres::Client) -> Result<u32, Error> {
    Ok(crate::schema::server_version(client).await? / 10000)
}
