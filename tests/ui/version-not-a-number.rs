static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/version-not-a-number");

fn main() {
    let _ = MIGRATIONS.len();
}
