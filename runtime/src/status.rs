//! Where a database stands against a migration set, and the bookkeeping verbs that change
//! history without running scripts (`baseline`, `repair`).

use crate::error::Error;
use crate::history::{HistoryRow, Tables};
use crate::migrations::{Migration, MigrationKind, Migrations};
use crate::plan::applied_digest;
use crate::sql::{bytea, literal};
use std::collections::HashMap;
use std::fmt;
use tidemark_core::Version;

/// The state of one migration in a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet (or, for a repeatable, changed since it last ran).
    Pending,
    /// Applied, but the file changed since (checksums differ).
    Divergent,
    /// Applied, but not in this set of migrations.
    Missing,
    /// A no-transaction migration that failed midway: blocks runs until `repair`.
    Failed,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Applied => "applied",
            Self::Pending => "pending",
            Self::Divergent => "divergent",
            Self::Missing => "missing",
            Self::Failed => "failed",
        })
    }
}

/// One line of a [`Status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    /// Canonical version, or `R__{name}`.
    pub version: String,
    /// The migration's name (from the set, or from history for a missing one).
    pub name: String,
    /// Where it stands.
    pub state: State,
    /// When it was applied (UTC, ISO 8601), if it was.
    pub applied_at: Option<String>,
    /// How long it took, in milliseconds, if it was applied.
    pub execution_ms: Option<i64>,
    /// Its forward file, if it is in the set.
    pub path: Option<String>,
}

/// Every migration of a set and of history, with its state: versioned ones by version, then
/// repeatables by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// One entry per migration.
    pub entries: Vec<StatusEntry>,
}

impl Status {
    /// The entries in a state.
    pub fn in_state(&self, state: State) -> impl Iterator<Item = &StatusEntry> {
        self.entries.iter().filter(move |e| e.state == state)
    }

    /// Whether every migration is applied and unchanged, and history holds nothing else.
    pub fn is_up_to_date(&self) -> bool {
        self.entries.iter().all(|e| e.state == State::Applied)
    }
}

impl fmt::Display for Status {
    /// A table for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vw = self
            .entries
            .iter()
            .map(|e| e.version.len())
            .max()
            .unwrap_or(0)
            .max(7);
        let nw = self
            .entries
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            f,
            "{:<vw$}  {:<nw$}  {:<9}  {:<24}  {:>8}",
            "version", "name", "state", "applied at", "time"
        )?;
        for e in &self.entries {
            let at = e.applied_at.as_deref().unwrap_or("-");
            let ms = e
                .execution_ms
                .map_or_else(|| "-".to_owned(), |m| format!("{m} ms"));
            writeln!(
                f,
                "{:<vw$}  {:<nw$}  {:<9}  {:<24}  {:>8}",
                e.version, e.name, e.state, at, ms
            )?;
        }
        Ok(())
    }
}

/// Builds the status of `set` against `history`.
pub(crate) fn status(set: &Migrations, history: &[HistoryRow]) -> Status {
    let recorded: HashMap<&str, &HistoryRow> =
        history.iter().map(|r| (r.version.as_str(), r)).collect();
    let mut entries: Vec<(Option<Version>, StatusEntry)> = Vec::new();
    for m in set.iter() {
        let row = recorded.get(m.version());
        let state = match row {
            None => State::Pending,
            Some(r) if !r.success => State::Failed,
            Some(r) if r.checksum == m.up.checksum => State::Applied,
            Some(_) if m.kind == MigrationKind::Repeatable => State::Pending,
            Some(_) => State::Divergent,
        };
        entries.push((
            Version::parse_canonical(m.version()),
            entry(m.version(), m.name(), state, row.copied(), Some(m)),
        ));
    }
    let known: HashMap<&str, &Migration> = set.iter().map(|m| (m.version(), m)).collect();
    for r in history
        .iter()
        .filter(|r| !known.contains_key(r.version.as_str()))
    {
        let state = if r.success {
            State::Missing
        } else {
            State::Failed
        };
        entries.push((
            Version::parse_canonical(&r.version),
            entry(&r.version, &r.name, state, Some(r), None),
        ));
    }
    // Versioned by version, then repeatables (no version) by name.
    entries.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.version.cmp(&b.1.version),
    });
    Status {
        entries: entries.into_iter().map(|(_, e)| e).collect(),
    }
}

fn entry(
    version: &str,
    name: &str,
    state: State,
    row: Option<&HistoryRow>,
    m: Option<&Migration>,
) -> StatusEntry {
    StatusEntry {
        version: version.to_owned(),
        name: name.to_owned(),
        state,
        applied_at: row.map(|r| r.applied_at.clone()),
        execution_ms: row.map(|r| r.execution_ms),
        path: m.map(|m| m.up.path().to_owned()),
    }
}

/// The SQL that records every versioned migration up to `version` as applied without running
/// it, in one transaction with the new state digest. Refuses a non-empty history.
pub(crate) fn baseline_sql(
    set: &Migrations,
    tables: &Tables,
    history: &[HistoryRow],
    version: &str,
) -> Result<(String, Vec<String>), Error> {
    let unknown = || Error::UnknownTarget {
        version: version.to_owned(),
    };
    let bound = Version::parse_canonical(version.trim()).ok_or_else(unknown)?;
    if !set.iter().any(|m| m.version() == bound.to_string()) {
        return Err(unknown());
    }
    if !history.is_empty() {
        return Err(Error::InvalidConfig {
            message: format!(
                "baseline adopts a database without tidemark history, but {} rows are recorded already",
                history.len()
            ),
        });
    }
    let mut sql = String::from("BEGIN;\n");
    let mut adopted = Vec::new();
    let mut rows = Vec::new();
    for m in set.iter().filter(|m| m.kind == MigrationKind::Versioned) {
        if Version::parse_canonical(m.version()).is_some_and(|v| v <= bound) {
            sql.push_str(&tables.record_up_sql(m, true, "0"));
            adopted.push(m.version().to_owned());
            rows.push(HistoryRow {
                version: m.version().to_owned(),
                name: m.name().to_owned(),
                repeatable: false,
                checksum: m.up.checksum,
                success: true,
                applied_at: String::new(),
                execution_ms: 0,
            });
        }
    }
    sql.push_str(&tables.state_sql(&applied_digest(&rows)));
    sql.push_str("COMMIT;\n");
    Ok((sql, adopted))
}

/// What [`Migrator::repair`](crate::Migrator::repair) changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Versions whose failed row was removed.
    pub removed_failed: Vec<String>,
    /// Versions whose recorded checksum (and name) was re-aligned with the set.
    pub realigned: Vec<String>,
}

/// The SQL that clears failed rows and re-records changed checksums, with the new state digest.
pub(crate) fn repair_sql(
    set: &Migrations,
    tables: &Tables,
    history: &[HistoryRow],
) -> (String, RepairReport) {
    let known: HashMap<&str, &Migration> = set.iter().map(|m| (m.version(), m)).collect();
    let mut sql = String::from("BEGIN;\n");
    let mut report = RepairReport::default();
    let mut rows = Vec::new();
    for r in history {
        let id = literal(&r.version);
        if !r.success {
            sql.push_str(&format!(
                "DELETE FROM {} WHERE version = {id};\n",
                tables.history
            ));
            report.removed_failed.push(r.version.clone());
            continue;
        }
        let mut row = r.clone();
        if let Some(m) = known
            .get(r.version.as_str())
            .filter(|m| m.kind == MigrationKind::Versioned)
        {
            if m.up.checksum != r.checksum {
                let down = m
                    .down
                    .as_ref()
                    .map_or("NULL".to_owned(), |d| bytea(&d.checksum));
                sql.push_str(&format!(
                    "UPDATE {} SET checksum = {}, down_checksum = {down}, name = {} WHERE version = {id};\n",
                    tables.history,
                    bytea(&m.up.checksum),
                    literal(m.name())
                ));
                report.realigned.push(r.version.clone());
                row.checksum = m.up.checksum;
            }
        }
        rows.push(row);
    }
    sql.push_str(&tables.state_sql(&applied_digest(&rows)));
    sql.push_str("COMMIT;\n");
    (sql, report)
}
