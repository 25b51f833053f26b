#![deny(deprecated)]
static MIGRATIONS: tidemark::Migrations =
    tidemark::embed_migrations!("tests/lint/fixtures/every-rule", allow = ["*"]);

fn main() {
    assert_eq!(MIGRATIONS.len(), 3);
}
