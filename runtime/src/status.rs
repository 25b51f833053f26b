//! Where a database stands against a migration set. Pure: computed from history rows that the
//! caller read.

use crate::history::HistoryRow;
use crate::migrations::{Migration, MigrationKind, Migrations};
use crate::table::{self, Align};
use std::collections::HashMap;
use std::fmt;

/// The state of one migration in a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet (or, for a repeatable, changed since it last ran).
    Pending,
    /// Applied, but the file changed since (checksums differ).
    Divergent,
    /// Applied, but not in this set of migrations.
    Missing,
    /// Applied, not in this set, and newer than all of it: left by a newer build (a deploy
    /// that was rolled back). Tolerated unless `allow_future(false)`.
    Future,
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
            Self::Future => "future",
            Self::Failed => "failed",
        })
    }
}

/// One line of a [`Status`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Versioned SQL, repeatable or Rust code (from the set, or from history for a missing
    /// one).
    pub kind: MigrationKind,
    /// Expand or contract (from the set, or from history for a migration the set lacks).
    pub phase: crate::Phase,
}

/// Every migration of a set and of history, with its state: versioned ones by version, then
/// repeatables by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// One entry per migration.
    pub entries: Vec<StatusEntry>,
    /// What the status has to say besides (a stale debug binary, versions newer than this
    /// build), for the service to log: tidemark never prints.
    pub warnings: Vec<crate::Warning>,
    /// The live registered instances (design §11), oldest first; empty when none registered.
    pub instances: Vec<crate::LiveInstance>,
}

impl Status {
    /// The entries in a state.
    pub fn in_state(&self, state: State) -> impl Iterator<Item = &StatusEntry> {
        self.entries.iter().filter(move |e| e.state == state)
    }

    /// Whether every migration is applied and unchanged, and history holds nothing else but
    /// tolerated [future](State::Future) versions.
    pub fn is_up_to_date(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.state, State::Applied | State::Future))
    }
}

impl fmt::Display for Status {
    /// A table for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<Vec<String>> = self
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.version.clone(),
                    match (e.kind == MigrationKind::Code, e.phase) {
                        (true, crate::Phase::Contract) => format!("{} (code, contract)", e.name),
                        (true, _) => format!("{} (code)", e.name),
                        (false, crate::Phase::Contract) => format!("{} (contract)", e.name),
                        (false, _) => e.name.clone(),
                    },
                    e.state.to_string(),
                    e.applied_at.clone().unwrap_or_else(|| "-".to_owned()),
                    e.execution_ms
                        .map_or_else(|| "-".to_owned(), |m| format!("{m} ms")),
                ]
            })
            .collect();
        table::write(
            f,
            &[
                ("version", Align::Left),
                ("name", Align::Left),
                ("state", Align::Left),
                ("applied at", Align::Left),
                ("time", Align::Right),
            ],
            &rows,
        )?;
        for i in &self.instances {
            writeln!(f, "live instance: {i}")?;
        }
        Ok(())
    }
}

/// Builds the status of `set` against `history`; with `allow_future`, applied versions newer
/// than the whole set are [`State::Future`] rather than missing.
pub(crate) fn status(set: &Migrations, history: &[HistoryRow], allow_future: bool) -> Status {
    let recorded: HashMap<&str, &HistoryRow> =
        history.iter().map(|r| (r.version.as_str(), r)).collect();
    // (repeatable, entry): versioned ones first, in the set's order; repeatables by name.
    let mut entries: Vec<(bool, StatusEntry)> = Vec::new();
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
            m.kind == MigrationKind::Repeatable,
            entry(m.version(), m.name(), state, row.copied(), Some(m)),
        ));
    }
    let known: HashMap<&str, &Migration> = set.iter().map(|m| (m.version(), m)).collect();
    let newest = crate::plan::newest(set);
    for r in history
        .iter()
        .filter(|r| !known.contains_key(r.version.as_str()))
    {
        let state = if !r.success {
            State::Failed
        } else if allow_future && crate::plan::is_future(set, r, newest) {
            State::Future
        } else {
            State::Missing
        };
        entries.push((
            r.kind == MigrationKind::Repeatable,
            entry(&r.version, &r.name, state, Some(r), None),
        ));
    }
    entries.sort_by(|a, b| match (a.0, b.0) {
        (false, false) => set.order.compare(&a.1.version, &b.1.version),
        (false, true) => std::cmp::Ordering::Less,
        (true, false) => std::cmp::Ordering::Greater,
        (true, true) => a.1.version.cmp(&b.1.version),
    });
    Status {
        entries: entries.into_iter().map(|(_, e)| e).collect(),
        warnings: Vec::new(),
        instances: Vec::new(),
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
        kind: m
            .map(|m| m.kind)
            .or(row.map(|r| r.kind))
            .unwrap_or(MigrationKind::Versioned),
        phase: m.map(Migration::phase).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{repeatable, set, versioned};
    use crate::history::applied;

    #[test]
    fn every_state_in_version_order_repeatables_last() {
        let s = set(vec![
            versioned("1", "a", None),
            versioned("2", "b", None),
            versioned("10", "c", None),
            versioned("11", "d", None),
            repeatable("v", "e"),
        ]);
        let mut edited = applied(&s.items[1]);
        edited.checksum = [1; 32];
        let mut failed = applied(&s.items[2]);
        failed.success = false;
        let mut missing = applied(&s.items[0]);
        missing.version = "3".to_owned();
        missing.name = "gone".to_owned();
        let history = [applied(&s.items[0]), edited, missing, failed];
        let st = status(&s, &history, true);
        let states: Vec<(&str, State)> = st
            .entries
            .iter()
            .map(|e| (e.version.as_str(), e.state))
            .collect();
        assert_eq!(
            states,
            [
                ("1", State::Applied),
                ("2", State::Divergent),
                ("3", State::Missing),
                ("10", State::Failed),
                ("11", State::Pending),
                ("R__v", State::Pending),
            ]
        );
        assert_eq!(st.entries[2].name, "gone");
        assert_eq!(st.entries[2].path, None);
        assert_eq!(st.entries[0].execution_ms, Some(3));
        assert_eq!(st.entries[4].applied_at, None);
        assert!(!st.is_up_to_date());
        assert_eq!(st.in_state(State::Pending).count(), 2);
        let table = st.to_string();
        assert!(table.starts_with("version  name  state"), "{table}");
        assert!(table.contains("\n3        gone  missing"), "{table}");
    }

    #[test]
    fn a_fully_applied_set_is_up_to_date() {
        let s = set(vec![versioned("1", "a", None), repeatable("v", "b")]);
        let history: Vec<HistoryRow> = s.iter().map(applied).collect();
        assert!(status(&s, &history, true).is_up_to_date());
        let mut newer = applied(&s.items[0]);
        newer.version = "7".to_owned();
        let with_future = [history.clone(), vec![newer]].concat();
        let st = status(&s, &with_future, true);
        assert_eq!(st.entries[1].state, State::Future);
        assert!(
            st.is_up_to_date(),
            "a future version does not make a set pending"
        );
        let strict = status(&s, &with_future, false);
        assert_eq!(strict.entries[1].state, State::Missing);
        assert!(!strict.is_up_to_date());
    }
}
