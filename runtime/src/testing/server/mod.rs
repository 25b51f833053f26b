//! Where test databases come from: `TIDEMARK_TEST_DATABASE_URL`, or a private throwaway cluster.
// Without the `tls` feature the connector is `NoTls`, which is `Copy`.
#![cfg_attr(not(feature = "tls"), allow(clippy::clone_on_copy))]

use deadpool_postgres::{Connect, Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::future::BoxFuture;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use tidemark_cluster::{Cluster, ClusterOptions};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config};

/// Why no server could be had; the cause is kept as a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// `TIDEMARK_TEST_DATABASE_URL` cannot be used.
    #[error("{URL_VARIABLE}: {0}")]
    Url(crate::Error),
    /// The private cluster did not start.
    #[error("no private test server (set {URL_VARIABLE} to use a server you have instead): {0}")]
    Cluster(tidemark_cluster::ClusterError),
}

/// A PostgreSQL server for tests: the one `TIDEMARK_TEST_DATABASE_URL` names, or a private
/// cluster started on first use and shared by every test of the process.
///
/// It is not `DATABASE_URL`, so that an application's exported database never becomes the test
/// server by surprise (the kit creates and drops databases on it).
///
/// The private cluster runs as an unprivileged user when the process is root, keeps its data on
/// `/dev/shm` where it can (`PGTEST_TMPDIR` overrides), listens on a unix socket only, runs with
/// fsync off, and is stopped and deleted by a watchdog when the process exits, even when it is
/// killed.
pub struct TestServer {
    admin: Config,
    tls: crate::connect::Tls,
    admin_client: Mutex<Option<Arc<Client>>>,
    cluster: Option<Cluster>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio_postgres::Config's Debug redacts the password.
        f.debug_struct("TestServer")
            .field("admin", &self.admin)
            .field("cluster", &self.cluster)
            .finish()
    }
}

static SERVER: OnceLock<Result<TestServer, ServerError>> = OnceLock::new();

/// The variable that names an existing server for tests.
pub const URL_VARIABLE: &str = "TIDEMARK_TEST_DATABASE_URL";
static BACKGROUND: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The runtime that drives every connection the kit opens, so that a test database's pool
/// works from any test's runtime and closes even while a test's own thread is blocked (in the
/// `Drop` of a [`TestDatabase`](super::TestDatabase)).
pub(crate) fn background() -> &'static tokio::runtime::Runtime {
    BACKGROUND.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tidemark-testing")
            .enable_all()
            .build()
            .expect("the tidemark testing runtime builds")
    })
}

/// The process's test server, started on first call (a failure is kept, and every later call
/// gets the same error).
pub fn server() -> Result<&'static TestServer, &'static ServerError> {
    SERVER.get_or_init(TestServer::start).as_ref()
}

impl TestServer {
    fn start() -> Result<Self, ServerError> {
        if let Ok(url) = std::env::var(URL_VARIABLE) {
            let options = crate::connect::ConnectOptions::parse(&url).map_err(ServerError::Url)?;
            return Ok(Self {
                tls: options.tls().map_err(ServerError::Url)?,
                admin: options.config().clone(),
                admin_client: Mutex::new(None),
                cluster: None,
            });
        }
        let cluster = Cluster::start(&ClusterOptions::default()).map_err(ServerError::Cluster)?;
        let plain = crate::connect::ConnectOptions::parse("sslmode=disable")
            .and_then(|o| o.tls())
            .map_err(ServerError::Url)?;
        Ok(Self {
            admin: cluster.config("postgres"),
            tls: plain,
            admin_client: Mutex::new(None),
            cluster: Some(cluster),
        })
    }

    /// A connection config for database `dbname` on this server.
    pub fn config(&self, dbname: &str) -> Config {
        let mut c = self.admin.clone();
        c.dbname(dbname);
        c
    }

    /// The database named in `TIDEMARK_TEST_DATABASE_URL` (or `postgres` for the private
    /// cluster).
    pub fn admin_database(&self) -> &str {
        self.admin.get_dbname().unwrap_or("postgres")
    }

    /// A connection URL for `dbname`, for people and tools (psql). Never holds a password.
    pub fn url(&self, dbname: &str) -> String {
        match &self.cluster {
            Some(c) => format!(
                "postgresql://postgres@{}:{}/{dbname}",
                c.socket_dir().display().to_string().replace('/', "%2F"),
                c.port()
            ),
            None => format!("(the server from {URL_VARIABLE}), database {dbname}"),
        }
    }

    /// Whether this is a private throwaway cluster (not `TIDEMARK_TEST_DATABASE_URL`).
    pub fn is_private(&self) -> bool {
        self.cluster.is_some()
    }

    /// A deadpool pool for `dbname`. Its connections are driven by the kit's own background
    /// runtime, so the pool can be used from any tokio runtime.
    pub fn pool(&self, dbname: &str, max_size: usize) -> Pool {
        let manager = Manager::from_connect(
            self.config(dbname),
            Background(self.tls.clone()),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(max_size)
            .build()
            .expect("a pool without a runtime-dependent timeout always builds")
    }

    /// Opens one connection to `dbname`, driven by the kit's background runtime.
    pub async fn connect(&self, dbname: &str) -> Result<Client, tokio_postgres::Error> {
        Ok(Background(self.tls.clone())
            .connect(&self.config(dbname))
            .await?
            .0)
    }

    /// A connection to the admin database shared by every test of the process, whatever tokio
    /// runtime each test runs on. Saves a connection set-up per test database.
    pub(crate) async fn admin(&self) -> Result<Arc<Client>, tokio_postgres::Error> {
        if let Some(c) = self.admin_client.lock().ok().and_then(|g| g.clone()) {
            if !c.is_closed() {
                return Ok(c);
            }
        }
        // Its application_name tells other test processes that this one is alive.
        let mut config = self.config(self.admin_database());
        config.application_name(owner_application_name());
        let client = Arc::new(Background(self.tls.clone()).connect(&config).await?.0);
        if let Ok(mut g) = self.admin_client.lock() {
            *g = Some(client.clone());
        }
        Ok(client)
    }
}

/// Connects (with the server's TLS) and drives the connection on the background runtime.
struct Background(crate::connect::Tls);

impl Connect for Background {
    fn connect(
        &self,
        config: &Config,
    ) -> BoxFuture<'_, Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let config = config.clone();
        let tls = self.0.clone();
        Box::pin(async move {
            let rt = background();
            let connected = rt
                .spawn(async move {
                    let (client, connection) = config.connect(tls).await?;
                    let task = tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok::<_, tokio_postgres::Error>((client, task))
                })
                .await;
            connected.expect("the kit's connect task does not panic")
        })
    }
}

/// This process's mark: in the name of every test database it creates, and in the
/// `application_name` of its admin session, so another process can tell whether the owner of a
/// test database is still alive (its admin session is connected) from the server alone, across
/// machines.
pub(crate) fn owner_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("{}_{secs}", std::process::id())
    })
}

/// The `application_name` of the kit's admin session.
fn owner_application_name() -> String {
    format!("tidemark-kit {}", owner_token())
}
