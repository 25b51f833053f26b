//! A streaming replica of a throwaway cluster, and stopping a cluster: what a failover looks
//! like to clients (the primary goes away, the standby is promoted with `pg_promote()`).

use crate::{make_dir, spawn_watchdog, wait_ready, Cluster, ClusterError, SOCKET_PORT};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

impl Cluster {
    /// A hot standby of this cluster: `pg_basebackup -R` (streaming, a `standby.signal` and
    /// `primary_conninfo` to this server's socket) into a new private directory, started there
    /// on its own socket, read-only until promoted (`SELECT pg_promote()`). It stops and its
    /// directory is deleted when this process exits, as the primary's does.
    ///
    /// # Errors
    /// [`ClusterError::MissingTool`] when the server binaries have no `pg_basebackup` (the npm
    /// builds have none); the others as for [`start`](Self::start).
    pub fn standby(&self) -> Result<Cluster, ClusterError> {
        let tool = self.bindir.join("pg_basebackup");
        if !tool.is_file() {
            return Err(ClusterError::MissingTool {
                tool: "pg_basebackup",
                bindir: self.bindir.clone(),
            });
        }
        let dir = make_dir(self.owner)?;
        let data = dir.join("data");
        let mut backup = Command::new(&tool);
        backup
            .arg("-D")
            .arg(&data)
            .args(["-R", "-X", "stream", "--no-sync", "-U", "postgres", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null());
        crate::as_owner(&mut backup, self.owner);
        let out = backup
            .output()
            .map_err(ClusterError::io(format!("cannot run {}", tool.display())))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(ClusterError::server(
                "could not be copied by pg_basebackup",
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        // The primary's settings, on the socket only (its TCP port is the primary's).
        let mut settings: Vec<(String, String)> = self
            .settings
            .iter()
            .filter(|(k, _)| k != "listen_addresses")
            .cloned()
            .collect();
        settings.push(("listen_addresses".to_owned(), String::new()));
        settings.push(("hot_standby".to_owned(), "on".to_owned()));
        let stdin = spawn_watchdog(
            &dir,
            &data,
            &self.bindir,
            SOCKET_PORT,
            self.owner,
            &settings,
        )?;
        wait_ready(&data, &dir, 0)?;
        Ok(Cluster {
            dir,
            port: SOCKET_PORT,
            major: self.major,
            tcp: false,
            bindir: self.bindir.clone(),
            owner: self.owner,
            settings,
            _watchdog: Mutex::new(stdin),
        })
    }

    /// Stops the server (a fast shutdown: sessions are ended, their transactions rolled back)
    /// and waits until it is gone. Its directory stays until this process exits.
    pub fn stop(&self) -> Result<(), ClusterError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let Some(pid) = postmaster_pid(&pid_file) else {
            return Ok(()); // not running
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGINT,
        )
        .map_err(|e| ClusterError::io("cannot stop the server")(e.into()))?;
        let start = Instant::now();
        while postmaster_pid(&pid_file) == Some(pid) {
            if start.elapsed() > crate::READY_TIMEOUT {
                return Err(ClusterError::server("did not stop", String::new()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

/// The postmaster's pid from its `postmaster.pid`, while there is one.
pub(crate) fn postmaster_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
}
