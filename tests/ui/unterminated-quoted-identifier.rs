static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/unterminated-quoted-identifier");

fn main() {
    let _ = MIGRATIONS.len();
}
