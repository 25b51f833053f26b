//! What the schema tests share: a project directory around a copy of a migration folder, the
//! `tidemark` binary run in it, and the corpora of `../shared/corpora`.
//!
//! `TIDEMARK_TEST_BIN`, when set, names another `tidemark` binary to run instead of this
//! build's (to show that a test fails on an older build).

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use tidemark::testing::{server, TestDatabase};
use tidemark::tokio_postgres::Client;

/// A project directory with a migration folder, and where scratch databases go: the test
/// server (so no second throwaway cluster starts for each command).
pub(crate) struct Project {
    pub(crate) dir: PathBuf,
    scratch: String,
    _tmp: tempfile::TempDir,
}

impl Project {
    /// A project whose `migrations/` is a copy of `from`.
    pub(crate) fn copy_of(from: &Path) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        tidemark_rig::copy_dir(from, &tmp.path().join("migrations"));
        let s = server().unwrap();
        Self {
            dir: tmp.path().to_path_buf(),
            scratch: tidemark_rig::connection_string(&s.config(s.admin_database())),
            _tmp: tmp,
        }
    }

    /// A project whose `migrations/` holds `files` (`name`, text; a name may hold a `/`: a
    /// diesel directory).
    pub(crate) fn of(files: &[(&str, &str)]) -> Self {
        let empty = tempfile::tempdir().unwrap();
        let p = Self::copy_of(empty.path());
        for (name, text) in files {
            let path = p.path("migrations").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        p
    }

    /// `tidemark ARGS` in the project directory: exit code, stdout, stderr.
    pub(crate) fn tidemark(&self, args: &[&str]) -> (i32, String, String) {
        let bin = std::env::var_os("TIDEMARK_TEST_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tidemark")));
        let out = Command::new(bin)
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

    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

/// A libpq connection string for `db` (psql, pg_dump and `--database-url` take it).
pub(crate) fn url(db: &TestDatabase) -> String {
    tidemark_rig::connection_string(&db.config())
}

/// `../shared/corpora`, or `None`, saying so, where it is absent. Under CI (`CI` set) its
/// absence fails the test: CI has the folder, and a corpus test that passes having read
/// nothing proves nothing.
pub(crate) fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is absent, and CI must run the corpus tests",
        dir.display()
    );
    eprintln!(
        "SKIPPED: {} is absent; the corpus tests need ../shared/corpora beside the repository",
        dir.display()
    );
    None
}

/// A process's stdout and stderr, one after the other.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The first column of the one row `sql` returns, as a count.
pub(crate) async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

/// How many advisory locks are held in `c`'s database.
pub(crate) async fn advisory_locks(c: &Client) -> i64 {
    count(
        c,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await
}

/// Waits until a backend of `c`'s database (only of that one: other tests' sessions on the
/// server do not count) sleeps in `pg_sleep`; returns its pid.
pub(crate) async fn sleeping_backend(c: &Client) -> i32 {
    for _ in 0..6000 {
        if let Some(row) = c
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND wait_event = 'PgSleep' \
                 AND datname = current_database() LIMIT 1",
                &[],
            )
            .await
            .unwrap()
        {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no backend of this database started the sleeping migration");
}
