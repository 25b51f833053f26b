//! A self-migrating binary: the schema travels inside it.
//!
//! ```sh
//! cargo run --example self_migrating -- serve            # migrates at start-up, then serves
//! cargo run --example self_migrating -- migrate status   # the same verbs as the tidemark CLI
//! cargo run --example self_migrating -- migrate down 1 --json
//! ```
//!
//! With no DATABASE_URL, `serve` starts a throwaway PostgreSQL like the quickstart does.

use std::process::ExitCode;
use tidemark_cli::clap::{self, Parser};

static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");

#[derive(Parser)]
enum App {
    /// Migrate the database (one round trip when it is up to date), then serve.
    Serve {
        /// Connection string.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Manage the schema with the migrations built into this binary.
    Migrate(tidemark_cli::MigrateArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    match App::parse() {
        App::Migrate(args) => ExitCode::from(tidemark_cli::run(&MIGRATIONS, &args).await),
        App::Serve { database_url } => match serve(database_url).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(url: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    // Without DATABASE_URL: a throwaway database on the testing kit's server, for the demo.
    let mut demo = None;
    let pool = match url {
        // TLS as the URL's sslmode and sslrootcert say.
        Some(url) => tidemark::connect::pool(&url)?,
        None => demo
            .insert(tidemark::testing::TestDatabase::empty().await?)
            .pool()
            .clone(),
    };
    let report = MIGRATIONS.migrator().run(&pool).await?;
    if report.is_noop() {
        println!("schema up to date");
    } else {
        println!("applied {} migrations", report.steps.len());
    }
    println!("serving (this example stops here)");
    drop(demo);
    Ok(())
}
