static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/code-client-without-directive");

fn main() {
    let _ = MIGRATIONS.len();
}
