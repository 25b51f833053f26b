//! The history a stored digest stands for, known without reading it: a deploy's database holds
//! the set minus the migrations the deploy adds, and the stored digest says so.
//!
//! The stored digest is always the digest of history's successful rows (tidemark's writes keep
//! it so, the guard trigger removes it when other hands change history, and a failed row
//! removes it), and the set digest is a sum of one hash per migration. So when the stored
//! digest equals the set's digest with its newest `k` versioned migrations taken out, history
//! is exactly the rest of the set, and the fast path need not bring a thousand rows to plan the
//! `k` new ones.

use super::HistoryRow;
use crate::migrations::Migrations;
use tidemark_core::digest_update;

/// The history rows (as the fast path would read them: no times) that `stored` stands for, when
/// it is the digest of `set` without its newest `k ≥ 1` versioned migrations; `None` otherwise.
pub(crate) fn history_without_newest(
    set: &Migrations,
    stored: &[u8; 32],
) -> Option<Vec<HistoryRow>> {
    let versioned: Vec<_> = set.iter().filter(|m| m.kind.is_versioned()).collect();
    let mut digest = *set.digest();
    let kept = (0..versioned.len()).rev().find(|&i| {
        digest_update(&mut digest, &versioned[i].entry_digest(), false);
        &digest == stored
    })?;
    let rows = versioned[..kept]
        .iter()
        .copied()
        .chain(set.iter().filter(|m| !m.kind.is_versioned()))
        .map(|m| HistoryRow {
            version: m.version().to_owned(),
            name: m.name().to_owned(),
            kind: m.kind,
            checksum: m.up.checksum,
            success: true,
            applied_at: String::new(),
            execution_ms: 0,
        })
        .collect();
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{repeatable, set, versioned};
    use crate::history::{applied, applied_digest};

    fn keys(rows: &[HistoryRow]) -> Vec<(String, [u8; 32])> {
        let mut k: Vec<_> = rows
            .iter()
            .map(|r| (r.version.clone(), r.checksum))
            .collect();
        k.sort();
        k
    }

    #[test]
    fn a_digest_without_the_newest_migrations_stands_for_the_rest() {
        let set = set(vec![
            versioned("1", "SELECT 1;", None),
            versioned("2", "SELECT 2;", None),
            versioned("3", "SELECT 3;", None),
            repeatable("v", "SELECT 'v';"),
        ]);
        for kept in 0..3 {
            let rows: Vec<HistoryRow> = set
                .iter()
                .filter(|m| m.kind.is_versioned())
                .take(kept)
                .chain(set.iter().filter(|m| !m.kind.is_versioned()))
                .map(applied)
                .collect();
            let stood = history_without_newest(&set, &applied_digest(&rows))
                .unwrap_or_else(|| panic!("{kept} of 3 applied"));
            assert_eq!(keys(&stood), keys(&rows));
            assert!(stood.iter().all(|r| r.success));
        }
        // The whole set is the fast path's business, not this one's.
        assert!(history_without_newest(&set, set.digest()).is_none());
    }

    #[test]
    fn any_other_history_is_not_guessed() {
        let set = set(vec![
            versioned("1", "SELECT 1;", None),
            versioned("2", "SELECT 2;", None),
            versioned("3", "SELECT 3;", None),
        ]);
        let row = |i: usize| applied(set.iter().nth(i).unwrap());
        let mut edited = row(0);
        edited.checksum = tidemark_core::checksum("SELECT 'edited';");
        let mut unknown = row(1);
        unknown.version = "0".to_owned();
        // A gap (1 and 3 applied, not 2), an edited script, a version the set does not know.
        for rows in [vec![row(0), row(2)], vec![edited], vec![row(0), unknown]] {
            assert!(history_without_newest(&set, &applied_digest(&rows)).is_none());
        }
    }
}
