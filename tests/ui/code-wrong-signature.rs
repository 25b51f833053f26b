static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/code-wrong-signature");

fn main() {
    let _ = MIGRATIONS.len();
}
