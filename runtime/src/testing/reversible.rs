//! `assert_reversible`: every rollback undoes its forward script, and the forward script then
//! applies again.

use super::database::TestDatabase;
use crate::migrations::Migrations;
use crate::schema::{DifferenceKind, Drift, Schema};
use crate::target::Target;
use std::fmt;

/// A migration whose rollback does not restore the schema it started from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Irreversible {
    /// The migration's version.
    pub version: String,
    /// Its name.
    pub name: String,
    /// The rollback script.
    pub path: String,
    /// Objects present after up + down that were not there before up, or are defined
    /// otherwise (`kind name: definition`, as [`Schema`] reads them).
    pub left_behind: Vec<String>,
    /// Objects present before up that are gone after up + down, or were defined otherwise.
    pub missing: Vec<String>,
    /// The forward script failed when applied again after the rollback.
    pub reapply_error: Option<String>,
}

impl fmt::Display for Irreversible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the rollback of version {} ({}) ",
            self.path, self.version, self.name
        )?;
        if let Some(e) = &self.reapply_error {
            return write!(
                f,
                "leaves a database where the forward script fails again: {e}"
            );
        }
        write!(f, "does not undo its forward script")?;
        for o in &self.left_behind {
            write!(f, "\n  left behind: {o}")?;
        }
        for o in &self.missing {
            write!(f, "\n  missing after rollback: {o}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Irreversible {}

/// What [`check_reversible`] checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reversibility {
    /// Versioned migrations whose rollback was checked (up, down, schema equal, up again).
    pub checked: Vec<String>,
    /// Versioned migrations without a rollback script, so not checked.
    pub without_rollback: Vec<String>,
}

impl fmt::Display for Reversibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.checked.len() + self.without_rollback.len();
        write!(
            f,
            "checked the rollbacks of {} of {total} versioned migrations",
            self.checked.len()
        )?;
        if !self.without_rollback.is_empty() {
            write!(
                f,
                "; without a rollback script: {}",
                self.without_rollback.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Panics unless every rollback restores the schema its forward script started from and the
/// forward script then applies again, naming the migration and the differing objects; also
/// when no migration has a rollback at all (nothing would be checked). Prints what it checked
/// (the test harness shows it with `--nocapture` or on failure).
///
/// A failure names the line of the test that called it (`#[track_caller]`).
#[track_caller]
pub fn assert_reversible(
    set: &Migrations,
) -> impl std::future::Future<Output = Reversibility> + '_ {
    let caller = std::panic::Location::caller();
    async move { assert_checked(set, caller, false).await }
}

/// Like [`assert_reversible`], and also panics when any versioned migration has no rollback
/// script: for a set whose every migration must be reversible.
#[track_caller]
pub fn assert_all_reversible(
    set: &Migrations,
) -> impl std::future::Future<Output = Reversibility> + '_ {
    let caller = std::panic::Location::caller();
    async move { assert_checked(set, caller, true).await }
}

#[allow(clippy::print_stderr)] // the test harness captures it
async fn assert_checked(
    set: &Migrations,
    caller: &'static std::panic::Location<'static>,
    all: bool,
) -> Reversibility {
    let checked = match check_reversible(set).await {
        Ok(c) => c,
        Err(e) => panic!("{e}\n  (assert_reversible at {caller})"),
    };
    if checked.checked.is_empty() {
        panic!("no migration has a rollback script, so assert_reversible checked nothing (at {caller})");
    }
    if all && !checked.without_rollback.is_empty() {
        panic!(
            "every migration must be reversible, but these have no rollback script: {} (assert_all_reversible at {caller})",
            checked.without_rollback.join(", ")
        );
    }
    eprintln!("assert_reversible: {checked}");
    checked
}

/// Walks the set in a fresh database: for each versioned migration with a rollback, the schema
/// (as [`Schema::read`] reads it), up, down, the schema again (must be equal), up again. Returns what it checked, or the first
/// migration that fails.
///
/// # Panics
///
/// When no test database can be had, or a forward script fails on its first application.
pub async fn check_reversible(set: &Migrations) -> Result<Reversibility, Irreversible> {
    let mut seen = Reversibility::default();
    let db = TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = db.pool().get().await.unwrap_or_else(|e| panic!("{e}"));
    let mut previous = Target::Initial;
    for m in set.iter().filter(|m| m.kind().is_versioned()) {
        let here = Target::Version(m.version().to_owned());
        let before = schema(&client).await;
        if let Err(e) = db.migrate(set, here.clone()).await {
            panic!(
                "{} does not apply, so its rollback cannot be checked: {e}",
                m.up().path()
            );
        }
        if let Some(down) = m.down() {
            let irreversible = |left_behind, missing, reapply_error| Irreversible {
                version: m.version().to_owned(),
                name: m.name().to_owned(),
                path: down.path().to_owned(),
                left_behind,
                missing,
                reapply_error,
            };
            if let Err(e) = db.migrate(set, previous.clone()).await {
                return Err(irreversible(
                    Vec::new(),
                    Vec::new(),
                    Some(format!("the rollback itself failed: {e}")),
                ));
            }
            let drift = before.diff(&schema(&client).await);
            if !drift.is_empty() {
                let (left, missing) = sides(&drift);
                return Err(irreversible(left, missing, None));
            }
            if let Err(e) = db.migrate(set, here.clone()).await {
                return Err(irreversible(Vec::new(), Vec::new(), Some(e.to_string())));
            }
            seen.checked.push(m.version().to_owned());
        } else {
            seen.without_rollback.push(m.version().to_owned());
        }
        previous = here;
    }
    Ok(seen)
}

/// The test database's schema, tidemark's own tables left out.
async fn schema(client: &tokio_postgres::Client) -> Schema {
    Schema::read(client, "public", "tidemark_history")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What a rollback left behind (after it, not before) and what it lost (before it, not after),
/// one `kind name: definition` line per object; a changed object is on both sides.
fn sides(drift: &Drift) -> (Vec<String>, Vec<String>) {
    // A table's detail is its kind (`table`, `unlogged table`): said once.
    let line = |kind: &str, name: &str, definition: &Option<String>| match definition {
        Some(d) if d != kind => format!("{kind} {name}: {d}"),
        _ => format!("{kind} {name}"),
    };
    let (mut left, mut missing) = (Vec::new(), Vec::new());
    for d in &drift.differences {
        // `before.diff(after)`: "missing" is what the rollback lost, "unexpected" what it left.
        if matches!(d.kind, DifferenceKind::Unexpected | DifferenceKind::Changed) {
            left.push(line(&d.object_kind, &d.name, &d.actual));
        }
        if matches!(d.kind, DifferenceKind::Missing | DifferenceKind::Changed) {
            missing.push(line(&d.object_kind, &d.name, &d.expected));
        }
    }
    (left, missing)
}
