static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/rollback-without-forward");

fn main() {
    let _ = MIGRATIONS.len();
}
