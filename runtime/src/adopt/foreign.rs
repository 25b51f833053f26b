//! Reading another tool's history table: finding it (by name or by detection), checking that
//! it has the tool's columns, and turning its rows into [`ForeignRow`]s. Reads only.

use super::{Adopt, Tool};
use crate::error::Error;
use crate::sql::literal;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The table to adopt: the tool and the table as the server names it (`regclass` text, quoted
/// where needed, schema-qualified where the `search_path` would not find it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) tool: Tool,
    pub(crate) table: String,
    /// refinery built with `int8-versions` (an `int8` version column) hashes an `i64`.
    pub(crate) wide: bool,
}

/// What one row of the other tool's history says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A migration applied (or, with `success` false, failed).
    Applied,
    /// Flyway's baseline: every version up to this one counts as applied.
    Baseline,
    /// Flyway's undo of a version, or a row `repair` marked deleted: no longer applied.
    Undone,
    /// A row that records no migration (Flyway's schema-creation row).
    Ignored,
}

/// The checksum a tool recorded for a migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// None recorded (diesel; Flyway baseline rows).
    None,
    /// sqlx: SHA-384 of the file.
    Sha384(Vec<u8>),
    /// refinery: SipHash-1-3 of name, version and SQL.
    SipHash(u64),
    /// Flyway: CRC-32 of the lines.
    Crc32(i32),
}

/// One row of the other tool's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ForeignRow {
    pub(crate) entry: Entry,
    /// The version as the tool wrote it; `None` for a Flyway repeatable.
    pub(crate) version: Option<String>,
    /// Flyway's script (file) name, which names a repeatable.
    pub(crate) script: Option<String>,
    /// The tool's name or description of the migration.
    pub(crate) name: String,
    pub(crate) checksum: Recorded,
    pub(crate) success: bool,
    /// When it was applied, in microseconds since the epoch.
    pub(crate) applied_us: Option<i64>,
    pub(crate) execution_ms: Option<i64>,
}

/// The columns each tool's table has (and tidemark reads).
fn columns(tool: Tool) -> &'static [&'static str] {
    match tool {
        Tool::Sqlx => &[
            "version",
            "description",
            "success",
            "checksum",
            "installed_on",
            "execution_time",
        ],
        Tool::Refinery => &["version", "name", "applied_on", "checksum"],
        Tool::Diesel => &["version", "run_on"],
        Tool::Flyway => &[
            "installed_rank",
            "version",
            "description",
            "type",
            "script",
            "checksum",
            "installed_on",
            "execution_time",
            "success",
        ],
    }
}

fn problem(tool: Option<Tool>, table: &str, what: impl Into<String>) -> Error {
    Error::from(super::AdoptError::ForeignHistory {
        tool,
        table: table.to_owned(),
        problem: what.into(),
    })
}

fn cells(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Finds the table `how` names (or the one default table that exists) and checks its columns.
pub(crate) async fn locate(client: &Client, how: &Adopt) -> Result<Source, Error> {
    let (tool, given) = match (how.tool, &how.table) {
        (Some(tool), Some(t)) => (tool, t.clone()),
        (Some(tool), None) => (tool, tool.default_table().to_owned()),
        (None, Some(t)) => {
            return Err(problem(
                None,
                t,
                "name the tool whose table it is (sqlx, refinery, diesel or flyway)",
            ))
        }
        (None, None) => detect(client).await?,
    };
    let sql = format!(
        "SELECT to_regclass({name})::text; \
         SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = to_regclass({name}) AND attnum > 0 AND NOT attisdropped",
        name = literal(&given)
    );
    let msgs = client
        .simple_query(&sql)
        .await
        .map_err(Error::db("finding the history table to adopt"))?;
    let rows = cells(&msgs);
    let Some(Some(table)) = rows.first().and_then(|r| r.first()).cloned() else {
        return Err(problem(
            Some(tool),
            &given,
            format!(
                "there is no such table (looked up through the search_path); give its \
                 schema-qualified name (`--source-table schema.{}`)",
                tool.default_table()
            ),
        ));
    };
    let found: Vec<(String, String)> = rows[1..]
        .iter()
        .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
        .collect();
    if let Some(missing) = columns(tool)
        .iter()
        .find(|c| !found.iter().any(|(name, _)| name == *c))
    {
        return Err(problem(
            Some(tool),
            &table,
            format!("it has no column `{missing}`; is it {tool}'s history table?"),
        ));
    }
    let wide = found
        .iter()
        .any(|(name, ty)| name == "version" && ty == "bigint");
    Ok(Source { tool, table, wide })
}

/// The one tool whose default table exists.
async fn detect(client: &Client) -> Result<(Tool, String), Error> {
    let probes: Vec<String> = Tool::ALL
        .iter()
        .map(|t| format!("to_regclass({}) IS NOT NULL", literal(t.default_table())))
        .collect();
    let msgs = client
        .simple_query(&format!("SELECT {}", probes.join(", ")))
        .await
        .map_err(Error::db("looking for another tool's history table"))?;
    let row = cells(&msgs).into_iter().next().unwrap_or_default();
    let present: Vec<Tool> = Tool::ALL
        .into_iter()
        .zip(row)
        .filter(|(_, v)| v.as_deref() == Some("t"))
        .map(|(t, _)| t)
        .collect();
    let names = || {
        Tool::ALL
            .iter()
            .map(|t| t.default_table())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match present.as_slice() {
        [tool] => Ok((*tool, tool.default_table().to_owned())),
        [] => Err(problem(
            None,
            &names(),
            "none of these tables exists in the search_path; name the tool (`adopt sqlx`) and \
             its table (`--source-table`)",
        )),
        several => Err(problem(
            None,
            &several
                .iter()
                .map(|t| t.default_table())
                .collect::<Vec<_>>()
                .join(", "),
            "more than one of these tables exists; name the tool to adopt (`adopt sqlx`)",
        )),
    }
}

/// Microseconds since the epoch of a `timestamptz` expression, as text.
fn epoch_us(expr: &str) -> String {
    format!("(extract(epoch from {expr}) * 1000000)::bigint::text")
}

/// The query that reads the table, one row per history row in the tool's own order.
fn read_sql(source: &Source) -> String {
    let t = &source.table;
    match source.tool {
        Tool::Sqlx => format!(
            "SELECT version::text, description, success, encode(checksum, 'hex'), {}, \
             (execution_time / 1000000)::text FROM {t} ORDER BY version",
            epoch_us("installed_on")
        ),
        Tool::Refinery => format!(
            "SELECT version::text, name, checksum, CASE WHEN applied_on ~ \
             '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9:.]+(Z|[+-][0-9:]+)?$' THEN {} END \
             FROM {t} ORDER BY version",
            epoch_us("applied_on::timestamptz")
        ),
        Tool::Diesel => format!(
            "SELECT version::text, {} FROM {t} ORDER BY version",
            epoch_us("run_on::timestamptz")
        ),
        Tool::Flyway => format!(
            "SELECT version, description, type, script, checksum::text, success, {}, \
             execution_time::text FROM {t} ORDER BY installed_rank",
            epoch_us("installed_on::timestamptz")
        ),
    }
}

/// Reads the other tool's history.
pub(crate) async fn read(client: &Client, source: &Source) -> Result<Vec<ForeignRow>, Error> {
    let msgs = client
        .simple_query(&read_sql(source))
        .await
        .map_err(Error::db("reading the history table to adopt"))?;
    cells(&msgs)
        .into_iter()
        .map(|r| parse(source.tool, &r))
        .collect::<Result<_, String>>()
        .map_err(|what| problem(Some(source.tool), &source.table, what))
}

/// One row of [`read_sql`]'s result.
fn parse(tool: Tool, r: &[Option<String>]) -> Result<ForeignRow, String> {
    let text = |i: usize| r.get(i).cloned().flatten();
    let number = |i: usize| text(i).and_then(|v| v.parse::<i64>().ok());
    let yes = |i: usize| matches!(text(i).as_deref(), Some("t" | "true"));
    let version = text(0);
    let unreadable = || {
        format!(
            "version {} has an unreadable checksum",
            version.as_deref().unwrap_or("(none)")
        )
    };
    let row = match tool {
        Tool::Sqlx => ForeignRow {
            entry: Entry::Applied,
            name: text(1).unwrap_or_default(),
            success: yes(2),
            checksum: Recorded::Sha384(
                text(3)
                    .and_then(|h| crate::sql::from_hex(&h))
                    .ok_or_else(unreadable)?,
            ),
            applied_us: number(4),
            execution_ms: number(5),
            version,
            script: None,
        },
        Tool::Refinery => ForeignRow {
            entry: Entry::Applied,
            name: text(1).unwrap_or_default(),
            checksum: Recorded::SipHash(
                text(2)
                    .and_then(|c| c.trim().parse::<u64>().ok())
                    .ok_or_else(unreadable)?,
            ),
            success: true,
            applied_us: number(3),
            execution_ms: None,
            version,
            script: None,
        },
        Tool::Diesel => ForeignRow {
            entry: Entry::Applied,
            name: String::new(),
            checksum: Recorded::None,
            success: true,
            applied_us: number(1),
            execution_ms: None,
            version,
            script: None,
        },
        Tool::Flyway => {
            let kind = text(2).unwrap_or_default();
            let entry = match kind.as_str() {
                "SCHEMA" => Entry::Ignored,
                "BASELINE" => Entry::Baseline,
                "UNDO_SQL" | "UNDO_SCRIPT" | "DELETE" => Entry::Undone,
                "SQL" | "SCRIPT" | "JDBC" | "SPRING_JDBC" => Entry::Applied,
                other => return Err(format!("a row has the unknown type {other:?}")),
            };
            ForeignRow {
                entry,
                name: text(1).unwrap_or_default(),
                script: text(3),
                checksum: match number(4) {
                    Some(c) => Recorded::Crc32(
                        i32::try_from(c).map_err(|_| format!("checksum {c} is not an int4"))?,
                    ),
                    None => Recorded::None,
                },
                success: yes(5),
                applied_us: number(6),
                execution_ms: number(7),
                version,
            }
        }
    };
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[Option<&str>]) -> Vec<Option<String>> {
        cells.iter().map(|c| c.map(str::to_owned)).collect()
    }

    #[test]
    fn rows_of_each_tool() {
        let sqlx = parse(
            Tool::Sqlx,
            &row(&[
                Some("3"),
                Some("add users"),
                Some("t"),
                Some("ab01"),
                Some("1000"),
                Some("12"),
            ]),
        )
        .unwrap();
        assert_eq!(sqlx.version.as_deref(), Some("3"));
        assert_eq!(sqlx.checksum, Recorded::Sha384(vec![0xab, 1]));
        assert_eq!((sqlx.applied_us, sqlx.execution_ms), (Some(1000), Some(12)));
        let refinery = parse(
            Tool::Refinery,
            &row(&[
                Some("1"),
                Some("initial"),
                Some("1459393547224997786"),
                None,
            ]),
        )
        .unwrap();
        assert_eq!(refinery.checksum, Recorded::SipHash(1459393547224997786));
        let flyway = |kind: &str| {
            parse(
                Tool::Flyway,
                &row(&[
                    None,
                    Some("views"),
                    Some(kind),
                    Some("R__views.sql"),
                    Some("-5"),
                    Some("t"),
                    None,
                    Some("3"),
                ]),
            )
        };
        assert_eq!(flyway("SQL").unwrap().checksum, Recorded::Crc32(-5));
        assert_eq!(flyway("BASELINE").unwrap().entry, Entry::Baseline);
        assert_eq!(flyway("UNDO_SQL").unwrap().entry, Entry::Undone);
        assert_eq!(flyway("SCHEMA").unwrap().entry, Entry::Ignored);
        assert!(flyway("MAGIC").unwrap_err().contains("\"MAGIC\""));
        assert!(parse(Tool::Sqlx, &row(&[Some("1"), None, Some("t"), Some("zz")])).is_err());
    }

    #[test]
    fn each_tool_reads_its_own_columns() {
        for tool in Tool::ALL {
            let s = Source {
                tool,
                table: "x".into(),
                wide: false,
            };
            let sql = read_sql(&s);
            for c in columns(tool) {
                if *c != "installed_rank" {
                    assert!(sql.contains(c), "{tool}: {c} in {sql}");
                }
            }
        }
    }
}
