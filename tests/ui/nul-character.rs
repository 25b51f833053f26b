static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/nul-character");

fn main() {
    let _ = MIGRATIONS.len();
}
