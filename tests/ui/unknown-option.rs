static MIGRATIONS: tidemark::Migrations =
    tidemark::embed_migrations!("examples/migrations", skip = ["x.sql"]);

fn main() {
    let _ = MIGRATIONS.len();
}
