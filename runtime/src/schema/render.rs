//! A [`Schema`] as SQL: one statement per object, in an order that creates each object after
//! what it needs, and the same order for the same schema.

use super::{Schema, SchemaObject};
use std::collections::{BTreeMap, BTreeSet};

/// The groups of the file, in order. Within a group objects come by name, except where a
/// dependency the catalog records puts one after another (see [`in_dependency_order`]).
/// Functions (and the operators they implement) come twice: those that need no relation before
/// the tables (a default or a check may call them), the others after (a table's row type in
/// their signature, or a relation their standard-SQL body reads), with the aggregates, casts
/// and views.
const GROUPS: &[&[(&str, u8)]] = &[
    &[("schema", 0)],
    &[("extension", 0)],
    &[("collation", 0)],
    &[("text search dictionary", 0)],
    &[("text search configuration", 0)],
    &[("enum", 0)],
    &[("domain", 0)],
    &[("type", 0)],
    &[("sequence", 0)],
    &[("function", 0)],
    &[("operator", 0)],
    &[("table", 0)],
    &[
        ("function", 1),
        ("aggregate", 1),
        ("operator", 1),
        ("cast", 1),
        ("view", 0),
        ("materialized view", 0),
    ],
    &[("sequence owner", 0)],
    &[("constraint", 0)],
    &[("index", 0)],
    // Foreign keys after the indexes: one may reference the columns of a unique index.
    &[("constraint", 1)],
    &[("statistics", 0)],
    &[("table settings", 0)],
    &[("rule", 0)],
    &[("trigger", 0)],
    &[("row level security", 0)],
    &[("policy", 0)],
    &[("publication", 0)],
    &[("publication table", 0), ("publication schema", 0)],
    &[("comment", 0)],
    // Last: an event trigger would fire on the statements after it.
    &[("event trigger", 0)],
];

pub(super) fn render(schema: &Schema, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("-- ");
        out.push_str(line);
        out.push('\n');
    }
    for o in schema.left_out_objects() {
        out.push_str(&format!(
            "-- Left out (by choice, not written): {}\n",
            o.detail
        ));
    }
    // Function bodies are checked when they run, not here: a body may name what comes later.
    out.push_str("\nSET LOCAL check_function_bodies = false;\n");
    for group in GROUPS {
        let members: Vec<&SchemaObject> = schema
            .objects
            .iter()
            .filter(|o| group.iter().any(|(k, r)| o.kind == *k && o.rank == *r))
            .filter(|o| o.definition.is_some())
            .collect();
        for o in in_dependency_order(members, schema) {
            out.push('\n');
            out.push_str(o.definition.as_deref().unwrap_or_default().trim_end());
            out.push('\n');
        }
    }
    out
}

/// `members` by name, each after the members it needs (a stable topological order: of the
/// members whose needs are met, the first by name comes next). A dependency cycle, which
/// PostgreSQL itself would not allow, leaves the rest in name order.
fn in_dependency_order<'a>(
    members: Vec<&'a SchemaObject>,
    schema: &Schema,
) -> Vec<&'a SchemaObject> {
    let names: BTreeSet<&str> = members.iter().map(|o| o.name.as_str()).collect();
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for d in &schema.depends {
        if names.contains(d.dependent.as_str()) && names.contains(d.needs.as_str()) {
            needs
                .entry(d.dependent.as_str())
                .or_default()
                .insert(d.needs.as_str());
        }
    }
    let mut left: BTreeMap<&str, &SchemaObject> =
        members.iter().map(|o| (o.name.as_str(), *o)).collect();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let next = left
            .keys()
            .copied()
            .find(|n| {
                needs
                    .get(n)
                    .is_none_or(|ns| ns.iter().all(|x| !left.contains_key(x)))
            })
            .unwrap_or_else(|| *left.keys().next().expect("not empty"));
        out.push(left.remove(next).expect("a member"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Dependency;

    fn object(kind: &str, name: &str, rank: u8) -> SchemaObject {
        SchemaObject {
            kind: kind.to_owned(),
            schema: "public".to_owned(),
            name: name.to_owned(),
            parent: None,
            definition: Some(format!("CREATE {kind} {name};")),
            detail: String::new(),
            rank,
        }
    }

    #[test]
    fn objects_come_by_group_then_dependency_then_name() {
        let schema = Schema {
            objects: vec![
                object("view", "public.a_reads_b", 0),
                object("view", "public.b", 0),
                object("table", "public.t", 0),
                object("function", "public.f()", 0),
                object("function", "public.g()", 1),
                object("schema", "app", 0),
            ],
            depends: vec![Dependency {
                dependent: "public.a_reads_b".to_owned(),
                needs: "public.b".to_owned(),
            }],
            left_out: Vec::new(),
        };
        let sql = schema.to_sql("header").unwrap();
        let order: Vec<&str> = sql
            .lines()
            .filter_map(|l| l.strip_prefix("CREATE "))
            .collect();
        assert_eq!(
            order,
            [
                "schema app;",
                "function public.f();",
                "table public.t;",
                "view public.b;",
                "view public.a_reads_b;",
                "function public.g();"
            ]
        );
        assert!(sql.starts_with("-- header\n\nSET LOCAL check_function_bodies = false;\n"));
    }
}
