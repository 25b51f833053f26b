//! `tidemark lock` and `tidemark renumber FILE`: the folder's lock file (`tidemark.sum`), and the
//! one-command answer to the merge conflict it exists to cause.

use crate::exit;
use crate::say;
use crate::tool::new;
use std::path::{Path, PathBuf};
use tidemark_core::{check, sum, Checked, ScanOptions, ScannedMigration};

/// Give a migration the next version above every other one in the folder.
#[derive(clap::Args)]
pub(crate) struct RenumberArgs {
    /// The migration: its forward or rollback file, its diesel directory, or its code file.
    file: PathBuf,
}

/// The folder checked, its problems other than the lock file's own printed: `None` when it has
/// some (a lock file is only written for a folder that builds).
fn checked_apart_from_the_lock(dir: &Path, ignore: &[String]) -> Option<Checked> {
    let checked = check(dir, &options(ignore));
    let others: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && !d.path.ends_with(sum::FILE))
        .cloned()
        .collect();
    if others.is_empty() {
        return Some(checked);
    }
    crate::tool::check::print_diagnostics(
        &others,
        &crate::tool::check::Summary::count(checked.migrations.len()),
        false,
    );
    None
}

/// Writes the lock file for the folder as it is.
fn write(dir: &Path, checked: &Checked) -> u8 {
    let text = sum::render(&dir.display().to_string(), &checked.migrations);
    let path = dir.join(sum::FILE);
    match std::fs::write(&path, text) {
        Ok(()) => {
            say::out(&format!(
                "{} ({} migrations)",
                path.display(),
                checked.migrations.len()
            ));
            exit::OK
        }
        Err(e) => {
            say::error(&format!("cannot write {}: {e}", path.display()));
            exit::FAILURE
        }
    }
}

fn options(ignore: &[String]) -> ScanOptions {
    ScanOptions {
        ignore: ignore.to_vec(),
        ..ScanOptions::default()
    }
}

/// `tidemark lock`: writes `tidemark.sum` for the folder (`ignore`: its `.sql` files that are
/// not migrations).
pub(crate) fn lock(dir: &Path, ignore: &[String]) -> u8 {
    match checked_apart_from_the_lock(dir, ignore) {
        Some(checked) => write(dir, &checked),
        None => exit::FAILURE,
    }
}

/// After `tidemark new`: keeps an existing lock file current (a folder without one stays
/// without one: the lock file is opt-in).
pub(crate) fn refresh(dir: &Path, ignore: &[String]) -> u8 {
    if !dir.join(sum::FILE).is_file() {
        return exit::OK;
    }
    lock(dir, ignore)
}

/// `tidemark renumber FILE`.
pub(crate) fn renumber(dir: &Path, ignore: &[String], args: &RenumberArgs) -> u8 {
    let Some(target) = canonical(&args.file) else {
        say::error(&format!("{} does not exist", args.file.display()));
        return exit::USAGE;
    };
    let all = check(dir, &options(ignore));
    // Above every other migration of the folder, the one a re-check leaves out included.
    let highest = all
        .migrations
        .iter()
        .filter(|o| !owns(o, &target))
        .filter_map(|o| o.version.as_ref()?.parts().map(|p| p[0]))
        .max()
        .unwrap_or(0);
    let checked = checked_with(dir, ignore, &target, all);
    let Some(m) = checked.migrations.iter().find(|m| owns(m, &target)) else {
        say::error(&format!(
            "{} is not a migration of {}",
            args.file.display(),
            dir.display()
        ));
        return exit::USAGE;
    };
    if m.version.is_none() || m.squashed {
        say::error(&format!(
            "{} has no version to change (a repeatable or squashed migration)",
            args.file.display()
        ));
        return exit::USAGE;
    }
    let moves = match moves(dir, m, highest) {
        Ok(moves) => moves,
        Err(message) => {
            say::error(&message);
            return exit::FAILURE;
        }
    };
    for (_, to) in &moves {
        if to.exists() {
            say::error(&format!("{} exists already", to.display()));
            return exit::FAILURE;
        }
    }
    for (from, to) in &moves {
        if let Err(e) = std::fs::rename(from, to) {
            say::error(&format!(
                "cannot rename {} to {}: {e}",
                from.display(),
                to.display()
            ));
            return exit::FAILURE;
        }
        say::out(&format!("{} -> {}", from.display(), to.display()));
    }
    refresh(dir, ignore)
}

/// `checked` (the whole folder), or the folder checked again so that `target`'s migration is
/// among its migrations: after a merge, it
/// may share its version with another one, which the check keeps instead (the first by file
/// name); that one's files are then left out of this check, so the duplicate is the one read.
fn checked_with(dir: &Path, ignore: &[String], target: &Path, checked: Checked) -> Checked {
    if checked.migrations.iter().any(|m| owns(m, target)) {
        return checked;
    }
    let version = target
        .file_name()
        .and_then(|f| f.to_str())
        .and_then(|f| tidemark_core::parse_file_name(f).ok().flatten())
        .and_then(|p| p.version);
    let Some(kept) = checked
        .migrations
        .iter()
        .find(|m| version.is_some() && m.version == version)
    else {
        return checked;
    };
    let mut more = ignore.to_vec();
    let files = std::iter::once(&kept.up).chain(kept.down.as_ref());
    more.extend(files.filter_map(|s| Some(s.abs_path.file_name()?.to_str()?.to_owned())));
    check(dir, &options(&more))
}

/// Whether `target` (canonical) is one of `m`'s files or its diesel directory.
fn owns(m: &ScannedMigration, target: &Path) -> bool {
    let mut files = vec![m.up.abs_path.clone()];
    files.extend(m.down.as_ref().map(|d| d.abs_path.clone()));
    if m.form == tidemark_core::Form::Diesel {
        files.extend(m.up.abs_path.parent().map(Path::to_path_buf));
    }
    files
        .iter()
        .filter_map(|f| canonical(f))
        .any(|f| f == target)
}

fn canonical(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok()
}

/// The renames that give `m` the version after `highest`, in the folder's own style: its
/// forward and rollback files (a code file keeps its `.rs`), or its diesel directory.
fn moves(
    dir: &Path,
    m: &ScannedMigration,
    highest: u64,
) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let name = suffix(m).ok_or_else(|| format!("cannot read the name of {}", m.up.path))?;
    let targets = new::paths(dir, &new::style_of(m), highest, &name, m.down.is_some());
    if m.form == tidemark_core::Form::Diesel {
        let from = m.up.abs_path.parent().map(Path::to_path_buf);
        let to = targets[0].parent().map(Path::to_path_buf);
        return match (from, to) {
            (Some(from), Some(to)) => Ok(vec![(from, to)]),
            _ => Err(format!("cannot find the directory of {}", m.up.path)),
        };
    }
    let mut moves = Vec::new();
    let code = m.up.code;
    let mut up_to = targets[0].clone();
    if code {
        up_to.set_extension("rs");
    }
    moves.push((m.up.abs_path.clone(), up_to));
    if let (Some(down), Some(to)) = (&m.down, targets.get(1)) {
        moves.push((down.abs_path.clone(), to.clone()));
    }
    Ok(moves)
}

/// The part of `m`'s forward file (or diesel directory) name after its version: `add_users`.
fn suffix(m: &ScannedMigration) -> Option<String> {
    let path = if m.form == tidemark_core::Form::Diesel {
        m.up.abs_path.parent()?
    } else {
        m.up.abs_path.as_path()
    };
    let file = path.file_name()?.to_str()?;
    let rest = match file.split_once("__") {
        Some((_, rest)) if file.starts_with('V') => rest,
        _ => file.split_once('_')?.1,
    };
    let rest = [".up.sql", ".sql", ".rs"]
        .iter()
        .find_map(|ext| rest.strip_suffix(ext))
        .unwrap_or(rest);
    Some(rest.to_owned())
}
