//! A schema snapshot from the catalog, for comparing a database before and after.

use std::collections::BTreeSet;

/// One line per schema object: schemas, tables, columns (type, nullability, default),
/// constraints, indexes, sequences, views, functions, triggers, enums, domains and composite
/// types, extensions, policies and comments. tidemark's own history tables (and their guard
/// trigger and function) are left out.
const SNAPSHOT_SQL: &str = r#"
WITH ns AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema')
    AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
), rel AS (
  SELECT c.oid, c.relname, c.relkind, c.relrowsecurity, ns.nspname
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relname NOT IN ('tidemark_history', 'tidemark_history_state',
                          'tidemark_history_pkey', 'tidemark_history_state_pkey')
)
SELECT 'schema ' || nspname FROM ns WHERE nspname <> 'public'
UNION ALL
SELECT CASE relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view '
         WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence ' WHEN 'i' THEN 'index '
         WHEN 'I' THEN 'index ' WHEN 'f' THEN 'foreign table ' ELSE 'relation ' END
       || nspname || '.' || relname
       || CASE WHEN relkind IN ('i', 'I') THEN ': ' || pg_get_indexdef(oid)
               WHEN relkind IN ('v', 'm') THEN ': ' || pg_get_viewdef(oid)
               WHEN relrowsecurity THEN ' (row level security)' ELSE '' END
FROM rel WHERE relkind NOT IN ('t', 'c')
UNION ALL
SELECT 'column ' || r.nspname || '.' || r.relname || '.' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
UNION ALL
SELECT 'constraint ' || r.nspname || '.' || r.relname || '.' || c.conname || ': '
       || pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN rel r ON r.oid = c.conrelid
UNION ALL
SELECT 'function ' || n.nspname || '.' || p.proname || '('
       || pg_get_function_identity_arguments(p.oid) || '): ' || md5(pg_get_functiondef(p.oid))
FROM pg_proc p JOIN ns n ON n.oid = p.pronamespace
WHERE p.prokind <> 'a' AND p.proname <> 'tidemark_history_guard'
UNION ALL
SELECT 'trigger ' || r.nspname || '.' || r.relname || '.' || t.tgname || ': ' || pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'enum ' || n.nspname || '.' || t.typname || ': '
       || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
FROM pg_type t JOIN ns n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
GROUP BY n.nspname, t.typname
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain ' ELSE 'type ' END || n.nspname || '.' || t.typname
       || CASE WHEN t.typtype = 'd' THEN ': ' || format_type(t.typbasetype, t.typtypmod) ELSE '' END
FROM pg_type t JOIN ns n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
UNION ALL
SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
UNION ALL
SELECT 'policy ' || schemaname || '.' || tablename || '.' || policyname || ': ' || cmd
       || coalesce(' using ' || qual, '') || coalesce(' check ' || with_check, '')
FROM pg_policies
UNION ALL
SELECT 'comment ' || r.nspname || '.' || r.relname || coalesce('.' || a.attname, '') || ': ' || d.description
FROM pg_description d JOIN rel r ON d.objoid = r.oid AND d.classoid = 'pg_class'::regclass
LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.objsubid AND d.objsubid > 0
"#;

/// The schema of the database behind `client`, one line per object (see the module docs).
pub async fn snapshot(
    client: &tokio_postgres::Client,
) -> Result<BTreeSet<String>, tokio_postgres::Error> {
    Ok(client
        .query(SNAPSHOT_SQL, &[])
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect())
}
