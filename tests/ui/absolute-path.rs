static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("/etc/migrations");

fn main() {
    let _ = MIGRATIONS.len();
}
