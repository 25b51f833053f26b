static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/reindex-concurrently-in-transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
