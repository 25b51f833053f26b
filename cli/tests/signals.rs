//! Stop means stop: SIGINT and SIGTERM, sent while a slow migration runs, cancel its statement on
//! the server and end the process with 130 or 143, whatever ran before it in the same run — no
//! step, a transactional one, a no-transaction one (which once made every later cancel a no-op)
//! or a Rust code migration — through the `tidemark` binary and through an application's own
//! `migrate` subcommand (`cli/examples/stop_app.rs`; the `tidemark` binary cannot run code).
//!
//! Each case waits until the slow migration's backend sleeps (observed in `pg_stat_activity`,
//! in this test's database only), signals, and then checks what is true afterwards: the exit
//! code, the words (what committed, that the running migration did not), the catalog (the slow
//! migration's table and the migration after it absent, what came before present), history,
//! the lock, and that no backend of the database still sleeps. The slow migration sleeps ten
//! minutes, so a run that was not cancelled cannot end in time; the time from the signal to the
//! exit is printed (a figure, not a threshold).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use support::{advisory_locks, count, sleeping_backend, text};
use tidemark::testing::TestDatabase;

#[derive(Clone, Copy, Debug)]
enum Binary {
    /// `tidemark --dir FOLDER up`.
    Tidemark,
    /// `stop_app migrate up` (the folder embedded).
    Embedded,
}

fn fixture(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/stop/{kind}"))
}

/// `target/<profile>/examples/stop_app`, built by `cargo build --workspace --examples`
/// (`scripts/test` does so first).
fn stop_app() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let bin = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/stop_app");
    assert!(
        bin.exists(),
        "{} is missing: run the suite with `scripts/test`, or `cargo build --examples` first",
        bin.display()
    );
    bin
}

fn command(binary: Binary, kind: &str, url: &str) -> Command {
    let mut c = match binary {
        Binary::Tidemark => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_tidemark"));
            c.arg("--dir").arg(fixture(kind));
            c
        }
        Binary::Embedded => {
            let mut c = Command::new(stop_app());
            c.arg("migrate").env("STOP_FOLDER", kind);
            c
        }
    };
    c.arg("up")
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// One case: `kind` of step before the slow one (`committed` migrations before it), stopped by
/// `signal`.
async fn stop(binary: Binary, kind: &str, committed: &[&str], signal: nix::sys::signal::Signal) {
    let what = format!("{binary:?}, {kind}, {signal}");
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    let c = db.pool().get().await.unwrap();
    let child = command(binary, kind, &url).spawn().unwrap();
    sleeping_backend(&c).await;
    let sent = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        signal,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let said = text(&out);
    let expected = match signal {
        nix::sys::signal::Signal::SIGINT => 130,
        _ => 143,
    };
    assert_eq!(out.status.code(), Some(expected), "{what}: {said}");
    assert!(
        said.contains(&format!(
            "stopped on request: {} committed before; the migration that was running did not",
            match committed.len() {
                1 => "1 migration".to_owned(),
                n => format!("{n} migrations"),
            }
        )),
        "{what}: {said}"
    );
    for name in committed {
        assert!(said.contains(name), "{what}: names {name}: {said}");
    }
    let exists = |table: &'static str| {
        let c = &c;
        async move {
            count(
                c,
                &format!("SELECT count(*) FROM pg_class WHERE relname = '{table}'"),
            )
            .await
                == 1
        }
    };
    assert!(
        !exists("slow_done").await,
        "{what}: the slow migration rolled back"
    );
    assert!(
        !exists("after_slow").await,
        "{what}: nothing after it started"
    );
    assert_eq!(
        exists("first").await,
        !committed.is_empty(),
        "{what}: what came before committed"
    );
    let history: Vec<String> = c
        .query(
            "SELECT name FROM tidemark_history WHERE success ORDER BY version_key",
            &[],
        )
        .await
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    assert_eq!(history, committed, "{what}: history holds what committed");
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' \
             AND datname = current_database()"
        )
        .await,
        0,
        "{what}: the server's statement was cancelled, not left running"
    );
    assert_eq!(advisory_locks(&c).await, 0, "{what}: the lock is released");
    eprintln!("FIGURE {what}: exited {took:?} after the signal");
}

const INT: nix::sys::signal::Signal = nix::sys::signal::Signal::SIGINT;
const TERM: nix::sys::signal::Signal = nix::sys::signal::Signal::SIGTERM;

macro_rules! cases {
    ($($name:ident: $binary:ident, $kind:literal, $committed:expr, $signal:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            stop(Binary::$binary, $kind, $committed, $signal).await;
        }
    )*};
}

cases! {
    tidemark_int_first: Tidemark, "none", &[], INT;
    tidemark_term_first: Tidemark, "none", &[], TERM;
    tidemark_int_after_a_transactional_step: Tidemark, "transactional", &["first"], INT;
    tidemark_term_after_a_transactional_step: Tidemark, "transactional", &["first"], TERM;
    tidemark_int_after_a_no_transaction_step: Tidemark, "no_transaction", &["first", "index"], INT;
    tidemark_term_after_a_no_transaction_step: Tidemark, "no_transaction", &["first", "index"], TERM;
    embedded_int_first: Embedded, "none", &[], INT;
    embedded_term_first: Embedded, "none", &[], TERM;
    embedded_int_after_a_transactional_step: Embedded, "transactional", &["first"], INT;
    embedded_term_after_a_transactional_step: Embedded, "transactional", &["first"], TERM;
    embedded_int_after_a_no_transaction_step: Embedded, "no_transaction", &["first", "index"], INT;
    embedded_term_after_a_no_transaction_step: Embedded, "no_transaction", &["first", "index"], TERM;
    embedded_int_after_a_code_step: Embedded, "code", &["first", "fill"], INT;
    embedded_term_after_a_code_step: Embedded, "code", &["first", "fill"], TERM;
}
