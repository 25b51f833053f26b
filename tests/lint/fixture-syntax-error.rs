// With `syntax`, a fixture is parsed with the PostgreSQL grammar during the build.
static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("tests/ui/fixtures/data-tests");

#[tidemark::test(at = "V2", fixtures("tests/ui/fixtures/data-tests-rows/syntax-error.sql"))]
async fn loads_rows(_db: &tidemark::testing::TestDatabase) {}

fn main() {}
