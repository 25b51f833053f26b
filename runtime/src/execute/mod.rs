//! Runs a [`Plan`]: transactional steps as [batches](crate::batch) (one round trip for many
//! migrations), no-transaction steps statement by statement with a failed row first, Rust code
//! migrations ([`code`]) in a transaction of their own or on the connection.

mod code;
mod outside;

use crate::batch::{Batch, Wrap};
use crate::db::Session;
use crate::error::{Error, MigrationFailed};
use crate::events;
use crate::history::{Tables, START_COLUMN, STEP_COLUMN};
use crate::locate::{query_char, script_offset};
use crate::placeholders::Placeholders;
use crate::plan::{Plan, PlannedStep};
use crate::report::{Direction, Report, SkipReason, SkippedStep, StepReport};
use crate::stop::Watch;
use crate::target::TransactionMode;
use futures_util::{pin_mut, StreamExt};
use std::time::Duration;
use tokio_postgres::SimpleQueryMessage;

/// A batch is cut after this many bytes of SQL or this many steps.
const BATCH_BYTES: usize = 8 << 20;
const BATCH_STEPS: usize = 5000;

/// How the executor wraps steps in transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunMode {
    /// `BEGIN … COMMIT` around each step; no-transaction steps run on their own.
    PerMigration,
    /// One `BEGIN … COMMIT` around all steps.
    Single,
    /// The caller has opened a transaction; all steps run in it and are rolled back.
    DryRun,
}

impl From<TransactionMode> for RunMode {
    fn from(m: TransactionMode) -> Self {
        match m {
            TransactionMode::PerMigration => Self::PerMigration,
            TransactionMode::Single => Self::Single,
        }
    }
}

/// How one run goes: its wrapping, the check its first message carries (history read before
/// the lock and not again: [`Recorded::check`](crate::history::Recorded)) and the server's
/// version when known.
pub(crate) struct Run {
    pub(crate) mode: RunMode,
    pub(crate) check: Option<String>,
    pub(crate) server_version: Option<u32>,
}

impl Run {
    /// `mode`, with history read under the lock and the version not known.
    pub(crate) fn plain(mode: RunMode) -> Self {
        Self {
            mode,
            check: None,
            server_version: None,
        }
    }
}

/// What every step of a run gets: the DDL lock policy
/// ([`Migrator::ddl_lock_timeout`](crate::Migrator::ddl_lock_timeout): each transactional
/// step's `lock_timeout`, and how often a step that gave up waiting is retried), the tenant's
/// `search_path` ([`Migrator::search_path`](crate::Migrator::search_path)) and the placeholder
/// values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepOptions {
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) search_path: Option<String>,
    pub(crate) placeholders: Placeholders,
}

impl Default for StepOptions {
    fn default() -> Self {
        Self {
            lock_timeout: None,
            retries: 5,
            search_path: None,
            placeholders: Placeholders::default(),
        }
    }
}

/// The first wait before retrying a step that gave up waiting for a lock; it doubles each
/// time, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Where a batch failed.
struct Failure {
    /// Index of the failing step in the batch.
    failing: usize,
    /// Steps of the batch that committed before the failure.
    done: usize,
    /// Byte offset of the error in the failing script, when known.
    byte: Option<usize>,
    error: tokio_postgres::Error,
    failed_row: bool,
}

impl Failure {
    /// Whether the failure is the refusal of the run's check: nothing ran.
    fn is_check(&self) -> bool {
        crate::history::Recorded::is_changed(&self.error)
    }
}

pub(crate) struct Executor<'a, 's> {
    session: &'a mut Session<'s>,
    tables: &'a Tables,
    digest: [u8; 32],
    report: Report,
    watch: &'a Watch,
    /// Each step's start ([`step_start_sql`](crate::history::step_start_sql)).
    start_sql: String,
    opts: &'a StepOptions,
    /// The check the next message carries, until a message got past it (a message the server
    /// rejected whole, for a syntax error in one of its scripts, ran nothing: the steps re-sent
    /// before the failing one carry it again).
    check: Option<String>,
}

impl<'a, 's> Executor<'a, 's> {
    /// Executes every step of `plan`; the returned report lists what ran. With a check
    /// (`run.check`), [`Error::StalePlan`] when it refused the first message: nothing ran.
    pub(crate) async fn run(
        session: &'a mut Session<'s>,
        tables: &'a Tables,
        plan: &Plan<'_>,
        run: Run,
        watch: &'a Watch,
        opts: &'a StepOptions,
    ) -> Result<Report, Error> {
        let mode = run.mode;
        code::check_runnable(plan.steps(), session)?;
        for step in plan.steps().iter().filter(|s| !s.script().is_code()) {
            let script = step.script();
            opts.placeholders
                .check(script.path(), &script.sql_to_run())?;
        }
        let mut ex = Executor {
            session,
            tables,
            digest: plan.digest_before,
            report: Report::default(),
            watch,
            start_sql: crate::history::step_start_sql(
                opts.lock_timeout,
                opts.search_path.as_deref(),
                run.server_version,
            ),
            opts,
            check: run.check,
        };
        let steps = ex.runnable(plan.steps(), mode)?;
        let out_of_order = steps.iter().any(PlannedStep::marked_out_of_order);
        let contract = steps.iter().any(PlannedStep::applies_contract);
        if out_of_order || contract {
            ex.tables
                .add_flag_columns(ex.session.client(), out_of_order, contract)
                .await?;
        }
        let batched = |s: &PlannedStep<'_>| !s.script().is_code() && !s.script().no_transaction();
        if ex.check.is_some() && !steps.first().is_some_and(batched) {
            ex.check_alone().await?;
        }
        match mode {
            RunMode::PerMigration => ex.run_per_migration(steps).await?,
            _ => ex.run_together(steps, mode).await?,
        }
        Ok(ex.report)
    }

    /// The steps `mode` can run: a dry run leaves out the first no-transaction step and what
    /// follows it (listed as skipped: it cannot be rolled back, and what follows may depend on
    /// it); a single-transaction run refuses a no-transaction step before anything runs.
    fn runnable<'p, 'm>(
        &mut self,
        steps: &'p [PlannedStep<'m>],
        mode: RunMode,
    ) -> Result<&'p [PlannedStep<'m>], Error> {
        let Some(k) = steps.iter().position(|s| s.script().no_transaction()) else {
            return Ok(steps);
        };
        match mode {
            RunMode::DryRun => {
                self.report.skipped = steps[k..]
                    .iter()
                    .enumerate()
                    .map(|(i, s)| skipped(s, i == 0))
                    .collect();
                Ok(&steps[..k])
            }
            RunMode::Single => Err(Error::NoTransactionInSingleRun {
                version: steps[k].migration().version().to_owned(),
                path: steps[k].script().path().to_owned(),
            }),
            RunMode::PerMigration => Ok(steps),
        }
    }

    /// A dry run or a single-transaction run: every step in one transaction (one message
    /// when no step is code), retried whole when it gave up waiting for a lock.
    async fn run_together(
        &mut self,
        steps: &[PlannedStep<'_>],
        mode: RunMode,
    ) -> Result<(), Error> {
        if steps.iter().any(|s| s.script().is_code()) {
            return self.run_in_one_transaction(steps, mode).await;
        }
        if steps.is_empty() {
            return Ok(());
        }
        let wrap = if mode == RunMode::DryRun {
            Wrap::DryRun
        } else {
            Wrap::Single
        };
        let mut attempts = 0;
        loop {
            match self.run_batch(steps, wrap).await {
                Err(e) if wrap == Wrap::Single && self.retry(&e, &mut attempts).await => {}
                other => return other,
            }
        }
    }

    /// One transaction per migration: SQL steps in batches (many per message), code and
    /// no-transaction steps each on their own; a step that gave up waiting for a lock is
    /// retried from where it stopped.
    async fn run_per_migration(&mut self, steps: &[PlannedStep<'_>]) -> Result<(), Error> {
        let mut attempts = 0;
        let mut i = 0;
        while i < steps.len() {
            if steps[i].script().is_code() {
                self.gate_alone(&steps[i]).await?;
                self.run_code(&steps[i]).await?;
                i += 1;
                continue;
            }
            if steps[i].script().no_transaction() {
                self.gate_alone(&steps[i]).await?;
                self.run_no_transaction(&steps[i]).await?;
                i += 1;
                continue;
            }
            let j = batch_end(steps, i);
            let before = self.report.steps.len();
            match self.run_batch(&steps[i..j], Wrap::PerStep).await {
                Ok(()) => (i, attempts) = (j, 0),
                Err(e) => {
                    // The steps before the one that gave up stay committed; retry from it, with
                    // attempts of its own.
                    let committed = self.report.steps.len() - before;
                    if committed > 0 {
                        attempts = 0;
                    }
                    if !self.retry(&e, &mut attempts).await {
                        return Err(e);
                    }
                    i += committed;
                }
            }
        }
        Ok(())
    }

    /// A contract step that runs on its own (code, no transaction): the re-read of the registry
    /// goes just before it, on the same session under the lock.
    async fn gate_alone(&mut self, step: &PlannedStep<'_>) -> Result<(), Error> {
        let Some(gate) = &step.gate else {
            return Ok(());
        };
        self.session
            .client()
            .batch_execute(gate)
            .await
            .map_err(Error::db(
                "re-reading the instance registry before a contract migration",
            ))
    }

    /// Sends the pending check on its own (the first message is not a batch that could carry
    /// it): [`Error::StalePlan`] when it refuses.
    async fn check_alone(&mut self) -> Result<(), Error> {
        let Some(check) = self.check.take() else {
            return Ok(());
        };
        match self.session.client().simple_query(&check).await {
            Ok(_) => Ok(()),
            Err(e) if crate::history::Recorded::is_changed(&e) => Err(Error::StalePlan),
            Err(e) => Err(Error::db("checking history")(e)),
        }
    }

    /// Whether to retry after `e`: a transactional step gave up waiting for a lock
    /// (`lock_not_available` under a DDL lock timeout) and has attempts left. Waits first,
    /// doubling each time, logging the retry; a stop ends the wait and the run.
    async fn retry(&mut self, e: &Error, attempts: &mut u32) -> bool {
        let Error::MigrationFailed(f) = e else {
            return false;
        };
        if self.opts.lock_timeout.is_none()
            || f.sqlstate.as_deref() != Some("55P03")
            || f.failed_row_recorded
            || *attempts >= self.opts.retries
        {
            return false;
        }
        *attempts += 1;
        let wait = RETRY_FIRST
            .saturating_mul(1 << (*attempts - 1).min(16))
            .min(RETRY_MAX);
        tracing::warn!(
            target: events::LOCK_RETRY,
            version = %f.version,
            attempt = *attempts,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "a migration gave up waiting for a lock; retrying"
        );
        self.report.lock_retries += 1;
        tokio::select! {
            () = tokio::time::sleep(wait) => true,
            () = crate::stop::stopped(self.watch.stop.as_ref()) => false,
        }
    }

    /// Stops between steps once the run was asked to stop.
    fn check_stop(&self) -> Result<(), Error> {
        if self.watch.is_stopped() {
            return Err(Error::Interrupted {
                applied: self.report.clone(),
            });
        }
        Ok(())
    }

    async fn run_batch(&mut self, steps: &[PlannedStep<'_>], wrap: Wrap) -> Result<(), Error> {
        self.check_stop()?;
        let Err(f) = self.send(steps, wrap).await else {
            return Ok(());
        };
        if f.is_check() {
            // History changed since it was read, before the lock: the caller reads it again.
            self.report.steps.clear();
            return Err(Error::StalePlan);
        }
        if wrap != Wrap::PerStep {
            self.report.steps.clear();
        } else if f.done < f.failing {
            // A syntax error anywhere in a message runs none of it: apply the steps before the
            // failing one on their own, so the outcome is as if each had been sent alone.
            if let Err(g) = self.send(&steps[f.done..f.failing], wrap).await {
                return Err(self.failed(&steps[f.done + g.failing], g));
            }
        }
        Err(self.failed(&steps[f.failing], f))
    }

    /// Sends one batch and reads each step's completion row as it arrives.
    async fn send(&mut self, steps: &[PlannedStep<'_>], wrap: Wrap) -> Result<(), Failure> {
        let batch = Batch::build(
            self.tables,
            steps,
            self.digest,
            wrap,
            &self.start_sql,
            &self.opts.placeholders,
            self.check.as_deref(),
        );
        let mut done = 0;
        // Where the message is, for an error without a position: each step announces its start
        // (a row), and every statement after that start's own completes once.
        let (mut started, mut completed, mut own) = (0usize, 0usize, false);
        let error = match self.session.client().simple_query_raw(&batch.sql).await {
            Err(e) => e,
            Ok(stream) => {
                pin_mut!(stream);
                loop {
                    match stream.next().await {
                        None => {
                            self.check = None;
                            return Ok(());
                        }
                        Some(Ok(SimpleQueryMessage::Row(row)))
                            if row
                                .columns()
                                .first()
                                .is_some_and(|c| c.name() == STEP_COLUMN) =>
                        {
                            let us = row.get(0).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                            if let Some(step) = steps.get(done) {
                                self.report
                                    .steps
                                    .push(step_report(step, Duration::from_micros(us)));
                                if wrap == Wrap::PerStep {
                                    self.digest = batch.digests[done];
                                }
                            }
                            done += 1;
                        }
                        Some(Ok(SimpleQueryMessage::Row(row)))
                            if row
                                .columns()
                                .first()
                                .is_some_and(|c| c.name() == START_COLUMN) =>
                        {
                            // Past the check, which opens the first step: it held.
                            self.check = None;
                            (started, completed, own) = (started + 1, 0, true);
                        }
                        Some(Ok(SimpleQueryMessage::CommandComplete(_))) if own => own = false,
                        Some(Ok(SimpleQueryMessage::CommandComplete(_))) => completed += 1,
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break e,
                    }
                }
            }
        };
        let _ = self
            .session
            .client()
            .batch_execute(&batch.cleanup_sql())
            .await;
        let committed = if wrap == Wrap::PerStep { done } else { 0 };
        let (failing, byte) = locate(&error, &batch, steps, started, completed);
        // The gate's re-read refused the step before its script ran: no statement of it failed.
        let byte = byte.filter(|_| !crate::registry::sql::is_gate_refusal(&error));
        Err(Failure {
            failing,
            done: committed,
            byte,
            error,
            failed_row: false,
        })
    }

    /// A hint for the first migration of a database without history failing because what it
    /// creates is there already: the database was made by another tool or by hand.
    fn adopt_hint(
        &self,
        step: &PlannedStep<'_>,
        code: Option<&tokio_postgres::error::SqlState>,
    ) -> Option<String> {
        let duplicate = ["42P07", "42P06", "42710", "42723"];
        let empty =
            tidemark_core::set_digest(std::iter::empty::<(tidemark_core::Kind, &str, &[u8; 32])>());
        (code.is_some_and(|c| duplicate.contains(&c.code()))
            && self.report.steps.is_empty()
            && self.digest == empty
            && step.direction() == Direction::Up)
            .then(|| {
                "the database has no tidemark history but already has what this migration \
                 creates: if another tool or a person made it, record what it has instead of \
                 running it (`baseline VERSION`, or `adopt` for sqlx, refinery, diesel and Flyway \
                 history)"
                    .to_owned()
            })
    }

    fn failed(&self, step: &PlannedStep<'_>, f: Failure) -> Error {
        let script = step.script();
        let run = self.opts.placeholders.apply(script.sql_to_run());
        let sql: &str = &run;
        let (line, column, statement) = match f.byte {
            Some(b) => {
                let (l, c) = tidemark_core::position::line_col(sql, b);
                (Some(l), Some(c), statement_line(sql, b))
            }
            None => (None, None, None),
        };
        let db = f.error.as_db_error();
        let failure = MigrationFailed {
            version: step.migration().version().to_owned(),
            name: step.migration().name().to_owned(),
            path: script.path().to_owned(),
            direction: step.direction(),
            line,
            column,
            sqlstate: f.error.code().map(|c| c.code().to_owned()),
            message: db.map_or_else(
                || crate::error::driver_text(&f.error),
                |d| d.message().to_owned(),
            ),
            detail: db.and_then(|d| d.detail()).map(str::to_owned),
            hint: db
                .and_then(|d| d.hint())
                .map(str::to_owned)
                .or_else(|| self.adopt_hint(step, f.error.code())),
            statement,
            failed_row_recorded: f.failed_row,
            applied: self.report.clone(),
            cause: Box::new(f.error),
        };
        tracing::error!(target: events::FAILED, version = %failure.version, path = %failure.path, "migration failed");
        Error::MigrationFailed(Box::new(failure))
    }
}

/// Where the batch that starts at `i` ends: at the next no-transaction or code step, or at
/// the batch's size limits.
/// Where a batch's error is: the failing step and the byte of its script, from the server's
/// position in the message when it gives one, else the step that was running (the `started`th)
/// and the start of its statement after the `completed` ones.
fn locate(
    error: &tokio_postgres::Error,
    batch: &Batch,
    steps: &[PlannedStep<'_>],
    started: usize,
    completed: usize,
) -> (usize, Option<usize>) {
    let running = started.saturating_sub(1).min(steps.len() - 1);
    let statement_start = || nth_statement(&steps[running].script().sql_to_run(), completed);
    let located = error.as_db_error().and_then(|db| match query_char(db) {
        // A position in the message: the step whose script holds it.
        Some(c) => {
            let (k, start) = batch.step_at(c)?;
            Some((k, script_offset(db, &steps[k].script().sql_to_run(), start)))
        }
        // A position inside a body, or none: the step that was running.
        None => Some((
            running,
            script_offset(db, &steps[running].script().sql_to_run(), 0).or_else(statement_start),
        )),
    });
    located.unwrap_or_else(|| (running, statement_start()))
}

fn batch_end(steps: &[PlannedStep<'_>], i: usize) -> usize {
    let (mut j, mut bytes) = (i, 0);
    while j < steps.len()
        && !steps[j].script().no_transaction()
        && !steps[j].script().is_code()
        && j - i < BATCH_STEPS
        && bytes < BATCH_BYTES
    {
        bytes += steps[j].script().sql().len();
        j += 1;
    }
    j
}

fn skipped(step: &PlannedStep<'_>, no_transaction: bool) -> SkippedStep {
    SkippedStep {
        version: step.migration().version().to_owned(),
        name: step.migration().name().to_owned(),
        path: step.script().path().to_owned(),
        direction: step.direction(),
        reason: if no_transaction {
            SkipReason::NoTransaction
        } else {
            SkipReason::AfterNoTransaction
        },
    }
}

fn step_report(step: &PlannedStep<'_>, duration: Duration) -> StepReport {
    let m = step.migration();
    tracing::info!(
        target: events::STEP,
        version = m.version(),
        name = m.name(),
        direction = %step.direction(),
        duration_ms = duration.as_secs_f64() * 1000.0,
        "applied"
    );
    StepReport {
        version: m.version().to_owned(),
        name: m.name().to_owned(),
        path: step.script().path().to_owned(),
        direction: step.direction(),
        duration,
    }
}

/// Where the `n`th statement (0-based, statements with code only) of a script starts; `None`
/// past its last (the failure was in tidemark's own bookkeeping after it).
fn nth_statement(sql: &str, n: usize) -> Option<usize> {
    tidemark_core::lexer::split(sql)
        .ok()?
        .iter()
        .filter(|s| s.has_code())
        .nth(n)?
        .code_start
}

/// The first line of the statement holding byte `b`.
fn statement_line(sql: &str, b: usize) -> Option<String> {
    let statements = tidemark_core::lexer::split(sql).ok()?;
    let s = statements
        .iter()
        .find(|s| s.range.contains(&b) && s.has_code())?;
    Some(s.code(sql).lines().next()?.trim().to_owned())
}
