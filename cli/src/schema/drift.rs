//! `drift`: is a database's schema what its applied migrations make? The applied
//! migrations are run on a scratch database and the two catalogs compared object by object;
//! the database itself is only read.

use super::scratch::{self, ScratchArgs};
use crate::exit;
use crate::say;
use serde_json::json;
use tidemark::schema::Drift;
use tidemark::Migrations;

/// `drift`'s options.
#[derive(clap::Args, Clone, Debug)]
pub struct DriftArgs {
    /// The database to check (read only); `DATABASE_URL` works too.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: Option<String>,
    /// Schema of the history table.
    #[arg(long, default_value = "public")]
    schema: String,
    /// Name of the history table.
    #[arg(long, default_value = "tidemark_history")]
    table: String,
    #[command(flatten)]
    scratch: ScratchArgs,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(set: &Migrations, args: &DriftArgs) -> u8 {
    let Some(url) = args.database_url.as_deref().filter(|u| !u.is_empty()) else {
        say::error("no database: pass --database-url or set DATABASE_URL");
        return exit::USAGE;
    };
    let connect = match tidemark::connect::ConnectOptions::parse(url) {
        Ok(c) => c,
        Err(e) => {
            say::error(&e.to_string());
            return exit::CONNECTION;
        }
    };
    let target = connect.target();
    let pool = match connect.pool(2) {
        Ok(p) => p,
        Err(e) => {
            say::error(&e.to_string());
            return exit::CONNECTION;
        }
    };
    let scratch = match scratch::database(&args.scratch).await {
        Ok(db) => db,
        Err(e) => {
            say::error(&e);
            return exit::FAILURE;
        }
    };
    let result = set
        .migrator()
        .schema(args.schema.clone())
        .table(args.table.clone())
        .drift(&pool, scratch.pool())
        .await;
    scratch.close().await;
    pool.close();
    match result {
        Ok(drift) => {
            print(&drift, args.json);
            if drift.is_empty() {
                exit::OK
            } else {
                exit::DRIFTED
            }
        }
        Err(e) => {
            say::error(&crate::describe_error(&e, &target));
            crate::exit_code(&e)
        }
    }
}

fn print(drift: &Drift, json: bool) {
    if json {
        let items: Vec<_> = drift
            .differences
            .iter()
            .map(|d| {
                json!({
                    "drift": d.kind.as_str(), "object": d.object_kind, "name": d.name,
                    "expected": d.expected, "actual": d.actual,
                })
            })
            .collect();
        say::out(
            &json!({ "drifted": !drift.is_empty(), "differences": items, "notes": drift.notes })
                .to_string(),
        );
        return;
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout(), drift.to_string().as_bytes());
    for note in &drift.notes {
        say::err(&format!("note: {note}"));
    }
}
