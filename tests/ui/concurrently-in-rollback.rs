static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/concurrently-in-rollback");

fn main() {
    let _ = MIGRATIONS.len();
}
