static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/version-too-large");

fn main() {
    let _ = MIGRATIONS.len();
}
