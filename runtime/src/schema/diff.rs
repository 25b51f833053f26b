//! What differs between two schemas, object by object.

use super::{Schema, SchemaObject};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How an object differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DifferenceKind {
    /// The migrations make it; the database does not have it.
    Missing,
    /// The database has it; the migrations do not make it (made by hand, or by a migration
    /// the history does not record).
    Unexpected,
    /// Both have it, defined differently.
    Changed,
}

impl DifferenceKind {
    /// `missing`, `unexpected` or `changed`: the CLI's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Unexpected => "unexpected",
            Self::Changed => "changed",
        }
    }
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Difference {
    /// How it differs.
    pub kind: DifferenceKind,
    /// What the object is (`index`, `column`, … as in [`SchemaObject::kind`]).
    pub object_kind: String,
    /// Its identity ([`SchemaObject::name`]).
    pub name: String,
    /// Its definition as the migrations make it, if they do.
    pub expected: Option<String>,
    /// Its definition in the database, if it has it.
    pub actual: Option<String>,
}

/// The differences between what a database's migrations produce and its catalog
/// ([`Schema::diff`], [`Migrator::drift`](crate::Migrator::drift)); empty when there is no
/// drift. `Display` is a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drift {
    /// Every object that differs, by kind then name. The columns, constraints, indexes and
    /// triggers of a table that is missing or unexpected as a whole are not listed again.
    pub differences: Vec<Difference>,
    /// What the comparison could not vouch for (the two servers run different majors).
    pub notes: Vec<String>,
}

impl Drift {
    /// Whether the catalog is what the migrations produce.
    pub fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.differences.is_empty() {
            return writeln!(
                f,
                "no drift: the schema is what the applied migrations make"
            );
        }
        let rows: Vec<Vec<String>> = self
            .differences
            .iter()
            .map(|d| {
                let what = match d.kind {
                    DifferenceKind::Missing => {
                        format!("expected {}", d.expected.as_deref().unwrap_or_default())
                    }
                    DifferenceKind::Unexpected => {
                        format!("found {}", d.actual.as_deref().unwrap_or_default())
                    }
                    DifferenceKind::Changed => format!(
                        "expected {}; found {}",
                        d.expected.as_deref().unwrap_or_default(),
                        d.actual.as_deref().unwrap_or_default()
                    ),
                };
                vec![
                    d.kind.as_str().to_owned(),
                    d.object_kind.clone(),
                    d.name.clone(),
                    one_line(&what),
                ]
            })
            .collect();
        use crate::table::Align::Left;
        crate::table::write(
            f,
            &[
                ("drift", Left),
                ("object", Left),
                ("name", Left),
                ("what differs", Left),
            ],
            &rows,
        )
    }
}

/// A definition on one line, cut to a readable length for the table.
fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 120 {
        flat.chars().take(117).collect::<String>() + "..."
    } else {
        flat
    }
}

pub(super) fn diff(expected: &Schema, actual: &Schema) -> Drift {
    let index = |s: &'_ Schema| -> BTreeMap<(String, String), SchemaObject> {
        s.objects
            .iter()
            .map(|o| ((o.kind.clone(), o.name.clone()), o.clone()))
            .collect()
    };
    let (want, have) = (index(expected), index(actual));
    let whole_tables = |a: &BTreeMap<(String, String), SchemaObject>,
                        b: &BTreeMap<(String, String), SchemaObject>| {
        a.keys()
            .filter(|(k, n)| k == "table" && !b.contains_key(&(k.clone(), n.clone())))
            .map(|(_, n)| n.clone())
            .collect::<BTreeSet<String>>()
    };
    let (gone, extra) = (whole_tables(&want, &have), whole_tables(&have, &want));
    let mut differences = Vec::new();
    for (key, o) in &want {
        match have.get(key) {
            None if !o.parent.as_ref().is_some_and(|p| gone.contains(p)) => {
                differences.push(difference(DifferenceKind::Missing, o, Some(o), None));
            }
            Some(a) if a.detail != o.detail => {
                differences.push(difference(DifferenceKind::Changed, o, Some(o), Some(a)));
            }
            _ => {}
        }
    }
    for (key, a) in &have {
        if !want.contains_key(key) && !a.parent.as_ref().is_some_and(|p| extra.contains(p)) {
            differences.push(difference(DifferenceKind::Unexpected, a, None, Some(a)));
        }
    }
    differences.sort_by(|a, b| (&a.object_kind, &a.name).cmp(&(&b.object_kind, &b.name)));
    Drift {
        differences,
        notes: Vec::new(),
    }
}

fn difference(
    kind: DifferenceKind,
    o: &SchemaObject,
    expected: Option<&SchemaObject>,
    actual: Option<&SchemaObject>,
) -> Difference {
    Difference {
        kind,
        object_kind: o.kind.clone(),
        name: o.name.clone(),
        expected: expected.map(|e| e.detail.clone()),
        actual: actual.map(|a| a.detail.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str, parent: Option<&str>, detail: &str) -> SchemaObject {
        SchemaObject {
            kind: kind.to_owned(),
            schema: "public".to_owned(),
            name: name.to_owned(),
            parent: parent.map(str::to_owned),
            definition: None,
            detail: detail.to_owned(),
            rank: 0,
        }
    }

    #[test]
    fn missing_unexpected_and_changed_objects_are_named_once() {
        let expected = Schema {
            objects: vec![
                object("table", "public.t", None, "table"),
                object(
                    "column",
                    "public.t.a",
                    Some("public.t"),
                    "a text DEFAULT 'x'::text",
                ),
                object("table", "public.gone", None, "table"),
                object("column", "public.gone.a", Some("public.gone"), "a int"),
            ],
            ..Schema::default()
        };
        let actual = Schema {
            objects: vec![
                object("table", "public.t", None, "table"),
                object("column", "public.t.a", Some("public.t"), "a text"),
                object(
                    "index",
                    "public.t_a",
                    Some("public.t"),
                    "CREATE INDEX t_a ON public.t (a)",
                ),
            ],
            ..Schema::default()
        };
        let drift = expected.diff(&actual);
        let seen: Vec<(DifferenceKind, &str)> = drift
            .differences
            .iter()
            .map(|d| (d.kind, d.name.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (DifferenceKind::Changed, "public.t.a"),
                (DifferenceKind::Unexpected, "public.t_a"),
                (DifferenceKind::Missing, "public.gone"),
            ]
        );
        assert!(expected.diff(&expected).is_empty());
        let table = drift.to_string();
        assert!(
            table.contains("expected a text DEFAULT 'x'::text; found a text"),
            "{table}"
        );
    }
}
