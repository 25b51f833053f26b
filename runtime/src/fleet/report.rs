//! What a fleet run and a fleet status say, per target and in all.

use crate::error::Error;
use crate::report::Report;
use crate::status::{State, Status};
use crate::table::{self, Align};
use std::fmt;

/// Why a target that did not start was skipped: an earlier target failed.
pub(crate) const SKIPPED_HALT: &str = "an earlier target failed (stop policy)";
/// Why a target that did not start was skipped: a canary target failed.
pub(crate) const SKIPPED_CANARY: &str = "a canary target failed";

/// What became of one target.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The run succeeded: the report lists what it applied (nothing when it was up to date).
    Migrated(Report),
    /// The run failed; the error says what committed before it
    /// ([`Error::partial_report`]).
    Failed(Error),
    /// Not started, and why.
    Skipped(&'static str),
}

impl Outcome {
    /// Whether the target failed.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    /// `migrated`, `up_to_date`, `failed` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Migrated(r) if r.is_noop() => "up_to_date",
            Self::Migrated(_) => "migrated",
            Self::Failed(_) => "failed",
            Self::Skipped(_) => "skipped",
        }
    }
}

/// One target's outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct TargetReport {
    /// The target's name (database or schema).
    pub target: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// The outcome of a fleet run: one entry per target, in the order the targets were given.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetReport {
    /// Per target.
    pub targets: Vec<TargetReport>,
}

impl FleetReport {
    /// Whether every target succeeded (none failed, none skipped).
    pub fn is_success(&self) -> bool {
        self.targets
            .iter()
            .all(|t| matches!(t.outcome, Outcome::Migrated(_)))
    }

    /// The targets that failed, with their errors.
    pub fn failed(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.targets.iter().filter_map(|t| match &t.outcome {
            Outcome::Failed(e) => Some((t.target.as_str(), e)),
            _ => None,
        })
    }

    /// How many targets ended with each [label](Outcome::label): `(migrated, up_to_date,
    /// failed, skipped)`.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |l: &str| {
            self.targets
                .iter()
                .filter(|t| t.outcome.label() == l)
                .count()
        };
        (n("migrated"), n("up_to_date"), n("failed"), n("skipped"))
    }
}

impl fmt::Display for FleetReport {
    /// A table for people: one line per target, then the totals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<Vec<String>> = self
            .targets
            .iter()
            .map(|t| {
                let detail = match &t.outcome {
                    Outcome::Migrated(r) => {
                        let mut parts = Vec::new();
                        if !r.is_noop() {
                            parts.push(format!("applied {}", r.versions().join(", ")));
                        }
                        if !r.waiting.is_empty() {
                            let versions: Vec<&str> =
                                r.waiting.iter().map(|w| w.version.as_str()).collect();
                            parts.push(format!("contract {} waiting", versions.join(", ")));
                        }
                        parts.join("; ")
                    }
                    Outcome::Failed(e) => e.to_string().lines().next().unwrap_or("").to_owned(),
                    Outcome::Skipped(why) => (*why).to_owned(),
                };
                vec![t.target.clone(), t.outcome.label().to_owned(), detail]
            })
            .collect();
        table::write(
            f,
            &[
                ("target", Align::Left),
                ("outcome", Align::Left),
                ("detail", Align::Left),
            ],
            &rows,
        )?;
        let (migrated, noop, failed, skipped) = self.counts();
        writeln!(
            f,
            "{} targets: {migrated} migrated, {noop} up to date, {failed} failed, {skipped} skipped",
            self.targets.len()
        )
    }
}

/// One target's status, or why it could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub struct TargetStatus {
    /// The target's name (database or schema).
    pub target: String,
    /// Its status.
    pub status: Result<Status, Error>,
}

impl TargetStatus {
    /// The highest applied version, if any.
    pub fn version(&self) -> Option<&str> {
        let status = self.status.as_ref().ok()?;
        status
            .entries
            .iter()
            .rev()
            .find(|e| e.state == State::Applied && e.kind != crate::MigrationKind::Repeatable)
            .map(|e| e.version.as_str())
    }

    /// How many migrations are pending.
    pub fn pending(&self) -> usize {
        self.status
            .as_ref()
            .map_or(0, |s| s.in_state(State::Pending).count())
    }

    /// How many migrations are recorded as failed.
    pub fn failed(&self) -> usize {
        self.status
            .as_ref()
            .map_or(0, |s| s.in_state(State::Failed).count())
    }
}

/// Status across a fleet: one entry per target, in the order given.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetStatus {
    /// Per target.
    pub targets: Vec<TargetStatus>,
}

impl FleetStatus {
    /// Whether every target could be read and is up to date.
    pub fn is_up_to_date(&self) -> bool {
        self.targets
            .iter()
            .all(|t| t.status.as_ref().is_ok_and(Status::is_up_to_date))
    }
}

impl fmt::Display for FleetStatus {
    /// A table for people: target, version, pending, failed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<Vec<String>> = self
            .targets
            .iter()
            .map(|t| match &t.status {
                Ok(_) => vec![
                    t.target.clone(),
                    t.version().unwrap_or("-").to_owned(),
                    t.pending().to_string(),
                    t.failed().to_string(),
                    String::new(),
                ],
                Err(e) => vec![
                    t.target.clone(),
                    "?".to_owned(),
                    "?".to_owned(),
                    "?".to_owned(),
                    e.to_string().lines().next().unwrap_or("").to_owned(),
                ],
            })
            .collect();
        table::write(
            f,
            &[
                ("target", Align::Left),
                ("version", Align::Left),
                ("pending", Align::Right),
                ("failed", Align::Right),
                ("error", Align::Left),
            ],
            &rows,
        )
    }
}
