static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/data-tests");

#[tidemark::test(migrations = MIGRATIONS, at = "3")]
async fn at_three(_db: &tidemark::testing::TestDatabase) {}

fn main() {}
