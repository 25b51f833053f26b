static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/misplaced-contract");

fn main() {
    let _ = MIGRATIONS.len();
}
