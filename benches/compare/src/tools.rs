//! Each tool, driven through its own public API: apply everything pending, on connections
//! made beforehand (connection set-up is not part of the measured time; tidemark's pool holds
//! the two sessions a run uses, the others their one connection).

use diesel::Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod refinery_10 {
    refinery::embed_migrations!("generated/refinery/10");
}
pub mod refinery_100 {
    refinery::embed_migrations!("generated/refinery/100");
}
pub mod refinery_1000 {
    refinery::embed_migrations!("generated/refinery/1000");
}

pub static TIDEMARK: [(usize, tidemark::Migrations); 3] = [
    (10, tidemark::embed_migrations!("generated/tidemark/10")),
    (100, tidemark::embed_migrations!("generated/tidemark/100")),
    (1000, tidemark::embed_migrations!("generated/tidemark/1000")),
];
pub static SQLX: [(usize, sqlx::migrate::Migrator); 3] = [
    (10, sqlx::migrate!("generated/sqlx/10")),
    (100, sqlx::migrate!("generated/sqlx/100")),
    (1000, sqlx::migrate!("generated/sqlx/1000")),
];
const DIESEL_10: EmbeddedMigrations = diesel_migrations::embed_migrations!("generated/diesel/10");
const DIESEL_100: EmbeddedMigrations = diesel_migrations::embed_migrations!("generated/diesel/100");
const DIESEL_1000: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("generated/diesel/1000");

pub fn tidemark(n: usize) -> &'static tidemark::Migrations {
    &TIDEMARK.iter().find(|(k, _)| *k == n).unwrap().1
}

pub fn sqlx(n: usize) -> &'static sqlx::migrate::Migrator {
    &SQLX.iter().find(|(k, _)| *k == n).unwrap().1
}

pub fn diesel(n: usize) -> EmbeddedMigrations {
    match n {
        10 => DIESEL_10,
        100 => DIESEL_100,
        _ => DIESEL_1000,
    }
}

pub fn refinery(n: usize) -> refinery::Runner {
    match n {
        10 => refinery_10::migrations::runner(),
        100 => refinery_100::migrations::runner(),
        _ => refinery_1000::migrations::runner(),
    }
}

/// Every tool in the comparison; `Limit` is all scripts sent as one `batch_execute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Limit,
    Tidemark,
    Sqlx,
    Refinery,
    Diesel,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::Limit,
        Tool::Tidemark,
        Tool::Sqlx,
        Tool::Refinery,
        Tool::Diesel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Limit => "one batch (limit)",
            Tool::Tidemark => "tidemark",
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
            Tool::Diesel => "diesel_migrations",
        }
    }
}

/// Where a tool connects: the server's socket, or the round-trip counter's TCP port.
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    /// libpq/sqlx URL of the same database.
    pub url: String,
}

/// Called after connecting and after each run (the round-trip count reads the counter there).
pub type Hook = Arc<dyn Fn() + Send + Sync>;

/// Connects `tool` to `target`, then applies what is pending `times` times (the first run
/// applies everything, later runs find nothing to do) and returns each run's duration.
pub async fn apply(tool: Tool, n: usize, target: &Target, times: usize) -> Vec<Duration> {
    apply_with(tool, n, target, times, Arc::new(|| {})).await
}

/// [`apply`], calling `hook` after connecting and after each run.
pub async fn apply_with(
    tool: Tool,
    n: usize,
    target: &Target,
    times: usize,
    hook: Hook,
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(times);
    match tool {
        Tool::Limit => {
            let client = connect(&target.config).await;
            let all: String = tidemark(n)
                .iter()
                .map(|m| m.up().sql())
                .collect::<Vec<_>>()
                .join("\n");
            hook();
            let t = Instant::now();
            client.batch_execute(&all).await.unwrap();
            out.push(t.elapsed());
            hook();
        }
        Tool::Tidemark => {
            let manager = tidemark::deadpool_postgres::Manager::new(
                target.config.clone(),
                tokio_postgres::NoTls,
            );
            let pool = tidemark::deadpool_postgres::Pool::builder(manager)
                .max_size(4)
                .build()
                .unwrap();
            // Connected beforehand, as every tool is: with a pool, tidemark works on two
            // sessions (one holds the lock in its transaction, the other runs the migrations).
            let warm = (pool.get().await.unwrap(), pool.get().await.unwrap());
            drop(warm);
            hook();
            for _ in 0..times {
                let t = Instant::now();
                tidemark(n).migrator().run(&pool).await.unwrap();
                out.push(t.elapsed());
                hook();
            }
        }
        Tool::Sqlx => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect(&target.url)
                .await
                .unwrap();
            hook();
            for _ in 0..times {
                let t = Instant::now();
                sqlx(n).run(&pool).await.unwrap();
                out.push(t.elapsed());
                hook();
            }
        }
        Tool::Refinery => {
            let mut client = connect(&target.config).await;
            hook();
            for _ in 0..times {
                let t = Instant::now();
                refinery(n).run_async(&mut client).await.unwrap();
                out.push(t.elapsed());
                hook();
            }
        }
        Tool::Diesel => {
            let url = target.url.clone();
            out = tokio::task::spawn_blocking(move || {
                let mut conn = diesel::PgConnection::establish(&url).unwrap();
                hook();
                (0..times)
                    .map(|_| {
                        let t = Instant::now();
                        conn.run_pending_migrations(diesel(n)).unwrap();
                        let d = t.elapsed();
                        hook();
                        d
                    })
                    .collect()
            })
            .await
            .unwrap();
        }
    }
    out
}

pub async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Applies the first `keep` migrations of the `n`-set with `tool`, through its own targeted
/// run (setting up a database for the deploy case; not measured). Connections are closed when
/// it returns, so the database can serve as a template.
pub async fn apply_first(tool: Tool, n: usize, keep: usize, target: &Target) {
    match tool {
        Tool::Limit => {
            let client = connect(&target.config).await;
            let first: String = tidemark(n)
                .iter()
                .take(keep)
                .map(|m| m.up().sql())
                .collect::<Vec<_>>()
                .join("\n");
            client.batch_execute(&first).await.unwrap();
        }
        Tool::Tidemark => {
            let (client, connection) = target.config.connect(tokio_postgres::NoTls).await.unwrap();
            let conn = tokio::spawn(connection);
            tidemark(n)
                .migrator()
                .target(tidemark::Target::version(keep))
                .run(&client)
                .await
                .unwrap();
            drop(client);
            let _ = conn.await;
        }
        Tool::Sqlx => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&target.url)
                .await
                .unwrap();
            sqlx(n)
                .run_to(i64::try_from(keep).unwrap(), &pool)
                .await
                .unwrap();
            pool.close().await;
        }
        Tool::Refinery => {
            let (mut client, connection) =
                target.config.connect(tokio_postgres::NoTls).await.unwrap();
            let conn = tokio::spawn(connection);
            refinery(n)
                .set_target(refinery::Target::Version(keep.try_into().unwrap()))
                .run_async(&mut client)
                .await
                .unwrap();
            drop(client);
            let _ = conn.await;
        }
        Tool::Diesel => {
            let url = target.url.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = diesel::PgConnection::establish(&url).unwrap();
                for _ in 0..keep {
                    conn.run_next_migration(diesel(n)).unwrap();
                }
            })
            .await
            .unwrap();
        }
    }
}
