static MIGRATIONS: tidemark::Migrations =
    tidemark::embed_migrations!("tests/ui/fixtures/checkpoint-changed-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
