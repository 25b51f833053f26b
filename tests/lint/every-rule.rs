#![deny(deprecated)]
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/lint/fixtures/every-rule");

fn main() {
    let _ = MIGRATIONS.len();
}
