//! The schema as an artefact, through the `tidemark` binary against a real PostgreSQL:
//! `schema` and `check --schema`, `drift`, and `squash` on the real folders of
//! `../shared/corpora` (skipped, saying so, where they are absent).

mod support;

use std::path::{Path, PathBuf};
use support::{corpora, url, Project};
use tidemark::schema::Schema;
use tidemark::testing::TestDatabase;

async fn rendered(db: &TestDatabase) -> String {
    let c = db.pool().get().await.unwrap();
    Schema::read(&c, "public", "tidemark_history")
        .await
        .unwrap()
        .to_sql("")
        .unwrap()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/migrations")
}

#[tokio::test]
async fn the_schema_file_is_deterministic_and_check_schema_catches_an_unreviewed_change() {
    let p = Project::copy_of(&example());
    let (code, _, err) = p.tidemark(&["schema", "-o", "schema.sql"]);
    assert_eq!(code, 0, "{err}");
    let first = std::fs::read_to_string(p.path("schema.sql")).unwrap();
    let (code, again, _) = p.tidemark(&["schema"]);
    assert_eq!(code, 0);
    assert_eq!(again, first, "the same folder gives the same bytes");
    assert!(
        first.contains(
            "CREATE TABLE public.users (\n    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,"
        ),
        "{first}"
    );
    let (code, out, err) = p.tidemark(&["check", "--schema", "schema.sql"]);
    assert_eq!(code, 0, "{out}{err}");

    // A migration changes the schema; the file in the pull request was not regenerated.
    let v1 = p.path("migrations/V1__create_users.sql");
    let sql = std::fs::read_to_string(&v1).unwrap();
    assert!(sql.contains("email"), "{sql}");
    std::fs::write(&v1, sql.replacen("email", "nickname text,\n    email", 1)).unwrap();
    let (code, _, err) = p.tidemark(&["check", "--schema", "schema.sql"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("schema.sql") && err.contains("out of date"),
        "{err}"
    );
    assert!(
        err.contains("nickname text"),
        "names the first difference: {err}"
    );
    assert!(err.contains("tidemark schema -o schema.sql"), "{err}");
    let (code, out, _) = p.tidemark(&["check", "--schema", "schema.sql", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"errors\":1"), "{out}");

    // Regenerated, it passes again.
    assert_eq!(p.tidemark(&["schema", "-o", "schema.sql"]).0, 0);
    assert_eq!(p.tidemark(&["check", "--schema", "schema.sql"]).0, 0);
}

#[tokio::test]
async fn drift_names_a_hand_made_index_and_a_dropped_default_and_nothing_on_an_untouched_database()
{
    let p = Project::copy_of(&example());
    let db = TestDatabase::empty().await.unwrap();
    let (code, _, err) = p.tidemark(&["up", "--database-url", &url(&db)]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = p.tidemark(&["drift", "--database-url", &url(&db)]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            "no drift: the schema is what the applied migrations make"
        ),
        "{err}"
    );

    // At 3 a.m., by hand.
    let c = db.pool().get().await.unwrap();
    c.batch_execute(
        "CREATE INDEX posts_title_idx ON posts (title); \
         ALTER TABLE posts ALTER COLUMN body DROP DEFAULT",
    )
    .await
    .unwrap();
    let (code, out, _) = p.tidemark(&["drift", "--database-url", &url(&db)]);
    assert_eq!(code, 7, "exit 7: drift found\n{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[1].starts_with("changed     column  public.posts.body")
            && lines[1].ends_with(
                "expected body text DEFAULT ''::text NOT NULL; found body text NOT NULL"
            ),
        "{out}"
    );
    assert!(
        lines[2].starts_with("unexpected  index   public.posts_title_idx")
            && lines[2]
                .contains("CREATE INDEX posts_title_idx ON public.posts USING btree (title)"),
        "{out}"
    );
    let (code, json, _) = p.tidemark(&["drift", "--database-url", &url(&db), "--json"]);
    assert_eq!(code, 7);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let found: Vec<(&str, &str, &str)> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["drift"].as_str().unwrap(),
                d["object"].as_str().unwrap(),
                d["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("changed", "column", "public.posts.body"),
            ("unexpected", "index", "public.posts_title_idx")
        ]
    );
    // It changed nothing: history as it was, the index still there.
    let rows: i64 = c
        .query_one("SELECT count(*) FROM tidemark_history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 4);
}

/// Squashes `corpus` up to `version`: a database migrated through every file before the squash
/// and one migrated through the checkpoint after the squashed files are deleted have the same
/// schema and history; both take the next migration alike.
async fn squash_round_trip(corpus: &str, version: &str, data_migrations: usize) {
    let Some(root) = corpora() else { return };
    let p = Project::copy_of(&root.join(corpus));
    let (before, after) = (
        TestDatabase::empty().await.unwrap(),
        TestDatabase::empty().await.unwrap(),
    );
    let (code, _, err) = p.tidemark(&["up", "--database-url", &url(&before)]);
    assert_eq!(code, 0, "{corpus}: {err}");

    let (code, out, err) = p.tidemark(&["squash", "--up-to", version]);
    assert_eq!(code, 0, "{corpus}: {err}");
    let checkpoint = format!("migrations/B{version}__checkpoint.sql");
    assert!(out.contains(&format!("wrote {checkpoint}")), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("  migrations/"))
            .count(),
        data_migrations,
        "{corpus}: the migrations that change data are listed: {out}"
    );
    // The old files go.
    let mut squashed = 0;
    for entry in std::fs::read_dir(p.path("migrations")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let v = name.split('_').next().unwrap().parse::<u64>();
        if v.is_ok_and(|v| v <= version.parse::<u64>().unwrap()) {
            std::fs::remove_file(p.path("migrations").join(&name)).unwrap();
            squashed += 1;
        }
    }
    assert!(squashed > 0);
    let (code, out, err) = p.tidemark(&["up", "--database-url", &url(&after)]);
    assert_eq!(code, 0, "{corpus}: {err}");
    let first = out.lines().nth(1).unwrap_or_default();
    assert!(
        first.starts_with(version) && first.contains("checkpoint"),
        "{corpus}: a new database starts from the checkpoint: {out}"
    );
    assert_eq!(
        rendered(&before).await,
        rendered(&after).await,
        "{corpus}: the same schema through the checkpoint as through every file"
    );
    let history = |db: &TestDatabase| {
        let pool = db.pool().clone();
        async move {
            let c = pool.get().await.unwrap();
            c.query(
                "SELECT version, checksum FROM tidemark_history ORDER BY version",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)))
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        history(&before).await,
        history(&after).await,
        "{corpus}: the same history"
    );

    // The database migrated before the squash goes on as before.
    let (code, out, _) = p.tidemark(&["up", "--database-url", &url(&before)]);
    assert_eq!(
        (code, out.trim()),
        (0, "nothing to do: the database is up to date")
    );
    let (code, out, _) = p.tidemark(&["drift", "--database-url", &url(&before)]);
    assert_eq!(code, 0, "{corpus}: {out}");
    std::fs::write(
        p.path("migrations/99990101000000_after_the_squash.up.sql"),
        "CREATE TABLE after_the_squash (id int);\n",
    )
    .unwrap();
    std::fs::write(
        p.path("migrations/99990101000000_after_the_squash.down.sql"),
        "DROP TABLE after_the_squash;\n",
    )
    .unwrap();
    for db in [&before, &after] {
        let (code, out, err) = p.tidemark(&["up", "--database-url", &url(db)]);
        assert_eq!(code, 0, "{corpus}: {err}");
        assert_eq!(
            out.lines().count(),
            2,
            "{corpus}: only the new migration: {out}"
        );
        assert!(out.contains("after_the_squash"), "{out}");
    }
    // Rolling back below the checkpoint needs the deleted files.
    let (code, _, err) = p.tidemark(&["to", "initial", "--database-url", &url(&after)]);
    assert_eq!(code, 1);
    assert!(err.contains(&checkpoint), "names the checkpoint: {err}");
    eprintln!("{corpus}: squashed {squashed} files up to {version}; schema and history identical");
}

#[tokio::test]
async fn squash_docsrs_midway_new_and_old_databases_agree() {
    squash_round_trip("docsrs", "20251202040858", 3).await;
}

#[tokio::test]
async fn squash_openmeter_midway_new_and_old_databases_agree() {
    squash_round_trip("openmeter", "20250604111901", 17).await;
}

/// What the schema file cannot write is refused by name, never dropped silently; left out by
/// choice, it is listed in the file's header.
#[tokio::test]
async fn an_object_the_file_cannot_write_is_refused_or_left_out_by_name() {
    let p = Project::of(&[(
        "V1__ops.sql",
        "CREATE TABLE t (id int);\nCREATE OPERATOR FAMILY fam USING btree;\nCREATE TYPE shell;\n",
    )]);
    let (code, out, err) = p.tidemark(&["schema"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains("operator family public.fam USING btree")
            && err.contains("type public.shell")
            && err.contains("`--leave-out 'operator family'`")
            && err.contains("`--leave-out 'type'`"),
        "{err}"
    );
    let (code, out, err) = p.tidemark(&[
        "schema",
        "--leave-out",
        "operator family",
        "--leave-out",
        "type",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "-- Left out (by choice, not written): operator family public.fam USING btree\n"
        ) && out.contains("-- Left out (by choice, not written): type public.shell\n")
            && out.contains("CREATE TABLE public.t ("),
        "{out}"
    );
    // Left out means left out: the kinds not named are still refused.
    let (code, _, err) = p.tidemark(&["schema", "--leave-out", "type"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("operator family public.fam") && !err.contains("type public.shell"),
        "{err}"
    );
}
