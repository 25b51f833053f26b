static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unknown-directive");

fn main() {
    let _ = MIGRATIONS.len();
}
