//! `tidemark new NAME`: the next migration file(s), in the folder's own naming style.

use crate::exit;
use crate::say;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use tidemark_core::{check, Form, ScanOptions};

/// Create the next migration.
#[derive(clap::Args)]
pub(crate) struct NewArgs {
    /// What the migration does, e.g. `add_users_email`.
    name: String,
    /// Also create the rollback script.
    #[arg(long)]
    reversible: bool,
    /// Run it outside a transaction (adds `-- tidemark:no-transaction`).
    #[arg(long)]
    no_transaction: bool,
}

/// The naming style to continue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `V{n}__name.sql`, zero-padded to `width`.
    Flyway { width: usize },
    /// `{n}_name.sql` / `.up.sql` + `.down.sql`.
    Sqlx {
        reversible: bool,
        width: usize,
        timestamp: bool,
    },
    /// `YYYY-MM-DD-HHMMSS_name/up.sql`.
    Diesel,
}

pub(crate) fn run(dir: &Path, ignore: &[String], args: &NewArgs) -> u8 {
    let name: String = args
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches('_').is_empty() {
        say::error("the name must contain letters or digits");
        return exit::USAGE;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        say::error(&format!("cannot create {}: {e}", dir.display()));
        return exit::FAILURE;
    }
    let checked = check(
        dir,
        &ScanOptions {
            ignore: ignore.to_vec(),
            ..ScanOptions::default()
        },
    );
    let versioned: Vec<_> = checked
        .migrations
        .iter()
        .filter(|m| m.version.is_some())
        .collect();
    let last = versioned.last();
    let style = match last {
        None => Style::Flyway { width: 1 },
        Some(m) => style_of(m),
    };
    // Every version's first part: the next one is above all of them, so `new` never makes a
    // version that exists (three calls in one second used to give a diesel folder three
    // directories of one version).
    let highest = versioned
        .iter()
        .filter_map(|m| m.version.as_ref())
        .filter_map(|v| v.parts().map(|p| p[0]))
        .max()
        .unwrap_or(0);
    let files = paths(dir, &style, highest, &name, args.reversible);
    let header = if args.no_transaction {
        "-- tidemark:no-transaction\n"
    } else {
        ""
    };
    for (i, path) in files.iter().enumerate() {
        if path.exists() {
            say::error(&format!("{} exists already", path.display()));
            return exit::FAILURE;
        }
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let body = if i == 0 {
            format!("{header}-- {}\n", args.name)
        } else {
            format!("{header}-- undo: {}\n", args.name)
        };
        if let Err(e) = std::fs::write(path, body) {
            say::error(&format!("cannot write {}: {e}", path.display()));
            return exit::FAILURE;
        }
        say::out(&path.display().to_string());
    }
    warn_without_build_script(dir);
    crate::tool::lockfile::refresh(dir, ignore)
}

pub(crate) fn style_of(m: &tidemark_core::ScannedMigration) -> Style {
    let file = Path::new(&m.up.path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digits = file
        .trim_start_matches('V')
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    match m.form {
        Form::Diesel => Style::Diesel,
        Form::SqlxReversible | Form::SqlxSimple => Style::Sqlx {
            reversible: m.form == Form::SqlxReversible,
            width: digits,
            timestamp: digits >= 12,
        },
        _ => Style::Flyway {
            width: if file.starts_with("V0") { digits } else { 1 },
        },
    }
}

pub(crate) fn paths(
    dir: &Path,
    style: &Style,
    highest: u64,
    name: &str,
    reversible: bool,
) -> Vec<PathBuf> {
    let next = highest + 1;
    match style {
        Style::Flyway { width } => {
            let mut v = vec![dir.join(format!("V{next:0width$}__{name}.sql"))];
            if reversible {
                v.push(dir.join(format!("U{next:0width$}__{name}.sql")));
            }
            v
        }
        Style::Sqlx {
            reversible: was_reversible,
            width,
            timestamp,
        } => {
            let version = if *timestamp {
                timestamp_now().max(next).to_string()
            } else {
                format!("{next:0width$}")
            };
            if reversible || *was_reversible {
                vec![
                    dir.join(format!("{version}_{name}.up.sql")),
                    dir.join(format!("{version}_{name}.down.sql")),
                ]
            } else {
                vec![dir.join(format!("{version}_{name}.sql"))]
            }
        }
        Style::Diesel => {
            let t = timestamp_now().max(next).to_string();
            let d = dir.join(format!(
                "{}-{}-{}-{}_{name}",
                &t[0..4],
                &t[4..6],
                &t[6..8],
                &t[8..14]
            ));
            vec![d.join("up.sql"), d.join("down.sql")]
        }
    }
}

/// The current UTC time as `YYYYMMDDHHMMSS`.
fn timestamp_now() -> u64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    ((year * 100 + month) * 100 + day) * 1_000_000
        + (rem / 3600) * 10_000
        + (rem % 3600 / 60) * 100
        + rem % 60
}

/// New files are only seen by `embed_migrations!` when the build reruns.
fn warn_without_build_script(dir: &Path) {
    let Some(krate) = dir.canonicalize().ok().and_then(|d| {
        d.ancestors()
            .find(|a| a.join("Cargo.toml").is_file())
            .map(Path::to_path_buf)
    }) else {
        return;
    };
    let build = std::fs::read_to_string(krate.join("build.rs")).unwrap_or_default();
    if !build.contains("rerun_if_changed") && !build.contains("rerun-if-changed") {
        say::err(&format!(
            "note: {} has no build.rs that reruns on new migrations; a build will not see this file until \
             something else changes. Add a build.rs: fn main() {{ tidemark::build::rerun_if_changed(\"{}\"); }}",
            krate.display(),
            dir.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_utc_civil_time() {
        let t = super::timestamp_now();
        assert!((20_250_101_000_000..21_000_101_000_000).contains(&t), "{t}");
        assert!(t / 100 % 100 < 60 && t % 100 < 60);
    }
}
