//! Rolling deploys (design §11) with real processes: `examples/rolling_deploy` run as releases
//! 1, 2 and 3 of one application against one database, stopped with SIGTERM or SIGKILL.

use crate::support::{fresh_db, TestDb};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A heartbeat short enough for a test to watch several of them.
const HEARTBEAT_MS: u64 = 100;
/// A time-to-live far longer than any wait here: an instance that stopped cleanly must not be
/// waited for until its row expires.
const LONG_TTL_MS: u64 = 60_000;
/// How long to wait for something that should happen within a few heartbeats.
const SOON: Duration = Duration::from_secs(20);

/// One running copy of the example, its stdout collected line by line with when it came.
struct Replica {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    release: u8,
}

impl Replica {
    /// Starts release `release` and waits until it registered and its query answered.
    fn start(db: &TestDb, release: u8, ttl_ms: u64) -> Self {
        let replica = Self::spawn(db, release, ttl_ms);
        replica.wait_for("serving ");
        replica
    }

    fn spawn(db: &TestDb, release: u8, ttl_ms: u64) -> Self {
        Self::spawn_at(&db.conn_string(), release, ttl_ms)
    }

    /// [`spawn`](Self::spawn) with its own connection string (through a pooler).
    fn spawn_at(url: &str, release: u8, ttl_ms: u64) -> Self {
        let mut child = Command::new(crate::support::example("rolling_deploy"))
            .args(["serve", "--release", &release.to_string()])
            .args(["--heartbeat-ms", &HEARTBEAT_MS.to_string()])
            .args(["--ttl-ms", &ttl_ms.to_string()])
            .env("DATABASE_URL", url)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Self {
            child,
            lines,
            release,
        }
    }

    /// The first line starting with `prefix`, with when it came; panics after [`SOON`].
    fn wait_for(&self, prefix: &str) -> (Instant, String) {
        let deadline = Instant::now() + SOON;
        loop {
            if let Some(found) = self.line(prefix) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "release {} never printed `{prefix}…`: {:?}",
                self.release,
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn line(&self, prefix: &str) -> Option<(Instant, String)> {
        let lines = self.lines.lock().unwrap();
        lines.iter().find(|(_, l)| l.starts_with(prefix)).cloned()
    }

    fn count(&self, prefix: &str) -> usize {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|(_, l)| l.starts_with(prefix)).count()
    }

    fn text(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines.iter().map(|(_, l)| l.clone()).collect()
    }

    /// The instance id it registered with.
    fn id(&self) -> String {
        let (_, line) = self.wait_for("registered ");
        line.split(' ').nth(1).unwrap().to_owned()
    }

    /// SIGTERM, then waits for the process to end; returns its status and when it ended.
    fn stop(&mut self) -> (ExitStatus, Instant) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let status = self.child.wait().unwrap();
        let ended = Instant::now();
        // The reader may still hold the last lines.
        std::thread::sleep(Duration::from_millis(50));
        (status, ended)
    }

    fn kill(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        self.child.wait().unwrap();
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Release 1 served throughout: it stopped cleanly, having served queries, none failed.
    fn served_without_failure(&self) {
        let text = self.text();
        assert!(
            !text.iter().any(|l| l.starts_with("query failed")),
            "{text:?}"
        );
        let (_, stopped) = self.wait_for("stopped: served ");
        assert!(stopped.ends_with(", 0 failed"), "{stopped}");
        assert!(!stopped.starts_with("stopped: served 0 "), "{stopped}");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The versions history records, in order.
async fn versions(db: &TestDb) -> Vec<String> {
    db.history().await.into_iter().map(|r| r.0).collect()
}

/// Waits a few heartbeats, then asserts the contract migration 3 has still not run.
async fn still_waiting(db: &TestDb) {
    std::thread::sleep(Duration::from_millis(HEARTBEAT_MS * 5));
    assert!(
        !versions(db).await.contains(&"3".to_owned()),
        "the contract ran while an old instance was alive"
    );
    assert!(db.column_exists("users", "name").await);
}

/// The example's `migrate` verbs, as release `release`.
fn migrate(db: &TestDb, release: u8, args: &[&str]) -> std::process::Output {
    Command::new(crate::support::example("rolling_deploy"))
        .args(["--release", &release.to_string(), "migrate"])
        .args(args)
        .env("DATABASE_URL", db.conn_string())
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_contract_waits_for_release_1_and_runs_after_its_clean_stop_not_at_expiry() {
    let db = fresh_db().await;
    let mut one = Replica::start(&db, 1, LONG_TTL_MS);
    let two = Replica::start(&db, 2, LONG_TTL_MS);
    two.wait_for("migrated 2 display_name");
    let (_, waiting) = two.wait_for("waiting contract 3 drop_name held by ");
    assert!(waiting.ends_with(&one.id()), "{waiting}");
    still_waiting(&db).await;
    let status = migrate(&db, 2, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["migrations"][2]["phase"], "contract");
    assert_eq!(json["migrations"][2]["state"], "pending");
    assert_eq!(json["migrations"][1]["phase"], "expand");
    let ids: Vec<&str> = json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [one.id(), two.id()], "oldest first");
    let instances = migrate(&db, 2, &["instances", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&instances.stdout).unwrap();
    assert_eq!(json["instances"][1]["contracts"][0], "3");
    assert_eq!(json["instances"][1]["newest_version"], "3");
    assert_eq!(json["instances"][0]["newest_version"], "1");

    let (status, gone) = one.stop();
    assert!(status.success());
    one.served_without_failure();
    let (contracted, _) = two.wait_for("contracted 3 drop_name");
    eprintln!(
        "clean stop: contract applied {:.0} ms after release 1 exited (heartbeat {HEARTBEAT_MS} ms, ttl {LONG_TTL_MS} ms)",
        contracted.duration_since(gone).as_secs_f64() * 1000.0
    );
    assert_eq!(versions(&db).await, ["1", "2", "3"]);
    assert!(!db.column_exists("users", "name").await);
    assert_eq!(two.count("contracted "), 1);
    assert_eq!(
        phase_of(&db, "3").await.as_deref(),
        Some("contract"),
        "history records the phase"
    );
}

#[tokio::test]
async fn a_killed_release_1_holds_the_contract_until_its_row_expires_and_not_longer() {
    let db = fresh_db().await;
    let ttl_ms = 2_000;
    let mut one = Replica::start(&db, 1, ttl_ms);
    let one_id = one.id();
    let two = Replica::start(&db, 2, LONG_TTL_MS);
    two.wait_for("waiting contract 3 ");
    one.kill();
    let killed = Instant::now();
    still_waiting(&db).await;
    let (contracted, _) = two.wait_for("contracted 3 drop_name");
    let c = db.pool.get().await.unwrap();
    // Judged by the server's clock: the contract committed after the killed row's expiry.
    let row = c
        .query_one(
            "SELECT (SELECT applied_at FROM tidemark_history WHERE version = '3') >= expires_at, \
             (extract(epoch FROM (SELECT applied_at FROM tidemark_history WHERE version = '3') - expires_at) * 1000)::float8 \
             FROM tidemark_history_instances WHERE id = $1",
            &[&one_id],
        )
        .await
        .unwrap();
    let after_expiry: bool = row.get(0);
    let late_ms: f64 = row.get(1);
    eprintln!(
        "SIGKILL: contract applied {:.0} ms after the kill, {late_ms:.0} ms after the row expired (heartbeat {HEARTBEAT_MS} ms, ttl {ttl_ms} ms)",
        contracted.duration_since(killed).as_secs_f64() * 1000.0
    );
    assert!(
        after_expiry,
        "the contract ran before the killed instance's row expired"
    );
    assert_eq!(versions(&db).await, ["1", "2", "3"]);
}

#[tokio::test]
async fn four_release_2_replicas_contract_exactly_once_after_the_last_release_1_is_gone() {
    let db = fresh_db().await;
    let mut ones = [
        Replica::start(&db, 1, LONG_TTL_MS),
        Replica::start(&db, 1, LONG_TTL_MS),
    ];
    let twos: Vec<Replica> = (0..4)
        .map(|_| Replica::spawn(&db, 2, LONG_TTL_MS))
        .collect();
    for two in &twos {
        two.wait_for("serving ");
    }
    assert_eq!(
        twos.iter().map(|t| t.count("migrated 2 ")).sum::<usize>(),
        1,
        "one replica applied the expand"
    );
    ones[0].stop();
    still_waiting(&db).await;
    ones[1].stop();
    for one in &ones {
        one.served_without_failure();
    }
    let deadline = Instant::now() + SOON;
    let contracted = || twos.iter().map(|t| t.count("contracted 3 ")).sum::<usize>();
    while contracted() == 0 {
        assert!(Instant::now() < deadline, "the contract never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every replica's next heartbeats see nothing left to do.
    std::thread::sleep(Duration::from_millis(HEARTBEAT_MS * 5));
    assert_eq!(
        contracted(),
        1,
        "{:?}",
        twos.iter().map(Replica::text).collect::<Vec<_>>()
    );
    assert_eq!(versions(&db).await, ["1", "2", "3"]);
}

#[tokio::test]
async fn a_release_3_expand_applies_while_the_contract_waits_which_then_lands_below_it() {
    let db = fresh_db().await;
    let mut one = Replica::start(&db, 1, LONG_TTL_MS);
    let two = Replica::start(&db, 2, LONG_TTL_MS);
    let three = Replica::start(&db, 3, LONG_TTL_MS);
    three.wait_for("migrated 4 user_email");
    three.wait_for("waiting contract 3 ");
    assert_eq!(versions(&db).await, ["1", "2", "4"]);
    one.stop();
    one.served_without_failure();
    let deadline = Instant::now() + SOON;
    let contracted = || two.count("contracted 3 ") + three.count("contracted 3 ");
    while contracted() == 0 {
        assert!(Instant::now() < deadline, "the contract never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The other replica's next heartbeats find nothing left to do.
    std::thread::sleep(Duration::from_millis(HEARTBEAT_MS * 5));
    assert_eq!(contracted(), 1);
    assert_eq!(versions(&db).await, ["1", "2", "3", "4"]);
    for release in [2, 3] {
        let validate = migrate(&db, release, &["validate"]);
        assert!(
            validate.status.success(),
            "{}",
            String::from_utf8_lossy(&validate.stderr)
        );
    }
}

#[tokio::test]
async fn release_1_is_refused_after_the_contract_ran_naming_it() {
    let db = fresh_db().await;
    // No instance registered: the gate is open, release 2 applies everything at start-up.
    let two = Replica::start(&db, 2, LONG_TTL_MS);
    two.wait_for("migrated 3 drop_name");
    let late_one = Replica::spawn(&db, 1, LONG_TTL_MS);
    let (_, error) = late_one.wait_for("error: ");
    assert!(
        error.contains("contract migration 3 (drop_name) is applied"),
        "{error}"
    );
    let mut late_one = late_one;
    assert_eq!(late_one.child.wait().unwrap().code(), Some(8));
    assert_eq!(late_one.count("registered "), 0);
}

#[tokio::test]
async fn release_1_tolerates_release_2s_expand_while_the_contract_has_not_run() {
    let db = fresh_db().await;
    let first = Replica::start(&db, 1, LONG_TTL_MS);
    let two = Replica::start(&db, 2, LONG_TTL_MS);
    two.wait_for("waiting contract 3 ");
    // A second release-1 replica starts now (a scale-up, or a rollback of the deploy): version
    // 2 is a future expand migration for it.
    let mut again = Replica::start(&db, 1, LONG_TTL_MS);
    assert_eq!(again.count("migrated "), 0);
    again.stop();
    again.served_without_failure();
    drop(first);
}

#[tokio::test]
async fn migrate_contract_refuses_naming_the_old_instance_and_force_runs_it() {
    let db = fresh_db().await;
    let one = Replica::start(&db, 1, LONG_TTL_MS);
    let expand = migrate(&db, 2, &["up"]);
    assert!(expand.status.success());
    assert_eq!(
        versions(&db).await,
        ["1", "2"],
        "up leaves the contract waiting"
    );
    let refused = migrate(&db, 2, &["contract"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(9), "{stderr}");
    assert!(stderr.contains(&one.id()), "names the instance: {stderr}");
    assert!(stderr.contains("contract 3 (drop_name) waits"), "{stderr}");
    assert_eq!(versions(&db).await, ["1", "2"], "nothing ran");

    let forced = migrate(&db, 2, &["contract", "--force", "--json"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&forced.stdout).unwrap();
    assert_eq!(json["steps"][0]["version"], "3");
    assert_eq!(json["warnings"][0]["kind"], "contract_forced");
    assert!(json["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&one.id()));
    assert_eq!(versions(&db).await, ["1", "2", "3"]);
}

/// The phase history records for `version` (`None` without the column).
async fn phase_of(db: &TestDb, version: &str) -> Option<String> {
    let c = db.pool.get().await.unwrap();
    c.query_one(
        "SELECT to_jsonb(h) ->> 'phase' FROM tidemark_history h WHERE version = $1",
        &[&version],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn through_a_transaction_mode_pgbouncer_registration_heartbeats_and_the_contract_work() {
    use tidemark::tokio_postgres::config::Host;
    let db = fresh_db().await;
    let config = db.config();
    let dir = config.get_hosts().iter().find_map(|h| match h {
        Host::Unix(dir) => Some(dir.clone()),
        _ => None,
    });
    let (Some(dir), Some(port)) = (dir, config.get_ports().first()) else {
        eprintln!("skipped: the test server is not on a unix socket, which the rig's PgBouncer forwards to");
        return;
    };
    let pgb = tidemark_rig::PgBouncer::start(&dir, *port, 4).unwrap();
    let url = pgb.url(&db.name);
    let mut one = Replica::spawn_at(&url, 1, LONG_TTL_MS);
    one.wait_for("serving ");
    let two = Replica::spawn_at(&url, 2, LONG_TTL_MS);
    two.wait_for("serving ");
    let (_, waiting) = two.wait_for("waiting contract 3 ");
    assert!(waiting.ends_with(&one.id()), "{waiting}");
    still_waiting(&db).await;
    one.stop();
    one.served_without_failure();
    two.wait_for("contracted 3 drop_name");
    assert_eq!(versions(&db).await, ["1", "2", "3"]);
    assert!(
        !two.text().iter().any(|l| l.starts_with("heartbeat failed")),
        "{:?}",
        two.text()
    );
    assert_eq!(
        db.advisory_locks().await,
        0,
        "no lock left on a pooled server connection"
    );
}
