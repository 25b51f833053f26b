//! Versions an earlier tidemark recorded in another form: before versions took diesel's own
//! text, a diesel directory `2024-01-31-120000-0000_x` was recorded as `20240131120000.0` (and
//! `00000000000000` as `0`). Such a row is the same migration; under the lock it is renamed to
//! the canonical text, so history keeps one text per version.

use super::{HistoryRow, Tables};
use crate::migrations::Migrations;
use crate::sql::literal;
use std::collections::HashSet;

/// Renames, in memory, every row recorded under a migration's earlier text (when no row has its
/// canonical text); returns the renames as (old, new).
pub(crate) fn translate(set: &Migrations, history: &mut [HistoryRow]) -> Vec<(String, String)> {
    let present: HashSet<String> = history.iter().map(|r| r.version.clone()).collect();
    let mut renames = Vec::new();
    for m in set.iter() {
        let Some(old) = m.legacy.as_deref() else {
            continue;
        };
        if present.contains(m.version()) || !present.contains(old) {
            continue;
        }
        if let Some(row) = history.iter_mut().find(|r| r.version == old) {
            row.version = m.version().to_owned();
            renames.push((old.to_owned(), m.version().to_owned()));
        }
    }
    renames
}

impl Tables {
    /// Renames rows recorded under an earlier text, in one transaction.
    pub(crate) fn rename_sql(&self, renames: &[(String, String)]) -> String {
        let mut sql = String::from("BEGIN;\n");
        for (old, new) in renames {
            sql.push_str(&format!(
                "UPDATE {} SET version = {}, version_key = NULL WHERE version = {};\n",
                self.history,
                literal(new),
                literal(old)
            ));
        }
        sql.push_str("COMMIT;\n");
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{set, versioned};
    use crate::history::applied;
    use std::borrow::Cow;

    #[test]
    fn rows_under_an_earlier_text_become_the_migration() {
        let mut m = versioned("202401311200000000", "a", None);
        m.legacy = Some(Cow::Borrowed("20240131120000.0"));
        let s = set(vec![m]);
        let mut row = applied(&s.items[0]);
        row.version = "20240131120000.0".to_owned();
        let mut history = vec![row];
        let renames = translate(&s, &mut history);
        assert_eq!(
            renames,
            [(
                "20240131120000.0".to_owned(),
                "202401311200000000".to_owned()
            )]
        );
        assert_eq!(history[0].version, "202401311200000000");
        assert!(
            translate(&s, &mut history).is_empty(),
            "once renamed, nothing more"
        );
        let t = Tables::new("public", "h").unwrap();
        assert!(t.rename_sql(&renames).contains("SET version = '202401311200000000', version_key = NULL WHERE version = '20240131120000.0'"));
    }
}
