//! Debug builds only: is this binary stale? A set embedded by `embed_migrations!` knows (in debug
//! builds) the folder it came from, which is usually still there on the developer's machine:
//! compare it with what was embedded, so a migration file added without a rebuild is noticed at
//! run time, not shipped silently.

use crate::events;
use crate::migrations::Migrations;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

/// How the folder differs from the embedded set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stale {
    folder: String,
    new: Vec<String>,
    changed: Vec<String>,
    gone: Vec<String>,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this binary embeds an older state of {}: it was built before these files changed",
            self.folder
        )?;
        for (what, paths) in [
            ("new", &self.new),
            ("changed", &self.changed),
            ("gone", &self.gone),
        ] {
            for p in paths {
                write!(f, "\n  {what}: {p}")?;
            }
        }
        write!(
            f,
            "\n  rebuild it; so that new files always rebuild the crate, add a build.rs with \
             `fn main() {{ println!(\"cargo:rerun-if-changed={}\"); }}`",
            self.folder
        )
    }
}

/// The difference between the folder on disk and the embedded set, if the set knows its folder,
/// the folder is still there, and they differ.
pub(crate) fn stale(set: &Migrations) -> Option<Stale> {
    let source = set.source?;
    let dir = Path::new(source.dir);
    if !dir.is_dir() {
        return None; // the binary runs elsewhere: nothing to compare with
    }
    let options = tidemark_core::ScanOptions {
        display_path: Some(source.shown.to_owned()),
        ignore: source.ignore.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    let checked = tidemark_core::check(dir, &options);
    let mut on_disk: BTreeMap<String, Option<[u8; 32]>> = BTreeMap::new();
    // A checkpoint's path is also the path of the entries it stands for: its own script last.
    let checkpoint = checked.checkpoint.as_ref().map(|c| &c.script);
    for m in &checked.migrations {
        for s in std::iter::once(&m.up).chain(&m.down) {
            on_disk.insert(s.path.clone(), Some(s.checksum));
        }
    }
    if let Some(s) = checkpoint {
        on_disk.insert(s.path.clone(), Some(s.checksum));
    }
    for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
        on_disk.entry(d.path.clone()).or_insert(None);
    }
    let mut embedded: BTreeMap<&str, [u8; 32]> = BTreeMap::new();
    for m in set.iter() {
        for s in std::iter::once(&m.up).chain(&m.down) {
            embedded.insert(s.path(), *s.checksum());
        }
    }
    if let Some((s, _, _)) = set.checkpoint() {
        embedded.insert(s.path(), *s.checksum());
    }
    let new: Vec<String> = on_disk
        .keys()
        .filter(|p| !embedded.contains_key(p.as_str()))
        .cloned()
        .collect();
    let changed: Vec<String> = on_disk
        .iter()
        .filter(|(p, sum)| embedded.get(p.as_str()).is_some_and(|e| Some(*e) != **sum))
        .map(|(p, _)| p.clone())
        .collect();
    let gone: Vec<String> = embedded
        .keys()
        .filter(|p| !on_disk.contains_key(**p))
        .map(|p| (*p).to_owned())
        .collect();
    if new.is_empty() && changed.is_empty() && gone.is_empty() {
        return None;
    }
    Some(Stale {
        folder: source.shown.to_owned(),
        new,
        changed,
        gone,
    })
}

/// Warns (target [`events::STALE`]) once per process and set when the binary is stale.
pub(crate) fn warn_once(set: &Migrations) {
    static CHECKED: Mutex<Vec<[u8; 32]>> = Mutex::new(Vec::new());
    if set.source.is_none() {
        return;
    }
    let Ok(mut checked) = CHECKED.lock() else {
        return;
    };
    if checked.contains(set.digest()) {
        return;
    }
    checked.push(*set.digest());
    drop(checked);
    if let Some(s) = stale(set) {
        tracing::warn!(target: events::STALE, folder = %s.folder, "{s}");
    }
}
