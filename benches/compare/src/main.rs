//! tidemark against sqlx, refinery and diesel_migrations, on one throwaway server, in one run.
//!
//! `scripts/bench [runs]` (default 5). Each measurement runs on a fresh database; medians with
//! the interquartile range, and ratios to the one-batch limit and to tidemark (medians of
//! per-repetition ratios, with their interquartile range). The deploy and no-op cases run twice:
//! on the server's unix socket, and through a loopback relay that delays each direction by
//! 0.5 ms (a 1 ms round trip, another availability zone). Prints a markdown report and writes it
//! to `target/compare.md` (under benches/compare).

mod deploy;
mod latency;
mod parts;
mod tools;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidemark::testing::{server, TestDatabase, TestServer};
use tidemark_rig::{create_database, drop_database, RoundTripCounter};
use tools::{apply, apply_with, Target, Tool};

const SIZES: [usize; 3] = [10, 100, 1000];

/// A median and its interquartile range.
#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    q1: f64,
    q3: f64,
}

/// The median and quartiles of `v` (nearest rank).
fn quartiles(mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        q1: at(0.25),
        q3: at(0.75),
    }
}

fn stats(v: Vec<Duration>) -> Stats {
    quartiles(v.iter().map(|d| d.as_secs_f64() * 1000.0).collect())
}

/// One table row per tool of a rotated measurement (`times[i]` is `Tool::ALL[i]`'s, one per
/// repetition): time, ratio to the limit, ratio to tidemark.
fn rotated_rows(
    md: &mut String,
    label: &str,
    times: &[Vec<Duration>],
) -> Result<(), std::fmt::Error> {
    for (i, tool) in Tool::ALL.iter().enumerate() {
        let ratio = |base: usize| {
            ratios(
                times[i]
                    .iter()
                    .zip(&times[base])
                    .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
                    .collect(),
            )
        };
        writeln!(
            md,
            "| {label} | {} | {} | {} | {} |",
            tool.name(),
            cell(stats(times[i].clone())),
            ratio(0),
            ratio(1),
        )?;
    }
    Ok(())
}

/// The median of per-repetition ratios and their interquartile range: `1.12× (1.05–1.20)`.
fn ratios(v: Vec<f64>) -> String {
    let s = quartiles(v);
    format!("{:.2}× ({:.2}–{:.2})", s.median, s.q1, s.q3)
}

fn cell(s: Stats) -> String {
    if s.median >= 100.0 {
        format!("{:.0} ms ({:.0}–{:.0})", s.median, s.q1, s.q3)
    } else {
        format!("{:.2} ms ({:.2}–{:.2})", s.median, s.q1, s.q3)
    }
}

fn target(server: &TestServer, db: &str) -> Target {
    assert!(
        server.is_private(),
        "the benchmark runs on its own throwaway cluster: unset DATABASE_URL"
    );
    let config = server.config(db);
    let Some(tokio_postgres::config::Host::Unix(dir)) = config.get_hosts().first().cloned() else {
        panic!("the throwaway cluster listens on a unix socket");
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Target {
        config,
        url: format!(
            "postgres://postgres@localhost/{db}?host={}&port={port}",
            dir.display()
        ),
    }
}

fn proxied(proxy: &RoundTripCounter, server: &TestServer, db: &str) -> Target {
    // A fresh config: `host()` on the server's config would add a host, not replace it.
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(proxy.port())
        .user("postgres")
        .dbname(db);
    let _ = server;
    Target {
        config,
        url: proxy.url(db),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = args
        .first()
        .filter(|a| ["parts", "deploy", "noop", "latency", "steps", "batch"].contains(&a.as_str()))
        .cloned();
    let runs: usize = args
        .get(usize::from(only.is_some()))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let server = server()?;
    match only.as_deref() {
        Some("parts") => {
            for (n, keep) in [(10, 0), (100, 0), (100, 95), (1000, 995)] {
                let md = parts::profile(server, |db| target(server, db), runs, n, keep).await?;
                println!("{md}");
            }
            return Ok(());
        }
        Some("noop") => {
            for n in [10, 1000] {
                println!(
                    "{}",
                    parts::noop(server, |db| target(server, db), runs, n).await?
                );
            }
            return Ok(());
        }
        Some("batch") => {
            println!(
                "{}",
                parts::batch(server, |db| target(server, db), runs).await?
            );
            return Ok(());
        }
        Some("steps") => {
            println!(
                "{}",
                parts::steps(server, |db| target(server, db), runs).await?
            );
            return Ok(());
        }
        Some("latency") => {
            println!("{}", latency::section(server, runs).await?);
            return Ok(());
        }
        Some(_) => {
            println!(
                "{}",
                deploy::section(server, |db| target(server, db), runs, "").await?
            );
            return Ok(());
        }
        None => {}
    }
    let version: String = server
        .connect("postgres")
        .await?
        .query_one("SHOW server_version", &[])
        .await?
        .get(0);
    let mut md = String::new();
    writeln!(
        md,
        "# tidemark vs sqlx, refinery, diesel_migrations\n\nPostgreSQL {version} on a throwaway cluster \
         (unix socket, fsync off, /dev/shm), {} cores, fresh database per run; medians with the \
         interquartile range (25th–75th percentile) in brackets.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )?;

    writeln!(
        md,
        "Versions: sqlx {}, refinery {}, diesel_migrations {}, tokio-postgres {}, tidemark {}.\n",
        env!("VERSION_SQLX"),
        env!("VERSION_REFINERY"),
        env!("VERSION_DIESEL"),
        env!("VERSION_TOKIO_POSTGRES"),
        env!("VERSION_TIDEMARK"),
    )?;
    writeln!(md, "## Apply N migrations to an empty database\n")?;
    writeln!(
        md,
        "Each repetition runs every method once, in an order that rotates from one repetition \
         to the next, each on a fresh database; the ratios are medians of the per-repetition \
         ratios (range in brackets), so both sides of a ratio were measured side by side.\n"
    )?;
    writeln!(
        md,
        "| N | tool | time | ÷ limit | ÷ tidemark |\n|---:|---|---:|---:|---:|"
    )?;
    for n in SIZES {
        // Small runs are cheap and noisy: more repetitions.
        let reps = if n >= 1000 {
            runs * 2
        } else {
            (runs * 6).max(30)
        };
        let k = Tool::ALL.len();
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); k];
        for rep in 0..reps {
            for j in 0..k {
                let i = (rep + j) % k;
                let db = create_database(server).await?;
                times[i].extend(apply(Tool::ALL[i], n, &target(server, &db), 1).await);
                drop_database(server, &db).await?;
            }
        }
        eprintln!("apply {n}: {reps} repetitions done");
        rotated_rows(&mut md, &n.to_string(), &times)?;
    }

    md.push_str(&deploy::section(server, |db| target(server, db), runs, "").await?);
    md.push_str(&noop_section(server, |db| target(server, db), runs, "").await?);
    let db = create_database(server).await?;
    let (mut connect, mut select) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let c = tools::connect(&server.config(&db)).await;
        c.simple_query("SELECT 1").await?;
        connect.push(t.elapsed());
        let t = Instant::now();
        c.simple_query("SELECT 1").await?;
        select.push(t.elapsed());
    }
    drop_database(server, &db).await?;
    writeln!(
        md,
        "\nFor scale: connect + `SELECT 1` {}; `SELECT 1` on an open connection {}.",
        cell(stats(connect)),
        cell(stats(select))
    )?;

    md.push_str(&latency::section(server, runs).await?);

    writeln!(md, "\n## Provision one migrated test database\n")?;
    writeln!(md, "| N | tidemark `TestDatabase::new` (clone) | sqlx's way: create database + migrate | ratio |\n|---:|---:|---:|---:|")?;
    for n in SIZES {
        TestDatabase::new(tools::tidemark(n)).await?.close().await?; // the template, built once
        let (mut clone, mut create) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let db = TestDatabase::new(tools::tidemark(n)).await?;
            clone.push(t.elapsed());
            db.close().await?;
            let t = Instant::now();
            let name = create_database(server).await?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&target(server, &name).url)
                .await?;
            tools::sqlx(n).run(&pool).await?;
            create.push(t.elapsed());
            pool.close().await;
            drop_database(server, &name).await?;
        }
        let (c, s) = (stats(clone), stats(create));
        writeln!(
            md,
            "| {n} | {} | {} | {:.1}× |",
            cell(c),
            cell(s),
            s.median / c.median
        )?;
    }

    writeln!(
        md,
        "\n## Round trips (counted on the wire: simple queries + extended-protocol syncs)\n"
    )?;
    writeln!(md, "| tool | apply 100 from empty | per migration | no-op with 100 applied |\n|---|---:|---:|---:|")?;
    for tool in Tool::ALL {
        let db = create_database(server).await?;
        let proxy = Arc::new(RoundTripCounter::start(server.config(&db)).await?);
        let t = proxied(&proxy, server, &db);
        let times = if tool == Tool::Limit { 1 } else { 2 };
        let counted = count_runs(tool, &t, proxy, times).await;
        drop_database(server, &db).await?;
        let noop = counted.get(1).map_or("—".to_owned(), ToString::to_string);
        writeln!(
            md,
            "| {} | {} | {:.2} | {noop} |",
            tool.name(),
            counted[0],
            counted[0] as f64 / 100.0
        )?;
    }

    println!("{md}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("compare.md");
    std::fs::create_dir_all(out.parent().unwrap())?;
    std::fs::write(&out, &md)?;
    eprintln!("written to {}", out.display());
    Ok(())
}

/// The no-op table: each tool starting with all of N applied, reached through `target`.
async fn noop_section(
    server: &TestServer,
    target: impl Fn(&str) -> Target,
    runs: usize,
    link: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut md = String::new();
    writeln!(md, "\n## No-op start{link}: everything already applied\n")?;
    writeln!(md, "| N | tool | time | ÷ tidemark |\n|---:|---|---:|---:|")?;
    for n in SIZES {
        let mut results = Vec::new();
        for tool in &Tool::ALL[1..] {
            let db = create_database(server).await?;
            let samples = apply(*tool, n, &target(&db), runs * 10 + 1).await;
            drop_database(server, &db).await?;
            results.push((*tool, stats(samples[1..].to_vec())));
        }
        let tm = results[0].1.median;
        for (tool, s) in results {
            writeln!(
                md,
                "| {n} | {} | {} | {:.1}× |",
                tool.name(),
                cell(s),
                s.median / tm
            )?;
        }
    }
    Ok(md)
}

/// Round trips of each run of `tool` through the counter, connection set-up excluded.
async fn count_runs(
    tool: Tool,
    target: &Target,
    proxy: Arc<RoundTripCounter>,
    times: usize,
) -> Vec<usize> {
    let counts = Arc::new(Mutex::new(Vec::new()));
    let (c, p) = (counts.clone(), proxy.clone());
    let hook: tools::Hook = Arc::new(move || {
        let seen = p.take();
        c.lock().unwrap().push(seen.queries.len() + seen.syncs);
    });
    apply_with(tool, 100, target, times, hook).await;
    let all = counts.lock().unwrap().clone();
    all[1..].to_vec() // the first reading is the connection's own start-up
}
