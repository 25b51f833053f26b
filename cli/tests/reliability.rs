//! The reliability suite: the `tidemark` binary as deployments run it, against real servers —
//! many processes at once, kills in the middle of a migration, a terminated backend, a server
//! restart, a transaction-mode PgBouncer. Each test prints its figure (`--nocapture`); none
//! asserts a timing beyond "eventually".

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{advisory_locks, count, sleeping_backend, text};
use tidemark::testing::TestDatabase;
use tidemark::tokio_postgres::Client;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tidemark")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/migrations")
        .display()
        .to_string()
}

fn tidemark(dir: &str, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["--dir", dir])
        .args(args)
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs `n` processes at once and returns their outputs and the wall time.
fn at_once(n: usize, make: impl Fn(usize) -> Command) -> (Vec<Output>, Duration) {
    let start = Instant::now();
    let children: Vec<Child> = (0..n).map(|i| make(i).spawn().unwrap()).collect();
    let outs = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    (outs, start.elapsed())
}

fn applied(o: &Output) -> usize {
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)));
    json["steps"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_processes_at_once_apply_each_migration_once() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let dir = example();
    let (outs, took) = at_once(32, |_| tidemark(&dir, &url, &["up", "--json"]));
    for o in &outs {
        assert!(o.status.success(), "{}", text(o));
    }
    let total: usize = outs.iter().map(applied).sum();
    assert_eq!(total, 4, "each migration applied by exactly one process");
    let c = db.pool().get().await.unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 4);
    assert_eq!(advisory_locks(&c).await, 0);
    eprintln!("FIGURE 32 processes at once, example folder: {took:?} wall");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_at_once_on_a_thousand_migration_folder() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let folder = tempfile::tempdir().unwrap();
    for i in 1..=1000 {
        std::fs::write(
            folder.path().join(format!("V{i}__t{i}.sql")),
            format!("CREATE TABLE t{i} (id int PRIMARY KEY);\n"),
        )
        .unwrap();
    }
    let dir = folder.path().display().to_string();
    let (outs, took) = at_once(8, |_| tidemark(&dir, &url, &["up", "--json"]));
    for o in &outs {
        assert!(o.status.success(), "{}", text(o));
    }
    assert_eq!(outs.iter().map(applied).sum::<usize>(), 1000);
    let c = db.pool().get().await.unwrap();
    assert_eq!(
        count(&c, "SELECT count(*) FROM tidemark_history").await,
        1000
    );
    assert_eq!(advisory_locks(&c).await, 0);
    eprintln!("FIGURE 8 processes at once, 1,000 migrations: {took:?} wall");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_processes_make_sixteen_history_tables_in_one_new_schema() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("V1__noop.sql"), "SELECT 1;\n").unwrap();
    let dir = folder.path().display().to_string();
    let (outs, took) = at_once(16, |i| {
        tidemark(
            &dir,
            &url,
            &["up", "--schema", "shared", "--table", &format!("hist_{i}")],
        )
    });
    for o in &outs {
        assert!(
            o.status.success(),
            "a lost creation race is no error: {}",
            text(o)
        );
    }
    let c = db.pool().get().await.unwrap();
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'shared' \
             AND tablename LIKE 'hist\\_%' AND tablename NOT LIKE '%\\_state'"
        )
        .await,
        16,
        "each process made its own history table"
    );
    eprintln!("FIGURE 16 history tables in one new schema at once: {took:?} wall");
}

/// A folder whose first migration sleeps as long as `sleep_control` says, after creating a
/// table: something to kill in the middle of.
fn sleeper(no_transaction: bool) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let header = if no_transaction {
        "-- tidemark:no-transaction\n"
    } else {
        ""
    };
    std::fs::write(
        folder.path().join("V1__slow.sql"),
        format!(
            "{header}CREATE TABLE victim (id int);\n\
             SELECT pg_sleep(coalesce((SELECT seconds FROM sleep_control), 0));\n\
             CREATE TABLE after_sleep (id int);\n"
        ),
    )
    .unwrap();
    std::fs::write(
        folder.path().join("V2__next.sql"),
        "CREATE TABLE next (id int);\n",
    )
    .unwrap();
    folder
}

async fn prepare_sleep(c: &Client, seconds: i32) {
    c.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS sleep_control (seconds int); DELETE FROM sleep_control; \
         INSERT INTO sleep_control VALUES ({seconds})"
    ))
    .await
    .unwrap();
}

/// How long until no advisory lock is held in the database.
async fn lock_free_after(c: &Client, since: Instant) -> Duration {
    for _ in 0..2000 {
        if advisory_locks(c).await == 0 {
            return since.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the lock was not released");
}

/// Waits until no backend of the database sleeps any more: the server stopped the killed
/// client's statement (tidemark sets `client_connection_check_interval`), long before its 30 s
/// sleep would have ended by itself (the wait gives up well before that).
async fn statement_stopped(c: &Client, since: Instant) -> Duration {
    for _ in 0..2000 {
        let sleeping = count(
            c,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' \
             AND datname = current_database()",
        )
        .await;
        if sleeping == 0 {
            return since.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the server went on running the killed client's statement");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_a_transactional_migration_leaves_nothing_and_frees_the_lock() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let c = db.pool().get().await.unwrap();
    prepare_sleep(&c, 30).await;
    let folder = sleeper(false);
    let dir = folder.path().display().to_string();
    let mut child = tidemark(&dir, &url, &["up"]).spawn().unwrap();
    sleeping_backend(&c).await;
    let killed = Instant::now();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let free = lock_free_after(&c, killed).await;
    let stopped = statement_stopped(&c, killed).await;
    assert_eq!(
        count(&c, "SELECT count(*) FROM pg_class WHERE relname = 'victim'").await,
        0,
        "nothing partial"
    );
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 0);
    prepare_sleep(&c, 0).await;
    let rerun = tidemark(&dir, &url, &["up"]).output().unwrap();
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 2);
    eprintln!("FIGURE SIGKILL mid-transaction: lock free after {free:?}, statement stopped after {stopped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_a_no_transaction_migration_leaves_a_failed_row_until_repair() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let c = db.pool().get().await.unwrap();
    prepare_sleep(&c, 30).await;
    let folder = sleeper(true);
    let dir = folder.path().display().to_string();
    let mut child = tidemark(&dir, &url, &["up"]).spawn().unwrap();
    sleeping_backend(&c).await;
    let killed = Instant::now();
    child.kill().unwrap();
    child.wait().unwrap();
    let free = lock_free_after(&c, killed).await;
    statement_stopped(&c, killed).await;
    let status = tidemark(&dir, &url, &["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["migrations"][0]["state"], "failed", "{json}");
    let refused = tidemark(&dir, &url, &["up"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("V1__slow.sql (version 1, slow) failed midway"),
        "{}",
        text(&refused)
    );
    // Finish by hand what the migration left half done, then repair and go on.
    c.batch_execute("DROP TABLE victim").await.unwrap();
    prepare_sleep(&c, 0).await;
    assert!(tidemark(&dir, &url, &["repair"])
        .output()
        .unwrap()
        .status
        .success());
    let up = tidemark(&dir, &url, &["up"]).output().unwrap();
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(
        count(&c, "SELECT count(*) FROM tidemark_history WHERE success").await,
        2
    );
    eprintln!("FIGURE SIGKILL mid-no-transaction: lock free after {free:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_the_running_statement_and_says_what_committed() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let c = db.pool().get().await.unwrap();
    prepare_sleep(&c, 30).await;
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("V1__first.sql"),
        "CREATE TABLE first (id int);\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("V2__slow.sql"),
        "CREATE TABLE victim (id int);\nSELECT pg_sleep(coalesce((SELECT seconds FROM sleep_control), 0));\n",
    )
    .unwrap();
    let dir = folder.path().display().to_string();
    let child = tidemark(&dir, &url, &["up"]).spawn().unwrap();
    sleeping_backend(&c).await;
    let sent = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("committed before the failure (1 migration):"),
        "{said}"
    );
    assert!(
        said.contains("stopped on request: 1 migration committed before"),
        "{said}"
    );
    assert_eq!(
        advisory_locks(&c).await,
        0,
        "the lock is released before exiting"
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM pg_class WHERE relname = 'victim'").await,
        0
    );
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 1);
    eprintln!("FIGURE SIGTERM: exited {took:?} after the signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_backend_is_a_connection_error_and_history_stays_consistent() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let c = db.pool().get().await.unwrap();
    prepare_sleep(&c, 30).await;
    let folder = sleeper(false);
    let dir = folder.path().display().to_string();
    let child = tidemark(&dir, &url, &["up"]).spawn().unwrap();
    let pid = sleeping_backend(&c).await;
    c.execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("terminating connection due to administrator command"),
        "{}",
        text(&out)
    );
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 0);
    assert_eq!(advisory_locks(&c).await, 0);
    prepare_sleep(&c, 0).await;
    assert!(tidemark(&dir, &url, &["up"])
        .output()
        .unwrap()
        .status
        .success());
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_run_is_a_connection_error_and_a_waiter_reconnects() {
    use tidemark_cluster::{Cluster, ClusterOptions};
    let cluster = Cluster::start(&ClusterOptions::default()).unwrap();
    let url = tidemark_rig::connection_string(&cluster.config("postgres"));
    let connect = || async {
        let (c, conn) = cluster
            .config("postgres")
            .connect(tidemark::tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c
    };
    let c = connect().await;
    prepare_sleep(&c, 30).await;
    let folder = sleeper(false);
    let dir = folder.path().display().to_string();
    let holder = tidemark(&dir, &url, &["up"]).spawn().unwrap();
    sleeping_backend(&c).await;
    let waiter = tidemark(&dir, &url, &["up", "--lock-timeout", "60"])
        .spawn()
        .unwrap();
    // The waiter polls the lock (a session that tried it and holds none): restart once it has.
    while count(
        &c,
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' \
         AND datname = current_database() AND pid <> pg_backend_pid() \
         AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
    )
    .await
        == 0
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.restart().unwrap();
    let c = connect().await;
    prepare_sleep(&c, 0).await;
    let out = holder.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "the holder lost its connection: {}",
        text(&out)
    );
    let waited = waiter.wait_with_output().unwrap();
    assert!(
        waited.status.success(),
        "the waiter reconnected and finished the run: {}",
        text(&waited)
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM tidemark_history WHERE success").await,
        2
    );
    assert_eq!(advisory_locks(&c).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_polling_beside_create_index_concurrently_does_not_deadlock() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let c = db.pool().get().await.unwrap();
    prepare_sleep(&c, 1).await;
    c.batch_execute("CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 100000) g")
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("V1__index.sql"),
        "-- tidemark:no-transaction\nSELECT pg_sleep(coalesce((SELECT seconds FROM sleep_control), 0));\nCREATE INDEX CONCURRENTLY big_id ON big (id);\n",
    )
    .unwrap();
    let dir = folder.path().display().to_string();
    let start = Instant::now();
    let holder = tidemark(&dir, &url, &["up"]).spawn().unwrap();
    sleeping_backend(&c).await;
    let waiter = tidemark(&dir, &url, &["up", "--lock-timeout", "60"])
        .spawn()
        .unwrap();
    let (h, w) = (
        holder.wait_with_output().unwrap(),
        waiter.wait_with_output().unwrap(),
    );
    assert!(h.status.success(), "{}", text(&h));
    assert!(w.status.success(), "{}", text(&w));
    assert_eq!(
        count(&c, "SELECT count(*) FROM pg_class WHERE relname = 'big_id'").await,
        1
    );
    eprintln!(
        "FIGURE holder with CREATE INDEX CONCURRENTLY and a polling waiter: both done in {:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_through_pgbouncer_in_transaction_mode() {
    use tidemark_cluster::{Cluster, ClusterOptions};
    let cluster = Cluster::start(&ClusterOptions::default()).unwrap();
    let pgb = tidemark_rig::PgBouncer::start(cluster.socket_dir(), cluster.port(), 4).unwrap();
    let url = pgb.url("postgres");
    let dir = example();
    let (outs, took) = at_once(8, |_| {
        tidemark(&dir, &url, &["up", "--json", "--lock-timeout", "60"])
    });
    for o in &outs {
        assert!(o.status.success(), "{}", text(o));
    }
    assert_eq!(
        outs.iter().map(applied).sum::<usize>(),
        4,
        "each migration once"
    );
    let (c, conn) = cluster
        .config("postgres")
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    assert_eq!(count(&c, "SELECT count(*) FROM tidemark_history").await, 4);
    assert_eq!(
        advisory_locks(&c).await,
        0,
        "no lock left on a pooled server connection"
    );
    let again = tidemark(&dir, &url, &["status", "--exit-code"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    eprintln!("FIGURE 8 processes through PgBouncer (transaction mode, 4 server connections): {took:?} wall");
}

/// Through the same pooler, a no-transaction migration and a failing one: the failure exits 1
/// and leaves history as it was before the failing migration (the no-transaction one
/// recorded, its index valid), no lock left on a pooled server connection; fixed, it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_transaction_and_a_failing_migration_through_pgbouncer() {
    use tidemark_cluster::{Cluster, ClusterOptions};
    let cluster = Cluster::start(&ClusterOptions::default()).unwrap();
    let pgb = tidemark_rig::PgBouncer::start(cluster.socket_dir(), cluster.port(), 4).unwrap();
    let url = pgb.url("postgres");
    let folder = tempfile::tempdir().unwrap();
    let write = |name: &str, sql: &str| std::fs::write(folder.path().join(name), sql).unwrap();
    write(
        "V1__t.sql",
        "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n",
    );
    write(
        "V2__index.sql",
        "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
    );
    write(
        "V3__broken.sql",
        "CREATE TABLE u (id int);\nSELECT 1 / 0;\n",
    );
    // V3 to V6 travel in one message that prepares their history insert: through the pooler
    // the statement is prepared, executed and deallocated on one server connection.
    for v in 4..=6 {
        write(
            &format!("V{v}__more.sql"),
            &format!("CREATE TABLE more{v} (id int);\n"),
        );
    }
    let dir = folder.path().display().to_string();
    let out = tidemark(&dir, &url, &["up"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("division by zero"), "{}", text(&out));
    let (c, conn) = cluster
        .config("postgres")
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    assert_eq!(
        count(&c, "SELECT count(*) FROM tidemark_history WHERE success").await,
        2
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM pg_class WHERE relname = 'u'").await,
        0,
        "the failing migration left nothing"
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = 't_id' AND i.indisvalid"
        )
        .await,
        1
    );
    assert_eq!(advisory_locks(&c).await, 0);
    write("V3__broken.sql", "CREATE TABLE u (id int);\n");
    // An edit of a migration that never applied is no divergence: it runs now.
    let out = tidemark(&dir, &url, &["up"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        count(&c, "SELECT count(*) FROM tidemark_history WHERE success").await,
        6
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'more_'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn a_password_in_the_url_never_shows_in_any_output() {
    let server = tidemark_rig::password_server("s3cr3t-Pa55").await.unwrap();
    let url = tidemark_rig::connection_string(&server.config("postgres", "s3cr3t-Pa55"));
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("V1__ok.sql"),
        "CREATE TABLE ok (id int);\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("V2__bad.sql"),
        "INSERT INTO nowhere VALUES (1);\n",
    )
    .unwrap();
    let dir = folder.path().display().to_string();
    let bad_url = tidemark_rig::connection_string(&server.config("postgres", "s3cr3t-Wr0ng"));
    for (u, args) in [
        (&url, vec!["up"]),
        (&url, vec!["up", "--json"]),
        (&url, vec!["status", "--json"]),
        (&url, vec!["status"]),
        (&url, vec!["check"]),
        (&bad_url, vec!["up", "--json"]),
        (&bad_url, vec!["status"]),
    ] {
        let out = tidemark(&dir, u, &args).output().unwrap();
        let t = text(&out);
        assert!(!t.contains("s3cr3t"), "{args:?} leaked the password: {t}");
    }
}

/// A 10,000-migration folder through the binary — apply, a no-op `up`, `status` (about 8 s of
/// a debug build: CI runs it, as the README's figure claims it).
#[tokio::test]
async fn ten_thousand_migrations_through_the_binary() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let folder = tempfile::tempdir().unwrap();
    for i in 1..=10_000 {
        std::fs::write(
            folder.path().join(format!("V{i}__t{i}.sql")),
            format!("CREATE TABLE t{i} (id int PRIMARY KEY, name text);\n"),
        )
        .unwrap();
    }
    let dir = folder.path().display().to_string();
    let timed = |args: &[&str]| {
        let start = Instant::now();
        let out = tidemark(&dir, &url, args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        start.elapsed()
    };
    let apply = timed(&["up", "--json"]);
    let noop = timed(&["up"]);
    let status = timed(&["status", "--json"]);
    let c = db.pool().get().await.unwrap();
    assert_eq!(
        count(&c, "SELECT count(*) FROM tidemark_history").await,
        10_000
    );
    eprintln!("FIGURE 10,000 migrations: apply {apply:?}, no-op up {noop:?}, status {status:?} (debug binary, whole process)");
}
