#![deny(deprecated)]
// A DROP COLUMN in an expand migration warns and names the `contract` directive; the same in a
// contract migration is quiet.
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/lint/fixtures/phases");

fn main() {
    let _ = MIGRATIONS.len();
}
