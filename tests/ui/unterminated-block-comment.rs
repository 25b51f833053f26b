static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unterminated-block-comment");

fn main() {
    let _ = MIGRATIONS.len();
}
