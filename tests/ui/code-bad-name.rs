static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/code-bad-name");

fn main() {
    let _ = MIGRATIONS.len();
}
