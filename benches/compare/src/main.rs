//! tidemark against sqlx, refinery and diesel_migrations, on one throwaway server, in one run.
//!
//! `scripts/bench [runs]` (default 5). Each measurement runs on a fresh database; medians with
//! min–max, and ratios to the one-batch limit and to tidemark. Prints a markdown report and
//! writes it to `target/compare.md` (under benches/compare).

mod deploy;
mod parts;
mod tools;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidemark::testing::{server, TestDatabase, TestServer};
use tidemark_rig::{create_database, drop_database, RoundTripCounter};
use tools::{apply, apply_with, Target, Tool};

const SIZES: [usize; 3] = [10, 100, 1000];

#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Stats {
        median: ms(v[v.len() / 2]),
        min: ms(v[0]),
        max: ms(v[v.len() - 1]),
    }
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

/// The median of per-repetition ratios and their range: `1.12× (1.05–1.20)`.
fn ratios(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!("{:.2}× ({:.2}–{:.2})", v[v.len() / 2], v[0], v[v.len() - 1])
}

fn cell(s: Stats) -> String {
    if s.median >= 100.0 {
        format!("{:.0} ms ({:.0}–{:.0})", s.median, s.min, s.max)
    } else {
        format!("{:.2} ms ({:.2}–{:.2})", s.median, s.min, s.max)
    }
}

fn target(server: &TestServer, db: &str) -> Target {
    let dir = server
        .cluster()
        .map(|c| c.socket_dir())
        .expect("the benchmark runs on its own throwaway cluster: unset DATABASE_URL");
    Target {
        config: server.config(db),
        url: format!(
            "postgres://postgres@localhost/{db}?host={}&port=5432",
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
        .filter(|a| ["parts", "deploy", "noop"].contains(&a.as_str()))
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
        Some(_) => {
            println!(
                "{}",
                deploy::section(server, |db| target(server, db), runs * 2).await?
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
         (unix socket, fsync off, /dev/shm), {} cores, {runs} runs each, fresh database per run; \
         medians with min–max.\n",
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
        let reps = if n >= 1000 { runs } else { runs * 3 };
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

    md.push_str(&deploy::section(server, |db| target(server, db), runs * 2).await?);

    writeln!(md, "\n## No-op start: everything already applied\n")?;
    writeln!(md, "| N | tool | time | ÷ tidemark |\n|---:|---|---:|---:|")?;
    for n in SIZES {
        let mut results = Vec::new();
        for tool in &Tool::ALL[1..] {
            let db = create_database(server).await?;
            let samples = apply(*tool, n, &target(server, &db), runs * 10 + 1).await;
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
