static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/diesel-directory-bad-name");

fn main() {
    let _ = MIGRATIONS.len();
}
