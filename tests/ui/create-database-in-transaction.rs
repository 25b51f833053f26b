static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/create-database-in-transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
