//! `baseline` and `repair`: the verbs that change history without running scripts. Pure: they
//! decide from history what to record and return the SQL, which the migrator sends under the
//! lock.

use crate::error::Error;
use crate::history::{applied_digest, HistoryRow, Tables, Timing};
use crate::migrations::Migrations;

/// What [`Migrator::repair`](crate::Migrator::repair) changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Versions whose failed row was removed.
    pub removed_failed: Vec<String>,
    /// Versions whose recorded checksum (and name) was re-aligned with the set.
    pub realigned: Vec<String>,
}

/// The SQL that records every versioned migration up to `version` as applied without running
/// it, in one transaction with the new state digest, and the adopted versions. Refuses a
/// non-empty history.
pub(crate) fn baseline(
    set: &Migrations,
    tables: &Tables,
    history: &[HistoryRow],
    version: &str,
) -> Result<(String, Vec<String>), Error> {
    let unknown = || Error::UnknownTarget {
        version: version.to_owned(),
    };
    let bound = set
        .order
        .canonical(version)
        .filter(|b| set.get(b).is_some())
        .ok_or_else(unknown)?;
    if !history.is_empty() {
        return Err(Error::HistoryNotEmpty {
            rows: history.len(),
        });
    }
    let mut sql = String::from("BEGIN;\n");
    let mut adopted = Vec::new();
    let mut digest = [0; 32];
    let up_to_bound = |m: &&crate::migrations::Migration| {
        m.kind.is_versioned()
            && set.order.compare(m.version(), &bound) != std::cmp::Ordering::Greater
    };
    // A baseline asserts the schema already has every migration up to it: contract ones are
    // recorded as such (the gate is not asked: nothing runs).
    if set.iter().filter(up_to_bound).any(|m| m.up.contract) {
        sql.push_str(&tables.flag_columns_sql(false, true));
    }
    for m in set.iter().filter(|m| m.kind.is_versioned()) {
        if up_to_bound(&m) {
            sql.push_str(&tables.record_up_sql(m, true, Timing::Now));
            tidemark_core::digest_update(&mut digest, &m.entry_digest(), true);
            adopted.push(m.version().to_owned());
        }
    }
    sql.push_str(&tables.store_digest_sql(&digest));
    sql.push_str("COMMIT;\n");
    Ok((sql, adopted))
}

/// The SQL that clears failed rows and re-records changed checksums, with the new state digest,
/// and what it changes.
pub(crate) fn repair(
    set: &Migrations,
    tables: &Tables,
    history: &[HistoryRow],
) -> (String, RepairReport) {
    let mut sql = String::from("BEGIN;\n");
    let mut report = RepairReport::default();
    let mut rows = Vec::new();
    for r in history {
        if !r.success {
            sql.push_str(&tables.remove_sql(&r.version));
            report.removed_failed.push(r.version.clone());
            continue;
        }
        let mut row = r.clone();
        let edited = set
            .get(&r.version)
            .filter(|m| m.kind.is_versioned() && m.up.checksum != r.checksum);
        if let Some(m) = edited {
            sql.push_str(&tables.realign_sql(m));
            report.realigned.push(r.version.clone());
            row.checksum = m.up.checksum;
        }
        rows.push(row);
    }
    sql.push_str(&tables.store_digest_sql(&applied_digest(&rows)));
    sql.push_str("COMMIT;\n");
    (sql, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{set, versioned};
    use crate::history::applied;

    #[test]
    fn baseline_records_versions_up_to_the_bound_with_their_digest() {
        let s = set(vec![
            versioned("1", "a", None),
            versioned("2", "b", None),
            versioned("3", "c", None),
        ]);
        let t = Tables::new("public", "h").unwrap();
        let (sql, adopted) = baseline(&s, &t, &[], "2").unwrap();
        assert_eq!(adopted, ["1", "2"]);
        assert_eq!(sql.matches("INSERT INTO \"public\".\"h\"").count(), 2);
        let rows: Vec<HistoryRow> = s.iter().take(2).map(applied).collect();
        assert!(sql.contains(&t.store_digest_sql(&applied_digest(&rows))));
        assert!(sql.starts_with("BEGIN;\n") && sql.ends_with("COMMIT;\n"));
        let err = baseline(&s, &t, &rows, "2").unwrap_err();
        assert!(matches!(err, Error::HistoryNotEmpty { rows: 2 }), "{err:?}");
        assert!(matches!(
            baseline(&s, &t, &[], "7"),
            Err(Error::UnknownTarget { .. })
        ));
    }

    #[test]
    fn repair_removes_failed_rows_and_realigns_edited_checksums() {
        let s = set(vec![versioned("1", "a", None), versioned("2", "b", None)]);
        let t = Tables::new("public", "h").unwrap();
        let mut edited = applied(&s.items[0]);
        edited.checksum = [5; 32];
        let mut failed = applied(&s.items[1]);
        failed.success = false;
        let (sql, report) = repair(&s, &t, &[edited, failed]);
        assert_eq!(report.realigned, ["1"]);
        assert_eq!(report.removed_failed, ["2"]);
        assert!(sql.contains(&t.remove_sql("2")));
        assert!(sql.contains(&t.realign_sql(&s.items[0])));
        let kept = [applied(&s.items[0])];
        assert!(sql.contains(&t.store_digest_sql(&applied_digest(&kept))));
    }
}
