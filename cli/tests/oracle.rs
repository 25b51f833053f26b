//! The pg_dump oracle: tidemark's schema file and its checkpoints are judged by PostgreSQL's
//! own dumper, not by tidemark's catalog reader. For each folder (the three corpora of
//! `../shared/corpora`, the every-kind fixture, and one small folder per bug found on real
//! folders), a database migrated through every file is compared with
//!
//! - a database made by loading `tidemark schema`'s file with `psql`,
//! - a database made from a checkpoint (`tidemark squash`) with every file kept,
//! - a database made from the checkpoint after the squashed forward scripts were deleted,
//!
//! by `pg_dump --schema-only --no-owner --no-privileges` of each (tidemark's history lives in
//! a schema of its own, `tm_meta`, left out of the dumps). What is normalised is pg_dump's
//! alone: its comment lines (the file header and each entry's `-- Name: …; Type: …` heading,
//! after which entries are compared as a set: pg_dump breaks ties between objects by OID, so
//! their order is not the schema's), its session preamble (`SET …`, `SELECT
//! pg_catalog.set_config(…)`) and its `\restrict` / `\unrestrict` lines (a random key per run).
//! Every statement is compared as written.
//!
//! pg_dump refuses servers newer than itself, so the oracle runs where the server's major is
//! pg_dump's (15 on the CI image); other majors keep the catalog comparison of the `it` suite.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::{corpora, url, Project};
use tidemark::testing::TestDatabase;

/// tidemark's history schema in every database here (out of the dumps).
const META: &str = "tm_meta";

/// Whether the server and pg_dump are of one major (else the test says so and passes).
async fn pg_dump_fits(db: &TestDatabase) -> bool {
    let out = Command::new("pg_dump")
        .arg("--version")
        .output()
        .expect("pg_dump (postgresql-client) on PATH");
    let text = String::from_utf8_lossy(&out.stdout);
    let dump_major: u32 = text
        .split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .expect("pg_dump prints its version");
    let server_major: i32 = db
        .pool()
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if i64::from(dump_major) != i64::from(server_major) {
        eprintln!(
            "SKIPPED: pg_dump {dump_major} cannot judge PostgreSQL {server_major}; the catalog \
             comparison of the it suite covers this major"
        );
    }
    i64::from(dump_major) == i64::from(server_major)
}

/// The schema of `db` as pg_dump writes it, as a set of entries (see the module docs).
fn dump(db: &TestDatabase) -> BTreeSet<String> {
    let out = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges"])
        .arg(format!("--exclude-schema={META}"))
        .args(["-d", &url(db)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut entries = BTreeSet::new();
    let mut entry = String::new();
    for line in text.lines() {
        if line.starts_with("-- Name: ") {
            entries.insert(std::mem::take(&mut entry));
        }
        let own = line.starts_with("--")
            || line.starts_with("\\restrict ")
            || line.starts_with("\\unrestrict ")
            || line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config(")
            || line.is_empty();
        if !own {
            entry.push_str(line);
            entry.push('\n');
        }
    }
    entries.insert(entry);
    entries.remove("");
    entries
}

/// Fails, listing what only one side has, unless pg_dump writes the same schema for both.
fn assert_same_dump(expected: &TestDatabase, actual: &TestDatabase, what: &str) {
    let (e, a) = (dump(expected), dump(actual));
    let missing: Vec<&String> = e.difference(&a).collect();
    let unexpected: Vec<&String> = a.difference(&e).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{what}: pg_dump differs\n--- only in the migrated database:\n{}\n+++ only in the other:\n{}",
        missing.iter().map(|s| s.as_str()).collect::<String>(),
        unexpected.iter().map(|s| s.as_str()).collect::<String>()
    );
}

/// A new database migrated by `tidemark up` in `p` (`extra`: arguments such as `--ignore`).
async fn migrated(p: &Project, extra: &[&str], what: &str) -> TestDatabase {
    let db = TestDatabase::empty().await.unwrap();
    let u = url(&db);
    let mut args = vec!["up", "--schema", META, "--database-url", &u];
    args.extend_from_slice(extra);
    let (code, _, err) = p.tidemark(&args);
    assert_eq!(code, 0, "{what}: tidemark up: {err}");
    db
}

/// `tidemark schema`'s file, loaded with psql into a new database in one transaction.
async fn loaded_from_schema_file(p: &Project, extra: &[&str], what: &str) -> TestDatabase {
    let mut args = vec!["schema", "-o", "schema.sql"];
    args.extend_from_slice(extra);
    let (code, _, err) = p.tidemark(&args);
    assert_eq!(code, 0, "{what}: tidemark schema: {err}");
    let db = TestDatabase::empty().await.unwrap();
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-1",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &url(&db),
            "-f",
        ])
        .arg(p.path("schema.sql"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: the schema file does not load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// Deletes the forward scripts the checkpoint in `p` stands for (a diesel migration's whole
/// directory; another form's forward file, keeping its rollback), as the README's squash
/// workflow says; how many.
fn delete_squashed(p: &Project) -> usize {
    let dir = p.path("migrations");
    let checkpoint = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.file_name().unwrap().to_string_lossy().starts_with('B'))
        .expect("a checkpoint");
    let text = std::fs::read_to_string(&checkpoint).unwrap();
    let squashed: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("-- tidemark:squashes "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut deleted = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path == checkpoint || name.contains(".down.") || name.starts_with('U') {
            continue;
        }
        let version = match name.strip_prefix('V') {
            Some(flyway) => flyway.split("__").next().unwrap().to_owned(),
            None => name.split('_').next().unwrap().replace('-', ""),
        };
        if !squashed.contains(version.as_str()) {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        deleted += 1;
    }
    deleted
}

/// The whole oracle on the folder `from`: the schema file, then a checkpoint up to `squash_to`
/// with every file kept and with the squashed forward scripts deleted.
async fn oracle(what: &str, from: &Path, extra: &[&str], squash_to: &str) {
    let probe = TestDatabase::empty().await.unwrap();
    if !pg_dump_fits(&probe).await {
        return;
    }
    let p = Project::copy_of(from);
    let reference = migrated(&p, extra, what).await;
    let loaded = loaded_from_schema_file(&p, extra, what).await;
    assert_same_dump(&reference, &loaded, &format!("{what}: the schema file"));

    let mut args = vec!["squash", "--up-to", squash_to];
    args.extend_from_slice(extra);
    let (code, _, err) = p.tidemark(&args);
    assert_eq!(code, 0, "{what}: tidemark squash: {err}");
    let kept = migrated(&p, extra, what).await;
    assert_same_dump(
        &reference,
        &kept,
        &format!("{what}: the checkpoint, files kept"),
    );
    let deleted = delete_squashed(&p);
    assert!(deleted > 0, "{what}: nothing squashed");
    let after = migrated(&p, extra, what).await;
    assert_same_dump(
        &reference,
        &after,
        &format!("{what}: the checkpoint, {deleted} squashed forward scripts deleted"),
    );
    eprintln!(
        "{what}: {} pg_dump entries; the schema file and both checkpoint databases dump identically",
        dump(&reference).len()
    );
}

#[tokio::test]
async fn every_kind_dumps_identically() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/schema/migrations");
    oracle("every kind", &dir, &[], "2").await;
}

#[tokio::test]
async fn docsrs_dumps_identically() {
    let Some(root) = corpora() else { return };
    oracle("docsrs", &root.join("docsrs"), &[], "20251202040858").await;
}

#[tokio::test]
async fn openmeter_dumps_identically() {
    let Some(root) = corpora() else { return };
    oracle("openmeter", &root.join("openmeter"), &[], "20250604111901").await;
}

/// Squashed up to the first version where diesel's string order and the numeric order part
/// (an 18-digit `-0000` version before a 14-digit one), across `00000000000000`. One of its
/// rollbacks holds `CREATE INDEX CONCURRENTLY` without saying so in its `metadata.toml`
/// (`tidemark check` refuses it), so the copy gets that line, as the `it` suite's does.
#[tokio::test]
async fn cratesio_dumps_identically() {
    let Some(root) = corpora() else { return };
    let copy = Project::copy_of(&root.join("cratesio"));
    std::fs::write(
        copy.path("migrations/2024-04-12-144536_remove-downloads-column/metadata.toml"),
        "run_in_transaction = false\n",
    )
    .unwrap();
    let ignore = ["--ignore", "data_oauth_github.sql"];
    oracle(
        "cratesio",
        &copy.path("migrations"),
        &ignore,
        "2025-11-19-091444-0000",
    )
    .await;
}

// One folder per class of failure found on real folders (issue 24); each failed before its fix.

/// 1. Extended statistics.
#[tokio::test]
async fn extended_statistics_are_written() {
    let p = Project::of(&[
        ("V1__t.sql", "CREATE TABLE t (a int, b int);\n"),
        (
            "V2__stats.sql",
            "CREATE STATISTICS t_ab (dependencies, ndistinct) ON a, b FROM t;\n",
        ),
    ]);
    oracle("statistics", &p.path("migrations"), &[], "1").await;
}

/// 2. A UNIQUE constraint over the primary key's columns.
#[tokio::test]
async fn a_unique_constraint_over_the_primary_key_is_kept() {
    let p = Project::of(&[
        ("V1__t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n"),
        (
            "V2__unique.sql",
            "ALTER TABLE t ADD CONSTRAINT t_id_key UNIQUE (id);\n",
        ),
    ]);
    oracle("unique over the key", &p.path("migrations"), &[], "2").await;
}

/// 3. An aggregate with a comment: the comment was written, the aggregate not.
#[tokio::test]
async fn an_aggregate_and_its_comment_load() {
    let p = Project::of(&[
        (
            "V1__agg.sql",
            "CREATE AGGREGATE my_sum(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');\n\
             COMMENT ON AGGREGATE my_sum(int) IS 'sums';\n",
        ),
        ("V2__t.sql", "CREATE TABLE t (n int);\n"),
    ]);
    oracle("aggregate", &p.path("migrations"), &[], "1").await;
}

/// 4. The sequence of an UNLOGGED table's serial column is unlogged (PostgreSQL 15+).
#[tokio::test]
async fn an_unlogged_sequence_stays_unlogged() {
    let p = Project::of(&[
        ("V1__u.sql", "CREATE UNLOGGED TABLE u (id serial);\n"),
        ("V2__t.sql", "CREATE TABLE t (n int);\n"),
    ]);
    oracle("unlogged sequence", &p.path("migrations"), &[], "1").await;
}

/// 5. An identity column's sequence keeps its name after its table is renamed.
#[tokio::test]
async fn an_identity_sequence_keeps_its_name_after_a_rename() {
    let p = Project::of(&[
        (
            "V1__settings.sql",
            "CREATE TABLE alerting_settings (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n",
        ),
        (
            "V2__rename.sql",
            "ALTER TABLE alerting_settings RENAME TO dynamic_settings;\n",
        ),
    ]);
    oracle("renamed identity", &p.path("migrations"), &[], "2").await;
}

/// 6. diesel's `00000000000000`: the minimal folder of the report.
#[tokio::test]
async fn a_diesel_folder_squashes_with_its_leading_zeros() {
    let p = Project::of(&[
        ("00000000000000_x/up.sql", "CREATE TABLE x (id int);\n"),
        ("00000000000002_a/up.sql", "CREATE TABLE a (id int);\n"),
        ("00000000000003_b/up.sql", "CREATE TABLE b (id int);\n"),
    ]);
    oracle(
        "diesel leading zeros",
        &p.path("migrations"),
        &[],
        "00000000000002",
    )
    .await;
}

/// 7. diesel's string order once the squashed directories are gone: a 13-digit version orders
/// after a 14-digit one as a string, and would jump ahead (below the checkpoint) as a number.
#[tokio::test]
async fn a_diesel_folder_keeps_its_order_once_the_squashed_directories_are_gone() {
    let p = Project::of(&[
        ("20200101000000_a/up.sql", "CREATE TABLE a (id int);\n"),
        ("20201231000000_c/up.sql", "CREATE TABLE c (id int);\n"),
        ("2020-12-7-190800_b/up.sql", "CREATE TABLE b (id int);\n"),
    ]);
    oracle(
        "diesel string order",
        &p.path("migrations"),
        &[],
        "20201231000000",
    )
    .await;
}

/// A table's settings that are not objects of their own: replica identity, the index it is
/// clustered on, a column's storage, compression and statistics target (also a materialized
/// view's).
#[tokio::test]
async fn table_settings_dump_identically() {
    let p = Project::of(&[
        (
            "V1__settings.sql",
            "CREATE TABLE t (id int PRIMARY KEY, a text, b int, c text COMPRESSION pglz);\n\
             ALTER TABLE t REPLICA IDENTITY USING INDEX t_pkey;\n\
             ALTER TABLE t CLUSTER ON t_pkey;\n\
             ALTER TABLE t ALTER COLUMN a SET STORAGE EXTERNAL;\n\
             ALTER TABLE t ALTER COLUMN b SET STATISTICS 900;\n\
             CREATE TABLE f (x int);\n\
             ALTER TABLE f REPLICA IDENTITY FULL;\n\
             CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one;\n\
             ALTER MATERIALIZED VIEW mv ALTER COLUMN one SET STATISTICS 50;\n",
        ),
        ("V2__t.sql", "CREATE TABLE later (n int);\n"),
    ]);
    oracle("table settings", &p.path("migrations"), &[], "1").await;
}

/// Forms beyond the every-kind fixture, which needs PostgreSQL 15+ or ICU: a publication with a
/// column list, a row filter and a schema; a nondeterministic ICU collation; a disabled event
/// trigger with tags; an ordered-set aggregate.
#[tokio::test]
async fn the_forms_of_newer_majors_dump_identically() {
    let p = Project::of(&[
        (
            "V1__forms.sql",
            "CREATE SCHEMA feed;\n\
             CREATE TABLE feed.events (id int, body text);\n\
             CREATE TABLE notes (id int PRIMARY KEY, note text, secret text);\n\
             CREATE PUBLICATION filtered FOR TABLE notes (id, note) WHERE (id > 0) \
             WITH (publish = 'insert', publish_via_partition_root = true);\n\
             CREATE PUBLICATION whole FOR TABLES IN SCHEMA feed;\n\
             CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);\n\
             CREATE TABLE people (name text COLLATE ci);\n\
             CREATE FUNCTION noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;\n\
             CREATE EVENT TRIGGER tagged ON ddl_command_start WHEN TAG IN ('CREATE TABLE', 'DROP TABLE') \
             EXECUTE FUNCTION noop();\n\
             ALTER EVENT TRIGGER tagged DISABLE;\n\
             CREATE AGGREGATE pct(float8 ORDER BY float8) (SFUNC = ordered_set_transition, \
             STYPE = internal, FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA);\n",
        ),
        ("V2__t.sql", "CREATE TABLE t (n int);\n"),
    ]);
    oracle("newer forms", &p.path("migrations"), &[], "1").await;
}
