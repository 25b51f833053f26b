//! The README's first command: `cargo run --example quickstart`.
//!
//! Uses the server in `TIDEMARK_TEST_DATABASE_URL`, or starts a throwaway PostgreSQL from the
//! binaries on the machine; creates a fresh database, applies `examples/migrations` to it, runs
//! again to show the one-round-trip no-op, and cleans up.

use std::time::Instant;
use tidemark::testing::{server, TestDatabase};

static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let server = server()?;
    let db = TestDatabase::empty().await?;
    println!(
        "PostgreSQL: {} ({}, ready in {:.0?})",
        db.url(),
        if server.is_private() {
            "throwaway cluster, removed at exit"
        } else {
            tidemark::testing::URL_VARIABLE
        },
        started.elapsed()
    );
    let pool = db.pool().clone();

    println!("\nEmbedded at build time: {} migrations", MIGRATIONS.len());
    for m in &MIGRATIONS {
        let rollback = if m.down().is_some() {
            "with rollback"
        } else {
            "no rollback"
        };
        let tx = if m.up().no_transaction() {
            ", no-transaction"
        } else {
            ""
        };
        println!("  {:<10} {:<20} {}{}", m.version(), m.name(), rollback, tx);
    }

    let t = Instant::now();
    let report = MIGRATIONS.migrator().run(&pool).await?;
    println!(
        "\nFirst run applied {} migrations in {:.1?}:\n{report}",
        report.steps.len(),
        t.elapsed()
    );

    let t = Instant::now();
    let again = MIGRATIONS.migrator().run(&pool).await?;
    println!(
        "Second run: {} (fast path: {}, {:.2?})",
        if again.is_noop() {
            "nothing to do"
        } else {
            "applied something?!"
        },
        again.fast_path,
        t.elapsed()
    );

    let client = pool.get().await?;
    let tables = client
        .query(
            "SELECT c.relname::text, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' ELSE 'index' END \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'i') ORDER BY 2, 1",
            &[],
        )
        .await?;
    println!("\nThe database now holds:");
    for row in tables {
        println!(
            "  {:<6} {}",
            row.get::<_, String>(1),
            row.get::<_, String>(0)
        );
    }
    drop(client);
    let name = db.name().to_owned();
    db.close().await?;
    if !server.is_private() {
        println!("\nDropped database {name}.");
    }
    Ok(())
}
