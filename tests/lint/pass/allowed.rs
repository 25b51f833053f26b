#![deny(deprecated)]
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/lint/fixtures/allowed");

fn main() {
    assert!(!MIGRATIONS.is_empty());
}
