//! The schema as an artefact, through the `tidemark` binary against a real PostgreSQL:
//! `schema` and `check --schema`, `drift`, and `squash` on the real folders of
//! `../shared/corpora` (skipped, saying so, where they are absent).

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tidemark::schema::Schema;
use tidemark::testing::{server, TestDatabase};

/// A project directory with a migration folder, and where scratch databases go: the test
/// server (so no second throwaway cluster starts for each command).
struct Project {
    dir: PathBuf,
    scratch: String,
    _tmp: tempfile::TempDir,
}

impl Project {
    /// A project whose `migrations/` is a copy of `from`.
    fn copy_of(from: &Path) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        tidemark_rig::copy_dir(from, &tmp.path().join("migrations"));
        let s = server().unwrap();
        Self {
            dir: tmp.path().to_path_buf(),
            scratch: tidemark_rig::connection_string(&s.config(s.admin_database())),
            _tmp: tmp,
        }
    }

    /// `tidemark ARGS` in the project directory.
    fn tidemark(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::cargo_bin("tidemark")
            .unwrap()
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env("TIDEMARK_SCRATCH_URL", &self.scratch)
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

fn url(db: &TestDatabase) -> String {
    tidemark_rig::connection_string(&db.config())
}

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

fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; the squash round trips need ../shared/corpora beside the repository",
            dir.display()
        );
        None
    }
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
