//! `${name}` placeholders in SQL scripts, replaced at run time with values from the caller
//! ([`Migrator::placeholders`](crate::Migrator::placeholders)): for what `search_path` cannot
//! do, such as a function body that must name its schema, or a role name.
//!
//! Opt-in for the whole set: without values given, no script is touched, so SQL that holds
//! `${` in a string literal runs as written. Given values, every `${name}` of every SQL script
//! is replaced, wherever it stands (as Flyway does: in strings and comments too), and a name
//! with no value fails the run before anything runs. Checksums are over the raw files, so one
//! set has one digest for every tenant. A name is letters, digits, `_` and `.`.

use crate::error::Error;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The values of `${name}` placeholders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Placeholders {
    values: Option<BTreeMap<String, String>>,
}

/// One `${name}` in a text: its byte range and the name.
struct Found<'t> {
    start: usize,
    end: usize,
    name: &'t str,
}

fn find(text: &str) -> impl Iterator<Item = Found<'_>> {
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let start = from + text[from..].find("${")?;
        let rest = &text[start + 2..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        from = start + 2;
        if len > 0 && rest[len..].starts_with('}') {
            from = start + 2 + len + 1;
            return Some(Found {
                start,
                end: from,
                name: &rest[..len],
            });
        }
    })
}

impl Placeholders {
    /// Turns substitution on with these values (more may be added).
    pub(crate) fn set(&mut self, name: String, value: String) {
        self.values
            .get_or_insert_with(BTreeMap::new)
            .insert(name, value);
    }

    /// A value for `name` if substitution is on and `name` has none.
    pub(crate) fn set_default(&mut self, name: &str, value: &str) {
        if let Some(values) = &mut self.values {
            values
                .entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }

    /// Turns substitution on, with no values yet.
    pub(crate) fn enable(&mut self) {
        self.values.get_or_insert_with(BTreeMap::new);
    }

    /// An error for the first `${name}` of `sql` that has no value (when substitution is on).
    pub(crate) fn check(&self, path: &str, sql: &str) -> Result<(), Error> {
        let Some(values) = &self.values else {
            return Ok(());
        };
        match find(sql).find(|f| !values.contains_key(f.name)) {
            Some(f) => {
                let (line, column) = tidemark_core::position::line_col(sql, f.start);
                Err(Error::PlaceholderUnset {
                    path: path.to_owned(),
                    line,
                    column,
                    name: f.name.to_owned(),
                })
            }
            None => Ok(()),
        }
    }

    /// `sql` with every placeholder that has a value replaced (names without one are left as
    /// they are: [`check`](Self::check) refused them before the run).
    pub(crate) fn apply<'s>(&self, sql: Cow<'s, str>) -> Cow<'s, str> {
        let Some(values) = &self.values else {
            return sql;
        };
        let mut out = String::new();
        let mut last = 0;
        for f in find(&sql) {
            if let Some(v) = values.get(f.name) {
                out.push_str(&sql[last..f.start]);
                out.push_str(v);
                last = f.end;
            }
        }
        if last == 0 {
            return sql;
        }
        out.push_str(&sql[last..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Placeholders {
        let mut p = Placeholders::default();
        p.enable();
        for (k, v) in pairs {
            p.set((*k).to_owned(), (*v).to_owned());
        }
        p
    }

    #[test]
    fn replaces_known_names_and_leaves_the_rest() {
        let p = with(&[("schema", "tenant_1"), ("role.app", "app")]);
        let sql =
            "CREATE FUNCTION ${schema}.f() ... GRANT x TO ${role.app}; $$ ${ } $${x $${schema}";
        assert_eq!(
            p.apply(Cow::Borrowed(sql)),
            "CREATE FUNCTION tenant_1.f() ... GRANT x TO app; $$ ${ } $${x $tenant_1"
        );
        assert!(p.check("f.sql", sql).is_ok());
    }

    #[test]
    fn an_unset_name_is_an_error_at_its_line_and_column() {
        let p = with(&[("schema", "s")]);
        let err = p
            .check("m/V1__a.sql", "SELECT 1;\nSELECT '${owner}';")
            .unwrap_err();
        let Error::PlaceholderUnset {
            path,
            line,
            column,
            name,
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (path.as_str(), line, column, name.as_str()),
            ("m/V1__a.sql", 2, 9, "owner")
        );
    }

    #[test]
    fn off_by_default() {
        let p = Placeholders::default();
        assert!(p.check("f.sql", "SELECT '${x}'").is_ok());
        assert!(matches!(p.apply(Cow::Borrowed("'${x}'")), Cow::Borrowed(_)));
    }
}
