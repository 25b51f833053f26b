//! Steps outside a transaction (`-- tidemark:no-transaction` scripts and code migrations on the
//! connection): a failed row committed before the step, the step's session settings set for it
//! and put back after, the row finished at the end. Three messages around the step's own
//! statements: the start (row, digest, pid, settings), and the finish (row, digest, settings
//! back) — the settings ride on the bookkeeping's messages instead of two of their own.

use super::{code, step_report, Executor, Failure};
use crate::error::Error;
use crate::history::{Timing, PID_COLUMN};
use crate::locate::script_offset;
use crate::plan::PlannedStep;
use crate::report::Direction;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_postgres::SimpleQueryMessage;

/// The column of the rows that bring a session setting's value before the step set it.
const OLD_COLUMN: &str = "tidemark_old";

/// What a started step outside a transaction needs at its end: the set digest once it is done,
/// and the statements that put the session's settings back.
pub(super) struct Started {
    after: [u8; 32],
    restore: String,
}

impl Executor<'_, '_> {
    /// Runs a no-transaction step: a failed row first, then each statement, then success.
    pub(super) async fn run_no_transaction(&mut self, step: &PlannedStep<'_>) -> Result<(), Error> {
        // Never wrapped: a no-transaction file keeps its own transaction control.
        let sql = &*self
            .opts
            .placeholders
            .apply(std::borrow::Cow::Borrowed(step.script().sql()));
        let statements = tidemark_core::lexer::split(sql).map_err(|e| {
            let (line, column) = tidemark_core::position::line_col(sql, e.offset);
            Error::InvalidScript {
                path: step.script().path().to_owned(),
                line,
                column,
                message: e.describe(),
            }
        })?;
        self.check_stop()?;
        let started = self.start_outside(step).await?;
        match self.run_statements(step, sql, &statements).await {
            Ok(elapsed) => self.finish_outside(step, elapsed, started).await,
            Err(e) => {
                self.restore_after_failure(&started).await;
                Err(e)
            }
        }
    }

    /// A step's start outside a transaction, committed before it runs, in one message: its
    /// failed row, the digest without it, the backend's pid (so a stop can cancel what runs),
    /// and the session settings a transactional step sets in its transaction, set on the
    /// session (there is no transaction to scope them to): its `application_name` (see
    /// [`named_step_start`](crate::history::named_step_start)), on PostgreSQL 14+
    /// `client_connection_check_interval` (so the server stops the statement if this process
    /// dies) and a tenant's `search_path`, each with the value it had.
    pub(super) async fn start_outside(&mut self, step: &PlannedStep<'_>) -> Result<Started, Error> {
        let m = step.migration();
        let without = crate::history::digest::without(self.digest, step.old_entry());
        let settings = self.session_settings(step);
        let mut mark = match step.direction() {
            Direction::Up => {
                self.tables
                    .record_up_flagged(m, false, Timing::Now, step.marked_out_of_order())
            }
            Direction::Down => self.tables.mark_down_started_sql(m),
        } + &self.tables.store_digest_sql(&without)
            + &format!("SELECT pg_backend_pid() AS {PID_COLUMN};");
        // `current_setting(…, true)` is NULL for a setting the server does not know (13).
        for (k, v) in &settings {
            mark.push_str(&format!(
                "SELECT current_setting('{k}', true) AS {OLD_COLUMN}, \
                 CASE WHEN current_setting('{k}', true) IS NOT NULL \
                 THEN set_config('{k}', {v}, false) END;"
            ));
        }
        let marked = self
            .session
            .client()
            .simple_query(&mark)
            .await
            .map_err(Error::db(
                "recording the start of a no-transaction migration",
            ))?;
        // The pid's own row, by its column: the failed row's insert returns a row before it
        // (its step time, 0), which taken for the pid left a stop nothing to cancel for the
        // rest of the run.
        if let Some(pid) = code::pid_of(&marked) {
            self.watch.pid.store(pid, Ordering::SeqCst);
        }
        let old = marked.iter().filter_map(|m| match m {
            SimpleQueryMessage::Row(r)
                if r.columns().first().is_some_and(|c| c.name() == OLD_COLUMN) =>
            {
                Some(r.get(0).map(str::to_owned))
            }
            _ => None,
        });
        let restore = settings
            .iter()
            .zip(old)
            .filter_map(|((k, _), old)| {
                Some(format!(
                    "SELECT set_config('{k}', {}, false);",
                    crate::sql::literal(&old?)
                ))
            })
            .collect();
        self.digest = without;
        Ok(Started {
            after: crate::history::digest::with(without, step.new_entries()),
            restore,
        })
    }

    /// The settings [`start_outside`](Self::start_outside) sets, as (name, SQL value).
    fn session_settings(&self, step: &PlannedStep<'_>) -> Vec<(&'static str, String)> {
        let name = crate::history::application_name(step.migration(), step.direction());
        let mut settings = vec![
            ("application_name", crate::sql::literal(&name)),
            ("client_connection_check_interval", "'250ms'".to_owned()),
        ];
        if let Some(path) = &self.opts.search_path {
            settings.push(("search_path", crate::sql::literal(path)));
        }
        settings
    }

    /// A step's success outside a transaction, in one message: its row finished (or removed,
    /// going down), the digest once it is done, the session's settings put back. When that
    /// message fails, the settings are put back on their own.
    pub(super) async fn finish_outside(
        &mut self,
        step: &PlannedStep<'_>,
        elapsed: Duration,
        started: Started,
    ) -> Result<(), Error> {
        let m = step.migration();
        let finish = match step.direction() {
            Direction::Up => self.tables.finish_up_sql(m, elapsed.as_millis()),
            Direction::Down => self.tables.remove_sql(m.version()),
        } + &self.tables.store_digest_sql(&started.after)
            + &started.restore;
        if let Err(e) = self.session.client().batch_execute(&finish).await {
            self.restore_after_failure(&started).await;
            return Err(Error::db("recording a finished no-transaction migration")(
                e,
            ));
        }
        self.digest = started.after;
        self.report.steps.push(step_report(step, elapsed));
        Ok(())
    }

    /// Puts the session's settings back after a step that failed or was stopped (its own
    /// error is the one to report, so this one's is not).
    pub(super) async fn restore_after_failure(&self, started: &Started) {
        let _ = self.session.client().batch_execute(&started.restore).await;
    }

    /// The statements of a no-transaction step, one by one; how long they took.
    async fn run_statements(
        &mut self,
        step: &PlannedStep<'_>,
        sql: &str,
        statements: &[tidemark_core::lexer::Statement],
    ) -> Result<Duration, Error> {
        let started = Instant::now();
        for s in statements.iter().filter(|s| s.has_code()) {
            if self.watch.is_stopped() {
                // The failed row stays: the statements before this one ran.
                return Err(Error::Interrupted {
                    applied: self.report.clone(),
                });
            }
            let code = s.code(sql);
            if let Err(error) = self.session.client().simple_query(code).await {
                let base = s.code_start.unwrap_or_default();
                let within = error
                    .as_db_error()
                    .and_then(|db| script_offset(db, code, 0))
                    .unwrap_or(0);
                return Err(self.failed(
                    step,
                    Failure {
                        failing: 0,
                        done: 0,
                        byte: Some(base + within),
                        error,
                        failed_row: true,
                    },
                ));
            }
        }
        Ok(started.elapsed())
    }
}
