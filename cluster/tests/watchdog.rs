//! The README's promise for the throwaway cluster: when the process that started it dies,
//! however it dies (here SIGKILL, so no destructor runs), the server stops and its directory is
//! deleted. The test runs itself as that process (`CLUSTER_CHILD`), kills it, and watches.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tidemark_cluster::{Cluster, ClusterOptions};

const NAME: &str = "a_killed_process_leaves_no_cluster_behind";

#[test]
fn a_killed_process_leaves_no_cluster_behind() {
    if std::env::var_os("CLUSTER_CHILD").is_some() {
        let cluster = Cluster::start(&ClusterOptions::default()).unwrap();
        println!("CLUSTER {}", cluster.socket_dir().display());
        std::thread::sleep(Duration::from_secs(600)); // until killed
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env("CLUSTER_CHILD", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let dir = stdout
        .lines()
        .map_while(Result::ok)
        // The harness prints `test NAME ... ` before it, on the same line.
        .find_map(|l| l.split_once("CLUSTER ").map(|(_, d)| PathBuf::from(d)))
        .expect("the child started a cluster");
    let pid: i32 = std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let alive = || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    for _ in 0..3000 {
        if !dir.exists() && !alive() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "after its process was killed the cluster is still there (directory {}: {}, server: {})",
        dir.display(),
        dir.exists(),
        if alive() { "running" } else { "stopped" }
    );
}
