//! The scratch database that `schema`, `check --schema`, `drift` and `squash` build a schema
//! on (code migrations included, where the set has them compiled in): a new database on `--scratch-url`'s server (created, then dropped), or on a throwaway
//! cluster (`tidemark-cluster`) started from the machine's PostgreSQL binaries. Never
//! `DATABASE_URL`, which may well name production.

use std::sync::atomic::{AtomicU32, Ordering};
use tidemark::connect::ConnectOptions;
use tidemark::deadpool_postgres::Pool;
use tidemark::{Migrations, Target};
use tidemark_cluster::{Cluster, ClusterOptions};

/// Where the scratch database lives.
#[derive(clap::Args, Clone, Debug)]
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

/// What the schema file leaves out by choice.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct LeaveOutArgs {
    /// Leave the objects of this kind out of the file, where the file cannot write them
    /// (`operator class`, `foreign table`, `base type`, …: a refusal names the kind); the
    /// file's header lists each object left out. Repeatable.
    #[arg(long = "leave-out", value_name = "KIND")]
    pub(crate) kinds: Vec<String>,
}

/// A new, empty database, dropped by [`close`](Self::close) (and, with the throwaway cluster,
/// with the cluster when the process exits).
pub(crate) struct ScratchDatabase {
    pool: Pool,
    admin: Pool,
    name: String,
    _cluster: Option<Cluster>,
}

impl ScratchDatabase {
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Drops the database (best effort: a scratch database holds nothing of value).
    pub(crate) async fn close(self) {
        self.pool.close();
        if let Ok(admin) = self.admin.get().await {
            let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            let _ = admin.batch_execute(&drop).await;
        }
        self.admin.close();
    }
}

/// The server's admin connection options: `--scratch-url`'s, or a throwaway cluster's.
fn server(args: &ScratchArgs) -> Result<(ConnectOptions, Option<Cluster>), String> {
    if let Some(url) = args.scratch_url.as_deref().filter(|u| !u.is_empty()) {
        let options = ConnectOptions::parse(url).map_err(|e| format!("--scratch-url: {e}"))?;
        return Ok((options, None));
    }
    let cluster = Cluster::start(&ClusterOptions::default()).map_err(|e| {
        format!("no scratch server: {e} (or give one with --scratch-url / TIDEMARK_SCRATCH_URL)")
    })?;
    // libpq's key=value form, the socket directory quoted (a `PGTEST_TMPDIR` may hold spaces).
    let dir = cluster.socket_dir().display().to_string();
    let options = ConnectOptions::parse(&format!(
        "host='{}' port={} user=postgres dbname=postgres sslmode=disable",
        dir.replace('\\', "\\\\").replace('\'', "\\'"),
        cluster.port()
    ))
    .map_err(|e| e.to_string())?;
    Ok((options, Some(cluster)))
}

/// A new, empty scratch database.
pub(crate) async fn database(args: &ScratchArgs) -> Result<ScratchDatabase, String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let (options, cluster) = server(args)?;
    let fail = |e: tidemark::Error| format!("no scratch database: {e}");
    let admin = options.pool(1).map_err(fail)?;
    let name = format!(
        "tidemark_scratch_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .get()
        .await
        .map_err(|e| fail(e.into()))?
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .map_err(|e| format!("no scratch database: {e}"))?;
    let pool = options.with_dbname(&name).pool(2).map_err(fail)?;
    Ok(ScratchDatabase {
        pool,
        admin,
        name,
        _cluster: cluster,
    })
}

/// The schema `set` makes at `target`, rendered under `header`, built on a scratch database
/// that is dropped afterwards.
pub(crate) async fn render(
    set: &Migrations,
    target: Target,
    header: &str,
    args: &ScratchArgs,
    leave_out: &LeaveOutArgs,
) -> Result<String, String> {
    let db = database(args).await?;
    let result = async {
        set.migrator()
            .target(target)
            .run(db.pool())
            .await
            .map_err(|e| format!("migrating the scratch database: {e}"))?;
        let client = db.pool().get().await.map_err(|e| e.to_string())?;
        let mut schema = tidemark::schema::Schema::read(&client, "public", "tidemark_history")
            .await
            .map_err(|e| e.to_string())?;
        schema.leave_out(leave_out.kinds.iter().cloned());
        schema.to_sql(header).map_err(|e| e.to_string())
    }
    .await;
    db.close().await;
    result
}
