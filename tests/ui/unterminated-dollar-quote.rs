static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unterminated-dollar-quote");

fn main() {
    let _ = MIGRATIONS.len();
}
