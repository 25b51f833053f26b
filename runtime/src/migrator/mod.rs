//! The `Migrator`: the builder here, its verbs in [`verbs`], the visit each verb makes to its
//! database in [`crate::visit`].

mod phases;
#[cfg(feature = "rolling")]
mod rolling;
mod verbs;

use crate::db::{Db, Session};
use crate::error::Error;
use crate::execute::StepOptions;
use crate::history::{Recorded, Tables};
use crate::migrations::Migrations;
use crate::plan::Policy;
use crate::stop::{Stop, Watch};
use crate::target::{Target, TransactionMode};
use crate::visit::{Frame, Locking, Visit};
use std::time::Duration;

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
    /// What to do with a contract migration whose gate is closed.
    gate: Gate,
    /// The registered instance this migrator runs for (its own row holds no gate).
    instance: Option<String>,
}

/// What a run does with a contract migration that a live instance lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Leave it out and report it as waiting (`run`).
    Wait,
    /// Refuse the run with the list ([`Migrator::contract`]).
    Refuse,
    /// Run it, listing who lacked it ([`Migrator::force_contracts`]).
    Force,
}

impl<'m> Migrator<'m> {
    fn new(set: &'m Migrations) -> Self {
        // Read once per process and set; a stale debug binary is also a `tracing` warning as
        // soon as a migrator is made (the reports carry it too).
        let _ = crate::stale::check_once(set);
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
            gate: Gate::Wait,
            instance: None,
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
    /// back. They are logged as a warning (target [`events::FUTURE`](crate::events::FUTURE)) and listed as
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

    /// Runs contract migrations even when live registered instances embed sets without them
    /// (default `false`: such a migration waits, see [`Report::waiting`](crate::Report::waiting)).
    /// The report's warnings name the instances overridden
    /// ([`Warning::ContractForced`](crate::Warning::ContractForced)): they may break. For an operator who knows those instances are gone or do not use what
    /// the migration removes (`migrate contract --force`).
    pub fn force_contracts(mut self, force: bool) -> Self {
        self.gate = if force { Gate::Force } else { Gate::Wait };
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

    pub(crate) fn tables(&self) -> Result<Tables, Error> {
        Tables::new(&self.schema, &self.table)
    }

    /// The set, and where its history lives, for the verbs built in other modules
    /// ([`drift`](Self::drift)).
    #[cfg(feature = "schema")]
    pub(crate) fn parts(&self) -> (&'m Migrations, &str, &str) {
        (self.set, &self.schema, &self.table)
    }

    /// The set of migrations, for the verbs built in other modules.
    #[cfg(feature = "adopt")]
    pub(crate) fn set(&self) -> &'m crate::migrations::Migrations {
        self.set
    }

    /// The advisory lock's settings for a visit.
    fn locking(&self) -> Locking {
        Locking {
            key: self.effective_lock_key(),
            timeout: self.lock_timeout,
            stop: self.stop.clone(),
        }
    }

    /// Takes the lock on `db` and runs `work` under it in `frame` (see [`Visit::locked`]):
    /// every locked verb but `run`/`execute`, which may stop waiting once another migrator
    /// did their work.
    pub(crate) async fn under_lock<T>(
        &self,
        db: Db<'_>,
        frame: Frame,
        work: impl AsyncFnOnce(&mut Session<'_>, &Tables, Recorded, &Watch) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut visit = self.visit(db)?;
        let lock = visit.lock().await?;
        visit.locked(lock, self.set, frame, work).await
    }

    /// A new visit to `db` (fails on unusable history names before anything is sent).
    pub(crate) fn visit<'a>(&self, db: Db<'a>) -> Result<Visit<'a>, Error> {
        Ok(Visit::new(db, self.tables()?, self.locking()))
    }
}
