//! One simple-query message for many transactional steps: `BEGIN`, the script, the history row
//! and `COMMIT` of each. Pure: it builds the text and remembers where each script sits in it,
//! so a server error position can be traced back to its file.

use crate::history::{Tables, Timing};
use crate::migrations::MigrationKind;
use crate::placeholders::Placeholders;
use crate::plan::PlannedStep;
use crate::report::Direction;
use std::ops::Range;

/// How the steps of a batch are wrapped in transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wrap {
    /// `BEGIN … COMMIT` around each step: a failure keeps the steps before it.
    PerStep,
    /// One transaction around every step, committed at the end.
    Single,
    /// The caller has opened a transaction; every step runs in it and it is rolled back.
    DryRun,
    /// Inside a transaction the caller opened and will end, which also stores the digest: a
    /// stretch of SQL steps of a single-transaction run or dry run that holds code migrations.
    Inside,
}

/// A message ready to send.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The message text.
    pub(crate) sql: String,
    /// The character range (as the server counts positions) of each step's script in `sql`.
    spans: Vec<Range<usize>>,
    /// The set digest once each step is done.
    pub(crate) digests: Vec<[u8; 32]>,
    /// The statement the message prepares for its history rows (and deallocates at its end),
    /// which a failed message leaves behind on its session.
    pub(crate) prepared: Option<String>,
}

/// From this many plain versioned steps on, a message prepares their history insert once
/// ([`Tables::prepare_record_sql`]); below it, the `PREPARE` and `DEALLOCATE` cost more than
/// they save.
const PREPARE_FROM: usize = 4;

/// Whether a step's history row is a plain insert of a successful versioned (or code) row: what
/// the prepared insert records.
fn plain_insert(step: &PlannedStep<'_>) -> bool {
    step.direction() == Direction::Up
        && step.squashed().is_empty()
        && !step.marked_out_of_order()
        && step.migration().phase() == crate::Phase::Expand
        && matches!(
            step.migration().kind,
            MigrationKind::Versioned | MigrationKind::Code
        )
}

/// A name for a message's prepared insert that no other message of this process, nor anything
/// an application prepares, is using.
fn prepared_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "tidemark_record_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Batch {
    /// The message for `steps`, starting from the applied-set digest `before`; `check` (a
    /// statement that fails when history is not what the plan was made from) opens the first
    /// transaction, so its refusal runs nothing.
    ///
    /// The stored digest never claims more than is applied: with [`Wrap::PerStep`] the first step
    /// removes it and the last writes the new one, each in its own transaction, so a failure in
    /// between leaves no digest, which only sends the next run down the slow path (one write per
    /// step would cost a row version per migration). The other wraps write it once at the end.
    pub(crate) fn build(
        tables: &Tables,
        steps: &[PlannedStep<'_>],
        before: [u8; 32],
        wrap: Wrap,
        step_start: &str,
        placeholders: &Placeholders,
        check: Option<&str>,
    ) -> Self {
        let prepared =
            (steps.iter().filter(|s| plain_insert(s)).count() >= PREPARE_FROM).then(prepared_name);
        let mut b = Self {
            sql: String::new(),
            spans: Vec::with_capacity(steps.len()),
            digests: Vec::with_capacity(steps.len()),
            prepared: None,
        };
        let mut chars = 0usize;
        let mut push = |sql: &mut String, text: &str| {
            sql.push_str(text);
            chars += text.chars().count();
            chars
        };
        let per_step = wrap == Wrap::PerStep;
        if let Some(name) = &prepared {
            push(&mut b.sql, &tables.prepare_record_sql(name));
        }
        if wrap == Wrap::Single {
            push(&mut b.sql, "BEGIN;\n");
        }
        let mut check = check;
        let mut digest = before;
        let last = steps.len().saturating_sub(1);
        for (k, step) in steps.iter().enumerate() {
            if per_step {
                push(&mut b.sql, "BEGIN;\n");
            }
            if let Some(check) = check.take() {
                push(&mut b.sql, check);
            }
            let named =
                crate::history::named_step_start(step_start, step.migration(), step.direction());
            let mut start = push(&mut b.sql, &named);
            // After the step's start, so that a refusal is the contract step's failure.
            if let Some(gate) = &step.gate {
                start = push(&mut b.sql, gate);
            }
            let end = push(&mut b.sql, &placeholders.apply(step.script().sql_to_run()));
            b.spans.push(start..end);
            push(&mut b.sql, "\n;\n");
            digest = step.digest_after(digest);
            b.digests.push(digest);
            let record = match step.direction() {
                Direction::Up if prepared.is_some() && plain_insert(step) => {
                    Tables::execute_record_sql(
                        prepared.as_deref().unwrap_or_default(),
                        step.migration(),
                    )
                }
                Direction::Up if !step.squashed().is_empty() => {
                    tables.record_squashed_sql(step.squashed())
                }
                Direction::Up => tables.record_up_flagged(
                    step.migration(),
                    true,
                    Timing::Step,
                    step.marked_out_of_order(),
                ),
                Direction::Down => tables.record_down_sql(step.migration()),
            };
            push(&mut b.sql, &record);
            if per_step {
                if k == last {
                    push(&mut b.sql, &tables.store_digest_sql(&digest));
                } else if k == 0 {
                    push(&mut b.sql, &tables.invalidate_sql());
                }
                push(&mut b.sql, "COMMIT;\n");
            }
        }
        if !per_step && wrap != Wrap::Inside {
            push(&mut b.sql, &tables.store_digest_sql(&digest));
            let end = if wrap == Wrap::DryRun {
                "ROLLBACK;\n"
            } else {
                "COMMIT;\n"
            };
            push(&mut b.sql, end);
        }
        if let Some(name) = &prepared {
            push(&mut b.sql, &format!("DEALLOCATE {name};\n"));
        }
        b.prepared = prepared;
        b
    }

    /// What ends a failed message's leftovers on its session: the open transaction, and the
    /// statement it prepared (which outlives a rollback).
    pub(crate) fn cleanup_sql(&self) -> String {
        match &self.prepared {
            Some(name) => format!("ROLLBACK; DEALLOCATE {name}"),
            None => "ROLLBACK".to_owned(),
        }
    }

    /// The step whose script holds 0-based character `c` of the message, and the character
    /// index where that script starts.
    pub(crate) fn step_at(&self, c: usize) -> Option<(usize, usize)> {
        self.spans
            .iter()
            .position(|s| s.contains(&c))
            .map(|k| (k, self.spans[k].start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::__private::{migration, script};
    use crate::migrations::{Migration, MigrationKind};
    use crate::plan::Reason;

    fn set() -> Vec<Migration> {
        vec![
            migration(
                "1",
                &[1],
                "a",
                MigrationKind::Versioned,
                "",
                script("CREATE TABLE a ();", "m/V1__a.sql", [1; 32], false, false),
                None,
            ),
            migration(
                "2",
                &[2],
                "b",
                MigrationKind::Versioned,
                "",
                script(
                    "-- größe\nCREATE TABLE b ();",
                    "m/V2__b.sql",
                    [2; 32],
                    false,
                    false,
                ),
                None,
            ),
        ]
    }

    /// The message for every step of `set` from an empty digest, with the default step start,
    /// no placeholders and no check.
    fn build(tables: &Tables, set: &[Migration], wrap: Wrap) -> Batch {
        Batch::build(
            tables,
            &steps(set),
            [0; 32],
            wrap,
            &crate::history::step_start_sql(None, None, None),
            &Placeholders::default(),
            None,
        )
    }

    fn steps(set: &[Migration]) -> Vec<PlannedStep<'_>> {
        set.iter()
            .map(|m| PlannedStep::new(m, Direction::Up, Reason::Pending, None))
            .collect()
    }

    #[test]
    fn each_step_is_its_own_transaction_and_the_digest_is_stored_last() {
        let set = set();
        let tables = Tables::new("public", "h").unwrap();
        let b = build(&tables, &set, Wrap::PerStep);
        assert_eq!(b.sql.matches("BEGIN;\n").count(), 2);
        assert_eq!(b.sql.matches("COMMIT;\n").count(), 2);
        let invalidate = b.sql.find("DELETE FROM \"public\".\"h_state\"").unwrap();
        let store = b.sql.find("INSERT INTO \"public\".\"h_state\"").unwrap();
        let second = b.sql.find("CREATE TABLE b").unwrap();
        assert!(invalidate < second && second < store, "{}", b.sql);
        let expected =
            tidemark_core::set_digest(set.iter().map(|m| (m.kind, m.version(), &m.up.checksum)));
        assert_eq!(b.digests[1], expected);
    }

    #[test]
    fn many_versioned_steps_share_one_prepared_insert_and_the_check_opens_the_first_transaction() {
        let one = set();
        let set: Vec<Migration> = (1..=4u64)
            .map(|i| {
                let mut m = one[0].clone();
                m.id = i.to_string().into();
                m.version_parts = vec![i].into();
                m
            })
            .collect();
        let tables = Tables::new("public", "h").unwrap();
        let b = Batch::build(
            &tables,
            &steps(&set),
            [0; 32],
            Wrap::PerStep,
            &crate::history::step_start_sql(None, None, Some(150_000)),
            &Placeholders::default(),
            Some("SELECT 'the check';\n"),
        );
        let name = b.prepared.clone().expect("four versioned steps: prepared");
        assert!(b.sql.starts_with(&format!("PREPARE {name} (")), "{}", b.sql);
        assert!(
            b.sql.ends_with(&format!("COMMIT;\nDEALLOCATE {name};\n")),
            "{}",
            b.sql
        );
        assert_eq!(b.sql.matches(&format!("EXECUTE {name} (")).count(), 4);
        assert!(b.sql.contains(&format!(
            "EXECUTE {name} ('3', '{{3}}'::bigint[], 'a', 'versioned', "
        )));
        assert_eq!(b.sql.matches("SELECT 'the check'").count(), 1);
        assert!(b
            .sql
            .contains("\nBEGIN;\nSELECT 'the check';\nSELECT set_config("));
        assert!(!b.sql.contains("CASE WHEN"), "the version is known");
        assert_eq!(
            b.step_at(b.sql.find("CREATE TABLE a").unwrap())
                .map(|s| s.0),
            Some(0)
        );
        // Fewer steps: the plain insert.
        let b = build(&tables, &set[..3], Wrap::PerStep);
        assert!(b.prepared.is_none() && !b.sql.contains("PREPARE"));
    }

    #[test]
    fn error_positions_map_back_to_the_step_and_its_start() {
        let set = set();
        let tables = Tables::new("public", "h").unwrap();
        let b = build(&tables, &set, Wrap::PerStep);
        let chars: Vec<char> = b.sql.chars().collect();
        let at = b.sql.find("CREATE TABLE b").unwrap();
        let (k, start) = b.step_at(b.sql[..at].chars().count()).unwrap();
        assert_eq!(k, 1);
        let opening: String = chars[start..start + 8].iter().collect();
        assert_eq!(opening, "-- größe", "positions count characters, not bytes");
        assert_eq!(b.step_at(0), None, "the BEGIN belongs to no script");
    }

    #[test]
    fn single_and_dry_run_wrap_everything_once() {
        let set = set();
        let tables = Tables::new("public", "h").unwrap();
        let single = build(&tables, &set, Wrap::Single);
        assert!(single.sql.starts_with("BEGIN;\n"));
        assert!(single.sql.ends_with("COMMIT;\n"));
        assert_eq!(single.sql.matches("BEGIN;").count(), 1);
        assert!(!single.sql.contains("DELETE FROM \"public\".\"h_state\""));
        let dry = build(&tables, &set, Wrap::DryRun);
        assert!(
            !dry.sql.contains("BEGIN;"),
            "the caller opened the transaction"
        );
        assert!(dry.sql.ends_with("ROLLBACK;\n"));
    }
}
