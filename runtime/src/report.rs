//! What a run did.

use crate::table::{self, Align};
use std::fmt;
use std::time::Duration;

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

/// The result of a run: each step that ran, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The steps that ran, in order. Empty when the database was already at the target.
    pub steps: Vec<StepReport>,
    /// Whether the lock-free fast path found the database up to date (one round trip).
    pub fast_path: bool,
}

impl Report {
    /// The versions of the steps that ran, in order.
    pub fn versions(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.version.as_str()).collect()
    }

    /// Whether nothing had to be done.
    pub fn is_noop(&self) -> bool {
        self.steps.is_empty()
    }
}

impl fmt::Display for Report {
    /// A table for people: one line per step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
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
                    format!("{:.1} ms", s.duration.as_secs_f64() * 1000.0),
                ]
            })
            .collect();
        table::write(
            f,
            &[
                ("version", Align::Left),
                ("name", Align::Left),
                ("dir", Align::Left),
                ("time", Align::Right),
            ],
            &rows,
        )
    }
}
