#![deny(deprecated)]
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/lint/fixtures/denied", deny = ["ban-drop-table"]);

fn main() {
    let _ = MIGRATIONS.len();
}
