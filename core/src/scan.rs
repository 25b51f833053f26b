//! The only filesystem code: list a migration folder, classify its entries and read them.

use crate::diagnostic::{self, Diagnostic};
use crate::model::{Found, MigrationSet, ScannedMigration, Script};
use crate::name::{parse_diesel_dir, parse_file_name, Form, Role};
use crate::pair::assemble;
use crate::script::{analyze, ScriptSource};
use crate::version::{Order, Version};
use std::fs;
use std::path::Path;

/// How to scan a folder.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// The folder as the user wrote it (e.g. `migrations`); it prefixes every path in
    /// diagnostics, so messages read the same on every machine. Defaults to the folder path.
    pub display_path: Option<String>,
    /// File names inside the folder that are not migrations although they end in `.sql`.
    pub ignore: Vec<String>,
    /// Who reads the diagnostics: their advice names the macro's options or the CLI's flags.
    pub audience: Audience,
}

/// Who reads the diagnostics of a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Audience {
    /// `embed_migrations!` at build time: advice names the macro's options.
    #[default]
    Build,
    /// The `tidemark` command line: advice names its flags.
    Cli,
}

/// Everything [`check`] found: the migrations (also those with errors in their scripts) and every
/// diagnostic, errors and warnings.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The migrations whose files could be read and paired, in run order.
    pub migrations: Vec<ScannedMigration>,
    /// Every problem, sorted by path and position.
    pub diagnostics: Vec<Diagnostic>,
    /// How many migrations the folder's file names name, also those whose files have errors.
    pub read: usize,
    /// How the versions are ordered (the migrations are in this order).
    pub order: crate::version::Order,
    /// The checkpoint (`B{ver}__{name}.sql`), if the folder has one.
    pub checkpoint: Option<crate::model::Checkpoint>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Scans, checks and checksums a migration folder; `Err` holds every diagnostic (errors and
/// warnings) when there is an error.
///
/// Every problem is reported, not just the first, sorted by path and position. The macro and
/// the CLI both call this, so they judge a folder identically.
pub fn scan(dir: &Path, options: &ScanOptions) -> Result<MigrationSet, Vec<Diagnostic>> {
    let checked = check(dir, options);
    if checked.has_errors() {
        return Err(checked.diagnostics);
    }
    let ids: Vec<String> = checked
        .migrations
        .iter()
        .map(ScannedMigration::id)
        .collect();
    let digest = crate::checksum::set_digest(
        checked
            .migrations
            .iter()
            .zip(&ids)
            .map(|(m, id)| (m.kind, id.as_str(), &m.up.checksum)),
    );
    Ok(MigrationSet {
        migrations: checked.migrations,
        digest,
        order: checked.order,
        warnings: checked.diagnostics,
        checkpoint: checked.checkpoint,
    })
}

/// Checks a folder like [`scan`], but returns what it found even when there are errors: for
/// `tidemark check` and tools that list a folder's migrations next to its problems.
pub fn check(dir: &Path, options: &ScanOptions) -> Checked {
    let display = options
        .display_path
        .clone()
        .unwrap_or_else(|| dir.display().to_string());
    let (found, mut out) = read_folder(dir, &display, options);
    let (checkpoints, found): (Vec<Found>, Vec<Found>) =
        found.into_iter().partition(|f| f.role == Role::Checkpoint);
    let mut identities: Vec<(Option<&crate::version::Version>, &str)> = found
        .iter()
        .map(|f| {
            (
                f.version.as_ref(),
                if f.version.is_some() {
                    ""
                } else {
                    f.name.as_str()
                },
            )
        })
        .collect();
    identities.sort();
    identities.dedup();
    let read = identities.len();
    let (mut migrations, orphans) = assemble(found, &mut out);
    let (merged, orphans) =
        crate::checkpoint::merge(checkpoints, orphans, &mut migrations, &mut out);
    crate::pair::orphan_rollbacks(orphans, &mut out);
    let order = order_of(&mut migrations, &mut out);
    let checkpoint = crate::checkpoint::finish(merged, &migrations, order, &mut out);
    if dir.is_dir() {
        out.extend(crate::sum::verify(dir, &display, &migrations));
    }
    diagnostic::sort(&mut out);
    Checked {
        migrations,
        diagnostics: out,
        read,
        order,
        checkpoint,
    }
}

/// What the folder's entries hold, and their problems (a folder that is missing or cannot be
/// read is one).
fn read_folder(dir: &Path, display: &str, options: &ScanOptions) -> (Vec<Found>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut found = Vec::new();
    if !dir.is_dir() {
        let help = match options.audience {
            Audience::Build => "create the folder, or give its path relative to the crate root (the directory of Cargo.toml)",
            Audience::Cli => "create the folder, or pass the right one with --dir",
        };
        out.push(
            Diagnostic::error(
                display,
                format!("migration folder not found (looked for {})", dir.display()),
            )
            .help(help),
        );
    } else {
        match sorted_entries(dir) {
            Ok(entries) => {
                // Reading and lexing the files is most of a scan: the entries are split into
                // one contiguous run per core, and the results joined in the folder's order.
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let per_thread = entries.len().div_ceil(cores).max(PER_THREAD_AT_LEAST);
                std::thread::scope(|s| {
                    let runs: Vec<_> = entries
                        .chunks(per_thread)
                        .map(|run| s.spawn(|| scan_entries(run, display, options)))
                        .collect();
                    for run in runs {
                        let (f, o) = run
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                        found.extend(f);
                        out.extend(o);
                    }
                });
            }
            Err(e) => out.push(Diagnostic::error(
                display,
                format!("cannot read the migration folder: {e}"),
            )),
        }
    }
    (found, out)
}

/// The order of the owning tool: diesel's string order when every versioned migration is a
/// diesel directory (sorting them so), the numeric order otherwise — a folder that mixes forms is
/// no one tool's, and its diesel versions must then be numbers.
fn order_of(migrations: &mut [ScannedMigration], out: &mut Vec<Diagnostic>) -> Order {
    let versioned = || migrations.iter().filter(|m| m.version.is_some());
    let diesel_only = versioned().count() > 0 && versioned().all(|m| m.form == Form::Diesel);
    if diesel_only {
        let count = versioned().count();
        migrations[..count].sort_by(|a, b| Order::Text.compare(&a.id(), &b.id()));
        return Order::Text;
    }
    for m in versioned().filter(|m| m.version.as_ref().is_some_and(|v| v.parts().is_none())) {
        out.push(
            Diagnostic::error(&m.up.path, format!("diesel version `{}` is not a number, and this folder mixes diesel directories with other forms", m.id()))
                .help("diesel orders versions as strings, other tools as numbers: keep diesel directories in a folder of their own, or give this one a numeric version"),
        );
    }
    Order::Numeric
}

/// A folder smaller than this is scanned on one thread.
const PER_THREAD_AT_LEAST: usize = 256;

/// Scans a run of the folder's entries: what they hold, and their problems.
fn scan_entries(
    entries: &[(String, std::path::PathBuf, bool)],
    display: &str,
    options: &ScanOptions,
) -> (Vec<Found>, Vec<Diagnostic>) {
    let (mut found, mut out) = (Vec::new(), Vec::new());
    for (file, path, is_dir) in entries {
        let shown = format!("{display}/{file}");
        if *is_dir {
            scan_diesel_dir(file, path, &shown, &mut found, &mut out);
        } else if !options.ignore.contains(file) {
            scan_file(file, path, shown, options.audience, &mut found, &mut out);
        }
    }
    (found, out)
}

/// The folder's entries by name, each with its absolute path: the folder is made canonical
/// once (a path per file made canonical costs a `readlink` per component: most of the time a
/// 10,000-file folder took), and the files are named under it.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, std::path::PathBuf, bool)>> {
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut entries = Vec::new();
    for entry in fs::read_dir(&base)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            // Whether it is a directory, from the listing (a link is followed).
            let path = entry.path();
            let is_dir = match entry.file_type()? {
                t if t.is_symlink() => path.is_dir(),
                t => t.is_dir(),
            };
            entries.push((name, path, is_dir));
        }
    }
    entries.sort();
    Ok(entries)
}

fn scan_file(
    file: &str,
    path: &Path,
    shown: String,
    audience: Audience,
    found: &mut Vec<Found>,
    out: &mut Vec<Diagnostic>,
) {
    let parsed = match parse_file_name(file) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(reason) => {
            let ignore = match audience {
                Audience::Build => {
                    format!("list it in `embed_migrations!(\"…\", ignore = [\"{file}\"])`")
                }
                Audience::Cli => format!("pass `--ignore {file}`"),
            };
            out.push(Diagnostic::error(shown, reason).help(format!(
                "rename it to one of V{{ver}}__{{name}}.sql, U{{ver}}__{{name}}.sql, {{ver}}_{{name}}.sql, \
                 {{ver}}_{{name}}.up.sql/.down.sql, R__{{name}}.sql, UR__{{name}}.sql or (Rust code) V{{ver}}__{{name}}.rs, or {ignore} if it is \
                 not a migration"
            )));
            return;
        }
    };
    let script = if parsed.code {
        read_code(path, &shown, out)
    } else {
        read_script(
            path,
            &shown,
            false,
            false,
            parsed.role != Role::Rollback,
            out,
        )
    };
    found.push(Found {
        version: parsed.version,
        name: parsed.name,
        role: parsed.role,
        form: parsed.form,
        path: shown,
        script,
    });
}

/// A diesel migration directory: `up.sql` and `down.sql` (or `up.rs` for a code migration),
/// with `metadata.toml`; a directory that holds neither script is not a migration, unless a
/// misnamed one is there.
fn scan_diesel_dir(
    dir_name: &str,
    dir: &Path,
    shown: &str,
    found: &mut Vec<Found>,
    out: &mut Vec<Diagnostic>,
) {
    let (up, down) = (dir.join("up.sql"), dir.join("down.sql"));
    if dir.join("down.rs").is_file() {
        out.push(
            Diagnostic::error(
                format!("{shown}/down.rs"),
                "a code migration's rollback is the `down` function in its `up.rs`",
            )
            .help("move `pub async fn down` into up.rs and delete down.rs"),
        );
    }
    if dir.join("up.rs").is_file() {
        return scan_diesel_code_dir(dir_name, dir, shown, found, out);
    }
    if !up.is_file() && !down.is_file() {
        return report_misnamed_scripts(dir, shown, out);
    }
    let Some((version, name)) = parse_diesel_dir(dir_name) else {
        out.push(
            Diagnostic::error(shown, format!("directory `{dir_name}` holds up.sql/down.sql but its name is not `{{version}}_{{name}}`"))
                .help("name it like diesel does, e.g. `2024-01-31-120000_add_users` or `20240131120000_add_users`"),
        );
        return;
    };
    let no_tx = metadata_no_transaction(&dir.join("metadata.toml"), shown, out);
    for (role, file, file_name) in [
        (Role::Forward, &up, "up.sql"),
        (Role::Rollback, &down, "down.sql"),
    ] {
        if !file.is_file() {
            continue;
        }
        let file_shown = format!("{shown}/{file_name}");
        let script = read_script(file, &file_shown, no_tx, true, role == Role::Forward, out);
        found.push(diesel_found(&version, &name, role, file_shown, script));
    }
}

/// A diesel directory with `up.rs`: a code migration, its rollback the `down` function (a
/// `down.sql` beside it is read as its rollback script).
fn scan_diesel_code_dir(
    dir_name: &str,
    dir: &Path,
    shown: &str,
    found: &mut Vec<Found>,
    out: &mut Vec<Diagnostic>,
) {
    let file_shown = format!("{shown}/up.rs");
    if dir.join("up.sql").is_file() {
        out.push(
            Diagnostic::error(&file_shown, "the directory holds both up.rs and up.sql")
                .help("keep one forward script: the SQL or the code"),
        );
    }
    let Some((version, name)) = parse_diesel_dir(dir_name) else {
        out.push(
            Diagnostic::error(
                shown,
                format!(
                    "directory `{dir_name}` holds up.rs but its name is not `{{version}}_{{name}}`"
                ),
            )
            .help("name it like diesel does, e.g. `2024-01-31-120000_backfill_users`"),
        );
        return;
    };
    let script = read_code(&dir.join("up.rs"), &file_shown, out);
    found.push(diesel_found(
        &version,
        &name,
        Role::Forward,
        file_shown,
        script,
    ));
    let down = dir.join("down.sql");
    if down.is_file() {
        let down_shown = format!("{shown}/down.sql");
        let script = read_script(&down, &down_shown, false, true, false, out);
        found.push(diesel_found(
            &version,
            &name,
            Role::Rollback,
            down_shown,
            script,
        ));
    }
}

/// One file of a diesel migration directory.
fn diesel_found(
    version: &Version,
    name: &str,
    role: Role,
    path: String,
    script: Option<Script>,
) -> Found {
    Found {
        version: Some(version.clone()),
        name: name.to_owned(),
        role,
        form: Form::Diesel,
        path,
        script,
    }
}

/// A directory without `up.sql` or `down.sql` is not a migration, unless it holds an
/// `UP.SQL` or `Down.sql`: diesel reads exactly `up.sql`, and a misnamed migration is never
/// skipped silently.
fn report_misnamed_scripts(dir: &Path, shown: &str, out: &mut Vec<Diagnostic>) {
    for name in ["up.sql", "down.sql"] {
        let misnamed = fs::read_dir(dir).into_iter().flatten().flatten().find(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n != name && n.eq_ignore_ascii_case(name)
        });
        if let Some(e) = misnamed {
            out.push(
                Diagnostic::error(
                    format!("{shown}/{}", e.file_name().to_string_lossy()),
                    format!("a migration directory's script must be named `{name}`"),
                )
                .help(format!("rename it to `{name}`")),
            );
        }
    }
}

/// Reads diesel's `metadata.toml`: only `run_in_transaction` means anything to diesel and to us.
fn metadata_no_transaction(path: &Path, shown: &str, out: &mut Vec<Diagnostic>) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let shown = format!("{shown}/metadata.toml");
    let mut no_tx = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "run_in_transaction" {
            continue;
        }
        match value.trim() {
            "false" => no_tx = true,
            "true" => no_tx = false,
            other => {
                let mut d = Diagnostic::error(
                    &shown,
                    format!("`run_in_transaction = {other}` is not `true` or `false`"),
                );
                d.line = Some(n + 1);
                out.push(d.help(
                    "write `run_in_transaction = false` to run the migration outside a transaction",
                ));
            }
        }
    }
    no_tx
}

/// Reads and checks a Rust code migration's file.
fn read_code(path: &Path, shown: &str, out: &mut Vec<Diagnostic>) -> Option<Script> {
    let (src, bytes) = read(path, shown, false, false, true, out)?;
    crate::script::analyze_code(src, bytes, out)
}

/// A file's bytes and what its checks need to know of it; a file that cannot be read is an
/// error naming it.
fn read(
    path: &Path,
    shown: &str,
    metadata_no_tx: bool,
    diesel: bool,
    forward: bool,
    out: &mut Vec<Diagnostic>,
) -> Option<(ScriptSource, Vec<u8>)> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            out.push(Diagnostic::error(
                shown,
                format!("cannot read the file: {e}"),
            ));
            return None;
        }
    };
    let src = ScriptSource {
        path: shown.to_owned(),
        abs_path: path.to_path_buf(), // under the folder made canonical
        metadata_no_transaction: metadata_no_tx,
        diesel,
        forward,
    };
    Some((src, bytes))
}

/// Reads and checks a SQL script.
fn read_script(
    path: &Path,
    shown: &str,
    metadata_no_tx: bool,
    diesel: bool,
    forward: bool,
    out: &mut Vec<Diagnostic>,
) -> Option<Script> {
    let (src, bytes) = read(path, shown, metadata_no_tx, diesel, forward, out)?;
    analyze(src, bytes, out)
}
