//! A real PgBouncer in transaction-pooling mode in front of a test server (Debian's
//! `pgbouncer` package), stopped and removed when this process exits, however it exits.

use crate::SetupError;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A running PgBouncer.
pub struct PgBouncer {
    port: u16,
    _watchdog: Mutex<ChildStdin>,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// Starts one that forwards every database to the server behind `socket_dir` (its socket
    /// `.s.PGSQL.{port}`), with `pool_mode = transaction` and at most `pool_size` server
    /// connections per database.
    pub fn start(socket_dir: &Path, port: u16, pool_size: u32) -> Result<Self, SetupError> {
        let err = |e: &dyn std::fmt::Display| SetupError::from(format!("pgbouncer: {e}"));
        let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| {
                SetupError::from("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
            })?;
        let dir = tempfile::Builder::new()
            .prefix("tm-pgb-")
            .tempdir_in(std::env::temp_dir())
            .map_err(|e| err(&e))?;
        let listen = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| err(&e))?;
        let listen_port = listen.local_addr().map_err(|e| err(&e))?.port();
        drop(listen);
        let d = dir.path();
        std::fs::write(d.join("users.txt"), "\"postgres\" \"\"\n").map_err(|e| err(&e))?;
        let ini = format!(
            "[databases]\n* = host={} port={port} user=postgres\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {listen_port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {}/users.txt\n\
             pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\n\
             ignore_startup_parameters = extra_float_digits,options,application_name\n\
             logfile = {}/pgb.log\npidfile = {}/pgb.pid\n",
            socket_dir.display(),
            d.display(),
            d.display(),
            d.display()
        );
        std::fs::write(d.join("pgb.ini"), ini).map_err(|e| err(&e))?;
        let owner = server_user();
        if let Some((uid, gid)) = owner {
            for f in ["", "users.txt", "pgb.ini"] {
                std::os::unix::fs::chown(d.join(f), Some(uid), Some(gid)).map_err(|e| err(&e))?;
            }
        }
        let script = r#"pgbouncer=$1; ini=$2; "$pgbouncer" "$ini" >/dev/null 2>&1 & pid=$!; read _; kill $pid; wait $pid"#;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script, "sh", bin])
            .arg(d.join("pgb.ini"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if let Some((uid, gid)) = owner {
            std::os::unix::process::CommandExt::uid(&mut cmd, uid);
            std::os::unix::process::CommandExt::gid(&mut cmd, gid);
        }
        let mut child = cmd.spawn().map_err(|e| err(&e))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| err(&"no pipe to the watchdog"))?;
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", listen_port)).is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                let log = std::fs::read_to_string(d.join("pgb.log")).unwrap_or_default();
                return Err(err(&format!("did not start; its log:\n{log}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Self {
            port: listen_port,
            _watchdog: Mutex::new(stdin),
            _dir: dir,
        })
    }

    /// A URL to `dbname` through the pooler.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{dbname}?sslmode=disable",
            self.port
        )
    }
}

/// The `postgres` (or `nobody`) user when this process is root: PgBouncer refuses to run as root.
fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    ["postgres", "nobody"].into_iter().find_map(|n| {
        nix::unistd::User::from_name(n)
            .ok()
            .flatten()
            .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
    })
}
