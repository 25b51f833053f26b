//! What the verbs print: tables for people (colour only on a terminal, never with `NO_COLOR`),
//! JSON for machines, and progress lines while a run goes.

use crate::error::Error;
use crate::report::Report;
use crate::status::{RepairReport, State, Status};
use serde_json::{json, Value};
use std::future::Future;
use std::io::IsTerminal;
use tracing::instrument::WithSubscriber;

pub(super) struct Output {
    json: bool,
    color: bool,
}

impl Output {
    pub(super) fn new(json: bool) -> Self {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self { json, color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Runs `fut`, printing a line to stderr as each migration completes when a person is
    /// watching (stderr is a terminal and the output is not JSON).
    pub(super) async fn with_progress<F: Future>(&self, fut: F) -> F::Output {
        if self.json || !std::io::stderr().is_terminal() {
            return fut.await;
        }
        fut.with_subscriber(Progress).await
    }

    pub(super) fn status(&self, status: &Status) {
        if self.json {
            let migrations: Vec<Value> = status
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "version": e.version, "name": e.name, "state": e.state.to_string(),
                        "applied_at": e.applied_at, "execution_ms": e.execution_ms, "path": e.path,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({ "migrations": migrations, "up_to_date": status.is_up_to_date() })
            );
            return;
        }
        let table = status.to_string();
        for (i, line) in table.lines().enumerate() {
            let entry = i.checked_sub(1).and_then(|k| status.entries.get(k));
            let code = match entry.map(|e| e.state) {
                Some(State::Applied) => "32",
                Some(State::Pending) => "33",
                Some(_) => "31",
                None => "1",
            };
            println!("{}", self.paint(code, line));
        }
    }

    pub(super) fn report(&self, report: &Report, dry_run: bool) -> Result<u8, Error> {
        if self.json {
            let steps: Vec<Value> = report
                .steps
                .iter()
                .map(|s| {
                    json!({
                        "version": s.version, "name": s.name, "direction": s.direction.to_string(),
                        "path": s.path, "duration_ms": s.duration.as_secs_f64() * 1000.0,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({ "steps": steps, "noop": report.is_noop(), "dry_run": dry_run })
            );
        } else {
            print!("{report}");
            if dry_run && !report.is_noop() {
                println!(
                    "{}",
                    self.paint("33", "dry run: everything above was rolled back")
                );
            }
        }
        Ok(super::exit::OK)
    }

    pub(super) fn list(&self, key: &str, text: &str, items: &[String]) {
        if self.json {
            println!("{}", json!({ key: items }));
        } else if items.is_empty() {
            println!("nothing {text}");
        } else {
            println!("{} {text}: {}", items.len(), items.join(", "));
        }
    }

    pub(super) fn repair(&self, r: &RepairReport) {
        if self.json {
            println!(
                "{}",
                json!({ "removed_failed": r.removed_failed, "realigned": r.realigned })
            );
            return;
        }
        if r.removed_failed.is_empty() && r.realigned.is_empty() {
            println!("nothing to repair");
        }
        for v in &r.removed_failed {
            println!("removed the failed row of version {v}");
        }
        for v in &r.realigned {
            println!("re-recorded the checksum of version {v}");
        }
    }

    pub(super) fn valid(&self) {
        if self.json {
            println!("{}", json!({ "valid": true }));
        } else {
            println!("history is consistent with the migrations");
        }
    }

    pub(super) fn error(&self, e: &Error) {
        let kind = match e {
            Error::Pool(_) => "connection",
            Error::MigrationFailed(_) => "migration_failed",
            Error::Divergent { .. } => "divergent",
            Error::Missing { .. } => "missing",
            Error::OutOfOrder { .. } => "out_of_order",
            Error::NoRollback { .. } => "no_rollback",
            Error::UnknownTarget { .. } => "unknown_target",
            Error::LockTimeout { .. } => "lock_timeout",
            Error::Dirty { .. } => "dirty",
            Error::InvalidConfig { .. } => "config",
            _ => "database",
        };
        if self.json {
            let mut err = json!({ "kind": kind, "message": e.to_string(), "version": e.migration(), "sqlstate": e.sqlstate() });
            if let Error::MigrationFailed(f) = e {
                err["path"] = json!(f.path);
                err["line"] = json!(f.line);
                err["column"] = json!(f.column);
            }
            println!("{}", json!({ "error": err }));
        } else {
            // Display already carries the causes (see `error::chain`).
            let text = e.to_string();
            eprintln!("{} {text}", self.paint("1;31", "error:"));
        }
    }

    pub(super) fn error_text(&self, message: &str, kind: &str) {
        if self.json {
            println!(
                "{}",
                json!({ "error": { "kind": kind, "message": message } })
            );
        } else {
            eprintln!("{} {message}", self.paint("1;31", "error:"));
        }
    }
}

/// A tracing subscriber that turns tidemark's own events into progress lines on stderr.
struct Progress;

impl tracing::Subscriber for Progress {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        m.target().starts_with("tidemark")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        #[derive(Default)]
        struct Fields(Vec<(&'static str, String)>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0
                    .push((f.name(), format!("{v:?}").trim_matches('"').to_owned()));
            }
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                self.0.push((f.name(), v.to_owned()));
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let get = |k: &str| {
            fields
                .0
                .iter()
                .find(|(n, _)| *n == k)
                .map_or("", |(_, v)| v.as_str())
        };
        match get("message") {
            "applied" => eprintln!(
                "  {:<4} {:<14} {}  ({})",
                get("direction"),
                get("version"),
                get("name"),
                get("duration")
            ),
            "waiting for the migration lock" => eprintln!(
                "  waiting for the migration lock, held by {}",
                get("holder")
            ),
            _ => {}
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
