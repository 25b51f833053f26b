//! What the verbs print: tables for people, coloured by line where stdout is a terminal
//! (anstream strips the colour otherwise, and honours `NO_COLOR`), JSON for machines. Nothing
//! here panics on a closed stdout (`tidemark status | head -1`): a failed write is dropped.

use anstyle::{AnsiColor, Color, Style};
use serde_json::{json, Value};
use std::io::Write;
use tidemark::Error;
use tidemark::RepairReport;
use tidemark::Report;
use tidemark::{State, Status};

const GREEN: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Green)));
const YELLOW: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));
const RED: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Red)));
const BOLD: Style = Style::new().bold();
const BOLD_RED: Style = Style::new()
    .bold()
    .fg_color(Some(Color::Ansi(AnsiColor::Red)));

pub(crate) struct Output {
    json: bool,
}

/// One line on stdout, in a style; a closed stdout is not an error worth a panic.
fn out(style: Style, text: &str) {
    let _ = writeln!(anstream::stdout(), "{style}{text}{style:#}");
}

/// One line on stderr, in a style.
pub(crate) fn err(style: Style, text: &str) {
    let _ = writeln!(anstream::stderr(), "{style}{text}{style:#}");
}

pub(crate) fn plain(text: &str) {
    out(Style::new(), text);
}

/// `1 migration`, `2 migrations`.
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Warnings as JSON: `{"kind": "future_versions", "message": "…"}`.
fn warnings_json(warnings: &[tidemark::Warning]) -> Vec<Value> {
    warnings
        .iter()
        .map(|w| json!({ "kind": w.kind(), "message": w.to_string() }))
        .collect()
}

/// Warnings for people, on stderr: the library never prints, the command line does.
fn say_warnings(warnings: &[tidemark::Warning]) {
    for w in warnings {
        err(YELLOW, &format!("warning: {w}"));
    }
}

/// A live instance as JSON.
fn instance_json(i: &tidemark::LiveInstance) -> Value {
    json!({
        "id": i.id, "application": i.application, "host": i.host, "pid": i.pid,
        "newest_version": i.newest_version, "contracts": i.contracts,
        "started_at": i.started_at, "last_seen": i.last_seen,
        "expires_in_ms": u64::try_from(i.expires_in.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Waiting contract migrations as JSON, each with the instances that hold it.
fn waiting_json(waiting: &[tidemark::WaitingContract]) -> Vec<Value> {
    waiting
        .iter()
        .map(|w| {
            json!({
                "version": w.version, "name": w.name, "path": w.path,
                "holders": w.holders.iter().map(instance_json).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn steps_json(report: &Report) -> Vec<Value> {
    report
        .steps
        .iter()
        .map(|s| {
            json!({
                "version": s.version, "name": s.name, "direction": s.direction.to_string(),
                "path": s.path, "duration_ms": s.duration.as_secs_f64() * 1000.0,
            })
        })
        .collect()
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn json(&self) -> bool {
        self.json
    }

    pub(crate) fn status(&self, status: &Status) {
        if self.json {
            let migrations: Vec<Value> = status
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "version": e.version, "name": e.name, "state": e.state.to_string(),
                        "applied_at": e.applied_at, "execution_ms": e.execution_ms, "path": e.path,
                        "kind": e.kind.as_str(), "phase": e.phase.as_str(),
                    })
                })
                .collect();
            plain(
                &json!({
                    "migrations": migrations, "up_to_date": status.is_up_to_date(),
                    "warnings": warnings_json(&status.warnings),
                    "instances": status.instances.iter().map(instance_json).collect::<Vec<_>>(),
                })
                .to_string(),
            );
            return;
        }
        say_warnings(&status.warnings);
        if status.entries.is_empty() {
            plain("no migrations, and nothing in history");
            return;
        }
        let table = status.to_string();
        for (i, line) in table.lines().enumerate() {
            let entry = i.checked_sub(1).and_then(|k| status.entries.get(k));
            let style = match entry.map(|e| e.state) {
                Some(State::Applied) => GREEN,
                Some(State::Pending | State::Future) => YELLOW,
                Some(_) => RED,
                None => BOLD,
            };
            out(style, line);
        }
    }

    /// A run's report; `noop` is what to say when nothing had to be done.
    pub(crate) fn report(&self, report: &Report, dry_run: bool, noop: Option<&str>) {
        if self.json {
            let skipped: Vec<Value> = report
                .skipped
                .iter()
                .map(|s| {
                    json!({
                        "version": s.version, "name": s.name, "direction": s.direction.to_string(),
                        "path": s.path, "reason": s.reason.to_string(),
                    })
                })
                .collect();
            plain(
                &json!({
                    "steps": steps_json(report), "noop": report.is_noop(), "dry_run": dry_run,
                    "skipped": skipped, "warnings": warnings_json(&report.warnings),
                    "waiting": waiting_json(&report.waiting),
                })
                .to_string(),
            );
            return;
        }
        say_warnings(&report.warnings);
        if report.is_noop() && report.waiting.is_empty() {
            plain(noop.unwrap_or("nothing to do: the database is up to date"));
            return;
        }
        for line in report.to_string().lines() {
            plain(line);
        }
        if dry_run && !report.steps.is_empty() {
            out(YELLOW, "dry run: everything above was rolled back");
        }
        if dry_run && !report.skipped.is_empty() {
            out(
                YELLOW,
                &format!(
                    "dry run: {} not run (see above); a real `up` runs them",
                    count(report.skipped.len(), "migration")
                ),
            );
        }
    }

    /// `instances`: the live registered instances.
    pub(crate) fn instances(&self, instances: &[tidemark::LiveInstance]) {
        if self.json {
            let list: Vec<Value> = instances.iter().map(instance_json).collect();
            plain(&json!({ "instances": list }).to_string());
            return;
        }
        if instances.is_empty() {
            plain("no live registered instance");
            return;
        }
        for i in instances {
            plain(&format!(
                "{i}, contracts [{}], last seen {}, expires in {} ms",
                i.contracts.join(", "),
                i.last_seen,
                i.expires_in.as_millis()
            ));
        }
    }

    pub(crate) fn baselined(&self, versions: &[String]) {
        if self.json {
            plain(&json!({ "baselined": versions }).to_string());
        } else if versions.is_empty() {
            plain("nothing recorded");
        } else {
            plain(&format!(
                "recorded {} as applied without running: {}",
                count(versions.len(), "migration"),
                versions.join(", ")
            ));
        }
    }

    pub(crate) fn adopted(&self, r: &tidemark::AdoptReport) {
        if self.json {
            plain(
                &json!({
                    "tool": r.tool.name(),
                    "table": r.table,
                    "adopted": r.adopted,
                    "already_recorded": r.already_recorded,
                    "pending": r.pending,
                })
                .to_string(),
            );
            return;
        }
        if r.adopted.is_empty() && !r.already_recorded.is_empty() {
            plain(&format!(
                "already adopted: tidemark's history has the {} {} applied",
                count(r.already_recorded.len(), "migration"),
                r.tool
            ));
        } else {
            plain(&format!(
                "adopted {} from {} ({}) as applied without running them",
                count(r.adopted.len(), "migration"),
                r.table,
                r.tool
            ));
        }
        if r.pending.is_empty() {
            plain("nothing pending");
        } else {
            plain(&format!(
                "{} pending, for the next `up`: {}",
                count(r.pending.len(), "migration"),
                r.pending.join(", ")
            ));
        }
    }

    pub(crate) fn repair(&self, r: &RepairReport) {
        if self.json {
            plain(
                &json!({ "removed_failed": r.removed_failed, "realigned": r.realigned })
                    .to_string(),
            );
            return;
        }
        if r.removed_failed.is_empty() && r.realigned.is_empty() {
            plain("nothing to repair");
        }
        for v in &r.removed_failed {
            plain(&format!("removed the failed row of version {v}"));
        }
        for v in &r.realigned {
            plain(&format!("re-recorded the checksum of version {v}"));
        }
    }

    pub(crate) fn valid(&self) {
        if self.json {
            plain(&json!({ "valid": true }).to_string());
        } else {
            plain("history is consistent with the migrations");
        }
    }

    /// A failure, with `message` (the CLI's wording) and what the run committed before it.
    pub(crate) fn error(&self, e: &Error, message: &str) {
        let path = e.path();
        let (line, column) = match e {
            Error::MigrationFailed(f) => (f.line, f.column),
            _ => e
                .position()
                .map_or((None, None), |(l, c)| (Some(l), Some(c))),
        };
        let committed = e.partial_report();
        if self.json {
            let mut doc = error_json(
                e.kind(),
                message,
                e.migration(),
                e.sqlstate(),
                path,
                line,
                column,
            );
            if let Some(r) = committed {
                doc["committed"] = json!(steps_json(r));
            }
            plain(&doc.to_string());
            return;
        }
        if let Some(r) = committed {
            if r.steps.is_empty() {
                plain("nothing was committed before the failure");
            } else {
                plain(&format!(
                    "committed before the failure ({}):",
                    count(r.steps.len(), "migration")
                ));
                for line in r.to_string().lines() {
                    plain(line);
                }
            }
        }
        let _ = writeln!(anstream::stderr(), "{BOLD_RED}error:{BOLD_RED:#} {message}");
    }

    pub(crate) fn error_text(&self, kind: &str, message: &str) {
        if self.json {
            plain(&error_json(kind, message, None, None, None, None, None).to_string());
        } else {
            let _ = writeln!(anstream::stderr(), "{BOLD_RED}error:{BOLD_RED:#} {message}");
        }
    }
}

/// The JSON error document: every key always present, `null` when unknown.
fn error_json(
    kind: &str,
    message: &str,
    version: Option<&str>,
    sqlstate: Option<&str>,
    path: Option<&str>,
    line: Option<usize>,
    column: Option<usize>,
) -> Value {
    json!({ "error": {
        "kind": kind, "message": message, "version": version, "sqlstate": sqlstate,
        "path": path, "line": line, "column": column,
    }})
}
