//! A rolling deploy (design §11): expand at start-up, contract by itself once the previous
//! release is gone.
//!
//! Three releases of one application, each embedding its own migration set:
//! `examples/rolling_deploy/v1` (a `users` table with `name`), `v2` (expand: add
//! `display_name`, backfill it, keep both columns in step with a trigger; contract: drop `name`
//! and the trigger) and `v3` (another expand on top).
//!
//! ```sh
//! export DATABASE_URL=postgres://…
//! cargo run --example rolling_deploy -- serve --release 1 &   # migrated 1, serving
//! cargo run --example rolling_deploy -- serve --release 2 &   # migrated 2, waiting contract 3 …
//! kill %1                                                      # release 2: contracted 3
//! cargo run --example rolling_deploy -- --release 2 migrate instances
//! ```
//!
//! `serve` migrates, registers, prints one line per event (`migrated …`, `waiting contract …`,
//! `registered …`, `serving …` once its first query answered, `contracted …`) and serves a query that reads and writes the column its
//! release uses, every 20 ms, until SIGTERM or SIGINT; then it deregisters and prints what it
//! served.

use std::process::ExitCode;
use std::time::Duration;
use tidemark::{Instance, InstanceEvent, Migrations, Registration};
use tidemark_cli::clap::{self, Parser};

static V1: Migrations = tidemark::embed_migrations!("examples/rolling_deploy/v1");
static V2: Migrations = tidemark::embed_migrations!("examples/rolling_deploy/v2");
static V3: Migrations = tidemark::embed_migrations!("examples/rolling_deploy/v3");

#[derive(Parser)]
struct Cli {
    /// Which release this binary plays (1, 2 or 3): the migration set it embeds.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    release: u8,
    #[command(subcommand)]
    app: App,
}

#[derive(clap::Subcommand)]
enum App {
    /// Migrate, register, serve until SIGTERM.
    Serve {
        /// Connection string.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Heartbeat period in milliseconds.
        #[arg(long, default_value_t = 1000)]
        heartbeat_ms: u64,
        /// Time-to-live of this instance's row in milliseconds (default: three heartbeats).
        #[arg(long)]
        ttl_ms: Option<u64>,
    },
    /// The migration verbs, with this release's set (`migrate instances`, `migrate contract`).
    Migrate(tidemark_cli::MigrateArgs),
}

/// The set a release embeds.
fn set(release: u8) -> &'static Migrations {
    match release {
        1 => &V1,
        2 => &V2,
        _ => &V3,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.app {
        App::Migrate(args) => ExitCode::from(tidemark_cli::run(set(cli.release), &args).await),
        App::Serve {
            database_url,
            heartbeat_ms,
            ttl_ms,
        } => {
            let mut registration =
                Registration::new(format!("rolling_deploy release {}", cli.release))
                    .heartbeat(Duration::from_millis(heartbeat_ms));
            if let Some(ttl) = ttl_ms {
                registration = registration.time_to_live(Duration::from_millis(ttl));
            }
            match serve(cli.release, &database_url, registration).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    println!("error: {e}");
                    let code = match e {
                        tidemark::Error::MissingContract { .. } => {
                            tidemark_cli::exit::MISSING_CONTRACT
                        }
                        _ => tidemark_cli::exit::FAILURE,
                    };
                    ExitCode::from(code)
                }
            }
        }
    }
}

async fn serve(release: u8, url: &str, registration: Registration) -> Result<(), tidemark::Error> {
    let pool = tidemark::connect::pool(url)?;
    let migrator = set(release).migrator();
    let report = migrator.run(&pool).await?;
    for step in &report.steps {
        println!("migrated {} {}", step.version, step.name);
    }
    for w in &report.waiting {
        let holders: Vec<&str> = w.holders.iter().map(|h| h.id.as_str()).collect();
        println!(
            "waiting contract {} {} held by {}",
            w.version,
            w.name,
            holders.join(",")
        );
    }
    let instance = migrator.register(&pool, registration).await?;
    println!("registered {} release {release}", instance.id());
    let (served, failed) = serve_until_stopped(release, &pool, instance).await?;
    println!("stopped: served {served} queries, {failed} failed");
    Ok(())
}

/// Serves this release's query every 20 ms, printing the instance's events, until SIGTERM or
/// SIGINT; then deregisters. Returns how many queries ran and how many failed.
async fn serve_until_stopped(
    release: u8,
    pool: &tidemark::deadpool_postgres::Pool,
    mut instance: Instance,
) -> Result<(u64, u64), tidemark::Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    let column = if release == 1 { "name" } else { "display_name" };
    let query = format!(
        "INSERT INTO users ({column}) VALUES ('release {release}'); SELECT count({column}) FROM users"
    );
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let (mut served, mut failed) = (0, 0);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            event = instance.next_event() => match event {
                Some(InstanceEvent::Contracted(report)) => {
                    for step in &report.steps {
                        println!("contracted {} {}", step.version, step.name);
                    }
                }
                Some(InstanceEvent::Refused(e)) => {
                    println!("refused: {e}");
                    return Err(e);
                }
                Some(InstanceEvent::Failed(e)) => println!("heartbeat failed: {e}"),
                Some(InstanceEvent::Renewed) => println!("renewed {}", instance.id()),
                Some(_) => {}
                None => break,
            },
            _ = tick.tick() => {
                served += 1;
                let result = match pool.get().await {
                    Ok(client) => client.batch_execute(&query).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match result {
                    Err(e) => {
                        failed += 1;
                        println!("query failed: {e}");
                    }
                    Ok(()) if served == 1 => println!("serving release {release}"),
                    Ok(()) => {}
                }
            }
        }
    }
    instance.shutdown().await?;
    Ok((served, failed))
}
