static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/rollback-statement-inside-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
