#![deny(deprecated)]
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/lint/fixtures/syntax-error");

fn main() {
    let _ = MIGRATIONS.len();
}
