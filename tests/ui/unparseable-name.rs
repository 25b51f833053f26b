static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unparseable-name");

fn main() {
    let _ = MIGRATIONS.len();
}
