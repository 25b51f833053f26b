//! The deploy case: a few new migrations onto a database that already has many applied, each
//! tool's own history in place. What every release of a self-migrating binary pays.
//!
//! For each tool, a template database gets the first `n - k` migrations of the `n`-set through
//! the tool's own targeted run; each repetition clones every template (in a rotating order) and
//! times the tool applying what is pending, the last `k`.

use crate::rotated_rows;
use crate::tools::{self, apply, apply_first, Target, Tool};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tidemark::testing::TestServer;
use tidemark_rig::{create_database, drop_database};

/// A copy of `template` under a new name.
pub async fn clone_of(
    server: &TestServer,
    template: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "tm_rig_{}_clone_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    server
        .connect(server.admin_database())
        .await?
        .batch_execute(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .await?;
    Ok(name)
}

/// Times `tool` applying what is pending on a database with the first `keep` applied (the
/// limit: the remaining scripts as one message).
async fn apply_rest(tool: Tool, n: usize, keep: usize, target: &Target) -> Duration {
    if tool != Tool::Limit {
        return apply(tool, n, target, 1).await[0];
    }
    let client = tools::connect(&target.config).await;
    let rest: String = tools::tidemark(n)
        .iter()
        .skip(keep)
        .map(|m| m.up().sql())
        .collect::<Vec<_>>()
        .join("\n");
    let started = Instant::now();
    client.batch_execute(&rest).await.unwrap();
    started.elapsed()
}

/// Repetitions of a deploy row: small k is cheap and noisy, so at least 30.
pub fn reps_for(k: usize, runs: usize) -> usize {
    if k <= 5 {
        (runs * 2).max(30)
    } else {
        runs * 2
    }
}

/// The deploy table (every row: 100 and 1,000 migrations, 1, 5 and 20 of them new), each tool
/// reached through `target`. `link` says how, for the heading.
pub async fn section(
    server: &TestServer,
    target: impl Fn(&str) -> Target,
    runs: usize,
    link: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut md = String::new();
    writeln!(
        md,
        "\n## Deploy{link}: k new migrations onto a database with many applied\n\n\
         Each tool's template database has the first n − k migrations applied by the tool \
         itself; every repetition clones each template (rotating order) and times the run \
         that applies the last k. {} repetitions for k ≤ 5, {} for k = 20.\n",
        reps_for(1, runs),
        reps_for(20, runs)
    )?;
    writeln!(
        md,
        "| applied + new | tool | time | ÷ limit | ÷ tidemark |\n|---|---|---:|---:|---:|"
    )?;
    for n in [100, 1000] {
        for k in [1, 5, 20] {
            let times = row(server, &target, n, k, reps_for(k, runs)).await?;
            eprintln!("deploy{link} {k} onto {}: done", n - k);
            rotated_rows(&mut md, &format!("{} + {k}", n - k), &times)?;
        }
    }
    Ok(md)
}

/// One deploy row: each tool's times (`Tool::ALL` order) applying the last `k` of `n`.
pub async fn row(
    server: &TestServer,
    target: &impl Fn(&str) -> Target,
    n: usize,
    k: usize,
    reps: usize,
) -> Result<Vec<Vec<Duration>>, Box<dyn std::error::Error>> {
    let keep = n - k;
    let mut templates = Vec::new();
    for tool in Tool::ALL {
        let db = create_database(server).await?;
        apply_first(tool, n, keep, &target(&db)).await;
        templates.push(db);
    }
    let count = Tool::ALL.len();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); count];
    for rep in 0..reps {
        for j in 0..count {
            let i = (rep + j) % count;
            let db = clone_of(server, &templates[i]).await?;
            times[i].push(apply_rest(Tool::ALL[i], n, keep, &target(&db)).await);
            drop_database(server, &db).await?;
        }
    }
    for db in &templates {
        drop_database(server, db).await?;
    }
    Ok(times)
}
