//! Matching another tool's history to the set: which migrations it applied, whether each file
//! is still what it applied, and the SQL that records them. Pure: the migrator reads the rows
//! and sends the SQL under the lock.

use super::checksum;
use super::foreign::{Entry, ForeignRow, Recorded, Source};
use super::AdoptReport;
use crate::error::Error;
use crate::history::{HistoryRow, Tables, Timing};
use crate::migrations::{Migration, MigrationKind, Migrations};
use std::cmp::Ordering;
use std::collections::HashMap;

/// A migration the other tool applied, with when and how long.
struct Applied<'m> {
    m: &'m Migration,
    applied_us: Option<i64>,
    execution_ms: i64,
}

/// The SQL that records what `rows` say is applied (empty when tidemark's history already has
/// it all), and the report. Refuses, changing nothing, a row the set cannot account for: a
/// version it lacks, a file whose checksum differs, a failed row, or tidemark history that
/// holds something else already.
pub(crate) fn adopt(
    set: &Migrations,
    source: &Source,
    rows: &[ForeignRow],
    tables: &Tables,
    history: &[HistoryRow],
) -> Result<(String, AdoptReport), Error> {
    let applied = applied(set, source, rows)?;
    let in_order: Vec<&Applied<'_>> = set
        .iter()
        .filter_map(|m| applied.get(m.version()))
        .collect();
    let mut report = AdoptReport {
        tool: source.tool,
        table: source.table.clone(),
        adopted: Vec::new(),
        already_recorded: Vec::new(),
        pending: set
            .iter()
            .filter(|m| !applied.contains_key(m.version()))
            .map(|m| m.version().to_owned())
            .collect(),
    };
    if !history.is_empty() {
        let known = |a: &&Applied<'_>| history.iter().any(|r| r.version == a.m.version());
        if !in_order.iter().all(known) {
            return Err(Error::HistoryNotEmpty {
                rows: history.len(),
            });
        }
        report.already_recorded = in_order.iter().map(|a| a.m.version().to_owned()).collect();
        report
            .pending
            .retain(|v| !history.iter().any(|r| &r.version == v));
        return Ok((String::new(), report));
    }
    // The migrator runs this inside the transaction that read tidemark's history.
    let mut sql = String::new();
    if in_order.iter().any(|a| a.m.up.contract) {
        sql.push_str(&tables.flag_columns_sql(false, true));
    }
    let mut digest = [0; 32];
    for a in &in_order {
        let timing = Timing::At {
            applied_us: a.applied_us,
            execution_ms: a.execution_ms,
        };
        sql.push_str(&tables.record_up_sql(a.m, true, timing));
        tidemark_core::digest_update(&mut digest, &a.m.entry_digest(), true);
        report.adopted.push(a.m.version().to_owned());
    }
    sql.push_str(&tables.store_digest_sql(&digest));
    Ok((sql, report))
}

/// What the other tool's rows leave applied, by tidemark version.
fn applied<'m>(
    set: &'m Migrations,
    source: &Source,
    rows: &[ForeignRow],
) -> Result<HashMap<&'m str, Applied<'m>>, Error> {
    let mut applied: HashMap<&str, Applied<'_>> = HashMap::new();
    for row in rows {
        match row.entry {
            Entry::Ignored => {}
            Entry::Baseline => baseline(set, source, row, &mut applied)?,
            Entry::Undone => {
                if let Some(m) = find(set, row) {
                    applied.remove(m.version());
                }
            }
            Entry::Applied => applied_row(set, source, row, &mut applied)?,
        }
    }
    Ok(applied)
}

/// A row that does not match the set, named as the tool recorded it.
fn mismatch(source: &Source, row: &ForeignRow, path: Option<&str>, problem: String) -> Error {
    Error::from(super::AdoptError::Mismatch {
        tool: source.tool,
        table: source.table.clone(),
        version: row
            .version
            .clone()
            .or_else(|| row.script.clone())
            .unwrap_or_default(),
        path: path.map(str::to_owned),
        problem,
    })
}

/// A Flyway baseline row: every versioned migration up to it counts as applied.
fn baseline<'m>(
    set: &'m Migrations,
    source: &Source,
    row: &ForeignRow,
    applied: &mut HashMap<&'m str, Applied<'m>>,
) -> Result<(), Error> {
    let bound = row
        .version
        .as_deref()
        .and_then(|v| set.order.canonical(v))
        .ok_or_else(|| {
            mismatch(
                source,
                row,
                None,
                "its baseline version cannot be read".into(),
            )
        })?;
    for m in set.iter().filter(|m| m.kind.is_versioned()) {
        if set.order.compare(m.version(), &bound) != Ordering::Greater {
            applied.entry(m.version()).or_insert(Applied {
                m,
                applied_us: row.applied_us,
                execution_ms: 0,
            });
        }
    }
    Ok(())
}

/// A row that applied a migration: the set must have it, unfailed and unchanged (a changed
/// repeatable is pending again, as it would be for Flyway).
fn applied_row<'m>(
    set: &'m Migrations,
    source: &Source,
    row: &ForeignRow,
    applied: &mut HashMap<&'m str, Applied<'m>>,
) -> Result<(), Error> {
    let m = find(set, row).ok_or_else(|| {
        mismatch(
            source,
            row,
            None,
            format!(
                "{} applied it, but no migration of this set has that version; add its \
                 file to the folder (or adopt with the folder {} ran)",
                source.tool, source.tool
            ),
        )
    })?;
    if !row.success {
        return Err(mismatch(
            source,
            row,
            Some(m.up.path()),
            format!(
                "{} recorded it as failed (success = false); finish or undo it by hand and \
                 delete that row, then adopt",
                source.tool
            ),
        ));
    }
    match differs(source, row, m) {
        Some(_) if m.kind == MigrationKind::Repeatable => {
            applied.remove(m.version());
        }
        Some(what) => return Err(mismatch(source, row, Some(m.up.path()), what)),
        None => {
            applied.insert(
                m.version(),
                Applied {
                    m,
                    applied_us: row.applied_us,
                    execution_ms: row.execution_ms.unwrap_or(0),
                },
            );
        }
    }
    Ok(())
}

/// The set's migration a row names: a version (its canonical text, or the same numbers with
/// trailing zeros, as Flyway compares `1.0` and `1`), or a Flyway repeatable's script name.
fn find<'m>(set: &'m Migrations, row: &ForeignRow) -> Option<&'m Migration> {
    let Some(v) = row.version.as_deref() else {
        let script = row.script.as_deref()?;
        let file = script.rsplit(['/', '\\']).next()?;
        let id = file.strip_suffix(".sql").unwrap_or(file);
        return set.get(id).filter(|m| m.kind == MigrationKind::Repeatable);
    };
    let versioned = |m: &&Migration| m.kind.is_versioned();
    if let Some(m) = set.order.canonical(v).and_then(|c| set.get(&c)) {
        return Some(m).filter(versioned);
    }
    let trimmed = |parts: &[u64]| -> Vec<u64> {
        let end = parts.iter().rposition(|p| *p != 0).map_or(0, |i| i + 1);
        parts[..end].to_vec()
    };
    let wanted = tidemark_core::Version::parse_canonical(v)?;
    let wanted = trimmed(wanted.parts()?);
    set.iter()
        .filter(versioned)
        .find(|m| !m.version_parts().is_empty() && trimmed(m.version_parts()) == wanted)
}

/// How the file differs from what the tool recorded, if it does.
fn differs(source: &Source, row: &ForeignRow, m: &Migration) -> Option<String> {
    let raw: &str = &m.up.sql;
    let tool = source.tool;
    match &row.checksum {
        Recorded::None => None,
        Recorded::Sha384(recorded) => {
            let now = checksum::sqlx(raw);
            (&now != recorded).then(|| {
                format!(
                    "the file is not what {tool} applied: {tool} recorded SHA-384 {}, the file \
                     has {}; restore the file as it was applied",
                    short(&tidemark_core::to_hex(recorded)),
                    short(&tidemark_core::to_hex(&now))
                )
            })
        }
        Recorded::SipHash(recorded) => {
            let version = row.version.as_deref()?.parse::<i64>().ok()?;
            let now = checksum::refinery(&m.name, version, source.wide, raw);
            (now != Some(*recorded)).then(|| {
                format!(
                    "the file is not what {tool} applied: {tool} recorded checksum {recorded}, \
                     the file and its name give {}; restore the file (and its name) as it was \
                     applied",
                    now.map_or_else(|| "none".to_owned(), |n| n.to_string())
                )
            })
        }
        Recorded::Crc32(recorded) => {
            let now = checksum::flyway(raw);
            (now != *recorded).then(|| {
                format!(
                    "the file is not what {tool} applied: {tool} recorded CRC-32 {recorded}, the \
                     file has {now}; restore the file as it was applied"
                )
            })
        }
    }
}

/// The first 16 hex digits, enough to tell two checksums apart in a message.
fn short(hex: &str) -> String {
    format!("{}…", &hex[..hex.len().min(16)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::Tool;
    use crate::fixtures::{repeatable, set, versioned};
    use crate::history::applied as recorded;

    fn source(tool: Tool) -> Source {
        Source {
            tool,
            table: "t".into(),
            wide: false,
        }
    }

    fn row(version: Option<&str>, checksum: Recorded) -> ForeignRow {
        ForeignRow {
            entry: Entry::Applied,
            version: version.map(str::to_owned),
            script: None,
            name: String::new(),
            checksum,
            success: true,
            applied_us: Some(1_000_000),
            execution_ms: Some(7),
        }
    }

    fn tables() -> Tables {
        Tables::new("public", "h").unwrap()
    }

    #[test]
    fn sqlx_rows_are_checked_and_recorded_in_order() {
        let s = set(vec![
            versioned("1", "a", None),
            versioned("2", "b", None),
            versioned("3", "c", None),
        ]);
        let sum = |i: usize| Recorded::Sha384(checksum::sqlx(&s.items[i].up.sql));
        let rows = [row(Some("2"), sum(1)), row(Some("1"), sum(0))];
        let (sql, report) = adopt(&s, &source(Tool::Sqlx), &rows, &tables(), &[]).unwrap();
        assert_eq!(report.adopted, ["1", "2"]);
        assert_eq!(report.pending, ["3"]);
        assert_eq!(sql.matches("INSERT INTO \"public\".\"h\" AS h").count(), 2);
        assert!(sql.contains("1000000 * interval '1 microsecond'"), "{sql}");
        let done: Vec<HistoryRow> = s.iter().take(2).map(recorded).collect();
        assert!(sql.contains(&tables().store_digest_sql(&crate::history::applied_digest(&done))));

        let edited = [row(Some("1"), Recorded::Sha384(vec![0; 48]))];
        let err = adopt(&s, &source(Tool::Sqlx), &edited, &tables(), &[]).unwrap_err();
        assert_eq!(err.kind(), "adopt_mismatch");
        let text = err.to_string();
        assert!(text.contains(s.items[0].up.path()), "{text}");
        assert!(
            text.contains("recorded SHA-384 0000000000000000…"),
            "{text}"
        );

        let unknown = [row(Some("9"), Recorded::None)];
        let err = adopt(&s, &source(Tool::Sqlx), &unknown, &tables(), &[]).unwrap_err();
        assert!(err.to_string().contains("version 9"), "{err}");

        let mut failed = row(Some("1"), sum(0));
        failed.success = false;
        let err = adopt(&s, &source(Tool::Sqlx), &[failed], &tables(), &[]).unwrap_err();
        assert!(err.to_string().contains("success = false"), "{err}");
    }

    #[test]
    fn adopting_twice_records_nothing_and_other_history_is_refused() {
        let s = set(vec![versioned("1", "a", None), versioned("2", "b", None)]);
        let rows = [row(Some("1"), Recorded::None)];
        let had = [recorded(&s.items[0])];
        let (sql, report) = adopt(&s, &source(Tool::Diesel), &rows, &tables(), &had).unwrap();
        assert!(sql.is_empty());
        assert_eq!(report.already_recorded, ["1"]);
        assert_eq!(report.pending, ["2"]);
        let other = [recorded(&s.items[1])];
        let err = adopt(&s, &source(Tool::Diesel), &rows, &tables(), &other).unwrap_err();
        assert!(matches!(err, Error::HistoryNotEmpty { rows: 1 }), "{err:?}");
    }

    #[test]
    fn flyway_baseline_undo_repeatables_and_trailing_zeros() {
        let s = set(vec![
            versioned("1", "a", None),
            versioned("2", "b", None),
            versioned("3", "c", None),
            versioned("4", "d", None),
            repeatable("views", "CREATE VIEW v AS SELECT 1;\n"),
        ]);
        let crc = |i: usize| Recorded::Crc32(checksum::flyway(&s.items[i].up.sql));
        let mut baseline = row(Some("2"), Recorded::None);
        baseline.entry = Entry::Baseline;
        let mut undo = row(Some("3"), Recorded::None);
        undo.entry = Entry::Undone;
        let mut views = row(None, crc(4));
        views.script = Some("sub/R__views.sql".into());
        let rows = [
            baseline,
            row(Some("3.0"), crc(2)),
            undo,
            row(Some("4"), crc(3)),
            views.clone(),
        ];
        let (_, report) = adopt(&s, &source(Tool::Flyway), &rows, &tables(), &[]).unwrap();
        assert_eq!(report.adopted, ["1", "2", "4", "R__views"]);
        assert_eq!(report.pending, ["3"]);
        // A repeatable changed since Flyway ran it is pending, not an error.
        views.checksum = Recorded::Crc32(1);
        let (_, report) = adopt(&s, &source(Tool::Flyway), &[views], &tables(), &[]).unwrap();
        assert!(report.pending.contains(&"R__views".to_owned()));
        let err = adopt(
            &s,
            &source(Tool::Flyway),
            &[row(Some("1"), Recorded::Crc32(1))],
            &tables(),
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("recorded CRC-32 1, the file has"),
            "{err}"
        );
    }

    #[test]
    fn refinery_checks_name_version_and_sql() {
        let s = set(vec![versioned("1", "a", None)]);
        let m = &s.items[0];
        let good = checksum::refinery(&m.name, 1, false, &m.up.sql).unwrap();
        let rows = [row(Some("1"), Recorded::SipHash(good))];
        let (_, report) = adopt(&s, &source(Tool::Refinery), &rows, &tables(), &[]).unwrap();
        assert_eq!(report.adopted, ["1"]);
        let wide = Source {
            wide: true,
            ..source(Tool::Refinery)
        };
        let err = adopt(&s, &wide, &rows, &tables(), &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("recorded checksum {good}")),
            "{err}"
        );
    }
}
