//! What a run did.

use crate::table::{self, Align};
use std::fmt;
use std::time::Duration;

/// A duration for people: `0.4 ms`, `12.3 ms`, `1.5 s`, `2 min 5 s`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let secs = d.as_secs();
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// Whether a step applies or reverts a migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// Applies the forward script.
    Up,
    /// Applies the rollback script.
    Down,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Up => "up",
            Self::Down => "down",
        })
    }
}

/// One applied or reverted migration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepReport {
    /// The canonical version (or `R__{name}`).
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// The file that ran.
    pub path: String,
    /// Up or down.
    pub direction: Direction,
    /// Time the server spent in the step's transaction (or, for a no-transaction step, the
    /// time measured by the client).
    pub duration: Duration,
}

/// A planned step that a dry run did not run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedStep {
    /// The canonical version (or `R__{name}`).
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// The file that would run.
    pub path: String,
    /// Up or down.
    pub direction: Direction,
    /// Why it did not run.
    pub reason: SkipReason,
}

/// Why a dry run did not run a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// It runs outside a transaction, so it cannot be rolled back.
    NoTransaction,
    /// It comes after a step that could not run, and may depend on it.
    AfterNoTransaction,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoTransaction => "runs outside a transaction, which cannot be rolled back",
            Self::AfterNoTransaction => "comes after a step the dry run could not run",
        })
    }
}

/// The result of a run: each step that ran, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The steps that ran, in order. Empty when the database was already at the target.
    pub steps: Vec<StepReport>,
    /// Whether the lock-free fast path found the database up to date (one round trip).
    pub fast_path: bool,
    /// In a dry run: the planned steps it could not run (a no-transaction migration and
    /// everything after it).
    pub skipped: Vec<SkippedStep>,
    /// How many times a step gave up waiting for a lock (`lock_not_available` under
    /// [`Migrator::ddl_lock_timeout`](crate::Migrator::ddl_lock_timeout)) and was retried.
    pub lock_retries: usize,
    /// Pending contract migrations that did not run: live registered instances embed sets
    /// without them (see [`Phase`](crate::Phase)). The migrations after them did run.
    pub waiting: Vec<crate::WaitingContract>,
    /// What the run has to say that did not stop it (a stale debug binary, versions newer than
    /// this build), for the service to log: tidemark never prints.
    pub warnings: Vec<crate::Warning>,
}

impl Report {
    /// The versions of the steps that ran, in order.
    pub fn versions(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.version.as_str()).collect()
    }

    /// Whether nothing had to be done.
    pub fn is_noop(&self) -> bool {
        self.steps.is_empty() && self.skipped.is_empty()
    }
}

impl fmt::Display for Report {
    /// A table for people: one line per step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_noop() && self.waiting.is_empty() {
            return writeln!(f, "nothing to do: the database is up to date");
        }
        let rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                vec![
                    s.version.clone(),
                    s.name.clone(),
                    s.direction.to_string(),
                    human(s.duration),
                ]
            })
            .collect();
        if !rows.is_empty() {
            table::write(
                f,
                &[
                    ("version", Align::Left),
                    ("name", Align::Left),
                    ("dir", Align::Left),
                    ("time", Align::Right),
                ],
                &rows,
            )?;
        }
        for s in &self.skipped {
            writeln!(
                f,
                "not run: {} {} ({}): {}",
                s.direction, s.version, s.path, s.reason
            )?;
        }
        for w in &self.waiting {
            writeln!(f, "waiting: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human(Duration::from_micros(400)), "0.4 ms");
        assert_eq!(human(Duration::from_micros(1_001_713)), "1.0 s");
        assert_eq!(human(Duration::from_secs(125)), "2 min 5 s");
    }
}
