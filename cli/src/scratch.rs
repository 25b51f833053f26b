//! The scratch database that `schema`, `check --schema`, `drift` and `squash` build a schema
//! on: a new database on `--scratch-url`'s server (created, then dropped), or on a throwaway
//! cluster started from the machine's PostgreSQL binaries, as the test suite does. Never
//! `DATABASE_URL`, which may well name production.

use tidemark::testing::{TestDatabase, URL_VARIABLE};
use tidemark::{Migrations, Target};

/// Where the scratch database lives.
#[derive(clap::Args, Clone)]
pub(crate) struct ScratchArgs {
    /// A server where tidemark may create, and then drop, a scratch database (default: a
    /// throwaway PostgreSQL started from the machine's binaries). DATABASE_URL is never used.
    #[arg(
        long,
        env = "TIDEMARK_SCRATCH_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) scratch_url: Option<String>,
}

/// Points the testing kit, which makes the scratch databases, at `--scratch-url`'s server or
/// at a throwaway one. Before the kit's first use: it reads its server once.
pub(crate) fn use_server(args: &ScratchArgs) {
    match args.scratch_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => std::env::set_var(URL_VARIABLE, url),
        None => std::env::remove_var(URL_VARIABLE),
    }
}

/// A new, empty scratch database.
pub(crate) async fn database(args: &ScratchArgs) -> Result<TestDatabase, String> {
    use_server(args);
    TestDatabase::empty()
        .await
        .map_err(|e| format!("no scratch database: {e}"))
}

/// The schema `set` makes at `target`, rendered under `header`, built on a scratch database
/// that is dropped afterwards.
pub(crate) async fn render(
    set: &Migrations,
    target: Target,
    header: &str,
    args: &ScratchArgs,
) -> Result<String, String> {
    let db = database(args).await?;
    let result = async {
        db.migrate(set, target)
            .await
            .map_err(|e| format!("migrating the scratch database: {e}"))?;
        let client = db.pool().get().await.map_err(|e| e.to_string())?;
        let schema = tidemark::schema::Schema::read(&client, "public", "tidemark_history")
            .await
            .map_err(|e| e.to_string())?;
        Ok(schema.to_sql(header))
    }
    .await;
    let _ = db.close().await;
    result
}
