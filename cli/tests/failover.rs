//! A primary that fails over: a throwaway primary and its streaming replica (`pg_basebackup
//! -R`, both on unix sockets; `tidemark-cluster`), reached as managed PostgreSQL hands them out,
//! a multi-host connection string with `target_session_attrs=read-write`.
//!
//! (a) a URL whose first host is the standby connects to the primary; (b) a URL naming only the
//! standby fails before taking any lock, saying the server is a read-only standby; (c) the
//! primary stops and the standby is promoted while a run of 1,000 migrations is in flight: the
//! run fails with the connection-lost exit code, and a rerun with the same URL completes on the
//! new primary with history equal to the objects (each migration once, none partial), whether
//! the migration in flight was transactional or not (a no-transaction one leaves its failed row,
//! which the operator clears with `repair` after undoing what it did, as after any crash).
//!
//! Skipped, saying so, where the server binaries have no `pg_basebackup` (the npm builds of the
//! PostgreSQL matrix); CI's own PostgreSQL has it.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;
use support::{count, text};
use tidemark::tokio_postgres::{Client, NoTls};
use tidemark_cluster::{Cluster, ClusterError, ClusterOptions};

/// A primary and its hot standby, or `None` (saying so) without `pg_basebackup`.
fn pair() -> Option<(Cluster, Cluster)> {
    let primary = Cluster::start(&ClusterOptions::default()).expect("a throwaway primary");
    match primary.standby() {
        Ok(standby) => Some((primary, standby)),
        Err(e @ ClusterError::MissingTool { .. }) => {
            eprintln!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("no standby: {e}"),
    }
}

/// A libpq URL over the hosts' sockets, in that order, asking for a writable server.
fn url(hosts: &[&Cluster]) -> String {
    let dirs: Vec<String> = hosts
        .iter()
        .map(|c| c.socket_dir().display().to_string())
        .collect();
    let ports: Vec<String> = hosts.iter().map(|c| c.port().to_string()).collect();
    format!(
        "postgresql://postgres@/postgres?host={}&port={}&target_session_attrs=read-write",
        dirs.join(","),
        ports.join(",")
    )
}

async fn connect(c: &Cluster) -> Client {
    let (client, conn) = c.config("postgres").connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

fn tidemark(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tidemark"));
    c.arg("--dir")
        .arg(dir)
        .args(args)
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(dir: &Path, url: &str, args: &[&str]) -> Output {
    tidemark(dir, url, args).output().unwrap()
}

/// Waits until the standby has replayed everything the primary has written.
async fn caught_up(primary: &Client, standby: &Client) {
    let lsn: String = primary
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    for _ in 0..6000 {
        let replayed: bool = standby
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&lsn],
            )
            .await
            .unwrap()
            .get(0);
        if replayed {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the standby never caught up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_first_in_the_url_still_migrates_the_primary_and_a_standby_alone_is_refused() {
    let Some((primary, standby)) = pair() else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("V1__t.sql"),
        "CREATE TABLE t (id int);\n",
    )
    .unwrap();
    // (a) The standby first: libpq's rule (and tokio-postgres'), the first writable host.
    let out = run(folder.path(), &url(&[&standby, &primary]), &["up"]);
    assert!(out.status.success(), "{}", text(&out));
    let p = connect(&primary).await;
    assert_eq!(
        count(&p, "SELECT count(*) FROM tidemark_history WHERE success").await,
        1
    );
    // (b) The standby alone, with a migration to apply: refused before any lock, by name.
    std::fs::write(
        folder.path().join("V2__u.sql"),
        "CREATE TABLE u (id int);\n",
    )
    .unwrap();
    let s = connect(&standby).await;
    caught_up(&p, &s).await;
    let alone = url(&[&standby]).replace("&target_session_attrs=read-write", "");
    let out = run(folder.path(), &alone, &["up"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(5), "{said}");
    assert!(
        said.contains("read-only standby") && said.contains("target_session_attrs=read-write"),
        "{said}"
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        )
        .await,
        0,
        "no lock was taken on the standby"
    );
    assert_eq!(
        count(
            &p,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        )
        .await,
        0
    );
}

/// 1,000 migrations, each a table; number 500 creates its table and then sleeps as long as
/// `sleep_control` says (outside a transaction when `no_transaction`), so the failover lands
/// while it runs.
fn thousand(no_transaction: bool) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    for n in 1..=1000 {
        let mut sql = format!("CREATE TABLE t_{n} (id int);\n");
        if n == 500 {
            if no_transaction {
                sql = format!("-- tidemark:no-transaction\n{sql}");
            }
            sql.push_str("SELECT pg_sleep((SELECT seconds FROM sleep_control));\n");
        }
        std::fs::write(folder.path().join(format!("V{n}__t_{n}.sql")), sql).unwrap();
    }
    folder
}

async fn failover_midway(no_transaction: bool) {
    let Some((primary, standby)) = pair() else {
        return;
    };
    let p = connect(&primary).await;
    p.batch_execute(
        "CREATE TABLE sleep_control (seconds int); INSERT INTO sleep_control VALUES (600)",
    )
    .await
    .unwrap();
    let folder = thousand(no_transaction);
    let both = url(&[&primary, &standby]);
    let child = tidemark(folder.path(), &both, &["up"]).spawn().unwrap();
    // In flight: migration 500 sleeps on the primary, 499 are committed.
    for _ in 0..6000 {
        let sleeping = count(
            &p,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'",
        )
        .await;
        if sleeping > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(p);
    primary.stop().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "the run lost its primary: {}",
        text(&out)
    );
    let promoted = Instant::now();
    let s = connect(&standby).await;
    let ok: bool = s
        .query_one("SELECT pg_promote(true, 60)", &[])
        .await
        .unwrap()
        .get(0);
    assert!(ok, "the standby was promoted");
    s.batch_execute("UPDATE sleep_control SET seconds = 0")
        .await
        .unwrap();
    if no_transaction {
        // Its table was created before the sleep and kept; its failed row blocks the rerun.
        let out = run(folder.path(), &both, &["up"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("failed midway"), "{}", text(&out));
        s.batch_execute("DROP TABLE t_500").await.unwrap();
        let out = run(folder.path(), &both, &["repair"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = run(folder.path(), &both, &["up"]);
    assert!(out.status.success(), "the rerun completes: {}", text(&out));
    let took = promoted.elapsed();
    assert_eq!(
        count(&s, "SELECT count(*) FROM tidemark_history WHERE success").await,
        1000
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM tidemark_history WHERE NOT success"
        )
        .await,
        0
    );
    // History equals the objects: every recorded migration's table exists, and no other.
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM tidemark_history h \
             JOIN pg_tables t ON t.tablename = 't_' || h.version AND t.schemaname = 'public'"
        )
        .await,
        1000
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%'"
        )
        .await,
        1000
    );
    let kind = if no_transaction {
        "no-transaction"
    } else {
        "transactional"
    };
    eprintln!(
        "FIGURE failover with a {kind} migration in flight: promotion to completed rerun {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_midway_through_a_transactional_migration() {
    failover_midway(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_midway_through_a_no_transaction_migration() {
    failover_midway(true).await;
}
