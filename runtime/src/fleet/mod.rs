//! One set, many databases: a schema per tenant, a database per tenant, or a few shards,
//! brought to the same target with bounded concurrency ([`Migrator::fleet`]).
//!
//! ```no_run
//! # async fn f(pool: tidemark::deadpool_postgres::Pool) -> Result<(), tidemark::Error> {
//! use tidemark::fleet::{self, FleetTarget};
//! static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
//!
//! let tenants = fleet::schemas(&pool, "tenant_%").await?;
//! let report = MIGRATIONS
//!     .migrator()
//!     .fleet(tenants.into_iter().map(|s| FleetTarget::schema(&pool, s)))
//!     .concurrency(4)
//!     .canary(2)
//!     .run()
//!     .await;
//! println!("{report}");
//! if !report.is_success() {
//!     std::process::exit(1);
//! }
//! # Ok(()) }
//! ```
//!
//! Each target is one ordinary run, with every guarantee of a single database: its own
//! advisory lock, exactly-once application, the partial-state rules. A schema target (one
//! tenant of a database) keeps its history in its own schema (`{schema}.tidemark_history`,
//! so its lock key is its own too) and runs its migrations with that schema as `search_path`,
//! set in each migration's transaction so nothing leaks into the pool. tidemark adds no
//! scheduler: at most `concurrency` targets run at once, each on connections of its own.
//!
//! Policies: by default the first failure stops the fleet — targets running at that moment
//! finish their own run (a run is never cut midway), targets not yet started are
//! [skipped](Outcome::Skipped). With [`continue_on_error`](Fleet::continue_on_error) every
//! target is tried. With a [`canary`](Fleet::canary) of K, the first K targets run first, and
//! the rest only if all K succeeded.

mod discover;
mod report;

pub use discover::{databases, query, schemas};
pub use report::{FleetReport, FleetStatus, Outcome, TargetReport, TargetStatus};

use crate::connect::ConnectOptions;
use crate::error::Error;
use crate::migrator::Migrator;
use crate::report::Report;
use crate::status::Status;
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tracing::Instrument;

/// Where one member of a fleet lives.
#[derive(Clone)]
enum Place {
    /// A pool the caller owns.
    Pool(Pool),
    /// A connection string: the fleet opens a small pool for the target's run and closes it
    /// after, so a fleet of hundreds of databases never holds hundreds of idle connections.
    Connect(Box<ConnectOptions>),
}

/// One database or one schema of a fleet.
#[derive(Clone)]
pub struct FleetTarget {
    name: String,
    place: Place,
    schema: Option<String>,
    placeholders: Vec<(String, String)>,
}

impl std::fmt::Debug for FleetTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetTarget")
            .field("name", &self.name)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl FleetTarget {
    /// A database, through a pool the caller owns, named `name` in reports.
    pub fn database(name: impl Into<String>, pool: &Pool) -> Self {
        Self {
            name: name.into(),
            place: Place::Pool(pool.clone()),
            schema: None,
            placeholders: Vec::new(),
        }
    }

    /// A database given by connection options: the fleet connects when the target's turn
    /// comes and closes its connections when the target is done.
    pub fn connect(name: impl Into<String>, options: ConnectOptions) -> Self {
        Self {
            name: name.into(),
            place: Place::Connect(Box::new(options)),
            schema: None,
            placeholders: Vec::new(),
        }
    }

    /// One tenant schema of the database behind `pool`: its history in that schema, its
    /// migrations with that schema as `search_path`. Named by the schema in reports.
    pub fn schema(pool: &Pool, schema: impl Into<String>) -> Self {
        let schema = schema.into();
        Self {
            name: schema.clone(),
            place: Place::Pool(pool.clone()),
            schema: Some(schema),
            placeholders: Vec::new(),
        }
    }

    /// Its name in reports: the database's name, or the schema's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `${name}` placeholder value for this target only (a tenant's role, say); it turns
    /// substitution on, as [`Migrator::placeholder`] does, and wins over the fleet's value.
    pub fn placeholder(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.placeholders.push((name.into(), value.into()));
        self
    }

    /// The migrator for this target: the fleet's, pointed at the tenant's schema, with the
    /// target's own placeholder values.
    fn migrator<'m>(&self, template: &Migrator<'m>) -> Migrator<'m> {
        let mut m = match &self.schema {
            Some(s) => template
                .clone()
                .schema(s.clone())
                .search_path(crate::sql::ident(s)),
            None => template.clone(),
        };
        for (k, v) in &self.placeholders {
            m = m.placeholder(k.clone(), v.clone());
        }
        m
    }

    /// Runs `verb` against this target's database.
    async fn with_pool<T>(
        &self,
        verb: impl AsyncFnOnce(&Pool) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match &self.place {
            Place::Pool(pool) => verb(pool).await,
            Place::Connect(options) => {
                let pool = options.pool(2)?;
                let out = verb(&pool).await;
                pool.close();
                out
            }
        }
    }
}

/// The progress callback of a fleet run.
type OnDone = Arc<dyn Fn(&TargetReport) + Send + Sync>;

/// A migration set and a list of targets, with the policies of a fleet run. Get one from
/// [`Migrator::fleet`]; the migrator's options (target version, lock timeout, history table,
/// placeholders, …) apply to every target.
#[must_use = "a Fleet does nothing until run or status is awaited"]
pub struct Fleet<'m> {
    template: Migrator<'m>,
    targets: Vec<FleetTarget>,
    concurrency: usize,
    canary: usize,
    continue_on_error: bool,
    on_done: Option<OnDone>,
}

impl std::fmt::Debug for Fleet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("targets", &self.targets)
            .field("concurrency", &self.concurrency)
            .field("canary", &self.canary)
            .field("continue_on_error", &self.continue_on_error)
            .finish_non_exhaustive()
    }
}

impl<'m> Migrator<'m> {
    /// A [`Fleet`]: this migrator, with its options, for each of `targets`.
    pub fn fleet(&self, targets: impl IntoIterator<Item = FleetTarget>) -> Fleet<'m> {
        Fleet {
            template: self.clone(),
            targets: targets.into_iter().collect(),
            concurrency: 1,
            canary: 0,
            continue_on_error: false,
            on_done: None,
        }
    }
}

impl Fleet<'_> {
    /// How many targets run at once (default 1; at least 1). Each running target uses up to
    /// two connections of its database at a time (the lock's and the migrations').
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Run the first `k` targets first, and the others only if all of them succeeded
    /// (default 0: no canary phase).
    pub fn canary(mut self, k: usize) -> Self {
        self.canary = k;
        self
    }

    /// Try every target even after one failed (default: the first failure stops the fleet;
    /// targets already running finish, the others are skipped).
    pub fn continue_on_error(mut self, yes: bool) -> Self {
        self.continue_on_error = yes;
        self
    }

    /// Called as each target finishes (from the task that ran it), for progress displays.
    pub fn on_target_done(mut self, f: impl Fn(&TargetReport) + Send + Sync + 'static) -> Self {
        self.on_done = Some(Arc::new(f));
        self
    }

    /// The targets, in the order given.
    pub fn targets(&self) -> &[FleetTarget] {
        &self.targets
    }

    /// Brings every target to the migrator's target version; one report per target, in the
    /// order given.
    pub async fn run(&self) -> FleetReport {
        let k = self.canary.min(self.targets.len());
        let (canary, rest) = self.targets.split_at(k);
        let halt = AtomicBool::new(false);
        let mut targets = self.phase(canary, &halt).await;
        let canary_failed = targets.iter().any(|t| t.outcome.is_failure());
        if canary_failed {
            for t in rest {
                targets.push(self.done(TargetReport {
                    target: t.name.clone(),
                    outcome: Outcome::Skipped(report::SKIPPED_CANARY),
                }));
            }
        } else {
            targets.extend(self.phase(rest, &halt).await);
        }
        FleetReport { targets }
    }

    /// Reads every target's status (all of them, whatever fails).
    pub async fn status(&self) -> FleetStatus {
        let mut out: Vec<(usize, TargetStatus)> =
            futures_util::stream::iter(self.targets.iter().enumerate())
                .map(|(i, t)| async move {
                    let m = t.migrator(&self.template);
                    let status: Result<Status, Error> =
                        t.with_pool(async |p| m.status(p).await).await;
                    (
                        i,
                        TargetStatus {
                            target: t.name.clone(),
                            status,
                        },
                    )
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        out.sort_by_key(|(i, _)| *i);
        FleetStatus {
            targets: out.into_iter().map(|(_, s)| s).collect(),
        }
    }

    /// Runs `targets` with the fleet's concurrency; `halt` is set by the first failure unless
    /// the fleet continues on errors, and targets that see it set do not start.
    async fn phase(&self, targets: &[FleetTarget], halt: &AtomicBool) -> Vec<TargetReport> {
        let mut out: Vec<(usize, TargetReport)> =
            futures_util::stream::iter(targets.iter().enumerate())
                .map(|(i, t)| async move {
                    let outcome = if halt.load(Ordering::SeqCst) {
                        Outcome::Skipped(report::SKIPPED_HALT)
                    } else {
                        let m = t.migrator(&self.template);
                        let result: Result<Report, Error> = t
                            .with_pool(async |p| m.run(p).await)
                            .instrument(tracing::info_span!("fleet", target = %t.name))
                            .await;
                        match result {
                            Ok(r) => Outcome::Migrated(r),
                            Err(e) => {
                                if !self.continue_on_error {
                                    halt.store(true, Ordering::SeqCst);
                                }
                                Outcome::Failed(e)
                            }
                        }
                    };
                    let report = self.done(TargetReport {
                        target: t.name.clone(),
                        outcome,
                    });
                    (i, report)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// Tells the progress callback and the log that a target is done.
    fn done(&self, report: TargetReport) -> TargetReport {
        tracing::info!(
            target: crate::events::FLEET,
            target_name = %report.target,
            outcome = report.outcome.label(),
            "fleet target done"
        );
        if let Some(f) = &self.on_done {
            f(&report);
        }
        report
    }
}
