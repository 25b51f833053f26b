//! Code migrations: SQL, then a Rust backfill that calls this program's own `email_domain` and
//! writes in batches, then SQL again (`examples/code_migrations/`).
//!
//! ```sh
//! cargo run --example code_migrations                           # a throwaway database: 1,200
//!                                                               # accounts at version 2, then up
//! cargo run --example code_migrations -- migrate status         # DATABASE_URL: the embedded
//! cargo run --example code_migrations -- migrate up             # verbs run the code too
//! cargo run --example code_migrations -- migrate schema -o schema.sql   # the schema verbs
//! cargo run --example code_migrations -- migrate drift          # (a scratch database:
//!                                                               # TIDEMARK_SCRATCH_URL or a
//!                                                               # throwaway server)
//! ```

use std::process::ExitCode;
use tidemark::testing::TestDatabase;
use tidemark_cli::clap::{self, Parser};

static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/code_migrations");

/// The application's own code, which `V3__backfill_domains.rs` calls.
pub fn email_domain(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

#[derive(Parser)]
enum App {
    /// Seed a throwaway database at version 2, migrate it, and show the domains.
    Demo,
    /// Manage the schema with the migrations built into this binary (code ones included).
    Migrate(tidemark_cli::MigrateArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let app = if std::env::args().len() > 1 {
        App::parse()
    } else {
        App::Demo
    };
    match app {
        App::Migrate(args) => ExitCode::from(tidemark_cli::run(&MIGRATIONS, &args).await),
        App::Demo => match demo().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDatabase::at_version(&MIGRATIONS, 2).await?;
    let client = db.pool().get().await?;
    client
        .execute(
            "INSERT INTO accounts (email) \
             SELECT 'user' || i || '@' || (ARRAY['Example.COM', 'mail.test', 'corp.example'])[i % 3 + 1] \
             FROM generate_series(1, 1200) AS i",
            &[],
        )
        .await?;
    let report = db.migrate(&MIGRATIONS, tidemark::Target::Latest).await?;
    println!("{report}");
    for row in client
        .query(
            "SELECT domain, count(*) FROM accounts GROUP BY domain ORDER BY domain",
            &[],
        )
        .await?
    {
        println!("{:<14} {}", row.get::<_, String>(0), row.get::<_, i64>(1));
    }
    drop(client);
    db.close().await?;
    Ok(())
}
