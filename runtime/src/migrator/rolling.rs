//! Registering a running instance (feature `rolling`, design §11): the verb, the enrolment
//! under the lock, and the heartbeat that applies a contract migration once its gate opens.

use super::Migrator;
use crate::db::Db;
use crate::error::Error;
use crate::events;
use crate::registry::sql::{self, Row};
use crate::registry::{Instance, InstanceEvent, Registration};
use crate::visit::Frame;
use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

impl Migrator<'static> {
    /// Registers this running instance in the instance registry (a table beside history,
    /// `{table}_instances`, created by the first registration) and keeps its row alive with a
    /// heartbeat until the returned handle is dropped or [shut down](Instance::shutdown).
    ///
    /// Call it after [`run`](Self::run) and before serving. Under the migration lock it
    /// refuses ([`Error::MissingContract`]) when history holds a contract migration this set
    /// lacks, so an old release cannot start serving after a contract it lacks ran. While the
    /// row lives, a contract migration this set lacks waits (see [`Phase`](crate::Phase));
    /// on each heartbeat this instance applies the contract migrations of its own set whose
    /// gate opened ([`InstanceEvent::Contracted`]), under the lock, once for the whole fleet.
    ///
    /// ```no_run
    /// # async fn f(pool: tidemark::deadpool_postgres::Pool) -> Result<(), tidemark::Error> {
    /// static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
    /// let migrator = MIGRATIONS.migrator();
    /// let report = migrator.run(&pool).await?;
    /// for w in &report.waiting {
    ///     println!("{w}"); // contract 3 (drop_name) waits for 1 live instance without it: …
    /// }
    /// let instance = migrator
    ///     .register(&pool, tidemark::Registration::new("billing"))
    ///     .await?;
    /// // … serve until asked to stop …
    /// instance.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub async fn register(
        &self,
        pool: &Pool,
        registration: Registration,
    ) -> Result<Instance, Error> {
        let row = Row {
            id: new_id(),
            application: registration.application.clone(),
            host: host_name(),
            pid: std::process::id(),
            newest_version: crate::plan::newest(self.set).map(str::to_owned),
            set_digest: tidemark_core::to_hex(self.set.digest()),
            contracts: self
                .set
                .iter()
                .filter(|m| m.phase() == crate::Phase::Contract)
                .map(|m| m.version().to_owned())
                .collect(),
            ttl: registration.ttl(),
        };
        let waiting = self.enroll(Db::Pool(pool), &row).await?;
        tracing::info!(target: events::INSTANCE, id = %row.id, event = "registered", "registered instance {}", row.id);
        let (events, receiver) = mpsc::channel(EVENTS);
        let (stop, stopped) = oneshot::channel();
        let mut m = self.clone();
        m.instance = Some(row.id.clone());
        let id = row.id.clone();
        let beat = Heartbeat {
            migrator: m,
            pool: pool.clone(),
            row,
            every: registration.heartbeat,
            waiting,
            events,
        };
        Ok(Instance {
            id,
            events: receiver,
            stop: Some(stop),
            task: Some(tokio::spawn(beat.run(stopped))),
        })
    }

    /// Under the lock: creates the registry if missing, refuses when history holds a contract
    /// migration this set lacks, and inserts (or renews) the row. Returns this set's contract
    /// migrations not applied yet (what the heartbeat watches the gates of).
    async fn enroll(&self, db: Db<'_>, row: &Row) -> Result<Vec<String>, Error> {
        self.under_lock(db, Frame::Plain, async |session, tables, recorded, _| {
            let client = session.client();
            let unknown: Vec<String> = recorded
                .history
                .iter()
                .filter(|r| r.kind.is_versioned() && self.set.get(&r.version).is_none())
                .map(|r| r.version.clone())
                .collect();
            self.refuse_applied_contracts(client, tables, &unknown)
                .await?;
            // The registry made if missing and the row written: one message.
            let sql = sql::ensure_sql(tables)? + &sql::register_sql(tables, row)?;
            client.batch_execute(&sql).await.map_err(|e| {
                crate::history::read::privilege_or(
                    "registering the instance",
                    format!(
                        "INSERT, UPDATE and DELETE on the instance registry, and CREATE on schema \
                         {} until one exists (or an administrator creates it as the first \
                         registration would)",
                        self.schema
                    ),
                    e,
                )
            })?;
            Ok(row
                .contracts
                .iter()
                .filter(|c| !recorded.history.iter().any(|r| &r.version == *c))
                .cloned()
                .collect())
        })
        .await
    }
}

/// How many events wait for an application that does not read them; later ones are dropped
/// (each is also a `tracing` event or in the next report).
const EVENTS: usize = 64;

/// The heartbeat task's state.
struct Heartbeat {
    migrator: Migrator<'static>,
    pool: Pool,
    row: Row,
    every: std::time::Duration,
    /// This set's contract migrations not applied yet, as last seen.
    waiting: Vec<String>,
    events: mpsc::Sender<InstanceEvent>,
}

impl Heartbeat {
    /// Beats until stopped, then removes the row.
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) -> Result<(), Error> {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.every) => {}
                _ = &mut stopped => break,
            }
            if !self.beat().await {
                return Ok(()); // refused: no longer registered
            }
        }
        let tables = self.migrator.tables()?;
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| Error::Pool(Box::new(e)))?;
        client
            .batch_execute(&sql::deregister_sql(&tables, &self.row.id)?)
            .await
            .map_err(Error::db("removing the instance from the registry"))?;
        tracing::info!(target: events::INSTANCE, id = %self.row.id, event = "deregistered", "deregistered instance {}", self.row.id);
        Ok(())
    }

    /// Hands `event` to the application, dropping it when the application stopped reading.
    fn tell(&self, event: InstanceEvent) {
        let id = &self.row.id;
        match &event {
            InstanceEvent::Failed(e) => {
                tracing::warn!(target: events::INSTANCE, id = %id, event = "failed", "instance {id}: heartbeat failed: {e}");
            }
            InstanceEvent::Refused(e) => {
                tracing::error!(target: events::INSTANCE, id = %id, event = "refused", "instance {id} may not register again: {e}");
            }
            _ => {}
        }
        let _ = self.events.try_send(event);
    }

    /// One heartbeat: refreshes the row (registering again if it had expired) and applies the
    /// contract migrations whose gate opened. `false` when the instance may not register again.
    async fn beat(&mut self) -> bool {
        let open = match self.refresh().await {
            Ok(Some(open)) => open,
            Ok(None) => match self.migrator.enroll(Db::Pool(&self.pool), &self.row).await {
                Ok(waiting) => {
                    tracing::warn!(target: events::INSTANCE, id = %self.row.id, event = "expired", "instance {} had expired; registered again", self.row.id);
                    self.waiting = waiting;
                    self.tell(InstanceEvent::Renewed);
                    return true;
                }
                Err(e) => {
                    self.tell(InstanceEvent::Refused(e));
                    return false;
                }
            },
            Err(e) => {
                self.tell(InstanceEvent::Failed(e));
                return true;
            }
        };
        if open {
            match self.migrator.run(&self.pool).await {
                Ok(report) => {
                    self.waiting = report.waiting.iter().map(|w| w.version.clone()).collect();
                    if !report.steps.is_empty() {
                        self.tell(InstanceEvent::Contracted(report));
                    }
                }
                Err(e) => {
                    self.tell(InstanceEvent::Failed(e));
                }
            }
        }
        true
    }

    /// The heartbeat's one statement: `None` when the row had expired, else whether a gate this
    /// instance watches is open.
    async fn refresh(&self) -> Result<Option<bool>, Error> {
        let tables = self.migrator.tables()?;
        let sql = sql::heartbeat_sql(&tables, &self.row.id, self.row.ttl, &self.waiting)?;
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| Error::Pool(Box::new(e)))?;
        let rows = client
            .simple_query(&sql)
            .await
            .map_err(Error::db("refreshing the instance's row"))?;
        let Some(row) = rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        }) else {
            return Ok(None);
        };
        if row.get(0) != Some("1") {
            return Ok(None);
        }
        Ok(Some(row.get(1).is_some_and(|open| !open.is_empty())))
    }
}

/// A random id for an instance: 64 bits from the standard library's randomly keyed hasher,
/// mixed with the time and the pid (no dependency needed for an id that only has to be
/// unique among a fleet's live instances).
fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// This machine's host name (Linux), else `HOSTNAME`, else `unknown`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
