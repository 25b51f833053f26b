static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/every-error-in-one-build");

fn main() {
    let _ = MIGRATIONS.len();
}
