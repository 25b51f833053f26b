static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/alter-system-in-transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
