static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/does-not-exist");

fn main() {
    let _ = MIGRATIONS.len();
}
