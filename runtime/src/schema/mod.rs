//! A database's schema read from its catalog: rendered as a deterministic SQL file
//! ([`Schema::to_sql`]: `tidemark schema`, the checkpoint of `tidemark squash`) and compared
//! object by object ([`Schema::diff`]: `tidemark drift`).
//!
//! Every object comes from one catalog query (`catalog.sql`) run with an empty `search_path`,
//! so the server's own deparsers (`pg_get_viewdef`, `pg_get_functiondef`, `pg_get_indexdef`,
//! `format_type`, …) print every name schema-qualified and the file means the same wherever it
//! runs. The order of the file is fixed by kind, then by dependency where one object needs
//! another of its kind (a partition its parent, a view the views and functions it reads), then
//! by name: never by OID or creation order, so the same schema gives the same bytes. Owners and
//! privileges are left out (they belong to an environment, not to a schema), as are
//! tidemark's own history tables.

mod diff;
mod file;
mod render;

pub use diff::{Difference, DifferenceKind, Drift};
pub use file::{compare_file, FileDifference};

use crate::error::Error;
use crate::sql::literal;
use tokio_postgres::{Client, SimpleQueryMessage};

const CATALOG_SQL: &str = include_str!("catalog.sql");

/// One object of a schema: a table, a column, a constraint, an index, a view, a function, …
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaObject {
    /// What it is: `table`, `column`, `constraint`, `index`, `view`, `materialized view`,
    /// `function`, `aggregate`, `operator`, `cast`, `trigger`, `event trigger`, `rule`,
    /// `policy`, `row level security`, `sequence`, `sequence owner`, `enum`, `domain`, `type`,
    /// `collation`, `text search dictionary`, `text search configuration`, `statistics`,
    /// `table settings` (replica identity, clustering, column storage, compression and
    /// statistics targets), `publication`, `publication table`, `publication schema`,
    /// `extension`, `schema`,
    /// `comment`; or, for what the file does not write, PostgreSQL's own name of the kind
    /// (`operator class`, `foreign table`, `foreign-data wrapper`, …: see
    /// [`Schema::unwritten`]).
    pub kind: String,
    /// Its schema.
    pub schema: String,
    /// Its identity, unique within its kind: `public.users`, `public.users.email` (a column),
    /// `users_email_key on public.users` (a constraint, trigger, rule or policy),
    /// `public.f(integer)` (a function).
    pub name: String,
    /// The table a column, constraint, index, trigger, rule or policy belongs to.
    pub parent: Option<String>,
    /// The statement that creates it, when it has one of its own (a column's is its table's).
    pub definition: Option<String>,
    /// What a comparison looks at: the definition, or for a table its kind and options (its
    /// columns and constraints are objects of their own).
    pub detail: String,
    rank: u8,
}

/// What must come before what, among objects of one group (see `catalog.sql`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Dependency {
    dependent: String,
    needs: String,
}

/// The objects of a database's schema (see the [module](self) docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    objects: Vec<SchemaObject>,
    depends: Vec<Dependency>,
    left_out: Vec<String>,
}

/// The rank `catalog.sql` gives an object the file does not write.
const UNWRITTEN: u8 = 9;

impl Schema {
    /// Reads the schema of the database behind `client`, leaving out tidemark's bookkeeping
    /// tables `schema.table` (and `{table}_state`, the guard): `read(&client, "public",
    /// "tidemark_history")` for the defaults. Only reads, in a read-only transaction.
    pub async fn read(client: &Client, schema: &str, table: &str) -> Result<Self, Error> {
        let query = catalog_query(server_version(client).await?)
            .replace("$HS", &literal(schema))
            .replace("$HT", &literal(table));
        let sql = format!("BEGIN READ ONLY; SET LOCAL search_path = ''; {query}; COMMIT");
        let msgs = match client.simple_query(&sql).await {
            Ok(m) => m,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(Error::db("reading the schema from the catalog")(e));
            }
        };
        let mut out = Self::default();
        for m in &msgs {
            let SimpleQueryMessage::Row(r) = m else {
                continue;
            };
            let text = |i: usize| r.get(i).map(str::to_owned);
            let kind = text(0).unwrap_or_default();
            if kind == "depends" {
                out.depends.push(Dependency {
                    dependent: text(2).unwrap_or_default(),
                    needs: text(3).unwrap_or_default(),
                });
                continue;
            }
            let definition = text(4);
            out.objects.push(SchemaObject {
                kind,
                schema: text(1).unwrap_or_default(),
                name: text(2).unwrap_or_default(),
                parent: text(3),
                detail: text(5).or_else(|| definition.clone()).unwrap_or_default(),
                definition,
                rank: text(6).and_then(|v| v.parse().ok()).unwrap_or(0),
            });
        }
        out.drop_bookkeeping_schema(schema);
        out.objects
            .sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        out.depends
            .sort_by(|a, b| (&a.dependent, &a.needs).cmp(&(&b.dependent, &b.needs)));
        Ok(out)
    }

    /// Every object, by kind then name.
    pub fn objects(&self) -> &[SchemaObject] {
        &self.objects
    }

    /// The history schema is tidemark's when nothing but its tables lives there.
    fn drop_bookkeeping_schema(&mut self, schema: &str) {
        let used = self
            .objects
            .iter()
            .any(|o| o.kind != "schema" && o.schema == schema);
        if !used {
            self.objects
                .retain(|o| !(o.kind == "schema" && o.schema == schema));
        }
    }

    /// The objects the file does not write (an operator class, a foreign table, a base type,
    /// a foreign-data wrapper, …) whose kinds were not [left out](Self::leave_out):
    /// [`to_sql`](Self::to_sql) refuses while there is one.
    pub fn unwritten(&self) -> impl Iterator<Item = &SchemaObject> {
        self.objects
            .iter()
            .filter(|o| o.rank == UNWRITTEN && !self.left_out.contains(&o.kind))
    }

    /// Leaves the objects of these kinds (as [`SchemaObject::kind`] names them: `operator
    /// class`, `foreign table`, …) out of the file, by choice: the file's header lists each
    /// one. Only kinds the file cannot write can be left out; the others are written.
    pub fn leave_out<I, S>(&mut self, kinds: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.left_out.extend(kinds.into_iter().map(Into::into));
    }

    /// The schema as SQL that creates it on an empty database, one statement per object in a
    /// fixed order, each line of `header` first as a comment, then the objects left out by
    /// [`leave_out`](Self::leave_out). The same schema gives the same text.
    ///
    /// # Errors
    /// [`Error::SchemaUnwritten`] while the schema holds an object the file cannot write
    /// ([`unwritten`](Self::unwritten)): a file without it would load into another schema.
    pub fn to_sql(&self, header: &str) -> Result<String, Error> {
        let objects: Vec<String> = self.unwritten().map(|o| o.detail.clone()).collect();
        if !objects.is_empty() {
            let mut kinds: Vec<String> = self.unwritten().map(|o| o.kind.clone()).collect();
            kinds.dedup();
            return Err(Error::SchemaUnwritten { objects, kinds });
        }
        Ok(render::render(self, header))
    }

    /// The objects left out by choice, as `kind name`.
    fn left_out_objects(&self) -> impl Iterator<Item = &SchemaObject> {
        self.objects
            .iter()
            .filter(|o| o.rank == UNWRITTEN && self.left_out.contains(&o.kind))
    }

    /// What differs between `self` (what the migrations produce) and `actual` (a database's
    /// catalog): objects missing from `actual`, objects only `actual` has, objects both have
    /// with another definition.
    pub fn diff(&self, actual: &Schema) -> Drift {
        diff::diff(self, actual)
    }
}

/// `server_version_num`: the catalog query's form depends on the major.
pub(crate) async fn server_version(client: &Client) -> Result<u32, Error> {
    let msgs = client
        .simple_query("SHOW server_version_num")
        .await
        .map_err(Error::db("reading the server's version"))?;
    Ok(msgs
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
            _ => None,
        })
        .unwrap_or(0))
}

/// `catalog.sql` for a server of `version`: a column's compression exists from PostgreSQL 14
/// on, a publication's column lists, row filters and schemas from 15 on.
fn catalog_query(version: u32) -> String {
    let (rel, ns) = if version >= 150_000 {
        (PUBLICATION_REL_15, PUBLICATION_NS_15)
    } else {
        ("", "")
    };
    let compression = if version >= 140_000 {
        "a.attcompression"
    } else {
        "''::\"char\""
    };
    CATALOG_SQL
        .replace("$PUB_REL", rel)
        .replace("$PUB_NS", ns)
        .replace("$ATTCOMPRESSION", compression)
}

/// What PostgreSQL 15+ adds to a table of a publication: its column list and row filter.
const PUBLICATION_REL_15: &str =
    "|| coalesce(' (' || (SELECT string_agg(quote_ident(a.attname), ', ' \
     ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = pr.prrelid \
     AND a.attnum = ANY (pr.prattrs::int2[])) || ')', '') \
     || coalesce(' WHERE (' || pg_get_expr(pr.prqual, pr.prrelid) || ')', '')";

/// The schemas of a publication (PostgreSQL 15+).
const PUBLICATION_NS_15: &str = "UNION ALL
SELECT 'publication schema', n.nspname, quote_ident(p.pubname) || ' ' || quote_ident(n.nspname), NULL,
       'ALTER PUBLICATION ' || quote_ident(p.pubname) || ' ADD TABLES IN SCHEMA ' || quote_ident(n.nspname) || ';',
       NULL, 0
FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid JOIN ns n ON n.oid = pn.pnnspid";

/// The first lines of the schema file (`tidemark schema`, the testing kit's
/// `assert_schema_file`), as comments once rendered. Nothing in them depends on the folder's
/// contents, where or when the file was written (the folder's path, the server, the time): a
/// review sees the schema change and nothing else, and the same migrations give the same bytes.
pub fn file_header() -> &'static str {
    "The schema the migrations make, written by `tidemark schema`. Do not edit: regenerate it\n\
     (`tidemark schema -o FILE`); `tidemark check --schema FILE` fails while it is out of date.\n\
     Owners and privileges are left out."
}
