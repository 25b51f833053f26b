//! Shared helpers: a fresh database per test and catalog/history assertions.

use tidemark::deadpool_postgres::Pool;
use tidemark::testing::TestDatabase;

/// A new, empty database on the test server (the kit's [`TestDatabase`], so it is dropped
/// when the test ends), with a pool.
pub(crate) struct TestDb {
    pub(crate) name: String,
    pub(crate) pool: Pool,
    db: TestDatabase,
}

pub(crate) async fn fresh_db() -> TestDb {
    let db = TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("no test database: {e}"));
    TestDb {
        name: db.name().to_owned(),
        pool: db.pool().clone(),
        db,
    }
}

impl TestDb {
    /// Another, independent pool on the same database.
    pub(crate) fn new_pool(&self, size: usize) -> Pool {
        self.db.server().pool(&self.name, size)
    }

    /// The connection config of this database.
    pub(crate) fn config(&self) -> tidemark::tokio_postgres::Config {
        self.db.config()
    }

    /// A libpq-style connection string for child processes (not for printing).
    pub(crate) fn conn_string(&self) -> String {
        tidemark_rig::connection_string(&self.db.config())
    }

    pub(crate) async fn table_exists(&self, table: &str) -> bool {
        let c = self.pool.get().await.unwrap();
        let row = c
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .unwrap();
        row.get(0)
    }

    /// Whether `table` has the column `column`.
    pub(crate) async fn column_exists(&self, table: &str, column: &str) -> bool {
        let c = self.pool.get().await.unwrap();
        c.query_one(
            "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) \
             AND attname = $2 AND attnum > 0 AND NOT attisdropped)",
            &[&table, &column],
        )
        .await
        .unwrap()
        .get(0)
    }

    /// `(version, name, hex checksum, success)` of every history row, in version order.
    pub(crate) async fn history(&self) -> Vec<(String, String, String, bool)> {
        let c = self.pool.get().await.unwrap();
        c.query(
            "SELECT version, name, encode(checksum, 'hex'), success FROM tidemark_history \
             ORDER BY version_key NULLS LAST, version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
    }

    /// Advisory locks held in this database by anyone.
    pub(crate) async fn advisory_locks(&self) -> i64 {
        let c = self.pool.get().await.unwrap();
        c.query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    }
}

/// The first column of every row `sql` returns, as text.
pub(crate) async fn strings(pool: &Pool, sql: &str) -> Vec<String> {
    let c = pool.get().await.unwrap();
    let rows = c.query(sql, &[]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// A migration set built at run time from `(file name, SQL)` pairs, through the same core scan
/// the macro uses: for tests that need many small variations of a folder.
pub(crate) fn set_of(files: &[(&str, &str)]) -> &'static tidemark::Migrations {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (name, sql) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sql).unwrap();
    }
    let options = tidemark_core::ScanOptions {
        display_path: Some("migrations".into()),
        ..Default::default()
    };
    let scanned = tidemark_core::scan(dir, &options)
        .unwrap_or_else(|d| panic!("invalid test folder: {d:#?}"));
    Box::leak(Box::new(tidemark::__private::from_scanned(scanned)))
}

/// The database's schema (one `kind name: detail` line per object, as `tidemark::schema` reads
/// it, tidemark's own tables left out) plus history rows: a snapshot to compare byte for byte.
pub(crate) async fn snapshot(pool: &Pool) -> Vec<String> {
    let c = pool.get().await.unwrap();
    let schema = tidemark::schema::Schema::read(&c, "public", "tidemark_history")
        .await
        .unwrap();
    let mut out: Vec<String> = schema
        .objects()
        .iter()
        .map(|o| format!("{} {}: {}", o.kind, o.name, o.detail))
        .collect();
    if let Ok(rows) = c
        .query("SELECT version || ' ' || encode(checksum, 'hex') || ' ' || applied_at::text || ' ' || success FROM tidemark_history ORDER BY 1", &[])
        .await
    {
        out.extend(rows.iter().map(|r| r.get::<_, String>(0)));
    }
    out
}

/// `target/<profile>/examples/{name}`, which `scripts/test` builds first with
/// `cargo build --examples` (`cargo test --all-targets` builds examples only as test harnesses).
pub(crate) fn example(name: &str) -> std::path::PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = deps.parent().unwrap().join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run the suite with `scripts/test`, or `cargo build --examples` first",
        bin.display()
    );
    bin
}
