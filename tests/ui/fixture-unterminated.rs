static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/data-tests");

#[tidemark::test(at = "2", fixtures("tests/ui/fixtures/data-tests-rows/unterminated.sql"))]
async fn loads_rows(_db: &tidemark::testing::TestDatabase) {}

fn main() {}
