static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/lockfile-disagrees");

fn main() {
    let _ = MIGRATIONS.len();
}
