//! Debug builds only: is this binary stale? A set embedded by `embed_migrations!` knows (in debug
//! builds) the folder it came from, which is usually still there on the developer's machine:
//! compare it with what was embedded, so a migration file added without a rebuild is noticed at
//! run time, not shipped silently.

use crate::events;
use crate::migrations::Migrations;
use crate::warning::Warning;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// The difference between the folder on disk and the embedded set, if the set knows its folder,
/// the folder is still there, and they differ.
pub(crate) fn stale(set: &Migrations) -> Option<Warning> {
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
    Some(Warning::StaleBinary {
        folder: source.shown.to_owned(),
        new,
        changed,
        gone,
        watched: source.watched,
    })
}

/// Whether the binary is stale for `set` ([`stale`]), read from disk once per process and set
/// (a migrator is made per run); the first time it is, also a `tracing` warning (target
/// [`events::STALE`]).
pub(crate) fn check_once(set: &Migrations) -> Option<Warning> {
    type Seen = Vec<([u8; 32], Option<Warning>)>;
    static CHECKED: Mutex<Seen> = Mutex::new(Vec::new());
    set.source?;
    let mut checked = CHECKED.lock().ok()?;
    if let Some((_, seen)) = checked.iter().find(|(d, _)| d == set.digest()) {
        return seen.clone();
    }
    let found = stale(set);
    checked.push((*set.digest(), found.clone()));
    drop(checked);
    if let Some(w @ Warning::StaleBinary { folder, .. }) = &found {
        tracing::warn!(target: events::STALE, folder = %folder, "{w}");
    }
    found
}
