static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/vacuum-in-transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
