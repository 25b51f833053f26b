//! What the verbs print: tables for people, coloured by line where stdout is a terminal
//! (anstream strips the colour otherwise, and honours `NO_COLOR`), JSON for machines. Nothing
//! here panics on a closed stdout (`tidemark status | head -1`): a failed write is dropped.

use crate::error::Error;
use crate::maintenance::RepairReport;
use crate::report::Report;
use crate::status::{State, Status};
use anstyle::{AnsiColor, Color, Style};
use serde_json::{json, Value};
use std::io::Write;

const GREEN: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Green)));
const YELLOW: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));
const RED: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Red)));
const BOLD: Style = Style::new().bold();
const BOLD_RED: Style = Style::new()
    .bold()
    .fg_color(Some(Color::Ansi(AnsiColor::Red)));

pub(super) struct Output {
    json: bool,
}

/// One line on stdout, in a style; a closed stdout is not an error worth a panic.
fn out(style: Style, text: &str) {
    let _ = writeln!(anstream::stdout(), "{style}{text}{style:#}");
}

/// One line on stderr, in a style.
pub(super) fn err(style: Style, text: &str) {
    let _ = writeln!(anstream::stderr(), "{style}{text}{style:#}");
}

fn plain(text: &str) {
    out(Style::new(), text);
}

impl Output {
    pub(super) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(super) fn json(&self) -> bool {
        self.json
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
            plain(
                &json!({ "migrations": migrations, "up_to_date": status.is_up_to_date() })
                    .to_string(),
            );
            return;
        }
        let table = status.to_string();
        for (i, line) in table.lines().enumerate() {
            let entry = i.checked_sub(1).and_then(|k| status.entries.get(k));
            let style = match entry.map(|e| e.state) {
                Some(State::Applied) => GREEN,
                Some(State::Pending) => YELLOW,
                Some(_) => RED,
                None => BOLD,
            };
            out(style, line);
        }
    }

    pub(super) fn report(&self, report: &Report, dry_run: bool) {
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
            plain(
                &json!({ "steps": steps, "noop": report.is_noop(), "dry_run": dry_run })
                    .to_string(),
            );
            return;
        }
        for line in report.to_string().lines() {
            plain(line);
        }
        if dry_run && !report.is_noop() {
            out(YELLOW, "dry run: everything above was rolled back");
        }
    }

    pub(super) fn list(&self, key: &str, text: &str, items: &[String]) {
        if self.json {
            plain(&json!({ key: items }).to_string());
        } else if items.is_empty() {
            plain(&format!("nothing {text}"));
        } else {
            plain(&format!("{} {text}: {}", items.len(), items.join(", ")));
        }
    }

    pub(super) fn repair(&self, r: &RepairReport) {
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

    pub(super) fn valid(&self) {
        if self.json {
            plain(&json!({ "valid": true }).to_string());
        } else {
            plain("history is consistent with the migrations");
        }
    }

    pub(super) fn error(&self, e: &Error) {
        let (path, line, column) = match e {
            Error::MigrationFailed(f) => (Some(f.path.as_str()), f.line, f.column),
            _ => (None, None, None),
        };
        self.error_object(
            e.kind(),
            &e.to_string(),
            e.migration(),
            e.sqlstate(),
            path,
            line,
            column,
        );
    }

    pub(super) fn error_text(&self, kind: &str, message: &str) {
        self.error_object(kind, message, None, None, None, None, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn error_object(
        &self,
        kind: &str,
        message: &str,
        version: Option<&str>,
        sqlstate: Option<&str>,
        path: Option<&str>,
        line: Option<usize>,
        column: Option<usize>,
    ) {
        if self.json {
            let error = json!({
                "kind": kind, "message": message, "version": version, "sqlstate": sqlstate,
                "path": path, "line": line, "column": column,
            });
            plain(&json!({ "error": error }).to_string());
        } else {
            let _ = writeln!(anstream::stderr(), "{BOLD_RED}error:{BOLD_RED:#} {message}");
        }
    }
}
