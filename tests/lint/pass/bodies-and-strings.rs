#![deny(deprecated)]
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/lint/fixtures/bodies-and-strings");

fn main() {
    assert!(!MIGRATIONS.is_empty());
}
