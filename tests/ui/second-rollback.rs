static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/second-rollback");

fn main() {
    let _ = MIGRATIONS.len();
}
