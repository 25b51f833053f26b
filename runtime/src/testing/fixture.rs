//! Fixtures: SQL files loaded into a test database after migrating, embedded at compile time
//! (`tidemark::fixtures!`, `#[tidemark::test(fixtures(…))]`), so a test binary needs no file.

use super::TestError;

/// One SQL file to load after migrating. Made at compile time by
/// [`fixtures!`](crate::fixtures) or `#[tidemark::test(fixtures("users.sql"))]`, which read and
/// check the file during the build and embed its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixture {
    path: &'static str,
    sql: &'static str,
}

impl Fixture {
    /// A fixture of `sql`, shown as `path` in errors. Prefer the macros, which check the file
    /// during the build.
    pub const fn new(path: &'static str, sql: &'static str) -> Self {
        Self { path, sql }
    }

    /// Where the file was, relative to the crate root.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// Its SQL.
    pub fn sql(&self) -> &'static str {
        self.sql
    }
}

/// What the fixtures add to a template's name: the first bytes of a digest over their paths and
/// texts, in order (none: nothing).
pub(crate) fn key(fixtures: &[Fixture]) -> String {
    if fixtures.is_empty() {
        return String::new();
    }
    let mut all = String::new();
    for f in fixtures {
        all.push_str(f.path);
        all.push('\0');
        all.push_str(f.sql);
        all.push('\0');
    }
    format!(
        "_f{}",
        tidemark_core::to_hex(&tidemark_core::checksum(&all)[..6])
    )
}

/// Loads each fixture in order, each in a transaction of its own; the first failure names the
/// file and, where the server gives one, the line and column.
pub(crate) async fn load(
    client: &tokio_postgres::Client,
    fixtures: &[Fixture],
) -> Result<(), TestError> {
    for f in fixtures {
        let sql = f.sql.strip_prefix('\u{feff}').unwrap_or(f.sql);
        if let Err(e) = client
            .batch_execute(&format!("BEGIN;\n{sql}\n;COMMIT;"))
            .await
        {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(TestError::Fixture {
                path: f.path.to_owned(),
                message: describe(&e, sql),
            });
        }
    }
    Ok(())
}

/// `line:col: message` from the server's error, its position counted in `sql` (the message
/// starts with `BEGIN;\n`, which the file does not have).
fn describe(e: &tokio_postgres::Error, sql: &str) -> String {
    use tidemark_core::position::{char_to_byte, line_col};
    let text = crate::error::driver_text(e);
    let index = match e.as_db_error().and_then(|db| db.position()) {
        Some(tokio_postgres::error::ErrorPosition::Original(p)) => {
            (*p as usize).checked_sub(1 + "BEGIN;\n".len())
        }
        _ => None,
    };
    match index.and_then(|c| char_to_byte(sql, c)) {
        Some(byte) => {
            let (line, column) = line_col(sql, byte);
            format!("{line}:{column}: {text}")
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_any_text_or_order_and_is_empty_without_fixtures() {
        let a = Fixture::new("a.sql", "INSERT INTO t VALUES (1);");
        let b = Fixture::new("b.sql", "INSERT INTO t VALUES (2);");
        assert_eq!(key(&[]), "");
        assert_ne!(key(&[a, b]), key(&[b, a]));
        assert_ne!(
            key(&[a]),
            key(&[Fixture::new("a.sql", "INSERT INTO t VALUES (3);")])
        );
        assert_eq!(key(&[a, b]).len(), 2 + 12);
    }
}
