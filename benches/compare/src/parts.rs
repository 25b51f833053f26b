//! Where tidemark's fixed cost goes: `scripts/bench parts [runs]`.
//!
//! A real `run` of N migrations onto an empty database goes through the round-trip counter,
//! which records every message tidemark sends. Those messages are then replayed, one by one and
//! timed, on fresh databases (the lock's messages on one session, the rest, the fast path's
//! first, on another, as tidemark does), beside the parts that are not messages: opening a connection, and the
//! bookkeeping DDL split into its objects.

use crate::tools::{self, Target};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tidemark::testing::TestServer;
use tidemark_rig::{create_database, drop_database, RoundTripCounter};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// A short label for a message: its first line, cut.
fn label(sql: &str) -> String {
    let first = sql.lines().next().unwrap_or_default();
    let cut: String = first.chars().take(70).collect();
    let more = if first.len() > cut.len() || sql.lines().count() > 1 {
        " …"
    } else {
        ""
    };
    format!("`{}`{more} ({} bytes)", cut.replace('`', "'"), sql.len())
}

/// Whether a message belongs to the lock's session (everything else runs on the work session).
fn on_lock_session(sql: &str) -> bool {
    sql.contains("advisory_lock") || sql.contains("advisory_unlock")
}

/// The DDL of the bookkeeping tables, object by object, on a fresh database each.
const DDL_PARTS: [(&str, &str); 4] = [
    (
        "history table (pkey + TOAST)",
        "CREATE TABLE h (version text PRIMARY KEY, version_key bigint[], name text NOT NULL, \
         kind text NOT NULL, checksum bytea NOT NULL, down_checksum bytea, applied_at timestamptz \
         NOT NULL DEFAULT now(), execution_ms bigint NOT NULL DEFAULT 0, applied_by text NOT NULL \
         DEFAULT current_user, success boolean NOT NULL)",
    ),
    (
        "state table (pkey + TOAST)",
        "CREATE TABLE h_state (id boolean PRIMARY KEY DEFAULT true CHECK (id), digest bytea NOT \
         NULL, updated_at timestamptz NOT NULL DEFAULT now())",
    ),
    (
        "guard function + trigger (on an existing table)",
        "CREATE TABLE g (x int); CREATE FUNCTION g_guard() RETURNS trigger LANGUAGE plpgsql AS \
         $g$ BEGIN RETURN NULL; END $g$; CREATE TRIGGER g_guard AFTER INSERT OR UPDATE OR DELETE \
         OR TRUNCATE ON g FOR EACH STATEMENT EXECUTE FUNCTION g_guard()",
    ),
    (
        "a table with one int column (for scale)",
        "CREATE TABLE s (x int)",
    ),
];

pub async fn profile(
    server: &TestServer,
    target: impl Fn(&str) -> Target,
    runs: usize,
    n: usize,
    keep: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    // The database each run starts from: empty, or a copy of one with `keep` applied.
    let template = if keep > 0 {
        let db = create_database(server).await?;
        tools::apply_first(tools::Tool::Tidemark, n, keep, &target(&db)).await;
        Some(db)
    } else {
        None
    };
    let fresh = || async {
        match &template {
            Some(t) => crate::deploy::clone_of(server, t).await,
            None => Ok(create_database(server).await?),
        }
    };
    // 1. What tidemark sends.
    let db = fresh().await?;
    let proxy = RoundTripCounter::start(server.config(&db)).await?;
    let pool = proxy.pool();
    drop(pool.get().await?);
    proxy.take();
    tools::tidemark(n).migrator().run(&pool).await?;
    let sent = proxy.take().queries;
    let dump = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/parts");
    std::fs::create_dir_all(&dump)?;
    for (i, sql) in sent.iter().enumerate() {
        std::fs::write(
            dump.join(format!("run-{n}-{keep}-message-{}.sql", i + 1)),
            sql,
        )?;
    }
    drop(pool);
    drop_database(server, &db).await?;

    // 2. Replayed and timed, with the parts that are not messages.
    let mut msg_times: Vec<Vec<Duration>> = vec![Vec::new(); sent.len()];
    let mut ddl_times: Vec<Vec<Duration>> = vec![Vec::new(); DDL_PARTS.len()];
    let (mut connect, mut whole1, mut whole2, mut limit, mut atomic) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The floor of per-migration atomicity: each script in its own transaction, no bookkeeping.
    let each: String = tools::tidemark(n)
        .iter()
        .skip(keep)
        .map(|m| format!("BEGIN;\n{}\nCOMMIT;", m.up().sql()))
        .collect::<Vec<_>>()
        .join("\n");
    let scripts: String = tools::tidemark(n)
        .iter()
        .skip(keep)
        .map(|m| m.up().sql())
        .collect::<Vec<_>>()
        .join("\n");
    for _ in 0..runs {
        let db = fresh().await?;
        let t = target(&db);
        let started = Instant::now();
        let lock = tools::connect(&t.config).await;
        connect.push(started.elapsed());
        let work = tools::connect(&t.config).await;
        for (i, sql) in sent.iter().enumerate() {
            let c = if on_lock_session(sql) { &lock } else { &work };
            let started = Instant::now();
            let _ = c.simple_query(sql).await; // the fast path fails on a new database
            msg_times[i].push(started.elapsed());
        }
        drop_database(server, &db).await?;
        for (i, (_, sql)) in DDL_PARTS.iter().enumerate().filter(|_| keep == 0) {
            let db = create_database(server).await?;
            let c = tools::connect(&target(&db).config).await;
            let started = Instant::now();
            c.batch_execute(sql).await?;
            ddl_times[i].push(started.elapsed());
            drop_database(server, &db).await?;
        }
        // The whole run, its pool warmed with one session and with two; and the limit.
        for (warm, out) in [(1, &mut whole1), (2, &mut whole2)] {
            let db = fresh().await?;
            let pool = server.pool(&db, 4);
            let held: Vec<_> = futures_join(&pool, warm).await;
            drop(held);
            let started = Instant::now();
            tools::tidemark(n).migrator().run(&pool).await?;
            out.push(started.elapsed());
            drop(pool);
            drop_database(server, &db).await?;
        }
        let db = fresh().await?;
        let c = tools::connect(&target(&db).config).await;
        let started = Instant::now();
        c.batch_execute(&scripts).await?;
        limit.push(started.elapsed());
        drop_database(server, &db).await?;
        let db = fresh().await?;
        let c = tools::connect(&target(&db).config).await;
        let started = Instant::now();
        c.batch_execute(&each).await?;
        atomic.push(started.elapsed());
        drop_database(server, &db).await?;
    }

    if let Some(t) = &template {
        drop_database(server, t).await?;
    }
    let mut md = String::new();
    writeln!(
        md,
        "## Where a run of {} onto {} goes ({runs} runs, medians)\n",
        n - keep,
        if keep == 0 {
            "an empty database".to_owned()
        } else {
            format!("a database with {keep} applied")
        }
    )?;
    writeln!(md, "| part | ms |\n|---|---:|")?;
    writeln!(
        md,
        "| **whole `run`, pool warmed with one session** | {:.2} |",
        median(whole1)
    )?;
    writeln!(
        md,
        "| **whole `run`, pool warmed with two sessions** | {:.2} |",
        median(whole2)
    )?;
    writeln!(
        md,
        "| **the limit: all scripts as one message** | {:.2} |",
        median(limit)
    )?;
    writeln!(
        md,
        "| the same, each script in its own transaction (no bookkeeping) | {:.2} |",
        median(atomic)
    )?;
    writeln!(md, "| opening a connection | {:.2} |", median(connect))?;
    let mut total = 0.0;
    for (i, sql) in sent.iter().enumerate() {
        let m = median(msg_times[i].clone());
        total += m;
        let session = if on_lock_session(sql) {
            "lock session"
        } else {
            "work session"
        };
        writeln!(
            md,
            "| message {}, {session}: {} | {m:.2} |",
            i + 1,
            label(sql)
        )?;
    }
    writeln!(md, "| sum of the messages | {total:.2} |")?;
    for (i, (name, _)) in DDL_PARTS.iter().enumerate().filter(|_| keep == 0) {
        writeln!(
            md,
            "| DDL alone: {name} | {:.2} |",
            median(ddl_times[i].clone())
        )?;
    }
    Ok(md)
}

/// Opens `k` sessions of `pool` at once and gives them back (so the pool holds `k` idle ones).
async fn futures_join(
    pool: &tidemark::deadpool_postgres::Pool,
    k: usize,
) -> Vec<tidemark::deadpool_postgres::Object> {
    let mut held = Vec::new();
    for _ in 0..k {
        held.push(pool.get().await.expect("a pooled session"));
    }
    held
}

/// Where a no-op start goes (`scripts/bench noop [runs]`): on a pool warmed with one session and
/// a database with `n` applied, medians over `runs × 20` calls of each: `SELECT 1`, the fast
/// path's query alone, `is_up_to_date` and a whole `run`.
pub async fn noop(
    server: &TestServer,
    target: impl Fn(&str) -> Target,
    runs: usize,
    n: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    let db = create_database(server).await?;
    let t = target(&db);
    let set = tools::tidemark(n);
    let pool = server.pool(&db, 4);
    set.migrator().run(&pool).await?;
    let fast_path = {
        // The fast path's query, as the round-trip counter sees it.
        let proxy = RoundTripCounter::start(t.config.clone()).await?;
        let p = proxy.pool();
        set.migrator().run(&p).await?;
        proxy.take();
        set.migrator().run(&p).await?;
        proxy.take().queries.remove(0)
    };
    let reps = runs * 20;
    let (mut select, mut query, mut probe, mut run) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let c = pool.get().await?;
        let s = Instant::now();
        c.simple_query("SELECT 1").await?;
        select.push(s.elapsed());
        let s = Instant::now();
        c.simple_query(&fast_path).await?;
        query.push(s.elapsed());
        drop(c);
        let s = Instant::now();
        assert!(set.is_up_to_date(&pool).await?);
        probe.push(s.elapsed());
        let s = Instant::now();
        set.migrator().run(&pool).await?;
        run.push(s.elapsed());
    }
    drop(pool);
    drop_database(server, &db).await?;
    let mut md = String::new();
    writeln!(
        md,
        "## Where a no-op start with {n} applied goes ({reps} calls each, medians)\n"
    )?;
    writeln!(md, "| part | ms |\n|---|---:|")?;
    writeln!(
        md,
        "| `SELECT 1` on a pooled session | {:.3} |",
        median(select)
    )?;
    writeln!(
        md,
        "| the fast path's query on it: {} | {:.3} |",
        label(&fast_path),
        median(query)
    )?;
    writeln!(md, "| `is_up_to_date(&pool)` | {:.3} |", median(probe))?;
    writeln!(md, "| **`run(&pool)`** | {:.3} |", median(run))?;
    Ok(md)
}

/// A step's start as tidemark sends it now (the server's version known).
const START_NOW: &str = "SELECT set_config('tidemark.step_start', (extract(epoch from clock_timestamp()) * 1000000)::bigint::text, true), \
     set_config('tidemark.bookkeeping', 'on', true), set_config('client_connection_check_interval', '250ms', true), \
     set_config('application_name', 'tidemark: up {v} t', true);";
/// The same without the bookkeeping flag.
const START_NO_FLAG: &str = "SELECT set_config('tidemark.step_start', (extract(epoch from clock_timestamp()) * 1000000)::bigint::text, true), \
     set_config('client_connection_check_interval', '250ms', true), set_config('application_name', 'tidemark: up {v} t', true);";

/// The per-step bookkeeping forms compared by `scripts/bench steps`: what each step's
/// transaction sends besides its script (`{v}` is the step's number).
const STEP_FORMS: [(&str, &str, &str); 10] = [
    (
        "before: version CASE in the start, flag in the start",
        "SELECT set_config('tidemark.step_start', (extract(epoch from clock_timestamp()) * 1000000)::bigint::text, true), \
         set_config('tidemark.bookkeeping', 'on', true), CASE WHEN current_setting('server_version_num')::int >= 140000 \
         THEN set_config('client_connection_check_interval', '250ms', true) END, set_config('application_name', 'tidemark: up {v} t', true);",
        "true",
    ),
    (
        "now: the version known (no CASE), flag in the start",
        START_NOW,
        "true",
    ),
    (
        "the version known, flag set by the insert",
        START_NO_FLAG,
        "set_config('tidemark.bookkeeping', 'on', true) = 'on'",
    ),
    (
        "no bookkeeping flag: the guard keyed on the step's start (a trigger change)",
        START_NO_FLAG,
        "true",
    ),
    (
        "parts: the start alone (no history row)",
        START_NOW,
        "",
    ),
    (
        "parts: the start without application_name and check interval",
        "SELECT set_config('tidemark.step_start', (extract(epoch from clock_timestamp()) * 1000000)::bigint::text, true), \
         set_config('tidemark.bookkeeping', 'on', true);",
        "true",
    ),
    (
        "parts: as now, the guard trigger dropped",
        START_NOW,
        "true",
    ),
    (
        "as now, the insert prepared once per message (PREPARE … EXECUTE … DEALLOCATE)",
        START_NOW,
        "PREPARED",
    ),
    (
        "for scale: diesel_migrations' insert (a version and a default timestamp)",
        "",
        "DIESEL",
    ),
    (
        "parts: as now, without RETURNING",
        START_NOW,
        "true NORET",
    ),
];

/// Server CPU of the backend serving `client` so far (ns), from `/proc/<pid>/schedstat`.
async fn backend_cpu_ns(client: &tokio_postgres::Client) -> u64 {
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Per-step bookkeeping in backend CPU (`scripts/bench steps [runs]`): `steps` steps of
/// `CREATE TABLE` in one message, each in its own transaction, with each form of bookkeeping and
/// without any, on a fresh database with tidemark's tables; the backend's CPU time per step
/// above the form without bookkeeping. The server must run on this machine.
pub async fn steps(
    server: &TestServer,
    target: impl Fn(&str) -> Target,
    runs: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    const STEPS: usize = 200;
    let set = tools::tidemark(10);
    let history = "INSERT INTO tidemark_history AS h (version, version_key, name, kind, checksum, down_checksum, applied_at, execution_ms, success) \
        VALUES ('{v}', '{{{v}}}'::bigint[], 't', 'versioned', decode(repeat('01', 32), 'hex'), NULL, \
        'epoch'::timestamptz + current_setting('tidemark.step_start')::bigint * interval '1 microsecond', \
        ((extract(epoch from clock_timestamp()) * 1000000)::bigint - current_setting('tidemark.step_start')::bigint) / 1000, {success}) \
        RETURNING (extract(epoch from clock_timestamp()) * 1000000)::bigint - current_setting('tidemark.step_start')::bigint AS tidemark_step_us;";
    let prepare = "PREPARE tidemark_record (text, bigint[], text, text, bytea, bytea) AS \
        INSERT INTO tidemark_history AS h (version, version_key, name, kind, checksum, down_checksum, applied_at, execution_ms, success) \
        VALUES ($1, $2, $3, $4, $5, $6, \
        'epoch'::timestamptz + current_setting('tidemark.step_start')::bigint * interval '1 microsecond', \
        ((extract(epoch from clock_timestamp()) * 1000000)::bigint - current_setting('tidemark.step_start')::bigint) / 1000, true) \
        RETURNING (extract(epoch from clock_timestamp()) * 1000000)::bigint - current_setting('tidemark.step_start')::bigint AS tidemark_step_us;\n";
    let message = |form: Option<(&str, &str)>| {
        let (head, tail) = if form.is_some_and(|f| f.1 == "PREPARED") {
            (prepare, "DEALLOCATE tidemark_record;\n")
        } else {
            ("", "")
        };
        let steps = (1000..1000 + STEPS)
            .map(|v| {
                let v = v.to_string();
                let body = format!("CREATE TABLE s{v} (id int);");
                match form {
                    None => format!("BEGIN;\n{body}\nCOMMIT;\n"),
                    Some((start, "PREPARED")) => format!(
                        "BEGIN;\n{}\n{body}\nEXECUTE tidemark_record('{v}', '{{{v}}}', 't', 'versioned', '\\x{}', NULL);\nCOMMIT;\n",
                        start.replace("{v}", &v),
                        "01".repeat(32)
                    ),
                    Some(("", "DIESEL")) => format!(
                        "BEGIN;\n{body}\nINSERT INTO __diesel_schema_migrations (version) VALUES ('{v}');\nCOMMIT;\n"
                    ),
                    Some((start, "")) => format!(
                        "BEGIN;\n{}\n{body}\nCOMMIT;\n",
                        start.replace("{v}", &v)
                    ),
                    Some((start, success)) => {
                        let mut row = history.replace("{v}", &v);
                        if let Some(s) = success.strip_suffix(" NORET") {
                            row = row.replace("{success}", s);
                            row.truncate(row.find(" RETURNING").unwrap());
                            row.push(';');
                        } else {
                            row = row.replace("{success}", success);
                        }
                        format!("BEGIN;\n{}\n{body}\n{row}\nCOMMIT;\n", start.replace("{v}", &v))
                    }
                }
            })
            .collect::<String>();
        format!("{head}{steps}{tail}")
    };
    let mut forms: Vec<Option<(&str, &str)>> = vec![None];
    forms.extend(STEP_FORMS.iter().map(|(_, s, f)| Some((*s, *f))));
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); forms.len()];
    for rep in 0..runs {
        for j in 0..forms.len() {
            let i = (rep + j) % forms.len();
            let db = create_database(server).await?;
            let t = target(&db);
            let pool = server.pool(&db, 2);
            set.migrator()
                .target(tidemark::Target::version(1))
                .run(&pool)
                .await?;
            drop(pool);
            let c = tools::connect(&t.config).await;
            let name = STEP_FORMS.get(i.wrapping_sub(1)).map_or("", |f| f.0);
            if name.contains("guard trigger dropped") || name.contains("guard keyed") {
                c.batch_execute("DROP TRIGGER tidemark_history_guard ON tidemark_history")
                    .await?;
            }
            if name.contains("diesel") {
                c.batch_execute(
                    "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
                     run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                )
                .await?;
            }
            if name.contains("guard keyed") {
                c.batch_execute(
                    "CREATE TRIGGER tidemark_history_guard AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE \
                     ON tidemark_history FOR EACH STATEMENT \
                     WHEN (coalesce(current_setting('tidemark.step_start', true), '') = '') \
                     EXECUTE FUNCTION tidemark_history_guard()",
                )
                .await?;
            }
            let before = backend_cpu_ns(&c).await;
            c.batch_execute(&message(forms[i])).await?;
            let after = backend_cpu_ns(&c).await;
            cpu[i].push((after - before) as f64 / STEPS as f64 / 1000.0);
            drop(c);
            drop_database(server, &db).await?;
        }
    }
    let med = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let base = med(&cpu[0]);
    let mut md = String::new();
    writeln!(
        md,
        "## Per-step bookkeeping, backend CPU ({STEPS} steps of `CREATE TABLE` per message, {runs} runs, medians)\n\n\
         Without bookkeeping a step costs {base:.0} µs of backend CPU.\n"
    )?;
    writeln!(
        md,
        "| form | µs per step above none | ÷ before |\n|---|---:|---:|"
    )?;
    let first = med(&cpu[1]) - base;
    for (k, (name, _, _)) in STEP_FORMS.iter().enumerate() {
        let us = med(&cpu[k + 1]) - base;
        writeln!(md, "| {name} | {us:.1} | {:.2} |", us / first)?;
    }
    Ok(md)
}

/// Where a deploy's message goes (`scripts/bench batch [runs]`): the message a run of 5 onto
/// 995 applied sends with its migrations, replayed on a fresh clone each time after the fast
/// path's query on the same session (as a run does), whole and with parts taken out.
pub async fn batch(
    server: &TestServer,
    target: impl Fn(&str) -> Target,
    runs: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    let (n, keep) = (1000, 995);
    let template = create_database(server).await?;
    tools::apply_first(tools::Tool::Tidemark, n, keep, &target(&template)).await;
    let db = crate::deploy::clone_of(server, &template).await?;
    let proxy = RoundTripCounter::start(server.config(&db)).await?;
    let pool = proxy.pool();
    drop(pool.get().await?);
    proxy.take();
    tools::tidemark(n).migrator().run(&pool).await?;
    let sent = proxy.take().queries;
    drop(pool);
    drop_database(server, &db).await?;
    let fast = sent[0].clone();
    let message = sent
        .iter()
        .find(|q| q.starts_with("PREPARE") || q.starts_with("BEGIN;\n"))
        .expect("the migrations' message")
        .clone();
    let without = |cut: &dyn Fn(&str) -> bool| {
        message
            .lines()
            .filter(|l| !cut(l))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let each: String = tools::tidemark(n)
        .iter()
        .skip(keep)
        .map(|m| format!("BEGIN;\n{}\nCOMMIT;", m.up().sql()))
        .collect::<Vec<_>>()
        .join("\n");
    let variants: Vec<(&str, String)> = vec![
        ("the message as sent", message.clone()),
        (
            "without the check",
            without(&|l| l.starts_with("SELECT CASE WHEN (SELECT digest")),
        ),
        (
            "without the state table's writes",
            without(&|l| l.contains("tidemark_history_state")),
        ),
        (
            "without history rows (no PREPARE, EXECUTE, DEALLOCATE)",
            without(&|l| {
                l.starts_with("PREPARE") || l.starts_with("EXECUTE") || l.starts_with("DEALLOCATE")
            }),
        ),
        (
            "without the steps' starts and history rows",
            without(&|l| {
                l.starts_with("SELECT set_config('tidemark.step_start'")
                    || l.starts_with("PREPARE")
                    || l.starts_with("EXECUTE")
                    || l.starts_with("DEALLOCATE")
            }),
        ),
        (
            "the check without the guard's lookup",
            message.replace(
                &message[message.find(" AND EXISTS (SELECT FROM pg_trigger").unwrap()
                    ..message.find(" THEN 0 ELSE").unwrap()],
                "",
            ),
        ),
        (
            "the check on the digest alone",
            message.replace(
                &message[message.find(" AND NOT EXISTS").unwrap()
                    ..message.find(" THEN 0 ELSE").unwrap()],
                "",
            ),
        ),
        ("the state row updated, not deleted and upserted", {
            let state = "\"public\".\"tidemark_history_state\"";
            message
                .lines()
                .map(|l| {
                    if l.starts_with(&format!("DELETE FROM {state}")) {
                        format!("UPDATE {state} SET digest = '\\x';")
                    } else if l.starts_with(&format!("INSERT INTO {state}")) {
                        let d = &l[l.find("VALUES (true, ").unwrap() + 14
                            ..l.find(") ON CONFLICT").unwrap()];
                        format!("UPDATE {state} SET digest = {d}, updated_at = now();")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ("the scripts, each in its own transaction", each),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for rep in 0..runs {
        for j in 0..variants.len() {
            let i = (rep + j) % variants.len();
            let db = crate::deploy::clone_of(server, &template).await?;
            let c = tools::connect(&target(&db).config).await;
            c.simple_query(&fast).await?;
            let started = Instant::now();
            let r = c.simple_query(&variants[i].1).await;
            times[i].push(started.elapsed());
            if let Err(e) = r {
                return Err(format!("{}: {e}", variants[i].0).into());
            }
            drop(c);
            drop_database(server, &db).await?;
        }
    }
    drop_database(server, &template).await?;
    let mut md = String::new();
    writeln!(
        md,
        "## The message of a deploy of 5 onto 995, after the fast path on its session ({runs} runs, medians)\n"
    )?;
    writeln!(md, "| variant | ms |\n|---|---:|")?;
    for (i, (name, _)) in variants.iter().enumerate() {
        writeln!(md, "| {name} | {:.2} |", median(times[i].clone()))?;
    }
    Ok(md)
}
