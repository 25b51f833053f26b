//! The folder's lock file, `tidemark.sum`, opt-in by its presence: one line per migration in run
//! order, each with a hash chained over the lines before it and the migration's checksums. The
//! macro and `tidemark check` refuse a folder that disagrees with it, naming the first migration
//! that differs; `tidemark lock` (and `tidemark new`, `tidemark renumber`) write it.
//!
//! What it is for: two branches that each add a migration both append a line after the same
//! last line, so git reports a conflict in this file when they merge, at merge time rather than
//! at deploy time, where the second one would be refused as out of order.

use crate::diagnostic::Diagnostic;
use crate::model::ScannedMigration;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The lock file's name, in the migration folder.
pub const FILE: &str = "tidemark.sum";

const HEADER: &str =
    "# tidemark.sum: one line per migration, each hash chained over the lines above.\n\
# Written by `tidemark lock`, `tidemark new` and `tidemark renumber`. A merge conflict here means\n\
# two branches added migrations: `tidemark renumber FILE` moves one of them above the others.\n";

/// The lock file's text for `migrations` (in run order), whose files sit under `folder` (the
/// folder as their paths spell it).
pub fn render(folder: &str, migrations: &[ScannedMigration]) -> String {
    let mut text = HEADER.to_owned();
    for line in lines(folder, migrations) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// One line per migration: its forward file (relative to the folder) and the chained hash.
fn lines(folder: &str, migrations: &[ScannedMigration]) -> Vec<String> {
    let mut chain = [0u8; 32];
    migrations
        .iter()
        .map(|m| {
            let mut h = Sha256::new();
            h.update(chain);
            h.update(m.id().as_bytes());
            h.update([0]);
            h.update(m.up.checksum);
            if let Some(down) = &m.down {
                h.update(down.checksum);
            }
            chain = h.finalize().into();
            format!("{} {}", relative(folder, &m.up.path), crate::to_hex(&chain))
        })
        .collect()
}

/// `path` without the leading `folder/`.
fn relative<'a>(folder: &str, path: &'a str) -> &'a str {
    path.strip_prefix(folder)
        .map(|p| p.trim_start_matches(['/', '\\']))
        .unwrap_or(path)
}

/// When `dir` holds a lock file (spelled `display` in messages), the error that it disagrees
/// with `migrations`: at its first line that differs, naming the migration.
pub(crate) fn verify(
    dir: &Path,
    display: &str,
    migrations: &[ScannedMigration],
) -> Option<Diagnostic> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let shown = format!("{}/{FILE}", display.trim_end_matches('/'));
    if let Some(at) = text
        .find("\n<<<<<<<")
        .map(|i| i + 1)
        .or_else(|| text.starts_with("<<<<<<<").then_some(0))
    {
        return Some(
            Diagnostic::error(&shown, "the lock file has merge conflict markers: two branches added migrations")
                .at(&text, at)
                .help("keep either side of the file, then run `tidemark renumber FILE` on the migration that merged in second; it moves above every other and rewrites the lock file"),
        );
    }
    let expected = lines(display, migrations);
    let mut found = text
        .char_indices()
        .filter(|&(i, _)| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .map(|(i, _)| (i, text[i..].lines().next().unwrap_or_default()))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let help = "run `tidemark lock` after adding or editing a migration; after a merge, `tidemark renumber FILE` gives a migration the next version and rewrites the lock file";
    for want in &expected {
        let file = want.split(' ').next().unwrap_or_default();
        match found.next() {
            Some((_, got)) if got.trim_end() == want => {}
            Some((at, got)) => {
                let got_file = got.split(' ').next().unwrap_or_default();
                let message = if got_file == file {
                    format!("the lock file disagrees with the folder at {file}: it or a migration before it changed since the file was written")
                } else {
                    format!("the lock file disagrees with the folder at {file}: the file lists {got_file} here")
                };
                return Some(Diagnostic::error(&shown, message).at(&text, at).help(help));
            }
            None => {
                return Some(
                    Diagnostic::error(&shown, format!("the lock file does not list {file}"))
                        .at(&text, text.len())
                        .help(help),
                )
            }
        }
    }
    found.next().map(|(at, got)| {
        let file = got.split(' ').next().unwrap_or_default();
        Diagnostic::error(
            &shown,
            format!("the lock file lists {file}, which is not in the folder"),
        )
        .at(&text, at)
        .help(help)
    })
}
