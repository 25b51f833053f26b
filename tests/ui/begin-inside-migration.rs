static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/begin-inside-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
