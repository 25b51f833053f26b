static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unterminated-escape-string");

fn main() {
    let _ = MIGRATIONS.len();
}
