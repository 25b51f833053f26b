//! Planning: from the migration set, history and options to an ordered list of steps. Pure.

use crate::error::Error;
use crate::history::{applied_digest, digest, HistoryRow};
use crate::migrations::{Migration, MigrationKind, Migrations, Script};
use crate::report::Direction;
use crate::target::Target;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Why a step is in a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// A pending versioned migration.
    Pending,
    /// A pending versioned migration below the highest applied one (allowed by option).
    OutOfOrder,
    /// A repeatable migration not applied before.
    RepeatableNew,
    /// A repeatable migration whose checksum changed since it last ran.
    RepeatableChanged,
    /// An applied migration above the target version.
    Rollback,
    /// The set's checkpoint, on a database with no migration applied: it creates the schema
    /// as of its version and records every migration it stands for.
    Checkpoint,
}

/// One step of a [`Plan`].
#[derive(Clone, Debug)]
pub struct PlannedStep<'m> {
    pub(crate) migration: &'m Migration,
    pub(crate) direction: Direction,
    pub(crate) reason: Reason,
    /// The checksum recorded for this migration before the step (a changed repeatable).
    pub(crate) recorded: Option<[u8; 32]>,
    /// What a checkpoint step records: the migrations it stands for (empty for any other).
    pub(crate) covers: &'m [Migration],
    /// A contract step's re-read of the instance registry, which opens its transaction (set
    /// by the gate when the step's contract migration may run).
    pub(crate) gate: Option<String>,
}

impl<'m> PlannedStep<'m> {
    pub(crate) fn new(
        migration: &'m Migration,
        direction: Direction,
        reason: Reason,
        recorded: Option<[u8; 32]>,
    ) -> Self {
        Self {
            migration,
            direction,
            reason,
            recorded,
            covers: &[],
            gate: None,
        }
    }

    /// The checkpoint's step: its script, recording the migrations it stands for.
    fn checkpoint(checkpoint: &'m Migration, covers: &'m [Migration]) -> Self {
        Self {
            covers,
            ..Self::new(checkpoint, Direction::Up, Reason::Checkpoint, None)
        }
    }

    /// The migrations a checkpoint step records as applied; empty for any other step.
    pub fn squashed(&self) -> &'m [Migration] {
        self.covers
    }

    /// The migration.
    pub fn migration(&self) -> &'m Migration {
        self.migration
    }

    /// Up or down.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Whether this step applies a migration marked `-- tidemark:out-of-order` below the
    /// highest applied version (its history row says so).
    pub(crate) fn marked_out_of_order(&self) -> bool {
        self.reason == Reason::OutOfOrder
            && self.direction == Direction::Up
            && self.migration.up.out_of_order
    }

    /// Whether this step applies a contract migration (a checkpoint stands for a new database,
    /// where no instance can lack anything: it never counts).
    pub(crate) fn applies_contract(&self) -> bool {
        self.direction == Direction::Up
            && self.covers.is_empty()
            && self.migration.phase() == crate::Phase::Contract
    }

    /// Why the step is planned.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The script this step runs.
    pub fn script(&self) -> &'m Script {
        match self.direction {
            Direction::Up => &self.migration.up,
            // The planner only plans a down step for a migration with a rollback script.
            Direction::Down => self.migration.down.as_ref().unwrap_or(&self.migration.up),
        }
    }

    /// The entry this step removes from the set digest: the recorded one of a migration it
    /// reverts or re-runs.
    pub(crate) fn old_entry(&self) -> Option<[u8; 32]> {
        let m = self.migration;
        self.recorded
            .as_ref()
            .map(|old| tidemark_core::entry_digest(m.kind, m.version(), old))
    }

    /// The entries this step adds to the set digest: its migration applied, or every
    /// migration a checkpoint stands for.
    pub(crate) fn new_entries(&self) -> Vec<[u8; 32]> {
        if !self.covers.is_empty() {
            self.covers.iter().map(Migration::entry_digest).collect()
        } else if self.direction == Direction::Up {
            vec![self.migration.entry_digest()]
        } else {
            Vec::new()
        }
    }

    /// The set digest once this step is done, from the digest `before` it.
    pub(crate) fn digest_after(&self, before: [u8; 32]) -> [u8; 32] {
        digest::with(
            digest::without(before, self.old_entry()),
            self.new_entries(),
        )
    }
}

/// What a run will do, computed without changing anything. Inspect it, then hand it to
/// [`Migrator::execute`](crate::Migrator::execute).
#[derive(Clone, Debug)]
pub struct Plan<'m> {
    pub(crate) steps: Vec<PlannedStep<'m>>,
    /// Digest of the applied set the plan was made from.
    pub(crate) digest_before: [u8; 32],
    /// Applied versions newer than the set's newest, tolerated (see
    /// [`Migrator::allow_future`](crate::Migrator::allow_future)).
    pub(crate) future: Vec<String>,
    /// Pending contract migrations taken out of the steps: live instances lack them.
    pub(crate) waiting: Vec<crate::WaitingContract>,
    /// Contract migrations kept although live instances lack them (forced).
    pub(crate) forced: Vec<crate::WaitingContract>,
}

impl<'m> Plan<'m> {
    /// The steps in the order they run: rollbacks first (newest first), then forward steps.
    pub fn steps(&self) -> &[PlannedStep<'m>] {
        &self.steps
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Applied versions newer than every migration of the set (left by a newer build, as after
    /// a rolled-back deploy), which the plan tolerates.
    pub fn future_versions(&self) -> &[String] {
        &self.future
    }

    /// Pending contract migrations that do not run because live registered instances embed a
    /// set without them (the gate is closed); the steps after them still run.
    pub fn waiting(&self) -> &[crate::WaitingContract] {
        &self.waiting
    }

    /// `Up` or `Down` when every step goes that way; `None` for an empty or mixed plan.
    pub fn direction(&self) -> Option<Direction> {
        let first = self.steps.first()?.direction;
        self.steps
            .iter()
            .all(|s| s.direction == first)
            .then_some(first)
    }
}

/// The checks a plan applies to history.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) allow_out_of_order: bool,
    pub(crate) allow_missing: bool,
    pub(crate) allow_divergent: bool,
    /// Applied versions newer than the set's newest (left by a newer build) are tolerated.
    pub(crate) allow_future: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_out_of_order: false,
            allow_missing: false,
            allow_divergent: false,
            allow_future: true,
        }
    }
}

/// The newest versioned migration of the set (the set is in run order).
pub(crate) fn newest(set: &Migrations) -> Option<&str> {
    set.iter()
        .filter(|m| m.kind.is_versioned())
        .map(Migration::version)
        .max_by(|a, b| set.order.compare(a, b))
}

/// Whether an applied version the set does not have is newer than everything in the set: left
/// by a newer build (a deploy that was rolled back), not a gap.
pub(crate) fn is_future(set: &Migrations, row: &HistoryRow, newest: Option<&str>) -> bool {
    newest.is_none_or(|n| set.order.compare(&row.version, n) == Ordering::Greater)
}

/// A failed row (a no-transaction migration that failed midway) blocks every run and every
/// rebuild of the schema until `repair`: [`Error::Dirty`], naming the file when the set has it.
pub(crate) fn check_no_failed_row(set: &Migrations, history: &[HistoryRow]) -> Result<(), Error> {
    match history.iter().find(|r| !r.success) {
        Some(row) => Err(Error::Dirty {
            version: row.version.clone(),
            name: row.name.clone(),
            path: set.get(&row.version).map(|m| m.up.path().to_owned()),
        }),
        None => Ok(()),
    }
}

/// Plans the steps from `history` to `target`, checking every policy before anything runs:
/// history first (a failed row, missing and future versions, divergent checksums), then the
/// target's bound, then the steps in the order they run (rollbacks after the repeatables they
/// may depend on are undone, the checkpoint, forward migrations, repeatables).
pub(crate) fn plan<'m>(
    set: &'m Migrations,
    history: &[HistoryRow],
    target: &Target,
    policy: Policy,
) -> Result<Plan<'m>, Error> {
    let planner = Planner {
        set,
        history,
        recorded: history.iter().map(|r| (r.version.as_str(), r)).collect(),
        known: set.iter().map(|m| (m.version(), m)).collect(),
        policy,
    };
    check_no_failed_row(set, history)?;
    let future = planner.future_versions()?;
    planner.check_checksums()?;
    let bound = planner.bound(target)?;
    let rollbacks = planner.rollbacks(&bound)?;
    let mut steps = if !rollbacks.is_empty() || *target == Target::Initial {
        planner.repeatable_undos(target)?
    } else {
        Vec::new()
    };
    steps.extend(rollbacks);
    planner.forwards(&bound, &mut steps)?;
    if *target == Target::Latest {
        steps.extend(planner.repeatables());
    }
    Ok(Plan {
        steps,
        digest_before: applied_digest(history),
        future,
        waiting: Vec::new(),
        forced: Vec::new(),
    })
}

/// What planning looks things up in.
struct Planner<'m, 'h> {
    set: &'m Migrations,
    history: &'h [HistoryRow],
    recorded: HashMap<&'h str, &'h HistoryRow>,
    known: HashMap<&'m str, &'m Migration>,
    policy: Policy,
}

impl<'m> Planner<'m, '_> {
    /// Applied versions the set does not have: tolerated when newer than the set (left by a
    /// newer build, listed) or allowed, else [`Error::Missing`].
    fn future_versions(&self) -> Result<Vec<String>, Error> {
        let newest = newest(self.set);
        let mut future = Vec::new();
        for row in self
            .history
            .iter()
            .filter(|r| r.kind.is_versioned() && !self.known.contains_key(r.version.as_str()))
        {
            if self.policy.allow_future && is_future(self.set, row, newest) {
                future.push(row.version.clone());
            } else if !self.policy.allow_missing {
                return Err(Error::Missing {
                    version: row.version.clone(),
                    name: row.name.clone(),
                });
            }
        }
        Ok(future)
    }

    /// An applied versioned migration whose file changed is [`Error::Divergent`] unless
    /// allowed.
    fn check_checksums(&self) -> Result<(), Error> {
        for m in self.set.iter().filter(|m| m.kind.is_versioned()) {
            let Some(row) = self.recorded.get(m.version()) else {
                continue;
            };
            if row.checksum != m.up.checksum && !self.policy.allow_divergent {
                return Err(Error::Divergent {
                    version: m.version().to_owned(),
                    name: m.name().to_owned(),
                    path: m.up.path().to_owned(),
                });
            }
        }
        Ok(())
    }

    fn bound(&self, target: &Target) -> Result<Bound, Error> {
        Ok(match target {
            Target::Latest => Bound::All,
            Target::Initial => Bound::Nothing,
            Target::Version(v) => {
                let canonical = self
                    .set
                    .order
                    .canonical(v)
                    .filter(|c| self.known.contains_key(c.as_str()))
                    .ok_or_else(|| Error::UnknownTarget { version: v.clone() })?;
                Bound::UpTo(canonical)
            }
        })
    }

    fn wanted(&self, bound: &Bound, version: &str) -> bool {
        match bound {
            Bound::All => true,
            Bound::Nothing => false,
            Bound::UpTo(b) => self.set.order.compare(version, b) != Ordering::Greater,
        }
    }

    fn highest_applied(&self) -> Option<&str> {
        self.history
            .iter()
            .filter(|r| r.kind.is_versioned())
            .map(|r| r.version.as_str())
            .max_by(|a, b| self.set.order.compare(a, b))
    }

    /// Every applied version above the bound, newest first; each needs a rollback script.
    fn rollbacks(&self, bound: &Bound) -> Result<Vec<PlannedStep<'m>>, Error> {
        let order = self.set.order;
        let mut applied: Vec<&HistoryRow> = self
            .history
            .iter()
            .filter(|r| r.kind.is_versioned() && !self.wanted(bound, &r.version))
            .collect();
        applied.sort_by(|a, b| order.compare(&b.version, &a.version));
        applied
            .into_iter()
            .map(|row| {
                let Some(m) = self.known.get(row.version.as_str()) else {
                    return Err(Error::NoRollback {
                        version: row.version.clone(),
                        path: None,
                    });
                };
                if m.down.is_none() {
                    return Err(Error::NoRollback {
                        version: m.version().to_owned(),
                        path: Some(m.up.path().to_owned()),
                    });
                }
                Ok(PlannedStep::new(
                    m,
                    Direction::Down,
                    Reason::Rollback,
                    Some(row.checksum),
                ))
            })
            .collect()
    }

    /// A repeatable may depend on what the versioned rollbacks drop (a view on a table):
    /// before them, the applied repeatables that have an undo script are undone, newest name
    /// first. Going back to the initial state undoes every repeatable, so each needs one.
    fn repeatable_undos(&self, target: &Target) -> Result<Vec<PlannedStep<'m>>, Error> {
        let mut steps = Vec::new();
        let applied = self
            .set
            .iter()
            .filter(|m| m.kind == MigrationKind::Repeatable)
            .filter(|m| self.recorded.contains_key(m.version()));
        for m in applied.collect::<Vec<_>>().into_iter().rev() {
            match (&m.down, target) {
                (Some(_), _) => steps.push(PlannedStep::new(
                    m,
                    Direction::Down,
                    Reason::Rollback,
                    self.recorded.get(m.version()).map(|r| r.checksum),
                )),
                (None, Target::Initial) => {
                    return Err(Error::NoRollback {
                        version: m.version().to_owned(),
                        path: Some(m.up.path().to_owned()),
                    })
                }
                (None, _) => {}
            }
        }
        Ok(steps)
    }

    /// The pending versioned migrations up to the bound, in order; a database with no
    /// migration applied starts from the checkpoint when the bound is at or above it (the
    /// migrations it stands for are then done).
    fn forwards(&self, bound: &Bound, steps: &mut Vec<PlannedStep<'m>>) -> Result<(), Error> {
        let highest_applied = self.highest_applied();
        let checkpoint = self
            .set
            .checkpoint
            .as_ref()
            .filter(|c| highest_applied.is_none() && self.wanted(bound, c.migration.version()));
        let mut done_by_checkpoint = 0;
        if let Some(c) = checkpoint {
            steps.push(PlannedStep::checkpoint(
                &c.migration,
                &self.set.items[..c.squashes],
            ));
            done_by_checkpoint = c.squashes;
        }
        let versioned = self.set.iter().filter(|m| m.kind.is_versioned());
        for m in versioned.skip(done_by_checkpoint) {
            let v = m.version();
            if self.recorded.contains_key(v) || !self.wanted(bound, v) {
                continue;
            }
            if self.set.is_squashed(m) {
                return Err(Error::Squashed {
                    version: v.to_owned(),
                    checkpoint: m.up.path().to_owned(),
                });
            }
            let late =
                highest_applied.is_some_and(|h| self.set.order.compare(v, h) == Ordering::Less);
            // A contract migration that waited while later expand ones ran lands below them.
            if late && !self.policy.allow_out_of_order && !m.up.out_of_order && !m.up.contract {
                return Err(Error::OutOfOrder {
                    version: v.to_owned(),
                    path: m.up.path().to_owned(),
                    highest: highest_applied.unwrap_or_default().to_owned(),
                });
            }
            let reason = if late {
                Reason::OutOfOrder
            } else {
                Reason::Pending
            };
            steps.push(PlannedStep::new(m, Direction::Up, reason, None));
        }
        Ok(())
    }

    /// New repeatables, and those whose checksum changed since they last ran.
    fn repeatables(&self) -> Vec<PlannedStep<'m>> {
        self.set
            .iter()
            .filter(|m| m.kind == MigrationKind::Repeatable)
            .filter_map(|m| match self.recorded.get(m.version()) {
                Some(row) if row.checksum == m.up.checksum => None,
                Some(row) => Some(PlannedStep::new(
                    m,
                    Direction::Up,
                    Reason::RepeatableChanged,
                    Some(row.checksum),
                )),
                None => Some(PlannedStep::new(
                    m,
                    Direction::Up,
                    Reason::RepeatableNew,
                    None,
                )),
            })
            .collect()
    }
}

enum Bound {
    All,
    Nothing,
    UpTo(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{repeatable, set, versioned};
    use crate::history::applied;

    fn three() -> Migrations {
        set(vec![
            versioned("1", "CREATE TABLE a ();", Some("DROP TABLE a;")),
            versioned("2", "CREATE TABLE b ();", None),
            versioned("3", "CREATE TABLE c ();", Some("DROP TABLE c;")),
            repeatable("v", "CREATE VIEW v AS SELECT 1;"),
        ])
    }

    fn steps<'m>(p: &Plan<'m>) -> Vec<(&'m str, Direction, Reason)> {
        p.steps()
            .iter()
            .map(|s| (s.migration().version(), s.direction(), s.reason()))
            .collect()
    }

    fn plan_of<'m>(s: &'m Migrations, h: &[HistoryRow], t: Target) -> Result<Plan<'m>, Error> {
        plan(s, h, &t, Policy::default())
    }

    #[test]
    fn an_empty_database_gets_everything_in_order_repeatables_last() {
        let s = three();
        let p = plan_of(&s, &[], Target::Latest).unwrap();
        assert_eq!(
            steps(&p),
            [
                ("1", Direction::Up, Reason::Pending),
                ("2", Direction::Up, Reason::Pending),
                ("3", Direction::Up, Reason::Pending),
                ("R__v", Direction::Up, Reason::RepeatableNew),
            ]
        );
        assert_eq!(p.direction(), Some(Direction::Up));
        assert_eq!(p.digest_before, [0; 32]);
        let mut d = p.digest_before;
        for step in p.steps() {
            d = step.digest_after(d);
        }
        assert_eq!(&d, s.digest(), "the steps add up to the set's digest");
    }

    #[test]
    fn a_version_target_goes_down_newest_first_and_checks_rollbacks_first() {
        let s = three();
        let all: Vec<HistoryRow> = s.iter().map(applied).collect();
        let p = plan_of(&s, &all, Target::version(2)).unwrap();
        assert_eq!(steps(&p), [("3", Direction::Down, Reason::Rollback)]);
        let err = plan_of(&s, &all, Target::Initial).unwrap_err();
        assert!(
            matches!(&err, Error::NoRollback { version, .. } if version == "2"),
            "{err:?}"
        );
        let up = plan_of(&s, &all[..1], Target::version(2)).unwrap();
        assert_eq!(steps(&up), [("2", Direction::Up, Reason::Pending)]);
        let unknown = plan_of(&s, &[], Target::version("2.5")).unwrap_err();
        assert!(matches!(unknown, Error::UnknownTarget { .. }));
    }

    #[test]
    fn history_problems_are_errors_unless_allowed() {
        let s = three();
        let mut edited = applied(&s.items[0]);
        edited.checksum = [9; 32];
        let err = plan_of(&s, &[edited.clone()], Target::Latest).unwrap_err();
        assert!(matches!(err, Error::Divergent { .. }), "{err:?}");
        let allowed = Policy {
            allow_divergent: true,
            ..Policy::default()
        };
        assert!(plan(&s, &[edited], &Target::Latest, allowed).is_ok());

        let mut unknown = applied(&s.items[0]);
        unknown.version = "2.5".to_owned();
        let err = plan_of(&s, &[unknown.clone()], Target::Latest).unwrap_err();
        assert!(
            matches!(err, Error::Missing { .. }),
            "a gap inside the range: {err:?}"
        );
        unknown.version = "9".to_owned();
        let mut all: Vec<HistoryRow> = s.iter().map(applied).collect();
        all.push(unknown);
        let p = plan_of(&s, &all, Target::Latest).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.future_versions(), ["9"], "newer than the set: tolerated");
        let strict = Policy {
            allow_future: false,
            ..Policy::default()
        };
        let err = plan(&s, &all, &Target::Latest, strict).unwrap_err();
        assert!(matches!(err, Error::Missing { .. }), "{err:?}");

        let late = [applied(&s.items[0]), applied(&s.items[2])];
        let err = plan_of(&s, &late, Target::Latest).unwrap_err();
        assert!(
            matches!(&err, Error::OutOfOrder { version, highest, .. } if version == "2" && highest == "3"),
            "{err:?}"
        );

        let mut failed = applied(&s.items[1]);
        failed.success = false;
        let err = plan_of(&s, &[applied(&s.items[0]), failed], Target::Latest).unwrap_err();
        assert!(
            matches!(&err, Error::Dirty { path: Some(path), .. } if path == "migrations/V2__m.sql"),
            "{err:?}"
        );
    }

    #[test]
    fn a_changed_repeatable_is_replanned_and_an_unchanged_one_is_not() {
        let s = three();
        let mut h: Vec<HistoryRow> = s.iter().map(applied).collect();
        assert!(plan_of(&s, &h, Target::Latest).unwrap().is_empty());
        h[3].checksum = [7; 32];
        let p = plan_of(&s, &h, Target::Latest).unwrap();
        assert_eq!(
            steps(&p),
            [("R__v", Direction::Up, Reason::RepeatableChanged)]
        );
        assert_eq!(&p.steps()[0].digest_after(p.digest_before), s.digest());
    }
}
