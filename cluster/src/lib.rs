//! A throwaway PostgreSQL cluster: `initdb` into a private directory (on `/dev/shm` where it
//! can), the server started under a watchdog that stops it and deletes the directory when this
//! process exits, however it exits (even by SIGKILL: the watchdog sees its stdin close), and a
//! wait until the server is ready.
//!
//! ```no_run
//! let cluster = tidemark_cluster::Cluster::start(&Default::default())?;
//! let config = cluster.config("postgres"); // a tokio_postgres::Config over the unix socket
//! # Ok::<(), tidemark_cluster::ClusterError>(())
//! ```
//!
//! The server binaries come from `PG_BINDIR`, `PATH`, `pg_config` or the usual install
//! directories. As root the server runs as the `postgres` or `nobody` user. It listens on a unix
//! socket in its private directory (and on 127.0.0.1 when asked), with `fsync` off: for tests
//! and scratch work, never for data that must survive. tidemark's testing kit, the `tidemark`
//! binary's scratch databases and tidemark's own test rig all start theirs here.

mod bindir;
mod error;
mod standby;

pub use error::ClusterError;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_postgres::Config;

/// The port number that names the socket file when the cluster listens on its socket only;
/// with a private socket directory there is no clash.
const SOCKET_PORT: u16 = 5432;
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a cluster starts with besides the defaults.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// `-c name=value` server settings.
    pub settings: Vec<(String, String)>,
    /// `pg_hba.conf` lines placed before the default `trust` ones.
    pub hba: Vec<String>,
    /// Files written into the data directory before the server starts, readable by the
    /// server's user only (certificates and keys).
    pub files: Vec<(String, Vec<u8>)>,
    /// Also listen on TCP at 127.0.0.1, on a free port.
    pub tcp: bool,
}

/// A running cluster; it stops and its directory is deleted when this process exits.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    major: u32,
    tcp: bool,
    bindir: PathBuf,
    owner: Option<(u32, u32)>,
    settings: Vec<(String, String)>,
    _watchdog: Mutex<ChildStdin>,
}

impl Cluster {
    /// Runs `initdb` and starts the server.
    pub fn start(options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bindir = bindir::find()?;
        let major = bindir::major(&bindir)?;
        let owner = unprivileged_owner()?;
        let mut last = None;
        // A free TCP port can be taken between choosing and binding it: try a few.
        for _ in 0..if options.tcp { 5 } else { 1 } {
            let dir = make_dir(owner)?;
            match start_in(&dir, &bindir, major, owner, options) {
                Ok((port, watchdog)) => {
                    return Ok(Self {
                        dir,
                        port,
                        major,
                        tcp: options.tcp,
                        bindir,
                        owner,
                        settings: settings(options),
                        _watchdog: Mutex::new(watchdog),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClusterError::server("did not start", String::new())))
    }

    /// The socket directory (the server listens on `.s.PGSQL.{port}` in it).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The port: the TCP port when the cluster listens on TCP, else the socket file's number.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the cluster also listens on TCP at 127.0.0.1.
    pub fn listens_on_tcp(&self) -> bool {
        self.tcp
    }

    /// The server's major version.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// A connection config for `dbname` as the `postgres` superuser, over the socket.
    pub fn config(&self, dbname: &str) -> Config {
        let mut c = Config::new();
        c.host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname(dbname);
        c
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Restarts the server (a fast shutdown, then a start on the same data), waiting until it
    /// is ready again: what a server restart in the middle of a run looks like to clients.
    pub fn restart(&self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        let pid_file = data.join("postmaster.pid");
        let pid = standby::postmaster_pid(&pid_file)
            .ok_or_else(|| ClusterError::server("has no postmaster.pid", String::new()))?;
        let log_from = std::fs::metadata(self.dir.join("server.log"))
            .map_or(0, |m| usize::try_from(m.len()).unwrap_or(0));
        write_owned(&self.dir.join("restart"), b"", None)?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGINT,
        )
        .map_err(|e| ClusterError::io("cannot stop the server")(e.into()))?;
        let start = Instant::now();
        while standby::postmaster_pid(&pid_file) == Some(pid) {
            if start.elapsed() > READY_TIMEOUT {
                return Err(ClusterError::server("did not stop", String::new()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Only what the new server wrote: the old one's shutdown logs FATALs of its sessions.
        let log_from = std::fs::metadata(self.dir.join("server.log"))
            .map_or(log_from, |m| usize::try_from(m.len()).unwrap_or(log_from));
        wait_ready(&data, &self.dir, log_from)
    }
}

/// One attempt: initdb, configuration, then the server under its watchdog, ready.
fn start_in(
    dir: &Path,
    bindir: &Path,
    major: u32,
    owner: Option<(u32, u32)>,
    options: &ClusterOptions,
) -> Result<(u16, ChildStdin), ClusterError> {
    let data = dir.join("data");
    initdb(dir, &data, bindir, major, owner)?;
    configure(&data, owner, options)?;
    let port = if options.tcp {
        free_port()?
    } else {
        SOCKET_PORT
    };
    let stdin = spawn_watchdog(dir, &data, bindir, port, owner, &settings(options))?;
    // On failure `stdin` drops here, and the watchdog cleans up.
    wait_ready(&data, dir, 0)?;
    Ok((port, stdin))
}

/// `initdb` into `data`: trust authentication, the `postgres` superuser, UTF-8, C locale.
fn initdb(
    dir: &Path,
    data: &Path,
    bindir: &Path,
    major: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), ClusterError> {
    let mut initdb = Command::new(bindir.join("initdb"));
    initdb
        .arg("-D")
        .arg(data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .current_dir(dir)
        .stdin(Stdio::null());
    if major >= 14 {
        initdb.arg("--no-instructions"); // PostgreSQL 13's initdb does not know it
    }
    as_owner(&mut initdb, owner);
    let out = initdb.output().map_err(ClusterError::io(format!(
        "cannot run {}",
        bindir.join("initdb").display()
    )))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(dir);
        return Err(ClusterError::Initdb {
            status: out.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(())
}

/// The options' `pg_hba.conf` lines (before initdb's `trust` ones) and files.
fn configure(
    data: &Path,
    owner: Option<(u32, u32)>,
    options: &ClusterOptions,
) -> Result<(), ClusterError> {
    let hba = data.join("pg_hba.conf");
    let trusted = std::fs::read_to_string(&hba).unwrap_or_default();
    let mut lines = options.hba.join("\n");
    if options.tcp {
        lines.push_str("\nhost all all 127.0.0.1/32 trust");
    }
    write_owned(&hba, format!("{lines}\n{trusted}").as_bytes(), owner)?;
    for (name, bytes) in &options.files {
        write_owned(&data.join(name), bytes, owner)?;
    }
    Ok(())
}

/// The server settings: fast and disposable, then the options' own.
fn settings(options: &ClusterOptions) -> Vec<(String, String)> {
    let listen = if options.tcp { "127.0.0.1" } else { "" };
    let mut settings: Vec<(String, String)> = [
        ("listen_addresses", listen),
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("max_connections", "300"),
        // Autovacuum workers visit every new clone and dirty its catalog pages, which the next
        // FILE_COPY clone's checkpoint must then write: 2-3x slower clones.
        ("autovacuum", "off"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    settings.extend(options.settings.iter().cloned());
    settings
}

/// Starts the server under a watchdog shell that, when our end of its stdin closes (this
/// process exits, however it exits), stops the server and deletes the cluster directory. A
/// server that stops while a `restart` file is there is started again (`Cluster::restart`).
fn spawn_watchdog(
    dir: &Path,
    data: &Path,
    bindir: &Path,
    port: u16,
    owner: Option<(u32, u32)>,
    settings: &[(String, String)],
) -> Result<ChildStdin, ClusterError> {
    let script = r#"dir=$1; shift
( while :; do "$@" >>"$dir/server.log" 2>&1; [ -e "$dir/restart" ] || break; rm -f "$dir/restart"; done ) &
loop=$!; read _; touch "$dir/stopping"; rm -f "$dir/restart"
kill -INT "$(head -1 "$dir/data/postmaster.pid" 2>/dev/null)" 2>/dev/null; wait $loop; rm -rf "$dir""#;
    let mut watchdog = Command::new("sh");
    watchdog
        .args(["-c", script, "sh"])
        .arg(dir)
        .arg(bindir.join("postgres"))
        .arg("-D")
        .arg(data)
        .arg("-k")
        .arg(dir)
        .args(["-p", &port.to_string()]);
    for (k, v) in settings {
        watchdog.arg("-c").arg(format!("{k}={v}"));
    }
    watchdog
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut watchdog, 0);
    as_owner(&mut watchdog, owner);
    let mut child = watchdog
        .spawn()
        .map_err(ClusterError::io("cannot start the server"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| ClusterError::server("has no pipe to its watchdog", String::new()))
}

/// Waits until `postmaster.pid` says `ready`, as `pg_ctl -w` does; fails early when the log
/// shows the server gave up.
fn wait_ready(data: &Path, dir: &Path, log_from: usize) -> Result<(), ClusterError> {
    let start = Instant::now();
    let log = || {
        let text = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        text.get(log_from..).unwrap_or_default().to_owned()
    };
    while start.elapsed() < READY_TIMEOUT {
        if let Ok(pid_file) = std::fs::read_to_string(data.join("postmaster.pid")) {
            // A hot standby says `ready` once it takes read-only connections (`standby`
            // before, on some majors).
            if pid_file.lines().nth(7).is_some_and(|l| l.trim() == "ready") {
                return Ok(());
            }
        }
        let text = log();
        // A client refused while the server starts ("the database system is starting up":
        // a migrator reconnecting during a restart) is logged as FATAL too, and is no failure.
        let gave_up = text.lines().any(|l| {
            l.contains("FATAL:")
                && !l.contains("the database system is starting up")
                && !l.contains("the database system is not yet accepting connections")
                && !l.contains("the database system is shutting down")
        });
        if gave_up || text.contains("could not bind") {
            return Err(ClusterError::server("did not start", text));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(ClusterError::server(
        &format!("did not become ready within {READY_TIMEOUT:?}"),
        log(),
    ))
}

fn free_port() -> Result<u16, ClusterError> {
    let doing = "cannot find a free TCP port";
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(ClusterError::io(doing))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(ClusterError::io(doing))
}

/// The uid/gid to run the server as: ourselves, or `postgres`/`nobody` when we are root
/// (initdb and postgres refuse to run as root).
fn unprivileged_owner() -> Result<Option<(u32, u32)>, ClusterError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            return Ok(Some((u.uid.as_raw(), u.gid.as_raw())));
        }
    }
    Err(ClusterError::NoUser)
}

fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        std::os::unix::process::CommandExt::uid(cmd, uid);
        std::os::unix::process::CommandExt::gid(cmd, gid);
    }
}

/// Writes a file readable by the server's user only.
fn write_owned(path: &Path, bytes: &[u8], owner: Option<(u32, u32)>) -> Result<(), ClusterError> {
    let fail = || ClusterError::io(format!("cannot write {}", path.display()));
    std::fs::write(path, bytes).map_err(fail())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail())?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(fail())?;
    }
    Ok(())
}

/// A new private directory for a cluster: under `PGTEST_TMPDIR`, else `/dev/shm` where it is
/// writable, else the system's temporary directory; owned by the server's user. It is not
/// removed on drop: the watchdog removes it when the server stops.
fn make_dir(owner: Option<(u32, u32)>) -> Result<PathBuf, ClusterError> {
    let base = std::env::var_os("PGTEST_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let shm = Path::new("/dev/shm");
            if tempfile::tempfile_in(shm).is_ok() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            }
        });
    let dir = tempfile::Builder::new()
        .prefix(&format!("tm-{}-", std::process::id()))
        .tempdir_in(&base)
        .map_err(ClusterError::io(format!(
            "cannot create a directory in {}",
            base.display()
        )))?
        .keep();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(ClusterError::io(format!("cannot set up {}", dir.display())))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(ClusterError::io(format!(
            "cannot hand {} to the server's user",
            dir.display()
        )))?;
    }
    Ok(dir)
}
