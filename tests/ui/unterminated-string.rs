static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unterminated-string");

fn main() {
    let _ = MIGRATIONS.len();
}
