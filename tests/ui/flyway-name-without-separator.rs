static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/flyway-name-without-separator");

fn main() {
    let _ = MIGRATIONS.len();
}
