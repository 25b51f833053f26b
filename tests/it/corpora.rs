//! Round trips of the real folders in `../shared/corpora` (crates.io, openmeter, docs.rs): up,
//! down and up again with tidemark, and the same files applied with `psql` in the owner's order
//! with the owner's transaction rules, on two fresh databases. The schemas (as
//! `tidemark::schema` reads them, which leaves tidemark's own tables out) must be identical at
//! every stage;
//! where a folder's own rollback is broken, tidemark must stop where psql stops, with history
//! exactly as before the failing step. Skipped, saying so, when the corpora are absent.

use crate::support::fresh_db;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tidemark::{Error, Migrations, Target};

pub(crate) fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is absent, and CI must run the corpus tests",
            dir.display()
        );
        eprintln!(
            "SKIPPED: {} is absent; the corpus round trips need ../shared/corpora beside the repository",
            dir.display()
        );
        None
    }
}

/// How the owning tool runs a file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// diesel: each migration in a transaction unless `metadata.toml` says otherwise.
    Diesel,
    /// sqlx: each migration in a transaction unless it starts with `-- no-transaction`.
    Sqlx,
    /// golang-migrate: each file as it is, no transaction around it.
    GolangMigrate,
}

/// One migration as psql applies it: forward and rollback file, and whether in a transaction.
struct PsqlStep {
    up: PathBuf,
    down: Option<PathBuf>,
    in_transaction: bool,
}

/// The folder's migrations in the owner's order, computed here from the file names (not by
/// tidemark): diesel by version text with dashes removed compared as strings; sqlx and
/// golang-migrate by the number before the first `_`.
fn owner_order(dir: &Path, owner: Owner, ignore: &[&str]) -> Vec<PsqlStep> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !ignore.contains(&n.as_str()))
        .collect();
    if owner == Owner::Diesel {
        names.retain(|n| dir.join(n).is_dir());
        names.sort_by_key(|n| n.split('_').next().unwrap().replace('-', ""));
        return names
            .iter()
            .map(|n| {
                let meta =
                    std::fs::read_to_string(dir.join(n).join("metadata.toml")).unwrap_or_default();
                PsqlStep {
                    up: dir.join(n).join("up.sql"),
                    down: Some(dir.join(n).join("down.sql")),
                    in_transaction: !meta.replace(' ', "").contains("run_in_transaction=false"),
                }
            })
            .collect();
    }
    names.retain(|n| n.ends_with(".up.sql") || (n.ends_with(".sql") && !n.ends_with(".down.sql")));
    names.sort_by_key(|n| n.split('_').next().unwrap().parse::<u64>().unwrap());
    names
        .iter()
        .map(|n| {
            let up = dir.join(n);
            let down = n
                .strip_suffix(".up.sql")
                .map(|stem| dir.join(format!("{stem}.down.sql")))
                .filter(|d| d.exists());
            let text = std::fs::read_to_string(&up).unwrap();
            PsqlStep {
                in_transaction: owner == Owner::Sqlx && !text.starts_with("-- no-transaction"),
                up,
                down,
            }
        })
        .collect()
}

/// psql applying `files` in order in one session, as the owner's tool would (it too uses one
/// connection): each in a transaction of its own where the owner runs it in one (`BEGIN`,
/// `\i file`, `COMMIT`), else as it is. `ON_ERROR_STOP` ends the session at the first error,
/// rolling that file's transaction back. On failure: how many files completed, and psql's words.
fn psql(conn: &str, files: &[(&Path, bool)]) -> Result<(), (usize, String)> {
    let mut script = String::new();
    for (file, in_transaction) in files {
        let quoted = file.display().to_string().replace('\'', "''");
        if *in_transaction {
            script.push_str(&format!("BEGIN;\n\\i '{quoted}'\nCOMMIT;\n"));
        } else {
            script.push_str(&format!("\\i '{quoted}'\n"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apply.psql");
    std::fs::write(&path, script).unwrap();
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-f"])
        .arg(&path)
        .output()
        .expect("psql (postgresql-client) on PATH");
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    // psql names the file and line of the error: `psql:/…/down.sql:2: ERROR: …`.
    let error = said
        .lines()
        .find(|l| l.contains(" ERROR: "))
        .unwrap_or_else(|| panic!("psql failed without an error line: {said}"));
    let failed = files
        .iter()
        .position(|(f, _)| error.starts_with(&format!("psql:{}:", f.display())))
        .unwrap_or_else(|| panic!("psql failed outside the files: {said}"));
    Err((failed, said))
}

/// Fails, naming every object that differs, unless both databases have the same schema
/// (tidemark's own tables left out).
async fn assert_same_schema(
    ours: &crate::support::TestDb,
    theirs: &crate::support::TestDb,
    what: &str,
) {
    let read = |db: &crate::support::TestDb| {
        let pool = db.pool.clone();
        async move {
            let c = pool.get().await.unwrap();
            tidemark::schema::Schema::read(&c, "public", "tidemark_history")
                .await
                .unwrap()
        }
    };
    let drift = read(ours).await.diff(&read(theirs).await);
    assert!(drift.is_empty(), "{what}: the schemas differ:\n{drift}");
}

pub(crate) fn load(dir: &Path, ignore: &[&str]) -> &'static Migrations {
    let options = tidemark_core::ScanOptions {
        display_path: Some(dir.file_name().unwrap().to_string_lossy().into_owned()),
        ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    let set = tidemark_core::scan(dir, &options)
        .unwrap_or_else(|d| panic!("{} does not scan: {d:#?}", dir.display()));
    Box::leak(Box::new(tidemark::__private::from_scanned(set)))
}

/// Where a rollback all the way down stops: psql's failing step (counted from the newest), or
/// none.
struct Expected {
    down_stops_at: Option<usize>,
}

/// Up, down, up with tidemark and with psql; the schemas must match at every stage.
async fn round_trip(dir: &Path, owner: Owner, ignore: &[&str], expected: Expected) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let set = load(dir, ignore);
    let steps = owner_order(dir, owner, ignore);
    assert_eq!(set.len(), steps.len(), "{name}: the same migrations");
    let (ours, theirs) = (fresh_db().await, fresh_db().await);
    let conn = theirs.conn_string();

    // Up.
    let t = Instant::now();
    let report = set.migrator().run(&ours.pool).await.unwrap();
    let up_s = t.elapsed().as_secs_f64();
    assert_eq!(report.steps.len(), steps.len());
    let ups: Vec<(&Path, bool)> = steps.iter().map(|s| (&*s.up, s.in_transaction)).collect();
    psql(&conn, &ups).unwrap_or_else(|(_, e)| panic!("{name}: psql up: {e}"));
    assert_same_schema(&ours, &theirs, &format!("{name}: after up")).await;

    // Down to the initial state, newest first; psql stops at the first broken rollback.
    let t = Instant::now();
    let history_before = ours.history().await;
    let down = set.migrator().target(Target::Initial).run(&ours.pool).await;
    let down_s = t.elapsed().as_secs_f64();
    let downs: Vec<(&Path, bool)> = steps
        .iter()
        .rev()
        .map(|s| (s.down.as_deref().unwrap(), s.in_transaction))
        .collect();
    let (psql_done, psql_error) = match psql(&conn, &downs) {
        Ok(()) => (downs.len(), None),
        Err((done, said)) => (done, Some(said)),
    };
    let undone = match (&down, expected.down_stops_at) {
        (Ok(r), None) => {
            assert!(psql_error.is_none(), "{name}: psql: {psql_error:?}");
            assert_eq!(r.steps.len(), steps.len());
            r.steps.len()
        }
        (Err(e), Some(at)) => {
            let Error::MigrationFailed(f) = e else {
                panic!("{name}: {e:?}")
            };
            let committed = f.applied.steps.len();
            assert_eq!(
                committed + 1,
                at,
                "{name}: tidemark stops at rollback {at}: {e}"
            );
            assert_eq!(
                psql_done + 1,
                at,
                "{name}: psql stops at rollback {at} too: {psql_error:?}"
            );
            let failing = &steps[steps.len() - at];
            assert_eq!(
                f.path,
                format!(
                    "{name}/{}",
                    failing
                        .down
                        .as_ref()
                        .unwrap()
                        .strip_prefix(dir)
                        .unwrap()
                        .display()
                )
            );
            let psql_said = psql_error.unwrap();
            assert!(
                psql_said.contains(&f.message),
                "{name}: the same error as psql: {} vs {psql_said}",
                f.message
            );
            assert!(f.line.is_some(), "{name}: {e}");
            // History is exactly as before the failing step: the committed rollbacks' rows
            // gone, every other row untouched; a no-transaction rollback (this one's diesel
            // metadata says so) leaves its row visibly failed instead.
            let kept = history_before.len() - committed;
            let mut expected_history = history_before[..kept].to_vec();
            if !failing.in_transaction {
                expected_history.last_mut().unwrap().3 = false;
            }
            assert_eq!(ours.history().await, expected_history);
            eprintln!("{name}: the rollback stops like psql: {e}");
            if !failing.in_transaction {
                // The operator's way on: the failed rollback changed nothing, so its row is
                // cleared and the next run re-applies its (idempotent) forward script.
                let repaired = set.migrator().repair(&ours.pool).await.unwrap();
                assert_eq!(repaired.removed_failed.len(), 1);
                eprintln!(
                    "corpus {name}: {} migrations; up {up_s:.2} s; down {committed} in {down_s:.2} s",
                    steps.len()
                );
                return finish(set, &ours, &theirs, &steps, committed, committed + 1, &name).await;
            }
            committed
        }
        (r, at) => panic!(
            "{name}: expected the rollback to stop at {at:?}, got {:?}",
            r.as_ref().map(|r| r.steps.len())
        ),
    };
    eprintln!(
        "corpus {name}: {} migrations; up {up_s:.2} s; down {undone} in {down_s:.2} s",
        steps.len()
    );
    finish(set, &ours, &theirs, &steps, undone, undone, &name).await;
}

/// After the rollback: the schemas match; then up again (tidemark re-applying `ours_to_redo`
/// migrations, psql the `undone` ones) and they match again.
async fn finish(
    set: &'static Migrations,
    ours: &crate::support::TestDb,
    theirs: &crate::support::TestDb,
    steps: &[PsqlStep],
    undone: usize,
    ours_to_redo: usize,
    name: &str,
) {
    assert_same_schema(ours, theirs, &format!("{name}: after down")).await;
    let t = Instant::now();
    let again = set.migrator().run(&ours.pool).await.unwrap();
    let again_s = t.elapsed().as_secs_f64();
    assert_eq!(again.steps.len(), ours_to_redo);
    let conn = theirs.conn_string();
    let ups: Vec<(&Path, bool)> = steps[steps.len() - undone..]
        .iter()
        .map(|s| (&*s.up, s.in_transaction))
        .collect();
    psql(&conn, &ups).unwrap_or_else(|(_, e)| panic!("{name}: psql up again: {e}"));
    assert_same_schema(ours, theirs, &format!("{name}: after up again")).await;
    assert!(set.is_up_to_date(&ours.pool).await.unwrap());
    eprintln!(
        "corpus {name}: up again {ours_to_redo} in {again_s:.2} s; schema identical to psql \
         after up, down and up again: yes"
    );
}

#[tokio::test]
async fn docsrs_round_trips_like_psql() {
    let Some(root) = corpora() else { return };
    round_trip(
        &root.join("docsrs"),
        Owner::Sqlx,
        &[],
        Expected {
            down_stops_at: None,
        },
    )
    .await;
}

#[tokio::test]
async fn openmeter_round_trips_like_psql() {
    let Some(root) = corpora() else { return };
    round_trip(
        &root.join("openmeter"),
        Owner::GolangMigrate,
        &[],
        Expected {
            down_stops_at: None,
        },
    )
    .await;
}

/// crates.io's folder as tidemark can run it: a copy with one declaration added, on
/// PostgreSQL 14+ (`None`, saying why, on 13). One rollback (2024-04-12-144536) holds `CREATE
/// INDEX CONCURRENTLY` without saying `run_in_transaction = false`: diesel could not run it
/// either, and tidemark refuses the folder at build time (core/tests/corpora.rs); the copy has
/// that one declaration added, the fix tidemark's error asks for.
pub(crate) async fn cratesio_runnable(root: &Path) -> Option<(tempfile::TempDir, PathBuf)> {
    let probe = fresh_db().await;
    let version: i32 = probe
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    if version < 140000 {
        eprintln!(
            "SKIPPED on PostgreSQL {}: crates.io's folder needs 14+ (CREATE OR REPLACE TRIGGER)",
            version / 10000
        );
        return None;
    }
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path().join("cratesio");
    tidemark_rig::copy_dir(&root.join("cratesio"), &dir);
    std::fs::write(
        dir.join("2024-04-12-144536_remove-downloads-column/metadata.toml"),
        "run_in_transaction = false\n",
    )
    .unwrap();
    Some((copy, dir))
}

#[tokio::test]
async fn cratesio_runs_like_psql_and_its_broken_rollback_stops_where_psql_does() {
    let Some(root) = corpora() else { return };
    let Some((_copy, dir)) = cratesio_runnable(&root).await else {
        return;
    };
    // Rolling back, the 51st (2024-10-25-112826) drops a constraint where its up created an
    // index: psql stops there, and so must tidemark.
    round_trip(
        &dir,
        Owner::Diesel,
        &["data_oauth_github.sql"],
        Expected {
            down_stops_at: Some(51),
        },
    )
    .await;
}
