//! Rust code migrations: each runs in a transaction of its own that also records its history
//! row (declared no-transaction: on the connection, with a failed row first), raced against the
//! stop switch; in a single-transaction run or a dry run, inside the one transaction.

use super::{step_report, Executor, RunMode};
use crate::batch::Wrap;
use crate::code::{BoxError, Code, CodeFuture};
use crate::db::Session;
use crate::error::{Error, MigrationFailed};
use crate::events;
use crate::history::{Timing, PID_COLUMN};
use crate::plan::PlannedStep;
use crate::report::Direction;
use crate::stop;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio_postgres::{SimpleQueryMessage, Transaction};

type TxFn = for<'a, 'b> fn(&'a Transaction<'b>) -> CodeFuture<'a>;

/// Refuses, before anything runs, a plan with code this program cannot run: code from a set
/// read at run time, or code that needs its own transaction on a session given as `&Client`.
pub(super) fn check_runnable(
    steps: &[PlannedStep<'_>],
    session: &Session<'_>,
) -> Result<(), Error> {
    for s in steps {
        let (version, path) = (
            s.migration().version().to_owned(),
            s.script().path().to_owned(),
        );
        match s.script().code {
            Some(Code::NotEmbedded) => return Err(Error::CodeNotEmbedded { version, path }),
            Some(Code::Transaction(_)) if !session.is_owned() => {
                return Err(Error::CodeNeedsPool { version, path })
            }
            _ => {}
        }
    }
    Ok(())
}

/// The backend pid from the reply to [`start_sql`].
/// The backend pid of a reply that selected it as [`PID_COLUMN`].
pub(super) fn pid_of(reply: &[SimpleQueryMessage]) -> Option<i32> {
    reply.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) if r.columns().first()?.name() == PID_COLUMN => {
            r.get(0)?.parse().ok()
        }
        _ => None,
    })
}

/// The step's start (its timing, bookkeeping flag and lock timeout, as for SQL steps) and the
/// backend pid.
fn start_sql(step_start: &str) -> String {
    format!("{step_start}SELECT pg_backend_pid() AS {PID_COLUMN};")
}

fn announce(step: &PlannedStep<'_>) {
    let m = step.migration();
    tracing::info!(
        target: events::CODE_START,
        version = m.version(),
        name = m.name(),
        direction = %step.direction(),
        "code migration started"
    );
}

/// How a code step's function ended.
enum Outcome {
    Done,
    Failed(BoxError),
    Stopped,
}

/// A code step in `tx`: its start (with the backend's pid for a stop), its function and its
/// history row `record`, raced against the stop switch; what became of it and when it
/// started. An error only when the start statement itself failed.
async fn in_step(
    tx: &Transaction<'_>,
    start_sql_text: &str,
    watch: &crate::stop::Watch,
    step: &PlannedStep<'_>,
    f: TxFn,
    record: &str,
) -> Result<(Outcome, Instant), tokio_postgres::Error> {
    let reply = tx.simple_query(&start_sql(start_sql_text)).await?;
    watch
        .pid
        .store(pid_of(&reply).unwrap_or(0), Ordering::SeqCst);
    announce(step);
    let started = Instant::now();
    let outcome = tokio::select! {
        r = f(tx) => match r {
            Ok(()) => match tx.simple_query(record).await {
                Ok(_) => Outcome::Done,
                // The function left the transaction unusable (a swallowed SQL error).
                Err(e) => Outcome::Failed(Box::new(e)),
            },
            Err(e) => Outcome::Failed(e),
        },
        () = stop::stopped(watch.stop.as_ref()) => Outcome::Stopped,
    };
    Ok((outcome, started))
}

impl Executor<'_, '_> {
    /// Runs one code step of a per-migration run.
    pub(super) async fn run_code(&mut self, step: &PlannedStep<'_>) -> Result<(), Error> {
        self.check_stop()?;
        match step.script().code {
            Some(Code::Transaction(f)) => self.code_in_transaction(step, f).await,
            Some(Code::Client(f)) => self.code_outside(step, f).await,
            _ => check_runnable(std::slice::from_ref(step), self.session),
        }
    }

    /// In a transaction of its own: start, the function, the history row and the new digest,
    /// commit. A failure or a stop rolls all of it back.
    async fn code_in_transaction(&mut self, step: &PlannedStep<'_>, f: TxFn) -> Result<(), Error> {
        let m = step.migration();
        let after = step.digest_after(self.digest);
        let record = match step.direction() {
            Direction::Up => self.tables.record_up_flagged(
                step.migration(),
                true,
                Timing::Step,
                step.marked_out_of_order(),
            ),
            Direction::Down => self.tables.record_down_sql(m),
        } + &self.tables.store_digest_sql(&after);
        let start = crate::history::named_step_start(&self.start_sql, m, step.direction());
        let watch = self.watch;
        let client = owned_client(self.session, step)?;
        let tx = client
            .transaction()
            .await
            .map_err(Error::db("starting a code migration's transaction"))?;
        let (outcome, started) = in_step(&tx, &start, watch, step, f, &record)
            .await
            .map_err(Error::db("starting a code migration"))?;
        let elapsed = started.elapsed();
        match outcome {
            Outcome::Done => {
                tx.commit()
                    .await
                    .map_err(Error::db("committing a code migration"))?;
            }
            Outcome::Failed(e) => {
                let _ = tx.rollback().await;
                return Err(self.code_failed(step, e, false));
            }
            Outcome::Stopped => {
                let _ = tx.rollback().await;
                return Err(Error::Interrupted {
                    applied: self.report.clone(),
                });
            }
        }
        self.digest = after;
        self.report.steps.push(step_report(step, elapsed));
        Ok(())
    }

    /// Declared no-transaction: a failed row first (committed), the function on the
    /// connection, then success. A failure or a stop leaves the failed row, which blocks later
    /// runs until `repair`.
    async fn code_outside(
        &mut self,
        step: &PlannedStep<'_>,
        f: for<'a> fn(&'a tokio_postgres::Client) -> CodeFuture<'a>,
    ) -> Result<(), Error> {
        let begun = self.start_outside(step).await?;
        let client = self.session.client();
        announce(step);
        let started = Instant::now();
        let outcome = tokio::select! {
            r = f(client) => r.map_or_else(Outcome::Failed, |()| Outcome::Done),
            () = stop::stopped(self.watch.stop.as_ref()) => Outcome::Stopped,
        };
        match outcome {
            Outcome::Done => self.finish_outside(step, started.elapsed(), begun).await,
            Outcome::Failed(e) => {
                self.restore_after_failure(&begun).await;
                Err(self.code_failed(step, e, true))
            }
            Outcome::Stopped => {
                self.restore_after_failure(&begun).await;
                Err(Error::Interrupted {
                    applied: self.report.clone(),
                })
            }
        }
    }

    /// A single-transaction run or a dry run with code steps: one transaction (opened here, or
    /// by the dry run's frame), SQL stretches as batches inside it, code steps in between.
    pub(super) async fn run_in_one_transaction(
        &mut self,
        steps: &[PlannedStep<'_>],
        mode: RunMode,
    ) -> Result<(), Error> {
        if mode == RunMode::Single {
            self.session
                .client()
                .batch_execute("BEGIN")
                .await
                .map_err(Error::db("starting the run's transaction"))?;
        }
        let end = steps.iter().fold(self.digest, |d, s| s.digest_after(d));
        let mut i = 0;
        while i < steps.len() {
            if steps[i].script().is_code() {
                if let Err(e) = self.code_inside(&steps[i]).await {
                    let _ = self.session.client().batch_execute("ROLLBACK").await;
                    self.report.steps.clear();
                    return Err(e);
                }
                i += 1;
                continue;
            }
            let j = steps[i..]
                .iter()
                .position(|s| s.script().is_code())
                .map_or(steps.len(), |k| i + k);
            self.run_batch(&steps[i..j], Wrap::Inside).await?;
            i = j;
        }
        let finish = if mode == RunMode::Single {
            "COMMIT;"
        } else {
            "ROLLBACK;"
        };
        let sql = self.tables.store_digest_sql(&end) + finish;
        self.session
            .client()
            .batch_execute(&sql)
            .await
            .map_err(Error::db("ending the run's transaction"))?;
        if mode == RunMode::Single {
            self.digest = end;
        }
        Ok(())
    }

    /// A code step inside the one open transaction: its function gets a `Transaction` over
    /// that transaction. tokio-postgres opens one with a `BEGIN` the server only warns about,
    /// and the value is forgotten instead of dropped, so neither its `COMMIT` nor its
    /// `ROLLBACK` ends the outer transaction; the caller ends that.
    async fn code_inside(&mut self, step: &PlannedStep<'_>) -> Result<(), Error> {
        self.check_stop()?;
        let Some(Code::Transaction(f)) = step.script().code else {
            // Checked before the run: no-transaction steps are refused or skipped, and code
            // without a function is refused.
            return check_runnable(std::slice::from_ref(step), self.session);
        };
        let m = step.migration();
        let record = match step.direction() {
            Direction::Up => self.tables.record_up_flagged(
                step.migration(),
                true,
                Timing::Step,
                step.marked_out_of_order(),
            ),
            Direction::Down => self.tables.record_down_sql(m),
        };
        let start = crate::history::named_step_start(&self.start_sql, m, step.direction());
        let watch = self.watch;
        let client = owned_client(self.session, step)?;
        let tx = client
            .transaction()
            .await
            .map_err(Error::db("starting a code migration"))?;
        let (outcome, started) = in_step(&tx, &start, watch, step, f, &record)
            .await
            .unwrap_or_else(|e| (Outcome::Failed(Box::new(e)), Instant::now()));
        std::mem::forget(tx);
        match outcome {
            Outcome::Done => {
                self.report.steps.push(step_report(step, started.elapsed()));
                Ok(())
            }
            Outcome::Failed(e) => Err(self.code_failed(step, e, false)),
            Outcome::Stopped => Err(Error::Interrupted {
                applied: self.report.clone(),
            }),
        }
    }

    /// A code step's failure: the file, the version, the cause (a tokio-postgres error's
    /// server fields when it is one), and what committed before it.
    fn code_failed(&self, step: &PlannedStep<'_>, cause: BoxError, failed_row: bool) -> Error {
        let pg = cause.downcast_ref::<tokio_postgres::Error>();
        let db = pg.and_then(tokio_postgres::Error::as_db_error);
        let failure = MigrationFailed {
            version: step.migration().version().to_owned(),
            name: step.migration().name().to_owned(),
            path: step.script().path().to_owned(),
            direction: step.direction(),
            line: None,
            column: None,
            sqlstate: pg.and_then(|e| e.code()).map(|c| c.code().to_owned()),
            message: match (db, pg) {
                (Some(d), _) => d.message().to_owned(),
                (None, Some(e)) => crate::error::driver_text(e),
                (None, None) => cause.to_string(),
            },
            detail: db.and_then(|d| d.detail()).map(str::to_owned),
            hint: db.and_then(|d| d.hint()).map(str::to_owned),
            statement: None,
            failed_row_recorded: failed_row,
            applied: self.report.clone(),
            cause,
        };
        tracing::error!(target: events::FAILED, version = %failure.version, path = %failure.path, "migration failed");
        Error::MigrationFailed(Box::new(failure))
    }
}

/// The session's client for a code migration's `Transaction`, which needs it exclusively: a
/// caller's shared `&Client` cannot give one ([`Error::CodeNeedsPool`], naming the file).
fn owned_client<'c>(
    session: &'c mut Session<'_>,
    step: &PlannedStep<'_>,
) -> Result<&'c mut tokio_postgres::Client, Error> {
    session.exclusive().ok_or_else(|| Error::CodeNeedsPool {
        version: step.migration().version().to_owned(),
        path: step.script().path().to_owned(),
    })
}
