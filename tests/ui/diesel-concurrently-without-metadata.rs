static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/diesel-concurrently-without-metadata");

fn main() {
    let _ = MIGRATIONS.len();
}
