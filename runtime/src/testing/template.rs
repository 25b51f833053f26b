//! Template databases: migrated once per (set digest, target), cloned per test.

use super::server::TestServer;
use super::{Fixture, TestError};
use crate::migrations::Migrations;
use crate::target::Target;
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// Serialises template builds across test processes; taken in the admin database, which every
/// process shares (advisory locks are per database).
const TEMPLATE_LOCK: i64 = 0x7469_6465_6d61_726b; // "tidemark"

/// The template's name: the set digest, for a version target the version, and the fixtures'
/// key.
pub(crate) fn template_name(set: &Migrations, target: &Target, fixtures: &[Fixture]) -> String {
    let digest = tidemark_core::to_hex(&set.digest()[..8]);
    let name = match target {
        Target::Latest => format!("tm_tmpl_{digest}"),
        Target::Initial => format!("tm_tmpl_{digest}_initial"),
        // Canonical, so `2`, `V2` and `002` share one template.
        Target::Version(v) => format!(
            "tm_tmpl_{digest}_v{}",
            set.order
                .canonical(v)
                .unwrap_or_else(|| v.clone())
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ),
    };
    name + &super::fixture::key(fixtures)
}

/// Templates this process has seen complete: asking the server again costs a round trip per test.
static KNOWN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static SERVER_VERSION: OnceLock<i32> = OnceLock::new();

/// Makes sure the template exists, building it under the cross-process lock if it does not.
pub(crate) async fn ensure(
    server: &TestServer,
    admin: &Client,
    set: &Migrations,
    target: &Target,
    fixtures: &[Fixture],
) -> Result<String, TestError> {
    let name = template_name(set, target, fixtures);
    if KNOWN.lock().is_ok_and(|k| k.contains(&name)) {
        return Ok(name);
    }
    if exists(admin, &name).await? {
        remember(&name);
        return Ok(name);
    }
    // The lock needs a session of its own: advisory locks are re-entrant within a session, and
    // the shared admin session serves every test of this process.
    let own = server.connect(server.admin_database()).await?;
    own.batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await?;
    let built = async {
        if !exists(&own, &name).await? {
            build(server, &own, (set, target, fixtures), &name).await?;
        }
        Ok::<_, TestError>(())
    }
    .await;
    let unlocked = own
        .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await;
    built?;
    unlocked?;
    remember(&name);
    Ok(name)
}

fn remember(name: &str) {
    if let Ok(mut k) = KNOWN.lock() {
        k.insert(name.to_owned());
    }
}

async fn exists(admin: &Client, name: &str) -> Result<bool, TestError> {
    Ok(admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some())
}

async fn build(
    server: &TestServer,
    admin: &Client,
    (set, target, fixtures): (&Migrations, &Target, &[Fixture]),
    name: &str,
) -> Result<(), TestError> {
    let building = format!("{name}_build");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{building}\""))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{building}\""))
        .await?;
    {
        let pool = server.pool(&building, 2);
        let loaded = async {
            set.migrator().target(target.clone()).run(&pool).await?;
            if !fixtures.is_empty() {
                let client = pool.get().await?;
                super::fixture::load(&client, fixtures).await?;
            }
            Ok::<_, TestError>(())
        }
        .await;
        pool.close();
        if let Err(e) = loaded {
            wait_disconnected(admin, &building, Duration::from_secs(10)).await?;
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{building}\""))
                .await?;
            return Err(e);
        }
    }
    wait_disconnected(admin, &building, Duration::from_secs(10)).await?;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
        ))
        .await?;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
        ))
        .await?;
    Ok(())
}

/// Waits until no backend is connected to `db` (backends exit asynchronously after a close); a
/// template cannot be renamed or cloned while anyone is connected.
pub(crate) async fn wait_disconnected(
    admin: &Client,
    db: &str,
    timeout: Duration,
) -> Result<(), TestError> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                &[&db],
            )
            .await?
            .get(0);
        if n == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Err(TestError::Busy {
        database: db.to_owned(),
        waited: timeout,
    })
}

/// `CREATE DATABASE … TEMPLATE …`, with `STRATEGY FILE_COPY` where the server has it (15+):
/// the fastest way to copy a small schema.
pub(crate) async fn clone(admin: &Client, template: &str, name: &str) -> Result<(), TestError> {
    let version = match SERVER_VERSION.get() {
        Some(v) => *v,
        None => {
            let row = admin
                .query_one("SELECT current_setting('server_version_num')::int", &[])
                .await?;
            *SERVER_VERSION.get_or_init(|| row.get(0))
        }
    };
    let strategy = if version >= 150_000 {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    admin
        .batch_execute(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"{strategy}"
        ))
        .await?;
    Ok(())
}
