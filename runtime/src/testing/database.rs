//! `TestDatabase`: an isolated database per test.

use super::server::{background, owner_token, server, TestServer};
use super::{template, Fixture, TestError};
use crate::migrations::Migrations;
use crate::report::Report;
use crate::target::Target;
use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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
/// On a `TIDEMARK_TEST_DATABASE_URL` server, databases left by killed runs are removed the next
/// time a test process starts (those whose owning process has no session on the server any
/// more); templates (`tm_tmpl_…`) are kept for the next run, drop them whenever you like. The
/// private throwaway cluster goes away whole at exit.
pub struct TestDatabase {
    name: String,
    pool: Pool,
    server: &'static TestServer,
    closed: bool,
    /// The set it was made with, for [`migrate_to`](Self::migrate_to).
    set: Option<Migrations>,
}

/// A [`TestDatabase`] to build: a set, a version to stop at, fixtures to load there.
///
/// ```no_run
/// # async fn t() -> Result<(), tidemark::testing::TestError> {
/// use tidemark::testing::TestDatabase;
/// static MIGRATIONS: tidemark::Migrations =
///     tidemark::embed_migrations!("tests/ui/fixtures/data-tests");
/// static ROWS: &[tidemark::testing::Fixture] =
///     tidemark::fixtures!("tests/ui/fixtures/data-tests-rows/one_row.sql");
///
/// let db = TestDatabase::builder(&MIGRATIONS).at("2").fixtures(ROWS).build().await?;
/// db.migrate_to(5).await?; // the migration under test, on the fixture's rows
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct TestDatabaseBuilder<'s> {
    set: &'s Migrations,
    target: Target,
    fixtures: &'s [Fixture],
}

impl<'s> TestDatabaseBuilder<'s> {
    /// Stop at `version` (any spelling the set accepts: `41`, `V1_2`, a diesel timestamp)
    /// instead of migrating everything.
    pub fn at(mut self, version: impl std::fmt::Display) -> Self {
        self.target = Target::version(version);
        self
    }

    /// Stop at `target`.
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// Load these fixtures, in order, once migrated. They are part of the template, so every
    /// test with the same set, target and fixtures clones one database.
    pub fn fixtures(mut self, fixtures: &'s [Fixture]) -> Self {
        self.fixtures = fixtures;
        self
    }

    /// Clones the database from its template (built once per set, target and fixtures).
    pub async fn build(self) -> Result<TestDatabase, TestError> {
        TestDatabase::make(self.set, self.target, self.fixtures).await
    }
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
        Self::make(set, target, &[]).await
    }

    /// A database to build: at a version, with fixtures (see [`TestDatabaseBuilder`]).
    pub fn builder(set: &Migrations) -> TestDatabaseBuilder<'_> {
        TestDatabaseBuilder {
            set,
            target: Target::Latest,
            fixtures: &[],
        }
    }

    async fn make(
        set: &Migrations,
        target: Target,
        fixtures: &[Fixture],
    ) -> Result<Self, TestError> {
        if let Some(stale) = crate::stale::stale(set) {
            return Err(TestError::Stale(stale.to_string()));
        }
        let server = server()?;
        let admin = server.admin().await?;
        sweep_stale(server, &admin).await;
        let tmpl = template::ensure(server, &admin, set, &target, fixtures).await?;
        let name = unique_name();
        template::clone(&admin, &tmpl, &name).await?;
        Ok(Self {
            pool: server.pool(&name, 8),
            name,
            server,
            closed: false,
            set: Some(set.clone()),
        })
    }

    /// An empty database (no migrations applied).
    pub async fn empty() -> Result<Self, TestError> {
        let server = server()?;
        let admin = server.admin().await?;
        sweep_stale(server, &admin).await;
        let name = unique_name();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(Self {
            pool: server.pool(&name, 8),
            name,
            server,
            closed: false,
            set: None,
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

    /// Moves this database to `version` (up or down) with the set it was made with: the step a
    /// data test checks, after rows were loaded at an earlier version. An empty database has
    /// no set: [`Error::UnknownTarget`](crate::Error::UnknownTarget).
    pub async fn migrate_to(
        &self,
        version: impl std::fmt::Display,
    ) -> Result<Report, crate::Error> {
        self.migrate_to_target(Target::version(version)).await
    }

    /// [`migrate_to`](Self::migrate_to) any target (`Target::Latest`: the rest of the set).
    pub async fn migrate_to_target(&self, target: Target) -> Result<Report, crate::Error> {
        match &self.set {
            Some(set) => self.migrate(set, target).await,
            None => Err(crate::Error::UnknownTarget {
                version: format!("{target:?} (an empty test database has no set)"),
            }),
        }
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
            .unwrap_or_else(|e| Err(TestError::Drop(e)))
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

fn unique_name() -> String {
    format!(
        "{PREFIX}{}_{}",
        owner_token(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops test databases whose owner is gone (a killed test process): their owner token is in
/// no connected session's `application_name`. Runs once per process, on servers that outlive
/// it (`TIDEMARK_TEST_DATABASE_URL`).
async fn sweep_stale(server: &TestServer, admin: &tokio_postgres::Client) {
    if server.is_private() || SWEPT.swap(true, Ordering::SeqCst) {
        return; // a private cluster dies with its process; and once per process
    }
    let sql = "SELECT d.datname::text FROM pg_database d \
               WHERE d.datname LIKE 'tm\\_t\\_%' AND NOT EXISTS ( \
                 SELECT 1 FROM pg_stat_activity a \
                 WHERE a.application_name LIKE 'tidemark-kit %' \
                   AND d.datname LIKE 'tm\\_t\\_' || substr(a.application_name, 14) || '\\_%')";
    let Ok(rows) = admin.query(sql, &[]).await else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
    }
}
