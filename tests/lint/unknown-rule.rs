static MIGRATIONS: tidemark::Migrations =
    tidemark::embed_migrations!("tests/lint/fixtures/denied", allow = ["ban-drop-tables"]);

fn main() {
    let _ = MIGRATIONS.len();
}
