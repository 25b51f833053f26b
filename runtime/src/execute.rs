//! Runs a [`Plan`]: transactional steps as simple-query batches (one round trip for many
//! migrations), no-transaction steps statement by statement with a failed row first.

use crate::error::{Error, MigrationFailed};
use crate::history::{Tables, ELAPSED_US, STEP_COLUMN};
use crate::plan::{Plan, PlannedStep};
use crate::report::{Direction, Report, StepReport};
use crate::sql::literal;
use crate::target::TransactionMode;
use futures_util::{pin_mut, StreamExt};
use std::time::{Duration, Instant};
use tidemark_core::{digest_update, entry_digest};
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Server-side time spent in the current transaction, in milliseconds.
const ELAPSED_MS: &str = "(date_part('epoch', clock_timestamp() - now()) * 1000)::bigint";
/// A batch is cut after this many bytes of SQL or this many steps.
const BATCH_BYTES: usize = 8 << 20;
const BATCH_STEPS: usize = 5000;

/// Where a batch failed.
struct Failure {
    /// Index of the failing step in the batch.
    failing: usize,
    /// Steps of the batch that committed before the failure.
    done: usize,
    /// Byte offset of the error in the failing script, when the server gave a position.
    byte: Option<usize>,
    error: tokio_postgres::Error,
    failed_row: bool,
}

/// How the executor wraps steps in transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunMode {
    /// `BEGIN … COMMIT` around each step.
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

pub(crate) struct Executor<'a> {
    client: &'a Client,
    tables: &'a Tables,
    digest: [u8; 32],
    report: Report,
}

impl<'a> Executor<'a> {
    /// Executes every step of `plan`; the returned report lists what ran.
    pub(crate) async fn run(
        client: &'a Client,
        tables: &'a Tables,
        plan: &Plan<'_>,
        mode: RunMode,
    ) -> Result<Report, Error> {
        let mut ex = Executor {
            client,
            tables,
            digest: plan.digest_before,
            report: Report::default(),
        };
        let steps = plan.steps();
        if mode != RunMode::PerMigration {
            if let Some(s) = steps.iter().find(|s| s.script().no_transaction()) {
                let what = if mode == RunMode::DryRun {
                    "a dry run"
                } else {
                    "a single-transaction run"
                };
                return Err(Error::InvalidConfig {
                    message: format!(
                        "{} runs outside a transaction, so it cannot be part of {what}; \
                         use TransactionMode::PerMigration and a real run",
                        s.script().path()
                    ),
                });
            }
            if !steps.is_empty() {
                ex.run_batch(steps, mode).await?;
            }
            return Ok(ex.report);
        }
        let mut i = 0;
        while i < steps.len() {
            if steps[i].script().no_transaction() {
                ex.run_no_transaction(&steps[i]).await?;
                i += 1;
                continue;
            }
            let (mut j, mut bytes) = (i, 0);
            while j < steps.len()
                && !steps[j].script().no_transaction()
                && j - i < BATCH_STEPS
                && bytes < BATCH_BYTES
            {
                bytes += steps[j].script().sql().len();
                j += 1;
            }
            ex.run_batch(&steps[i..j], RunMode::PerMigration).await?;
            i = j;
        }
        Ok(ex.report)
    }

    async fn run_batch(&mut self, steps: &[PlannedStep<'_>], mode: RunMode) -> Result<(), Error> {
        let Err(f) = self.send_batch(steps, mode).await else {
            return Ok(());
        };
        if mode != RunMode::PerMigration {
            self.report.steps.clear();
        } else if f.done < f.failing {
            // A syntax error anywhere in a message runs none of it: apply the steps before the
            // failing one on their own, so the outcome is as if each had been sent alone.
            if let Err(g) = self.send_batch(&steps[f.done..f.failing], mode).await {
                return Err(self.failed(&steps[f.done + g.failing], g));
            }
        }
        Err(self.failed(&steps[f.failing], f))
    }

    /// Sends one batch and reads each step's completion row as it arrives.
    async fn send_batch(
        &mut self,
        steps: &[PlannedStep<'_>],
        mode: RunMode,
    ) -> Result<(), Failure> {
        let single = mode != RunMode::PerMigration;
        let mut sql = String::new();
        let mut chars = 0usize;
        let mut spans = Vec::with_capacity(steps.len());
        let mut digests = Vec::with_capacity(steps.len());
        let mut digest = self.digest;
        let push = |sql: &mut String, chars: &mut usize, text: &str| {
            sql.push_str(text);
            *chars += text.chars().count();
        };
        if mode == RunMode::Single {
            push(&mut sql, &mut chars, "BEGIN;\n");
        }
        let last = steps.len() - 1;
        for (k, step) in steps.iter().enumerate() {
            if !single {
                push(&mut sql, &mut chars, "BEGIN;\n");
            }
            let script = step.script().sql();
            let start = chars;
            push(&mut sql, &mut chars, script);
            spans.push((start, chars));
            push(&mut sql, &mut chars, "\n;\n");
            digest = changed(digest, step, true);
            digests.push(digest);
            push(&mut sql, &mut chars, &self.record_sql(step));
            if !single {
                // The stored digest must never claim more than is applied: the first step
                // removes it and the last writes the new one, each in its own transaction. A
                // failure in between leaves no digest, which only sends the next run down the
                // slow path. (One upsert per step would cost a row version per migration.)
                if k == last {
                    push(&mut sql, &mut chars, &self.tables.state_sql(&digest));
                } else if k == 0 {
                    push(&mut sql, &mut chars, &self.tables.invalidate_sql());
                }
                push(&mut sql, &mut chars, "COMMIT;\n");
            }
        }
        if single {
            push(&mut sql, &mut chars, &self.tables.state_sql(&digest));
            push(
                &mut sql,
                &mut chars,
                if mode == RunMode::DryRun {
                    "ROLLBACK;\n"
                } else {
                    "COMMIT;\n"
                },
            );
        }
        let mut done = 0;
        let error = match self.client.simple_query_raw(&sql).await {
            Err(e) => e,
            Ok(stream) => {
                pin_mut!(stream);
                loop {
                    match stream.next().await {
                        None => return Ok(()),
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
                                if !single {
                                    self.digest = digests[done];
                                }
                            }
                            done += 1;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break e,
                    }
                }
            }
        };
        let _ = self.client.batch_execute("ROLLBACK").await;
        let (failing, byte) = match error.as_db_error().and_then(|d| d.position()) {
            Some(ErrorPosition::Original(p)) => {
                let c = usize::try_from(*p).unwrap_or(1).saturating_sub(1);
                match spans.iter().position(|(s, e)| (*s..*e).contains(&c)) {
                    Some(k) => {
                        let (s, _) = spans[k];
                        (
                            k,
                            tidemark_core::position::char_to_byte(steps[k].script().sql(), c - s),
                        )
                    }
                    None => (done.min(steps.len() - 1), None),
                }
            }
            Some(ErrorPosition::Internal { position, query }) => {
                let k = done.min(steps.len() - 1);
                (
                    k,
                    internal_offset(steps[k].script().sql(), query, *position),
                )
            }
            None => (done.min(steps.len() - 1), None),
        };
        Err(Failure {
            failing,
            done: if single { 0 } else { done },
            byte,
            error,
            failed_row: false,
        })
    }

    fn record_sql(&self, step: &PlannedStep<'_>) -> String {
        match step.direction {
            Direction::Up => self.tables.record_up_sql(step.migration, true, ELAPSED_MS),
            Direction::Down => format!(
                "DELETE FROM {} WHERE version = {} RETURNING {ELAPSED_US} AS {STEP_COLUMN};\n",
                self.tables.history,
                literal(step.migration.version())
            ),
        }
    }

    /// Runs a no-transaction step: a failed row first, then each statement, then success.
    async fn run_no_transaction(&mut self, step: &PlannedStep<'_>) -> Result<(), Error> {
        let m = step.migration;
        let id = literal(m.version());
        let without = changed(self.digest, step, false);
        let after = changed(self.digest, step, true);
        let mark = match step.direction {
            Direction::Up => self.tables.record_up_sql(m, false, "0"),
            Direction::Down => format!(
                "UPDATE {} SET success = false WHERE version = {id};\n",
                self.tables.history
            ),
        } + &self.tables.state_sql(&without);
        self.client.simple_query(&mark).await.map_err(Error::db(
            "recording the start of a no-transaction migration",
        ))?;
        self.digest = without;
        let started = Instant::now();
        let sql = step.script().sql();
        let statements = tidemark_core::lexer::split(sql).unwrap_or_default();
        for s in statements.iter().filter(|s| s.has_code()) {
            let code = s.code(sql);
            if let Err(error) = self.client.simple_query(code).await {
                let base = s.code_start.unwrap_or_default();
                let byte = match error.as_db_error().and_then(|d| d.position()) {
                    Some(ErrorPosition::Original(p)) => {
                        let c = usize::try_from(*p).unwrap_or(1).saturating_sub(1);
                        tidemark_core::position::char_to_byte(code, c).map(|b| base + b)
                    }
                    Some(ErrorPosition::Internal { position, query }) => {
                        internal_offset(code, query, *position).map(|b| base + b)
                    }
                    None => Some(base),
                };
                return Err(self.failed(
                    step,
                    Failure {
                        failing: 0,
                        done: 0,
                        byte,
                        error,
                        failed_row: true,
                    },
                ));
            }
        }
        let elapsed = started.elapsed();
        let finish = match step.direction {
            Direction::Up => format!(
                "UPDATE {} SET success = true, execution_ms = {}, applied_at = now() WHERE version = {id};\n",
                self.tables.history,
                elapsed.as_millis()
            ),
            Direction::Down => format!("DELETE FROM {} WHERE version = {id};\n", self.tables.history),
        } + &self.tables.state_sql(&after);
        self.client
            .batch_execute(&finish)
            .await
            .map_err(Error::db("recording a finished no-transaction migration"))?;
        self.digest = after;
        self.report.steps.push(step_report(step, elapsed));
        Ok(())
    }

    fn failed(&self, step: &PlannedStep<'_>, f: Failure) -> Error {
        let script = step.script();
        let sql = script.sql();
        let (line, column, statement) = match f.byte {
            Some(b) => {
                let (l, c) = tidemark_core::position::line_col(sql, b);
                (Some(l), Some(c), statement_line(sql, b))
            }
            None => (None, None, None),
        };
        let db = f.error.as_db_error();
        let failure = MigrationFailed {
            version: step.migration.version().to_owned(),
            name: step.migration.name().to_owned(),
            path: script.path().to_owned(),
            direction: step.direction,
            line,
            column,
            sqlstate: f.error.code().map(|c| c.code().to_owned()),
            message: db.map_or_else(|| f.error.to_string(), |d| d.message().to_owned()),
            detail: db.and_then(|d| d.detail()).map(str::to_owned),
            hint: db.and_then(|d| d.hint()).map(str::to_owned),
            statement,
            failed_row_recorded: f.failed_row,
            applied: self.report.clone(),
            source: f.error,
        };
        tracing::error!(version = %failure.version, path = %failure.path, "migration failed");
        Error::MigrationFailed(Box::new(failure))
    }
}

/// The set digest after `step` (or, with `apply = false`, with only its old entry removed).
fn changed(mut digest: [u8; 32], step: &PlannedStep<'_>, apply: bool) -> [u8; 32] {
    let m = step.migration;
    let kind = m.digest_kind();
    if let Some(old) = &step.recorded {
        digest_update(&mut digest, &entry_digest(kind, m.version(), old), false);
    }
    if apply && step.direction == Direction::Up {
        digest_update(
            &mut digest,
            &entry_digest(kind, m.version(), &m.up.checksum),
            true,
        );
    }
    digest
}

fn step_report(step: &PlannedStep<'_>, duration: Duration) -> StepReport {
    let m = step.migration;
    tracing::info!(version = m.version(), name = m.name(), direction = %step.direction, ?duration, "applied");
    StepReport {
        version: m.version().to_owned(),
        name: m.name().to_owned(),
        path: step.script().path().to_owned(),
        direction: step.direction,
        duration,
    }
}

/// Maps an error position inside a function body or `DO` block (`query` is that body) to a byte
/// offset in the script.
fn internal_offset(script: &str, query: &str, position: u32) -> Option<usize> {
    let base = script.find(query)?;
    let c = usize::try_from(position).ok()?.saturating_sub(1);
    Some(base + tidemark_core::position::char_to_byte(query, c)?)
}

/// The first line of the statement holding byte `b`.
fn statement_line(sql: &str, b: usize) -> Option<String> {
    let statements = tidemark_core::lexer::split(sql).ok()?;
    let s = statements
        .iter()
        .find(|s| s.range.contains(&b) && s.has_code())?;
    Some(s.code(sql).lines().next()?.trim().to_owned())
}
