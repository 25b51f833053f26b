//! Every statement the registry runs, and the reads of its rows. Simple-query text with
//! literals, as the rest of the bookkeeping: one short statement per heartbeat works behind a
//! transaction-mode pooler.

use crate::error::Error;
use crate::history::Tables;
use crate::sql::{literal, text_array};
use crate::waiting::LiveInstance;
use std::time::Duration;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The registry table's suffix: `{table}_instances`, beside history.
pub(crate) const SUFFIX: &str = "_instances";

#[cfg(feature = "rolling")]
/// What one instance registers: who it is and what its set embeds.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) application: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) newest_version: Option<String>,
    pub(crate) set_digest: String,
    pub(crate) contracts: Vec<String>,
    pub(crate) ttl: Duration,
}

#[cfg(feature = "rolling")]
/// An interval literal of `d`, in whole milliseconds (at least one).
fn interval(d: Duration) -> String {
    format!("interval '{} milliseconds'", d.as_millis().max(1))
}

#[cfg(feature = "rolling")]
/// Creates the registry if it is missing: looked up first (a role that may not create anything
/// can still register in a registry an administrator made), a creation lost to a concurrent
/// registrant is not an error.
pub(crate) fn ensure_sql(tables: &Tables) -> Result<String, Error> {
    let r = tables.beside(SUFFIX)?;
    Ok(format!(
        "DO $tidemark$ BEGIN IF to_regclass({lit}) IS NULL THEN BEGIN \
         CREATE TABLE {r} (\n\
         \x20 id text PRIMARY KEY,\n\
         \x20 application text NOT NULL,\n\
         \x20 host text NOT NULL,\n\
         \x20 pid integer NOT NULL,\n\
         \x20 newest_version text,\n\
         \x20 set_digest text NOT NULL,\n\
         \x20 contracts text[] NOT NULL,\n\
         \x20 started_at timestamptz NOT NULL DEFAULT now(),\n\
         \x20 last_seen timestamptz NOT NULL DEFAULT now(),\n\
         \x20 expires_at timestamptz NOT NULL\n); \
         EXCEPTION WHEN duplicate_table OR unique_violation THEN NULL; END; END IF; END $tidemark$;\n",
        lit = literal(&r),
    ))
}

#[cfg(feature = "rolling")]
/// Registers `row` (or renews it, for an instance whose row expired), removing rows that expired
/// a day ago (instances killed without a clean shutdown).
pub(crate) fn register_sql(tables: &Tables, row: &Row) -> Result<String, Error> {
    let r = tables.beside(SUFFIX)?;
    Ok(format!(
        "DELETE FROM {r} WHERE expires_at < now() - interval '1 day';\n\
         INSERT INTO {r} (id, application, host, pid, newest_version, set_digest, contracts, expires_at) \
         VALUES ({id}, {app}, {host}, {pid}, {newest}, {digest}, {contracts}, now() + {ttl}) \
         ON CONFLICT (id) DO UPDATE SET last_seen = now(), expires_at = excluded.expires_at;\n",
        id = literal(&row.id),
        app = literal(&row.application),
        host = literal(&row.host),
        pid = row.pid,
        newest = row.newest_version.as_deref().map_or("NULL".to_owned(), literal),
        digest = literal(&row.set_digest),
        contracts = text_array(&row.contracts),
        ttl = interval(row.ttl),
    ))
}

#[cfg(feature = "rolling")]
/// One heartbeat: extends the instance's row if it is still alive, and returns two columns:
/// whether it was (`1` or `0`), and which of the contract migrations `waiting` no other live
/// instance lacks (their gates are open), comma-separated.
pub(crate) fn heartbeat_sql(
    tables: &Tables,
    id: &str,
    ttl: Duration,
    waiting: &[String],
) -> Result<String, Error> {
    let r = tables.beside(SUFFIX)?;
    let id = literal(id);
    Ok(format!(
        "WITH beat AS (UPDATE {r} SET last_seen = now(), expires_at = now() + {ttl} \
         WHERE id = {id} AND expires_at > now() RETURNING 1) \
         SELECT (SELECT count(*) FROM beat), array_to_string(ARRAY(SELECT c FROM unnest({waiting}) c \
         WHERE NOT EXISTS (SELECT FROM {r} o WHERE o.expires_at > now() AND o.id <> {id} \
         AND NOT (c = ANY (o.contracts)))), ',')",
        ttl = interval(ttl),
        waiting = text_array(waiting),
    ))
}

#[cfg(feature = "rolling")]
/// Removes the instance's row: a clean shutdown.
pub(crate) fn deregister_sql(tables: &Tables, id: &str) -> Result<String, Error> {
    Ok(format!(
        "DELETE FROM {} WHERE id = {}",
        tables.beside(SUFFIX)?,
        literal(id)
    ))
}

/// The live rows, oldest first.
fn live_sql(tables: &Tables) -> Result<String, Error> {
    let time =
        |c: &str| format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
    Ok(format!(
        "SELECT id, application, host, pid, newest_version, array_to_string(contracts, ','), {}, {}, \
         greatest(0, (extract(epoch FROM expires_at - now()) * 1000)::bigint) \
         FROM {} WHERE expires_at > now() ORDER BY started_at, id",
        time("started_at"),
        time("last_seen"),
        tables.beside(SUFFIX)?
    ))
}

/// The statement a contract step's transaction opens with: it fails, so the transaction applies
/// nothing, when a live instance other than `me` lacks `version` (the gate closed since it was
/// read). The failing cast takes the backend's pid so that the planner cannot fold it (a
/// constant cast would fail whatever the condition).
pub(crate) fn gate_check_sql(
    tables: &Tables,
    version: &str,
    me: Option<&str>,
) -> Result<String, Error> {
    let message = format!(
        "tidemark: contract {version} waits: a live instance registered since the gate was read lacks it (nothing of the migration ran; a later run, or a registered instance's heartbeat, applies it once that instance is gone); backend "
    );
    Ok(format!(
        "SELECT CASE WHEN EXISTS (SELECT FROM {r} WHERE expires_at > now(){not_me} \
         AND NOT ({v} = ANY (contracts))) THEN ({m} || pg_backend_pid())::int ELSE 0 END;\n",
        r = tables.beside(SUFFIX)?,
        not_me = me.map_or(String::new(), |id| format!(" AND id <> {}", literal(id))),
        v = literal(version),
        m = literal(&message),
    ))
}

/// Whether `e` is the refusal of [`gate_check_sql`]: the contract step ran nothing.
pub(crate) fn is_gate_refusal(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::INVALID_TEXT_REPRESENTATION)
        && e.as_db_error()
            .is_some_and(|d| d.message().contains("since the gate was read lacks it"))
}

/// The live instances; `None` when there is no registry (no instance ever registered).
pub(crate) async fn live(
    client: &Client,
    tables: &Tables,
) -> Result<Option<Vec<LiveInstance>>, Error> {
    let rows = match client.simple_query(&live_sql(tables)?).await {
        Ok(rows) => rows,
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            return Ok(None)
        }
        Err(e) => {
            return Err(crate::history::read::privilege_or(
                "reading the instance registry",
                format!("SELECT on {}", tables.beside(SUFFIX)?),
                e,
            ))
        }
    };
    let text =
        |r: &tokio_postgres::SimpleQueryRow, i: usize| r.get(i).unwrap_or_default().to_owned();
    Ok(Some(
        rows.iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(LiveInstance {
                    id: text(r, 0),
                    application: text(r, 1),
                    host: text(r, 2),
                    pid: text(r, 3).parse().unwrap_or_default(),
                    newest_version: r.get(4).map(str::to_owned),
                    contracts: text(r, 5)
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    started_at: text(r, 6),
                    last_seen: text(r, 7),
                    expires_in: Duration::from_millis(text(r, 8).parse().unwrap_or_default()),
                }),
                _ => None,
            })
            .collect(),
    ))
}

/// The applied contract migrations among `versions` (history rows whose `phase` says so; a
/// history table without the column has none).
pub(crate) async fn applied_contracts(
    client: &Client,
    tables: &Tables,
    versions: &[String],
) -> Result<Vec<(String, String)>, Error> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT version, name FROM {h} h WHERE version = ANY ({v}) \
         AND to_jsonb(h) ->> 'phase' = 'contract' ORDER BY version_key, version",
        h = tables.history(),
        v = text_array(versions),
    );
    let rows = match client.simple_query(&sql).await {
        Ok(rows) => rows,
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(Error::db("reading the phases of history")(e)),
    };
    Ok(rows
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((
                r.get(0).unwrap_or_default().to_owned(),
                r.get(1).unwrap_or_default().to_owned(),
            )),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_extends_only_a_live_row_and_asks_which_gates_are_open() {
        let t = Tables::new("app", "h").unwrap();
        let sql = heartbeat_sql(&t, "me", Duration::from_secs(3), &["3".to_owned()]).unwrap();
        assert!(sql.contains("UPDATE \"app\".\"h_instances\" SET last_seen = now(), expires_at = now() + interval '3000 milliseconds' WHERE id = 'me' AND expires_at > now()"), "{sql}");
        assert!(sql.contains("unnest(ARRAY['3']::text[])"), "{sql}");
        assert!(sql.contains("o.id <> 'me'"), "{sql}");
        let check = gate_check_sql(&t, "3", None).unwrap();
        assert!(
            !check.contains("id <>"),
            "a runner that did not register excludes no one"
        );
        let long = Tables::new("public", &"t".repeat(57)).unwrap();
        assert!(matches!(ensure_sql(&long), Err(Error::InvalidName { .. })));
    }
}
