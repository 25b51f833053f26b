//! The `Migrator` builder and its verbs.

use crate::db::{Conn, Db, Session};
use crate::error::Error;
use crate::events;
use crate::execute::{Executor, RunMode, StepOptions};
use crate::history::{translate, Absent, Recorded, Tables};
use crate::lock::Lock;
use crate::maintenance::{self, RepairReport};
use crate::migrations::Migrations;
use crate::plan::{self, Plan, Policy};
use crate::report::Report;
use crate::status::{self, Status};
use crate::stop::{self, Stop, Watch};
use crate::target::{Target, TransactionMode};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::Instrument;

impl Migrations {
    /// A [`Migrator`] with the default options, to configure and run.
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator::new(self)
    }

    /// Whether the database has exactly this set applied, with the default history table: one
    /// query, no lock, for readiness probes. Use [`Migrator::is_up_to_date`] for another
    /// schema or table.
    ///
    /// ```no_run
    /// # async fn ready(pool: tidemark::deadpool_postgres::Pool) -> Result<bool, tidemark::Error> {
    /// static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
    /// MIGRATIONS.is_up_to_date(&pool).await
    /// # }
    /// ```
    pub async fn is_up_to_date<'a>(&self, db: impl Into<Db<'a>>) -> Result<bool, Error> {
        self.migrator().is_up_to_date(db).await
    }
}

// Every public verb takes `impl Into<Db>`, converts it and awaits a future boxed by a
// non-generic `*_boxed` twin, so the work (`*_on`) is compiled once, in this crate. Awaited
// directly, a verb's future made a user's release build compile and optimise a whole migration
// run inside their own crate (4 s of a rebuild after editing one of 1,000 migrations); the box
// costs one allocation per call.

/// The future of a verb, boxed where it is made (see above).
type Verb<'f, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'f>>;

/// Configures and runs migrations. Get one from [`Migrations::migrator`]; every option method
/// consumes and returns the builder.
///
/// ```no_run
/// # async fn f(pool: deadpool_postgres::Pool) -> Result<(), tidemark::Error> {
/// static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
///
/// let report = MIGRATIONS
///     .migrator()
///     .schema("app")
///     .lock_timeout(std::time::Duration::from_secs(30))
///     .run(&pool)
///     .await?;
/// println!("{report}");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Migrator does nothing until one of its verbs (run, plan, ...) is awaited"]
pub struct Migrator<'m> {
    set: &'m Migrations,
    schema: String,
    table: String,
    lock_key: Option<i64>,
    lock_timeout: Duration,
    target: Target,
    mode: TransactionMode,
    policy: Policy,
    stop: Option<Stop>,
    steps: StepOptions,
}

impl<'m> Migrator<'m> {
    fn new(set: &'m Migrations) -> Self {
        crate::stale::warn_once(set);
        Self {
            set,
            schema: "public".to_owned(),
            table: "tidemark_history".to_owned(),
            lock_key: None,
            lock_timeout: Duration::from_secs(600),
            target: Target::Latest,
            mode: TransactionMode::PerMigration,
            policy: Policy::default(),
            stop: None,
            steps: StepOptions::default(),
        }
    }

    /// The schema of the history table (default `public`); created if missing.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The history table's name (default `tidemark_history`). A second table named
    /// `{table}_state` holds the digest of what is applied.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The advisory lock key (default: derived from schema and table, so migrators of different
    /// history tables do not wait for each other).
    pub fn lock_key(mut self, key: i64) -> Self {
        self.lock_key = Some(key);
        self
    }

    /// How long to wait for the lock before failing with [`Error::LockTimeout`] (default 10 min).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Where to take the database (default [`Target::Latest`]).
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// One transaction per migration (default) or one for the whole run.
    pub fn transaction(mut self, mode: TransactionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Apply pending versions below the highest applied one instead of failing with
    /// [`Error::OutOfOrder`].
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.policy.allow_out_of_order = allow;
        self
    }

    /// Accept applied migrations whose file changed since (the recorded checksum differs)
    /// instead of failing with [`Error::Divergent`]. [`repair`](Self::repair) is the lasting fix.
    pub fn allow_divergent(mut self, allow: bool) -> Self {
        self.policy.allow_divergent = allow;
        self
    }

    /// Accept applied versions this set does not have instead of failing with
    /// [`Error::Missing`].
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.policy.allow_missing = allow;
        self
    }

    /// Tolerate applied versions newer than every migration of this set (default `true`):
    /// what an older build meets after a newer one migrated further and the deploy was rolled
    /// back. They are logged as a warning (target [`events::FUTURE`]) and listed as
    /// [`State::Future`](crate::State::Future) by `status`; an unknown version *inside* the
    /// set's range is still [`Error::Missing`]. `false` makes them missing too.
    pub fn allow_future(mut self, allow: bool) -> Self {
        self.policy.allow_future = allow;
        self
    }

    /// Sets `lock_timeout` in each migration's transaction (`SET LOCAL`, never on the session,
    /// so nothing leaks into a pool): DDL that cannot get its lock within `timeout` gives up
    /// instead of queueing behind a long transaction with every query on the table queued
    /// behind it. A transactional SQL migration that gave up (`lock_not_available`, SQLSTATE
    /// 55P03) is retried after a wait that doubles from 100 ms up to 5 s, up to
    /// [`ddl_lock_retries`](Self::ddl_lock_retries) times (default 5), each retry logged
    /// (`tidemark::lock_retry`) and counted in [`Report::lock_retries`](crate::Report::lock_retries);
    /// the migrations before it stay committed. Off by default (DDL waits as long as it takes).
    ///
    /// A no-transaction migration runs without it and is never retried: a failed
    /// `CREATE INDEX CONCURRENTLY` leaves an invalid index behind, so a retry is not safe. A
    /// Rust code migration gets the timeout in its transaction but is not retried (its effects
    /// outside the database could repeat).
    pub fn ddl_lock_timeout(mut self, timeout: Duration) -> Self {
        self.steps.lock_timeout = Some(timeout);
        self
    }

    /// How many times a migration that gave up waiting for a lock is retried (with
    /// [`ddl_lock_timeout`](Self::ddl_lock_timeout); `0`: fail at once).
    pub fn ddl_lock_retries(mut self, retries: u32) -> Self {
        self.steps.retries = retries;
        self
    }

    /// The `search_path` each migration runs with (PostgreSQL's syntax: `tenant_7`, or
    /// `"Tenant 7", public`), set in each migration's own transaction (`SET LOCAL`), so nothing
    /// leaks into a pooled session; for a no-transaction migration, set on tidemark's session
    /// for its statements and put back after. Unset (the default), migrations run with the
    /// session's own. [`fleet`](Self::fleet) sets it to each tenant's schema.
    pub fn search_path(mut self, search_path: impl Into<String>) -> Self {
        self.steps.search_path = Some(search_path.into());
        self
    }

    /// Gives the `${name}` placeholder a value, and turns substitution on for every SQL
    /// script of the set: each `${name}` is replaced with its value before the script runs
    /// (anywhere in the text, strings and comments included, as Flyway does), and a
    /// `${name}` with no value fails the run with [`Error::PlaceholderUnset`] before anything
    /// runs. Without any placeholder given, no script is touched. Checksums stay those of the
    /// files as written, so one set has one digest for every tenant. A name is letters,
    /// digits, `_` and `.`; `${tidemark.schema}` is built in: the history schema (in a
    /// [fleet](Self::fleet), each tenant's own schema), unless given a value.
    pub fn placeholder(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.steps.placeholders.set(name.into(), value.into());
        self
    }

    /// [`placeholder`](Self::placeholder) for each pair; with none, substitution is still on
    /// (every `${name}` is then an unset placeholder).
    pub fn placeholders<K: Into<String>, V: Into<String>>(
        mut self,
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.steps.placeholders.enable();
        for (k, v) in values {
            self.steps.placeholders.set(k.into(), v.into());
        }
        self
    }

    /// What every step gets; with substitution on, the built-in `${tidemark.schema}` is the
    /// history schema (a fleet tenant's own schema).
    fn step_options(&self) -> StepOptions {
        let mut steps = self.steps.clone();
        steps
            .placeholders
            .set_default("tidemark.schema", &self.schema);
        steps
    }

    /// Stops the run when `stop` is stopped (from a signal handler, say): the running statement
    /// is cancelled on the server, nothing after it starts, the lock is released, and the verb
    /// returns [`Error::Interrupted`] with what committed before.
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The advisory lock key in use.
    pub fn effective_lock_key(&self) -> i64 {
        self.lock_key.unwrap_or_else(|| {
            let sum =
                tidemark_core::checksum(&format!("tidemark\0{}\0{}", self.schema, self.table));
            i64::from_be_bytes([
                sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7],
            ])
        })
    }

    fn tables(&self) -> Result<Tables, Error> {
        Tables::new(&self.schema, &self.table)
    }

    /// The set, and where its history lives, for the verbs built in other modules
    /// ([`drift`](Self::drift)).
    #[cfg(feature = "schema")]
    pub(crate) fn parts(&self) -> (&'m Migrations, &str, &str) {
        (self.set, &self.schema, &self.table)
    }

    /// Whether the database has exactly this set applied: one query, no lock. For readiness
    /// probes and the fast path of [`run`](Self::run).
    ///
    /// When the stored digest differs (say, a newer build applied versions this set does not
    /// have), a second query reads history and plans: up to date means nothing to do.
    pub async fn is_up_to_date<'a>(&self, db: impl Into<Db<'a>>) -> Result<bool, Error> {
        self.is_up_to_date_boxed(db.into()).await
    }

    fn is_up_to_date_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, bool> {
        Box::pin(self.is_up_to_date_on(db))
    }

    async fn is_up_to_date_on<'a>(&self, db: Db<'a>) -> Result<bool, Error> {
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let Some(mut recorded) = tables.check(&conn, self.set).await? else {
            return Ok(true);
        };
        translate(self.set, &mut recorded.history);
        Ok(
            plan::plan(self.set, &recorded.history, &Target::Latest, self.policy)
                .is_ok_and(|p| p.is_empty()),
        )
    }

    /// Plans and executes: brings the database to the target under the advisory lock.
    ///
    /// With the default target, an up-to-date database costs one round trip and no lock.
    pub async fn run<'a>(&self, db: impl Into<Db<'a>>) -> Result<Report, Error> {
        self.run_boxed(db.into()).await
    }

    fn run_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Report> {
        Box::pin(self.run_on(db))
    }

    async fn run_on<'a>(&self, db: Db<'a>) -> Result<Report, Error> {
        let span = tracing::info_span!("tidemark.run", schema = %self.schema, table = %self.table, migrations = self.set.len());
        async move {
            if self.target == Target::Latest {
                let tables = self.tables()?;
                let conn = db.shared().await?;
                let Some(mut recorded) = tables.check(&conn, self.set).await? else {
                    tracing::debug!("up to date (fast path)");
                    return Ok(Report {
                        fast_path: true,
                        ..Report::default()
                    });
                };
                // An earlier tidemark's text for a version is renamed under the lock.
                let renamed = !translate(self.set, &mut recorded.history).is_empty();
                // The same round trip brought history: a database where a newer build applied
                // more (a rolled-back deploy) has nothing to do for this set, and the replicas
                // of the older build need not queue for the lock to learn that.
                if let Ok(p) = plan::plan(self.set, &recorded.history, &self.target, self.policy) {
                    let stored = tidemark_core::to_hex(&p.digest_before);
                    if p.is_empty()
                        && !renamed
                        && recorded.digest.as_deref() == Some(stored.as_str())
                    {
                        warn_future(&p);
                        return Ok(Report::default());
                    }
                }
                // Under the lock, what this read saw is checked, not read again (a new
                // database: its tables are created without trying to read them). A renamed
                // row must be read again there, to be renamed in the database too. The
                // session that read it runs the migrations.
                return self
                    .apply(db, None, (!renamed).then_some(recorded), Some(conn))
                    .await;
            }
            self.apply(db, None, None, None).await
        }
        .instrument(span)
        .await
    }

    /// Computes what [`run`](Self::run) would do, without the lock and without changing
    /// anything but creating the history tables if they are missing.
    pub async fn plan<'a>(&self, db: impl Into<Db<'a>>) -> Result<Plan<'m>, Error> {
        self.plan_boxed(db.into()).await
    }

    fn plan_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Plan<'m>> {
        Box::pin(self.plan_on(db))
    }

    async fn plan_on<'a>(&self, db: Db<'a>) -> Result<Plan<'m>, Error> {
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let mut history = tables.ensure_and_read(&conn).await?.history;
        translate(self.set, &mut history);
        plan::plan(self.set, &history, &self.target, self.policy)
    }

    /// Executes a plan from [`plan`](Self::plan) under the lock. Fails with
    /// [`Error::StalePlan`], without changing anything, if history changed since the plan was
    /// made.
    pub async fn execute<'a>(
        &self,
        db: impl Into<Db<'a>>,
        plan: &Plan<'m>,
    ) -> Result<Report, Error> {
        self.execute_boxed(db.into(), plan).await
    }

    fn execute_boxed<'f>(&'f self, db: Db<'f>, plan: &'f Plan<'m>) -> Verb<'f, Report> {
        Box::pin(self.execute_on(db, plan))
    }

    async fn execute_on<'a>(&self, db: Db<'a>, plan: &Plan<'m>) -> Result<Report, Error> {
        self.apply(db, Some(plan), None, None).await
    }

    /// Executes the plan inside one transaction and rolls it back: the scripts really run
    /// against the real database (so errors are real), and nothing is kept, not even the
    /// history tables. A no-transaction migration cannot be rolled back, so it is not run, nor
    /// is anything after it: the report lists them as [skipped](Report::skipped).
    pub async fn dry_run<'a>(&self, db: impl Into<Db<'a>>) -> Result<Report, Error> {
        self.dry_run_boxed(db.into()).await
    }

    fn dry_run_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Report> {
        Box::pin(self.dry_run_on(db))
    }

    async fn dry_run_on<'a>(&self, db: Db<'a>) -> Result<Report, Error> {
        self.refuse_code_not_embedded(db).await?;
        self.locked(
            db,
            None,
            None,
            None,
            Frame::DryRun,
            async |session, tables, recorded, watch| {
                let plan = plan::plan(self.set, &recorded.history, &self.target, self.policy)?;
                Executor::run(
                    session,
                    tables,
                    &plan,
                    RunMode::DryRun,
                    watch,
                    &self.step_options(),
                )
                .await
            },
        )
        .await
    }

    /// Every migration of the set and of history with its state: applied (with time and
    /// duration), pending, divergent, missing or failed. Reads only; takes no lock.
    pub async fn status<'a>(&self, db: impl Into<Db<'a>>) -> Result<Status, Error> {
        self.status_boxed(db.into()).await
    }

    fn status_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Status> {
        Box::pin(self.status_on(db))
    }

    async fn status_on<'a>(&self, db: Db<'a>) -> Result<Status, Error> {
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let mut history = tables.read_existing(&conn).await?;
        translate(self.set, &mut history);
        Ok(status::status(self.set, &history, self.policy.allow_future))
    }

    /// Checks history against the set without changing anything: a failed row, a divergent
    /// checksum, a missing or an out-of-order migration is an error (unless allowed). Pending
    /// migrations are fine.
    pub async fn validate<'a>(&self, db: impl Into<Db<'a>>) -> Result<(), Error> {
        self.validate_boxed(db.into()).await
    }

    fn validate_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, ()> {
        Box::pin(self.validate_on(db))
    }

    async fn validate_on<'a>(&self, db: Db<'a>) -> Result<(), Error> {
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let mut history = tables.read_existing(&conn).await?;
        translate(self.set, &mut history);
        plan::plan(self.set, &history, &Target::Latest, self.policy).map(drop)
    }

    /// Adopts an existing database: records every versioned migration up to and including
    /// `version` as applied, without running it. Refuses a database that already has history
    /// ([`Error::HistoryNotEmpty`]). Returns the adopted versions.
    pub async fn baseline<'a>(
        &self,
        db: impl Into<Db<'a>>,
        version: &str,
    ) -> Result<Vec<String>, Error> {
        self.baseline_boxed(db.into(), version).await
    }

    fn baseline_boxed<'f>(&'f self, db: Db<'f>, version: &'f str) -> Verb<'f, Vec<String>> {
        Box::pin(self.baseline_on(db, version))
    }

    async fn baseline_on<'a>(&self, db: Db<'a>, version: &str) -> Result<Vec<String>, Error> {
        self.locked(
            db,
            None,
            None,
            None,
            Frame::Plain,
            async |session, tables, recorded, _| {
                let client = session.client();
                let (sql, adopted) =
                    maintenance::baseline(self.set, tables, &recorded.history, version)?;
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(Error::db("recording the baseline"))?;
                Ok(adopted)
            },
        )
        .await
    }

    /// Adopts a database another tool manages: reads its history table (sqlx's
    /// `_sqlx_migrations`, refinery's `refinery_schema_history`, diesel's
    /// `__diesel_schema_migrations`, Flyway's `flyway_schema_history`, or the table
    /// [`Adopt::source_table`](crate::Adopt::source_table) names), checks that every migration
    /// it applied is in the set and, where the tool records a checksum (sqlx, refinery,
    /// Flyway), that the file is unchanged, and records them in tidemark's history as applied,
    /// with the tool's timestamps, in one transaction. The other tool's table is only read.
    /// After this, [`run`](Self::run) applies only what the other tool had not.
    ///
    /// Any mismatch is an error naming the version, the file and what differs
    /// ([`Error::AdoptMismatch`], [`Error::ForeignHistory`]), and records nothing. Adopting
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
    #[cfg(feature = "adopt")]
    pub async fn adopt<'a>(
        &self,
        db: impl Into<Db<'a>>,
        from: impl Into<crate::Adopt>,
    ) -> Result<crate::AdoptReport, Error> {
        self.adopt_boxed(db.into(), from.into()).await
    }

    #[cfg(feature = "adopt")]
    fn adopt_boxed<'f>(&'f self, db: Db<'f>, from: crate::Adopt) -> Verb<'f, crate::AdoptReport> {
        Box::pin(self.adopt_on(db, from))
    }

    #[cfg(feature = "adopt")]
    async fn adopt_on<'a>(
        &self,
        db: Db<'a>,
        from: crate::Adopt,
    ) -> Result<crate::AdoptReport, Error> {
        self.locked(
            db,
            None,
            None,
            None,
            Frame::Atomic,
            async |session, tables, recorded, _| {
                let client = session.client();
                let source = crate::adopt::foreign::locate(client, &from).await?;
                let rows = crate::adopt::foreign::read(client, &source).await?;
                let (sql, report) = crate::adopt::decide::adopt(
                    self.set,
                    &source,
                    &rows,
                    tables,
                    &recorded.history,
                )?;
                if !sql.is_empty() {
                    client
                        .batch_execute(&sql)
                        .await
                        .map_err(Error::db("recording the adopted history"))?;
                }
                Ok(report)
            },
        )
        .await
    }

    /// Repairs history after a deliberate change: removes failed rows (fix the database by
    /// hand first) and re-records the checksums of applied migrations whose files were edited.
    pub async fn repair<'a>(&self, db: impl Into<Db<'a>>) -> Result<RepairReport, Error> {
        self.repair_boxed(db.into()).await
    }

    fn repair_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, RepairReport> {
        Box::pin(self.repair_on(db))
    }

    async fn repair_on<'a>(&self, db: Db<'a>) -> Result<RepairReport, Error> {
        self.locked(
            db,
            None,
            None,
            None,
            Frame::Plain,
            async |session, tables, recorded, _| {
                let client = session.client();
                let (sql, report) = maintenance::repair(self.set, tables, &recorded.history);
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(Error::db("repairing history"))?;
                Ok(report)
            },
        )
        .await
    }

    /// A set read from a folder at run time holds no code: when the plan would run a code
    /// migration, say so before taking the lock or creating anything (reading history only).
    /// The executor checks again under the lock.
    async fn refuse_code_not_embedded(&self, db: Db<'_>) -> Result<(), Error> {
        let unembedded =
            |s: &crate::migrations::Script| s.code == Some(crate::code::Code::NotEmbedded);
        if !self.set.iter().any(|m| unembedded(&m.up)) {
            return Ok(());
        }
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let mut history = tables.read_existing(&conn).await?;
        drop(conn);
        translate(self.set, &mut history);
        let plan = plan::plan(self.set, &history, &self.target, self.policy)?;
        match plan.steps().iter().find(|s| unembedded(s.script())) {
            Some(s) => Err(Error::CodeNotEmbedded {
                version: s.migration().version().to_owned(),
                path: s.script().path().to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Plans under the lock (or checks that `given` still holds) and executes.
    async fn apply<'a>(
        &self,
        db: Db<'a>,
        given: Option<&Plan<'m>>,
        seen: Option<Recorded>,
        warm: Option<Conn<'a>>,
    ) -> Result<Report, Error> {
        self.refuse_code_not_embedded(db).await?;
        // Queued behind another replica's run of the same set: done when the stored digest
        // becomes this set's, with no need to take the lock in turn.
        let done = (given.is_none() && self.target == Target::Latest).then(|| {
            (
                tables_current_sql(self, self.set.digest()),
                Report {
                    fast_path: true,
                    ..Report::default()
                },
            )
        });
        self.locked(
            db,
            done.and_then(|(sql, r)| Some((sql?, r))),
            seen,
            warm,
            Frame::Plain,
            async |session, tables, recorded, watch| {
                let fresh = plan::plan(self.set, &recorded.history, &self.target, self.policy)?;
                warn_future(&fresh);
                let plan = match given {
                    Some(p) if p.digest_before != fresh.digest_before => {
                        return Err(Error::StalePlan)
                    }
                    Some(p) => p,
                    None => &fresh,
                };
                if plan.is_empty() {
                    // Nothing to do: make sure the fast path will say so next time.
                    let digest = tidemark_core::to_hex(&plan.digest_before);
                    if recorded.digest.as_deref() != Some(digest.as_str()) {
                        session
                            .client()
                            .batch_execute(&tables.store_digest_sql(&plan.digest_before))
                            .await
                            .map_err(Error::db("recording the migration state"))?;
                    }
                    return Ok(Report::default());
                }
                Executor::run(
                    session,
                    tables,
                    plan,
                    self.mode.into(),
                    watch,
                    &self.step_options(),
                )
                .await
            },
        )
        .await
    }

    /// The frame of every verb that changes history: takes the lock, gets the session to work
    /// on (with a pool another one than the lock's: the lock's stays in its transaction),
    /// (for a dry run, opens the transaction that will be rolled back,) creates the tables if
    /// they are missing and reads what is recorded (reusing what the fast path `seen` when the
    /// stored digest says nothing changed since), runs `work` while watching the stop switch,
    /// and releases the lock on every path. `warm` is a session the caller already used (the
    /// fast path's): with a pool the work runs on it unless the lock had to be waited for.
    async fn locked<'a, T>(
        &self,
        db: Db<'a>,
        done: Option<(String, T)>,
        seen: Option<Recorded>,
        mut warm: Option<Conn<'a>>,
        frame: Frame,
        work: impl AsyncFnOnce(&mut Session<'_>, &Tables, Recorded, &Watch) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tables = self.tables()?;
        let (done_sql, done_value) = done.unzip();
        let acquired = Lock::acquire(
            db,
            self.effective_lock_key(),
            self.lock_timeout,
            self.stop.as_ref(),
            done_sql.as_deref(),
            &mut warm,
        )
        .await?;
        let lock = match (acquired, done_value) {
            (Some(lock), _) => lock,
            (None, Some(value)) => return Ok(value),
            (None, None) => unreachable!("no lock is given back only when `done` says so"),
        };
        let mut own = if lock.is_pooled() {
            let conn = match warm.take() {
                Some(c) => Ok(c.detach()),
                None => db.dedicated().await,
            };
            match conn {
                Ok(c) => Some(c),
                Err(e) => {
                    let _ = lock.release().await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        let watch = Watch {
            stop: self.stop.clone(),
            ..Watch::default()
        };
        let result = {
            let mut session = match own.as_mut() {
                Some(conn) => match conn.exclusive() {
                    Some(c) => Session::Owned(c),
                    None => Session::Shared(conn),
                },
                None => Session::Shared(lock.client()),
            };
            let token = session.client().cancel_token();
            let result: Result<T, Error> = {
                let run = async {
                    let client = session.client();
                    if frame != Frame::Plain {
                        client
                            .batch_execute("BEGIN")
                            .await
                            .map_err(Error::db("starting a transaction"))?;
                    }
                    let recorded = match (frame, seen) {
                        // Inside a transaction a failed read would abort it.
                        (Frame::DryRun | Frame::Atomic, _) => {
                            tables.ensure_and_read(client).await?
                        }
                        (Frame::Plain, None) => tables.read_or_create(client).await?,
                        // The fast path saw a new database: create without looking first.
                        (Frame::Plain, Some(seen)) if seen.absent != Absent::Nothing => {
                            tables.create_and_read(client, seen.absent).await?
                        }
                        (Frame::Plain, Some(seen)) => tables.reread(client, seen).await?,
                    };
                    watch.pid.store(recorded.pid.unwrap_or(0), Ordering::SeqCst);
                    let mut recorded = recorded;
                    let renames = translate(self.set, &mut recorded.history);
                    if !renames.is_empty() {
                        client
                            .batch_execute(&tables.rename_sql(&renames))
                            .await
                            .map_err(Error::db(
                                "renaming history rows of an earlier version text",
                            ))?;
                    }
                    let value = work(&mut session, &tables, recorded, &watch).await?;
                    if frame == Frame::Atomic {
                        session
                            .client()
                            .batch_execute("COMMIT")
                            .await
                            .map_err(Error::db("committing"))?;
                    }
                    Ok(value)
                };
                tokio::pin!(run);
                let mut cancelled = false;
                let result: Result<T, Error> = loop {
                    tokio::select! {
                        r = &mut run => break r,
                        () = stop::stopped(self.stop.as_ref()), if !cancelled => {
                            cancelled = true;
                            cancel_running(&lock, &token, watch.pid.load(Ordering::SeqCst)).await;
                        }
                    }
                };
                result
            };
            if frame == Frame::DryRun || (frame == Frame::Atomic && result.is_err()) {
                // Whatever ran is undone, also when nothing ran at all (the batch ends in its own
                // ROLLBACK; one more outside a transaction is only a server warning).
                let _ = session.client().batch_execute("ROLLBACK").await;
            }
            result
        };
        let result = match result {
            Err(e) if watch.is_stopped() => Err(Error::Interrupted {
                applied: e.partial_report().cloned().unwrap_or_default(),
            }),
            other => other,
        };
        drop(own);
        let released = lock.release().await;
        let value = result?;
        released?;
        Ok(value)
    }
}

/// Says that the database has versions newer than the set (tolerated, see
/// [`Migrator::allow_future`]).
fn warn_future(plan: &Plan<'_>) {
    if !plan.future_versions().is_empty() {
        tracing::warn!(
            target: events::FUTURE,
            versions = %plan.future_versions().join(", "),
            "the database has versions newer than this build's migrations (left by a newer \
             build); they are tolerated and left alone"
        );
    }
}

/// Cancels the statement the migrating session runs: from the lock's own session (which stays
/// usable in its transaction), or, on a caller's single client, through its cancel token.
async fn cancel_running(lock: &Lock<'_>, work: &tokio_postgres::CancelToken, pid: i32) {
    if lock.is_pooled() {
        if pid != 0 {
            let _ = lock
                .client()
                .simple_query(&format!("SELECT pg_cancel_backend({pid})"))
                .await;
        }
    } else {
        let _ = work.cancel_query(tokio_postgres::NoTls).await;
    }
}

/// What a locked verb's work runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// As the work sends it (runs: their own transactions per step).
    Plain,
    /// One transaction, always rolled back (`dry_run`).
    DryRun,
    /// One transaction, committed when the work succeeds and rolled back otherwise, the
    /// bookkeeping tables' creation included (`adopt`: a refusal leaves no trace).
    Atomic,
}

/// The query that says whether the stored digest is `digest` (`t`), for a waiter; `None` when
/// the history names are unusable (the run then fails on them as it would anyway).
fn tables_current_sql(m: &Migrator<'_>, digest: &[u8; 32]) -> Option<String> {
    m.tables().ok().map(|t| t.current_sql(digest))
}
