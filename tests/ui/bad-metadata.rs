static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/bad-metadata");

fn main() {
    let _ = MIGRATIONS.len();
}
