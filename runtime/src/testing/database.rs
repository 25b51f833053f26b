//! `TestDatabase`: an isolated database per test.

use super::server::{background, server, TestServer};
use super::{template, TestError};
use crate::migrations::Migrations;
use crate::report::Report;
use crate::target::Target;
use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SWEPT: AtomicBool = AtomicBool::new(false);
const PREFIX: &str = "tm_t_";

/// A fresh database for one test, cloned from a template that is migrated once per set (and
/// target) and reused while the set's digest is unchanged, so its cost does not grow with the
/// work the migrations do.
///
/// A `TestDatabase` drops its database when it is dropped or [closed](Self::close), and the
/// drop waits until the database is gone, so nothing is left when a test process ends
/// (measured besides: clones get 2-3x slower as finished test databases pile up in a cluster).
/// On a `DATABASE_URL` server, databases left by killed runs are removed the next time a test
/// process starts (those whose process is gone, or older than an hour); templates
/// (`tm_tmpl_…`) are kept for the next run, drop them whenever you like. The private
/// throwaway cluster goes away whole at exit.
pub struct TestDatabase {
    name: String,
    pool: Pool,
    server: &'static TestServer,
    closed: bool,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish()
    }
}

impl TestDatabase {
    /// A fully migrated database.
    pub async fn new(set: &Migrations) -> Result<Self, TestError> {
        Self::at(set, Target::Latest).await
    }

    /// A database migrated up to and including `version`, to test one migration's effect on
    /// data: insert rows, then [`migrate`](Self::migrate) to the next version and assert.
    pub async fn at_version(
        set: &Migrations,
        version: impl std::fmt::Display,
    ) -> Result<Self, TestError> {
        Self::at(set, Target::version(version)).await
    }

    /// A database at `target`.
    ///
    /// Fails when the test binary is stale (debug builds): its migration folder has files that
    /// were added, changed or removed since the build, so the test would run an old set.
    pub async fn at(set: &Migrations, target: Target) -> Result<Self, TestError> {
        if let Some(stale) = crate::stale::stale(set) {
            return Err(TestError(stale.to_string()));
        }
        let server = server()?;
        let admin = server.admin().await?;
        if !server.is_private() {
            sweep_stale(&admin).await;
        }
        let tmpl = template::ensure(server, &admin, set, &target).await?;
        let name = unique_name();
        template::clone(&admin, &tmpl, &name).await?;
        Ok(Self {
            pool: server.pool(&name, 8),
            name,
            server,
            closed: false,
        })
    }

    /// An empty database (no migrations applied).
    pub async fn empty() -> Result<Self, TestError> {
        let server = server()?;
        let admin = server.admin().await?;
        let name = unique_name();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(Self {
            pool: server.pool(&name, 8),
            name,
            server,
            closed: false,
        })
    }

    /// A pool of connections to this database.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection config for this database.
    pub fn config(&self) -> tokio_postgres::Config {
        self.server.config(&self.name)
    }

    /// The server this database lives on.
    pub fn server(&self) -> &'static TestServer {
        self.server
    }

    /// A connection URL for people and tools (never holds a password).
    pub fn url(&self) -> String {
        self.server.url(&self.name)
    }

    /// Moves this database to `target` with `set` (up or down).
    pub async fn migrate(&self, set: &Migrations, target: Target) -> Result<Report, crate::Error> {
        set.migrator().target(target).run(&self.pool).await
    }
}

impl TestDatabase {
    /// Closes the pool and drops the database, waiting for both. `#[tidemark::test]` calls
    /// this after the test; a `TestDatabase` that is simply dropped does the same in the
    /// background.
    pub async fn close(mut self) -> Result<(), TestError> {
        self.closed = true;
        self.pool.close();
        let (server, name) = (self.server, self.name.clone());
        background()
            .spawn(async move { drop_database(&*server.admin().await?, &name).await })
            .await
            .unwrap_or_else(|e| Err(TestError(format!("dropping a test database: {e}"))))
    }
}

/// Drops `name`, after waiting (briefly) for its connections to close; whoever is still
/// connected then is disconnected.
async fn drop_database(admin: &tokio_postgres::Client, name: &str) -> Result<(), TestError> {
    let _ = template::wait_disconnected(admin, name, Duration::from_secs(2)).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        self.pool.close();
        // Drop cannot await: the background runtime drops the database while this thread
        // waits, so the database is gone when the test, and maybe the process, ends. The pool's
        // connections run on that runtime too, so they close meanwhile.
        let (server, name) = (self.server, self.name.clone());
        let (done, wait) = std::sync::mpsc::channel();
        background().spawn(async move {
            if let Ok(admin) = server.admin().await {
                let _ = drop_database(&admin, &name).await;
            }
            let _ = done.send(());
        });
        if std::thread::current().name() != Some("tidemark-testing") {
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unique_name() -> String {
    format!(
        "{PREFIX}{}_{}_{}",
        std::process::id(),
        now(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops test databases left by killed runs: their process is gone (checked through /proc, so
/// only for runs on this machine) or they are older than an hour.
async fn sweep_stale(admin: &tokio_postgres::Client) {
    if SWEPT.swap(true, Ordering::SeqCst) {
        return; // once per process
    }
    let Ok(rows) = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'tm\\_t\\_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let mut parts = name[PREFIX.len()..].split('_');
        let (Some(Ok(pid)), Some(Ok(born))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        let age = now().saturating_sub(born);
        let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists()
            && std::path::Path::new("/proc/self").exists();
        if pid != std::process::id() && (age > 3600 || (gone && age > 60)) {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}
