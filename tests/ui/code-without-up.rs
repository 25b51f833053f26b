static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/code-without-up");

fn main() {
    let _ = MIGRATIONS.len();
}
