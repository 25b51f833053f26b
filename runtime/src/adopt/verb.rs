//! [`Migrator::adopt`]: the verb, on the visit every locked verb makes.

use crate::db::Db;
use crate::error::Error;
use crate::migrator::Migrator;
use crate::visit::Frame;
use crate::{Adopt, AdoptReport};

impl Migrator<'_> {
    /// Adopts a database another tool manages: reads its history table (sqlx's
    /// `_sqlx_migrations`, refinery's `refinery_schema_history`, diesel's
    /// `__diesel_schema_migrations`, Flyway's `flyway_schema_history`, or the table
    /// [`Adopt::source_table`] names), checks that every migration it applied is in the set
    /// and, where the tool records a checksum (sqlx, refinery, Flyway), that the file is
    /// unchanged, and records them in tidemark's history as applied, with the tool's
    /// timestamps, in one transaction. The other tool's table is only read. After this,
    /// [`run`](Self::run) applies only what the other tool had not.
    ///
    /// Any mismatch is an error naming the version, the file and what differs
    /// ([`Error::Adopt`] with an [`AdoptError`](crate::AdoptError)), and records nothing. Adopting
    /// again records nothing more; a database with other tidemark history is refused
    /// ([`Error::HistoryNotEmpty`]).
    ///
    /// ```no_run
    /// # async fn f(pool: &tidemark::deadpool_postgres::Pool, set: &tidemark::Migrations) -> Result<(), tidemark::Error> {
    /// use tidemark::Tool;
    /// let adopted = set.migrator().adopt(pool, Tool::Sqlx).await?;
    /// println!("{} adopted, {} pending", adopted.adopted.len(), adopted.pending.len());
    /// set.migrator().run(pool).await?;
    /// # Ok(()) }
    /// ```
    pub async fn adopt<'a>(
        &self,
        db: impl Into<Db<'a>>,
        from: impl Into<Adopt>,
    ) -> Result<AdoptReport, Error> {
        Box::pin(self.adopt_boxed(db.into(), from.into())).await
    }

    async fn adopt_boxed(&self, db: Db<'_>, from: Adopt) -> Result<AdoptReport, Error> {
        let set = self.set();
        self.under_lock(db, Frame::Atomic, async |session, tables, recorded, _| {
            let client = session.client();
            let source = super::foreign::locate(client, &from).await?;
            let rows = super::foreign::read(client, &source).await?;
            let (sql, report) =
                super::decide::adopt(set, &source, &rows, tables, &recorded.history)?;
            if !sql.is_empty() {
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(Error::db("recording the adopted history"))?;
            }
            Ok(report)
        })
        .await
    }
}
