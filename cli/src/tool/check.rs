//! `tidemark check`: the macro's validation for pre-commit hooks and CI, a syntax check of
//! every script (squawk's PostgreSQL grammar, as the `syntax` feature does in the build), the
//! lints with `--lint`, and, with a database, a parse of every script by the server itself.

use crate::exit;
use crate::say;
use serde_json::json;
use std::path::Path;
use tidemark::tokio_postgres;
use tidemark_core::{check, Audience, Diagnostic, ScanOptions, Severity};

/// `tidemark check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Also have this server parse every script (nothing runs); `DATABASE_URL` works too.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Also run the lints of lock-heavy and destructive DDL (warnings).
    #[arg(long)]
    lint: bool,
    /// A lint rule to silence for the whole folder (repeatable).
    #[arg(long, value_name = "RULE")]
    allow: Vec<String>,
    /// A lint rule whose findings are errors (repeatable; `*` for every rule).
    #[arg(long, value_name = "RULE")]
    deny: Vec<String>,
    /// Also check that this file is what `tidemark schema` writes (the migrations' schema,
    /// built on a scratch database: see --scratch-url).
    #[arg(long, value_name = "FILE")]
    schema: Option<std::path::PathBuf>,
    #[command(flatten)]
    scratch: crate::schema::scratch::ScratchArgs,
    #[command(flatten)]
    leave_out: crate::schema::scratch::LeaveOutArgs,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Sent before each script: PostgreSQL parses a whole simple-query message before running any
/// of it, so a script with a syntax error fails at parse time with a position, and a valid one
/// fails here, at run time, before any of its own statements runs.
const GUARD: &str = "SELECT 1/0;\n";

pub(crate) async fn run(dir: &Path, ignore: &[String], args: &CheckArgs) -> u8 {
    let scan_options = ScanOptions {
        display_path: Some(dir.display().to_string().trim_end_matches('/').to_owned()),
        ignore: ignore.to_vec(),
        audience: Audience::Cli,
    };
    let checked = check(dir, &scan_options);
    let mut diagnostics = checked.diagnostics.clone();
    let analysis = tidemark_analysis::Options {
        syntax: true,
        lint: args.lint,
        allow: args.allow.clone(),
        deny: args.deny.clone(),
    };
    diagnostics.extend(tidemark_analysis::analyze(&checked.migrations, &analysis));
    if let Some(url) = args.database_url.as_deref().filter(|u| !u.is_empty()) {
        match server_parse(url, &checked.migrations, &diagnostics).await {
            Ok((found, target, parsed)) => {
                if !args.json {
                    say::err(&format!(
                        "note: {target} parsed {} (--database-url or DATABASE_URL; nothing ran)",
                        say::count(parsed, "script")
                    ));
                }
                diagnostics.extend(found);
            }
            Err(message) => {
                say::error(&message);
                return exit::CONNECTION;
            }
        }
    } else if args.database_url.is_some() {
        say::error("--database-url is empty");
        return exit::CONNECTION;
    }
    if let Some(file) = &args.schema {
        if !diagnostics.iter().any(Diagnostic::is_error) {
            match schema_diagnostic(dir, &scan_options, file, &args.scratch, &args.leave_out).await
            {
                Ok(found) => diagnostics.extend(found),
                Err(message) => {
                    say::error(&message);
                    return exit::FAILURE;
                }
            }
        }
    }
    diagnostics.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    let summary = Summary {
        migrations: checked.read,
        contracts: checked
            .migrations
            .iter()
            .filter(|m| m.up.contract)
            .map(tidemark_core::ScannedMigration::id)
            .collect(),
    };
    print_diagnostics(&diagnostics, &summary, args.json);
    if diagnostics.iter().any(Diagnostic::is_error) {
        exit::FAILURE
    } else {
        exit::OK
    }
}

/// `--schema FILE`: an error when the file is not the schema the folder's migrations make.
async fn schema_diagnostic(
    dir: &Path,
    options: &ScanOptions,
    file: &Path,
    scratch: &crate::schema::scratch::ScratchArgs,
    leave_out: &crate::schema::scratch::LeaveOutArgs,
) -> Result<Option<Diagnostic>, String> {
    let set = tidemark_core::scan(dir, options).map_err(|_| "the folder has errors".to_owned())?;
    let set = tidemark::__private::from_scanned(set);
    let expected = crate::schema::render(&set, scratch, leave_out).await?;
    let committed = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    Ok(
        tidemark::schema::compare_file(&committed, &expected).map(|difference| {
            Diagnostic::error(
                file.display().to_string(),
                format!(
                    "{difference}; run `tidemark schema -o {}` and review the change",
                    file.display()
                ),
            )
        }),
    )
}

/// What a check read: how many migrations, and which are contract ones (design §11).
pub(crate) struct Summary {
    pub(crate) migrations: usize,
    pub(crate) contracts: Vec<String>,
}

impl Summary {
    /// `n` migrations, phases not looked at (a folder that did not scan).
    pub(crate) fn count(n: usize) -> Self {
        Self {
            migrations: n,
            contracts: Vec::new(),
        }
    }
}

/// Prints diagnostics like rustc does (`error: path:line:col: …`), or as JSON.
pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic], summary: &Summary, json: bool) {
    let migrations = summary.migrations;
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    if json {
        let items: Vec<_> = diagnostics
            .iter()
            .map(|d| {
                json!({
                    "severity": label(d),
                    "path": d.path, "line": d.line, "column": d.column,
                    "message": d.message, "help": d.help, "rule": d.rule,
                })
            })
            .collect();
        say::out(
            &json!({
                "migrations": migrations, "errors": errors, "warnings": warnings,
                "diagnostics": items, "contracts": summary.contracts,
            })
            .to_string(),
        );
        return;
    }
    for d in diagnostics {
        say::err(&format!("{}: {d}\n", label(d)));
    }
    let phases = if summary.contracts.is_empty() {
        String::new()
    } else {
        format!(
            " ({}: {})",
            say::count(summary.contracts.len(), "contract migration"),
            summary.contracts.join(", ")
        )
    };
    let summary = format!(
        "checked {}{phases}: {}, {}",
        say::count(migrations, "migration"),
        say::count(errors, "error"),
        say::count(warnings, "warning")
    );
    if errors > 0 {
        say::err(&summary);
    } else {
        say::out(&summary);
    }
}

/// The server's diagnostics, where it connected, and how many scripts it parsed.
async fn server_parse(
    url: &str,
    migrations: &[tidemark_core::ScannedMigration],
    known: &[Diagnostic],
) -> Result<(Vec<Diagnostic>, String, usize), String> {
    let connect = tidemark::connect::ConnectOptions::parse(url).map_err(|e| e.to_string())?;
    let target = connect.target();
    let pool = connect.pool(1).map_err(|e| e.to_string())?;
    let client = pool
        .get()
        .await
        .map_err(|e| crate::describe_error(&tidemark::Error::from(e), &target))?;
    let mut parsed = 0;
    let mut found = Vec::new();
    let scripts = migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
        // Rust code is the compiler's to check.
        .filter(|s| !s.code);
    for script in scripts.filter(|s| !known.iter().any(|d| d.is_error() && d.path == s.path)) {
        let text = script.text.strip_prefix('\u{feff}').unwrap_or(&script.text);
        parsed += 1;
        let Err(e) = client.simple_query(&format!("{GUARD}{text}")).await else {
            continue; // cannot happen: the guard always fails
        };
        let Some(db) = e.as_db_error() else {
            return Err(format!("the server stopped answering: {e}"));
        };
        if db.code() == &tokio_postgres::error::SqlState::DIVISION_BY_ZERO {
            continue; // parsed cleanly
        }
        let mut d = Diagnostic::error(
            &script.path,
            format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        )
        .help("the server could not parse this script; nothing of it ran");
        if let Some(byte) = tidemark::__private::script_offset(db, text, GUARD.len()) {
            d = d.at(text, byte);
        }
        found.push(d);
    }
    Ok((found, target, parsed))
}

fn label(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        _ => "note",
    }
}
