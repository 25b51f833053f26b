//! `up|to|status --each-schema P | --schemas-from SQL | --each-database P | --targets FILE`:
//! the verb over many targets, with a progress bar on a terminal, a table (or JSON per
//! target), and an exit code that says whether any target failed.

use crate::args::{FleetArgs, MigrateCommand};
use crate::output::{err, plain, Output};
use crate::{exit, messages};
use anstyle::Style;
use serde_json::{json, Value};
use std::io::IsTerminal;
use tidemark::connect::ConnectOptions;
use tidemark::fleet::{self, FleetReport, FleetStatus, FleetTarget, Outcome};
use tidemark::Error;
use tidemark::Migrator;
use tidemark::Target;

/// Runs `command` over the targets `args` name; prints the outcome; the exit code.
pub(crate) async fn execute(
    m: Migrator<'_>,
    command: &MigrateCommand,
    args: &FleetArgs,
    connect: &ConnectOptions,
    out: &Output,
) -> u8 {
    let target = connect.target();
    let targets = match discover(args, connect).await {
        Ok(t) => t,
        Err(e) => {
            out.error(&e, &messages::describe(&e, &target));
            return crate::code_of(&e);
        }
    };
    if targets.is_empty() {
        out.error_text("config", "no targets: nothing matched the fleet options");
        return exit::FAILURE;
    }
    let m = match command {
        MigrateCommand::To { version, .. } if version.eq_ignore_ascii_case("initial") => {
            m.target(Target::Initial)
        }
        MigrateCommand::To { version, .. } => m.target(Target::Version(version.clone())),
        _ => m,
    };
    let total = targets.len();
    let mut fleet = m
        .fleet(targets)
        .concurrency(args.concurrency)
        .canary(args.canary)
        .continue_on_error(args.continue_on_error);
    let bar = progress_bar(out.json(), total);
    if let Some(bar) = bar.clone() {
        fleet = fleet.on_target_done(move |t| {
            bar.set_message(format!("{} {}", t.target, t.outcome.label()));
            bar.inc(1);
        });
    }
    match command {
        MigrateCommand::Status { exit_code, .. } => {
            let status = fleet.status().await;
            print_status(out, &status);
            if status.targets.iter().any(|t| t.status.is_err()) {
                exit::FAILURE
            } else if *exit_code && !status.is_up_to_date() {
                exit::PENDING
            } else {
                exit::OK
            }
        }
        _ => {
            let report = fleet.run().await;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            print_report(out, &report);
            if report.is_success() {
                exit::OK
            } else {
                exit::FAILURE
            }
        }
    }
}

/// The targets the options name; schema targets share one pool sized for the concurrency.
async fn discover(args: &FleetArgs, connect: &ConnectOptions) -> Result<Vec<FleetTarget>, Error> {
    if let Some(file) = &args.targets {
        let text = std::fs::read_to_string(file).map_err(|e| Error::ConnectionString {
            reason: format!("cannot read --targets {}: {e}", file.display()),
        })?;
        return text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let options = ConnectOptions::parse(l)?;
                Ok(FleetTarget::connect(options.target(), options))
            })
            .collect();
    }
    let pool = connect.pool(2 * args.concurrency.max(1) + 1)?;
    let targets = if let Some(pattern) = &args.each_database {
        fleet::databases(&pool, pattern)
            .await?
            .into_iter()
            .map(|d| FleetTarget::connect(d.clone(), connect.with_dbname(&d)))
            .collect()
    } else {
        let schemas = match (&args.each_schema, &args.schemas_from) {
            (Some(pattern), _) => fleet::schemas(&pool, pattern).await?,
            (None, Some(sql)) => fleet::query(&pool, sql).await?,
            (None, None) => Vec::new(),
        };
        schemas
            .into_iter()
            .map(|s| FleetTarget::schema(&pool, s))
            .collect()
    };
    Ok(targets)
}

fn progress_bar(json: bool, total: usize) -> Option<indicatif::ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} targets {elapsed} {msg}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn print_report(out: &Output, report: &FleetReport) {
    if out.json() {
        let targets: Vec<Value> = report
            .targets
            .iter()
            .map(|t| {
                let mut doc = json!({"target": t.target, "outcome": t.outcome.label()});
                match &t.outcome {
                    Outcome::Migrated(r) => {
                        doc["applied"] = json!(r.versions());
                        let waiting: Vec<&str> =
                            r.waiting.iter().map(|w| w.version.as_str()).collect();
                        doc["waiting"] = json!(waiting);
                    }
                    Outcome::Failed(e) => {
                        doc["error"] = json!({
                            "kind": e.kind(), "message": e.to_string(),
                            "version": e.migration(), "sqlstate": e.sqlstate(),
                        });
                        doc["committed"] =
                            json!(e.partial_report().map(|r| r.versions()).unwrap_or_default());
                    }
                    Outcome::Skipped(why) => doc["reason"] = json!(why),
                    // A later kind of outcome: its label says it.
                    _ => {}
                }
                doc
            })
            .collect();
        let (migrated, up_to_date, failed, skipped) = report.counts();
        let doc = json!({
            "targets": targets, "migrated": migrated, "up_to_date": up_to_date,
            "failed": failed, "skipped": skipped,
        });
        plain(&doc.to_string());
        return;
    }
    for line in report.to_string().lines() {
        plain(line);
    }
    for (target, e) in report.failed() {
        err(
            Style::new().bold(),
            &format!("error: {target}: {}", messages::describe(e, target)),
        );
    }
}

fn print_status(out: &Output, status: &FleetStatus) {
    if out.json() {
        let targets: Vec<Value> = status
            .targets
            .iter()
            .map(|t| match &t.status {
                Ok(s) => json!({
                    "target": t.target, "version": t.version(), "pending": t.pending(),
                    "failed": t.failed(), "up_to_date": s.is_up_to_date(),
                }),
                Err(e) => json!({
                    "target": t.target,
                    "error": {"kind": e.kind(), "message": e.to_string()},
                }),
            })
            .collect();
        plain(&json!({ "targets": targets }).to_string());
        return;
    }
    for line in status.to_string().lines() {
        plain(line);
    }
}
