//! The verbs of a [`Migrator`]: each public one converts its database argument and awaits one
//! private function that returns its future boxed.
//!
//! Why boxed: awaited directly, a verb's future made a user's release build compile and
//! optimise a whole migration run inside their own crate (4 s of a rebuild after editing one of
//! 1,000 migrations); built and boxed here, the work is compiled once, in this crate, for one
//! allocation per call.

use super::phases::forced;
use super::Migrator;
use crate::db::Db;
use crate::db::Session;
use crate::error::Error;
use crate::events;
use crate::execute::{Executor, Run, RunMode};
use crate::history::{translate, HistoryRow, Prior, Recorded, Tables};
use crate::maintenance::{self, RepairReport};
use crate::migrations::Migrations;
use crate::plan::{self, Plan};
use crate::report::Report;
use crate::status::{self, Status};
use crate::stop::Watch;
use crate::target::Target;
use crate::visit::{Frame, Visit};
use crate::warning::Warning;
use tracing::Instrument;

/// The future of a verb, boxed where it is made (see the module's documentation).
pub(crate) type Verb<'f, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'f>>;

impl<'m> Migrator<'m> {
    /// Whether the database has exactly this set applied: one query, no lock. For readiness
    /// probes and the fast path of [`run`](Self::run).
    ///
    /// When the stored digest differs (say, a newer build applied versions this set does not
    /// have), a second query reads history and plans: up to date means nothing to do.
    pub async fn is_up_to_date<'a>(&self, db: impl Into<Db<'a>>) -> Result<bool, Error> {
        self.is_up_to_date_boxed(db.into()).await
    }

    fn is_up_to_date_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, bool> {
        Box::pin(async move {
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
        })
    }

    /// Plans and executes: brings the database to the target under the advisory lock.
    ///
    /// With the default target, an up-to-date database costs one round trip and no lock.
    pub async fn run<'a>(&self, db: impl Into<Db<'a>>) -> Result<Report, Error> {
        self.run_boxed(db.into()).await
    }

    fn run_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Report> {
        let span = tracing::info_span!("tidemark.run", schema = %self.schema, table = %self.table, migrations = self.set.len());
        Box::pin(
            async move {
                let mut visit = self.visit(db)?;
                if self.target == Target::Latest {
                    if let Some(report) = self.fast_path(&mut visit).await? {
                        return Ok(with_stale(self.set, report));
                    }
                }
                self.apply(visit, None)
                    .await
                    .map(|r| with_stale(self.set, r))
            }
            .instrument(span),
        )
    }

    /// Computes what [`run`](Self::run) would do, without the lock and without changing
    /// anything but creating the history tables if they are missing.
    pub async fn plan<'a>(&self, db: impl Into<Db<'a>>) -> Result<Plan<'m>, Error> {
        self.plan_boxed(db.into()).await
    }

    fn plan_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Plan<'m>> {
        Box::pin(async move {
            let tables = self.tables()?;
            let conn = db.shared().await?;
            // Made sure of in one statement, as in a transaction: planning creates the tables
            // and reads them in one round trip.
            let mut history = tables
                .read_creating(&conn, Prior::Unknown, true, false)
                .await?
                .history;
            translate(self.set, &mut history);
            let mut plan = plan::plan(self.set, &history, &self.target, self.policy)?;
            self.refuse_missing_contract(&conn, &tables, &plan).await?;
            self.gate(&conn, &tables, &mut plan).await?;
            Ok(plan)
        })
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
        Box::pin(async move {
            let report = self.apply(self.visit(db)?, Some(plan)).await?;
            Ok(with_stale(self.set, report))
        })
    }

    /// Executes the plan inside one transaction and rolls it back: the scripts really run
    /// against the real database (so errors are real), and nothing is kept, not even the
    /// history tables. A no-transaction migration cannot be rolled back, so it is not run, nor
    /// is anything after it: the report lists them as [skipped](Report::skipped).
    pub async fn dry_run<'a>(&self, db: impl Into<Db<'a>>) -> Result<Report, Error> {
        self.dry_run_boxed(db.into()).await
    }

    fn dry_run_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Report> {
        Box::pin(async move {
            self.refuse_code_not_embedded(db).await?;
            self.under_lock(
                db,
                Frame::DryRun,
                async |session, tables, recorded, watch| {
                    let mut plan =
                        plan::plan(self.set, &recorded.history, &self.target, self.policy)?;
                    self.refuse_missing_contract(session.client(), tables, &plan)
                        .await?;
                    self.gate(session.client(), tables, &mut plan).await?;
                    let options = self.step_options();
                    let mut report = Executor::run(
                        session,
                        tables,
                        &plan,
                        Run::plain(RunMode::DryRun),
                        watch,
                        &options,
                    )
                    .await?;
                    report.waiting = plan.waiting;
                    report.warnings.extend(forced(plan.forced));
                    Ok(report)
                },
            )
            .await
        })
    }

    /// Every migration of the set and of history with its state: applied (with time and
    /// duration), pending, divergent, missing or failed. Reads only; takes no lock.
    pub async fn status<'a>(&self, db: impl Into<Db<'a>>) -> Result<Status, Error> {
        self.status_boxed(db.into()).await
    }

    fn status_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, Status> {
        Box::pin(async move {
            let history = self.read_history(db).await?;
            let mut status = status::status(self.set, &history, self.policy.allow_future);
            self.registry_in_status(db, &mut status).await?;
            let future: Vec<String> = status
                .in_state(crate::State::Future)
                .map(|e| e.version.clone())
                .collect();
            status.warnings.extend(crate::stale::check_once(self.set));
            if !future.is_empty() {
                status
                    .warnings
                    .push(Warning::FutureVersions { versions: future });
            }
            Ok(status)
        })
    }

    /// Checks history against the set without changing anything: a failed row, a divergent
    /// checksum, a missing or an out-of-order migration is an error (unless allowed). Pending
    /// migrations are fine.
    pub async fn validate<'a>(&self, db: impl Into<Db<'a>>) -> Result<(), Error> {
        self.validate_boxed(db.into()).await
    }

    fn validate_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, ()> {
        Box::pin(async move {
            let history = self.read_history(db).await?;
            plan::plan(self.set, &history, &Target::Latest, self.policy).map(drop)
        })
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
        Box::pin(
            self.rewrite_history(db, "recording the baseline", |tables, history| {
                maintenance::baseline(self.set, tables, history, version)
            }),
        )
    }

    /// Repairs history after a deliberate change: removes failed rows (fix the database by
    /// hand first) and re-records the checksums of applied migrations whose files were edited.
    pub async fn repair<'a>(&self, db: impl Into<Db<'a>>) -> Result<RepairReport, Error> {
        self.repair_boxed(db.into()).await
    }

    fn repair_boxed<'f>(&'f self, db: Db<'f>) -> Verb<'f, RepairReport> {
        Box::pin(
            self.rewrite_history(db, "repairing history", |tables, history| {
                Ok(maintenance::repair(self.set, tables, history))
            }),
        )
    }

    /// Under the lock: the history statements `change` makes from what is recorded, sent in
    /// one message (`baseline`, `repair`).
    async fn rewrite_history<T>(
        &self,
        db: Db<'_>,
        doing: &'static str,
        change: impl FnOnce(&Tables, &[HistoryRow]) -> Result<(String, T), Error>,
    ) -> Result<T, Error> {
        self.under_lock(db, Frame::Plain, async |session, tables, recorded, _| {
            let (sql, value) = change(tables, &recorded.history)?;
            session
                .client()
                .batch_execute(&sql)
                .await
                .map_err(Error::db(doing))?;
            Ok(value)
        })
        .await
    }

    /// History as recorded, creating nothing (no table: no history), old row names translated.
    async fn read_history(&self, db: Db<'_>) -> Result<Vec<crate::history::HistoryRow>, Error> {
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let mut history = tables.read_existing(&conn).await?;
        drop(conn);
        translate(self.set, &mut history);
        Ok(history)
    }

    /// The fast path of `run`: one small statement when the database is up to date (its
    /// report), else `None`, with what it read and the session it read on kept in the visit.
    async fn fast_path(&self, visit: &mut Visit<'_>) -> Result<Option<Report>, Error> {
        let conn = visit.db().shared().await?;
        let Some(mut recorded) = visit.tables().check(&conn, self.set).await? else {
            tracing::debug!("up to date (fast path)");
            return Ok(Some(Report {
                fast_path: true,
                ..Report::default()
            }));
        };
        // An earlier tidemark's text for a version is renamed under the lock.
        let renamed = !translate(self.set, &mut recorded.history).is_empty();
        // The same round trip brought history: a database where a newer build applied more (a
        // rolled-back deploy) has nothing to do for this set, and the replicas of the older
        // build need not queue for the lock to learn that.
        if let Ok(p) = plan::plan(self.set, &recorded.history, &self.target, self.policy) {
            let stored = tidemark_core::to_hex(&p.digest_before);
            if p.is_empty() && !renamed && recorded.digest.as_deref() == Some(stored.as_str()) {
                self.refuse_missing_contract(&conn, visit.tables(), &p)
                    .await?;
                return Ok(Some(Report {
                    warnings: warn_future(&p).into_iter().collect(),
                    ..Report::default()
                }));
            }
        }
        // Under the lock, what this read saw is checked, not read again (a new database: its
        // tables are created without trying to read them). A renamed row must be read again
        // there, to be renamed in the database too. The session that read it runs the
        // migrations.
        visit.learned(conn, (!renamed).then_some(recorded));
        Ok(None)
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
        let history = self.read_history(db).await?;
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
    async fn apply(&self, mut visit: Visit<'_>, given: Option<&Plan<'m>>) -> Result<Report, Error> {
        self.refuse_code_not_embedded(visit.db()).await?;
        let lock = if given.is_none() && self.target == Target::Latest {
            // Queued behind another replica's run of the same set: done when the stored
            // digest becomes this set's, with no need to take the lock in turn.
            let done = visit.tables().current_sql(self.set.digest());
            match visit.lock_unless_done(&done).await? {
                Some(lock) => lock,
                None => {
                    return Ok(Report {
                        fast_path: true,
                        ..Report::default()
                    })
                }
            }
        } else {
            visit.lock().await?
        };
        visit
            .locked(
                lock,
                self.set,
                Frame::Plain,
                async |session, tables, recorded, watch| {
                    self.apply_locked(session, tables, recorded, watch, given)
                        .await
                },
            )
            .await
    }
}

impl<'m> Migrator<'m> {
    /// The work of [`apply`](Self::apply) under the lock: plans from what is recorded and runs
    /// the plan. What the fast path read stands unread ([`Recorded::check`]) only when the plan
    /// made from it runs a batch first, which carries the check; otherwise, and when the check
    /// refuses the batch (history changed since the fast path: nothing ran), history is read
    /// again and planned from.
    async fn apply_locked(
        &self,
        session: &mut Session<'_>,
        tables: &Tables,
        mut recorded: Recorded,
        watch: &Watch,
        given: Option<&Plan<'m>>,
    ) -> Result<Report, Error> {
        loop {
            let mut fresh = plan::plan(self.set, &recorded.history, &self.target, self.policy);
            if let Ok(p) = fresh.as_mut() {
                self.gate(session.client(), tables, p).await?;
            }
            let batched_first = fresh.as_ref().is_ok_and(|p| {
                p.steps()
                    .first()
                    .is_some_and(|s| !s.script().is_code() && !s.script().no_transaction())
            });
            if recorded.check.is_some() && (given.is_some() || !batched_first) {
                recorded = tables.settle(session.client(), recorded).await?;
                continue;
            }
            let fresh = fresh?;
            self.refuse_missing_contract(session.client(), tables, &fresh)
                .await?;
            let future = warn_future(&fresh);
            let plan = match given {
                Some(p) if p.digest_before != fresh.digest_before => return Err(Error::StalePlan),
                Some(p) => {
                    let mut p = p.clone();
                    (p.waiting, p.forced) = (Vec::new(), Vec::new());
                    self.gate(session.client(), tables, &mut p).await?;
                    p
                }
                None => fresh,
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
                return Ok(Report {
                    warnings: future.into_iter().collect(),
                    waiting: plan.waiting,
                    ..Report::default()
                });
            }
            let run = Run {
                mode: self.mode.into(),
                check: recorded.check.clone(),
                server_version: recorded.server_version,
            };
            match Executor::run(session, tables, &plan, run, watch, &self.step_options()).await {
                Err(Error::StalePlan) if recorded.check.is_some() => {
                    tracing::debug!(
                        "history changed since the fast path read it; reading it again"
                    );
                    recorded = tables.settle(session.client(), recorded).await?;
                }
                Ok(mut report) => {
                    report.warnings.extend(future);
                    report.waiting = plan.waiting;
                    report.warnings.extend(forced(plan.forced));
                    return Ok(report);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// `report` with the stale-binary warning first, when the binary is stale.
fn with_stale(set: &Migrations, mut report: Report) -> Report {
    if let Some(w) = crate::stale::check_once(set) {
        report.warnings.insert(0, w);
    }
    report
}

/// The warning that the database has versions newer than the set (tolerated, see
/// [`Migrator::allow_future`]), also a `tracing` event.
fn warn_future(plan: &Plan<'_>) -> Option<Warning> {
    if plan.future_versions().is_empty() {
        return None;
    }
    let w = Warning::FutureVersions {
        versions: plan.future_versions().to_vec(),
    };
    tracing::warn!(
        target: events::FUTURE,
        versions = %plan.future_versions().join(", "),
        "{w}"
    );
    Some(w)
}
