static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/duplicate-version");

fn main() {
    let _ = MIGRATIONS.len();
}
