static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/data-tests");

#[tidemark::test(fixtures("no-such-fixture.sql"))]
async fn loads_rows(_db: &tidemark::testing::TestDatabase) {}

fn main() {}
