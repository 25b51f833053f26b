static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/non-utf8");

fn main() {
    let _ = MIGRATIONS.len();
}
