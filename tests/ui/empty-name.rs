static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/empty-name");

fn main() {
    let _ = MIGRATIONS.len();
}
