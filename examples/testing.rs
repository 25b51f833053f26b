//! The testing kit in use: `cargo run --example testing`.
//!
//! In a real project these are `#[tidemark::test]` functions in `tests/`; see
//! `tests/it/testing_kit.rs`. Here the same calls run once, with what they do printed.

use std::time::Instant;
use tidemark::testing::{assert_reversible, TestDatabase};
use tidemark::{Migrations, Target};

static MIGRATIONS: Migrations = tidemark::embed_migrations!("examples/migrations");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The first database builds the template (migrated once); later ones are clones.
    let t = Instant::now();
    let first = TestDatabase::new(&MIGRATIONS).await?;
    println!(
        "first TestDatabase (starts the server, builds the template): {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    let second = TestDatabase::new(&MIGRATIONS).await?;
    println!(
        "second TestDatabase (a clone):                             {:.1?}",
        t.elapsed()
    );

    let c = first.pool().get().await?;
    c.execute("INSERT INTO users (email) VALUES ('ada@example.com')", &[])
        .await?;
    let seen: i64 = second
        .pool()
        .get()
        .await?
        .query_one("SELECT count(*) FROM users", &[])
        .await?
        .get(0);
    println!(
        "a row written in {} is visible in {}: {}",
        first.name(),
        second.name(),
        seen > 0
    );

    // Test one migration's effect on data: stop at version 1, insert, move on.
    let at_one = TestDatabase::at_version(&MIGRATIONS, 1).await?;
    let c = at_one.pool().get().await?;
    c.execute(
        "INSERT INTO users (email) VALUES ('dup@example.com'), ('dup@example.com')",
        &[],
    )
    .await?;
    match at_one.migrate(&MIGRATIONS, Target::Latest).await {
        Err(e) => println!("\nmigrating duplicate emails past version 3 fails, as it should:\n{e}"),
        Ok(_) => println!("\nunexpected: the unique index accepted duplicates"),
    }

    // Every rollback undoes its forward script.
    assert_reversible(&MIGRATIONS).await;
    println!(
        "\nassert_reversible: every rollback in examples/migrations undoes its forward script"
    );
    Ok(())
}
