//! Checkpoints: `B{ver}__{name}.sql` (Flyway's baseline-migration form), written by `tidemark
//! squash`. Its header lists every migration it stands for, one directive line each:
//!
//! ```sql
//! -- tidemark:checkpoint
//! -- tidemark:squashes 1 versioned 4160ff…81b6 create_users
//! -- tidemark:squashes 2 versioned 449314…2c07 create_posts
//! ```
//!
//! with the version, the kind and the checksum each had, so that a database that ran them one
//! by one and one that ran the checkpoint record the same history (and the same set digest),
//! and the files may be deleted: their entries stay in the set, without a script, marked
//! squashed. A file that is still there must be the file that was squashed.
//!
//! The checkpoint of a diesel folder opens with `-- tidemark:checkpoint diesel`: its versions
//! (the entries' and the one in its file name) are diesel's, spelled as diesel spells them
//! (`00000000000000` is not `0`) and ordered as strings, and the entries whose directories were
//! deleted stay diesel migrations, so the folder keeps diesel's order.

use crate::checksum::{to_hex, Checksum};
use crate::diagnostic::Diagnostic;
use crate::directive::{CHECKPOINT, DIESEL, SQUASHES};
use crate::kind::Kind;
use crate::model::{Checkpoint, Found, ScannedMigration, Script};
use crate::name::Form;
use crate::version::{Order, Version};
use std::path::Path;

/// One `-- tidemark:squashes` line.
struct Entry {
    version: Version,
    kind: Kind,
    checksum: Checksum,
    name: String,
    /// Byte offset of the line, for diagnostics.
    at: usize,
}

/// The checkpoint of `files` (the folder's `B…` files): its listed migrations checked against
/// the folder's files and, where a file is gone, added to `migrations` as squashed entries,
/// each with its rollback among `orphans` (rollback files whose forward file is gone) if it is
/// there. [`finish`] then counts them once the set is in order. Gives back the rollbacks no
/// entry took.
pub(crate) fn merge(
    files: Vec<Found>,
    orphans: Vec<Found>,
    migrations: &mut Vec<ScannedMigration>,
    out: &mut Vec<Diagnostic>,
) -> (Option<(Version, String, Script)>, Vec<Found>) {
    let mut orphans = orphans;
    let merged = merge_into(files, &mut orphans, migrations, out);
    (merged, orphans)
}

fn merge_into(
    files: Vec<Found>,
    orphans: &mut Vec<Found>,
    migrations: &mut Vec<ScannedMigration>,
    out: &mut Vec<Diagnostic>,
) -> Option<(Version, String, Script)> {
    let mut files = files.into_iter();
    let first = files.next()?;
    for other in files {
        out.push(
            Diagnostic::error(
                &other.path,
                format!("a second checkpoint beside `{}`", first.path),
            )
            .help("keep one checkpoint: `tidemark squash` writes the new one and deletes the old"),
        );
    }
    let script = first.script?;
    let diesel = is_diesel(&script);
    // A diesel checkpoint's version is diesel's text: `B00000000000002__…` is `00000000000002`.
    let version = if diesel {
        diesel_version_of(&first.path)?
    } else {
        first.version?
    };
    if script.no_transaction {
        out.push(
            Diagnostic::error(&script.path, "a checkpoint runs in one transaction")
                .help("remove the no-transaction directive; squash again if the file was edited"),
        );
        return None;
    }
    let entries = entries(&script, out)?;
    check_newest_entry(&script, &version, &entries, out)?;
    let form = if diesel { Form::Diesel } else { Form::Flyway };
    for e in &entries {
        merge_entry(e, &script, form, orphans, migrations, out);
    }
    // Versioned first, by version; repeatables after, as `assemble` leaves them.
    migrations.sort_by(|a, b| match (&a.version, &b.version) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.cmp(&b.name),
    });
    Some((version, first.name, script))
}

/// A checkpoint is named for the newest migration it lists.
fn check_newest_entry(
    script: &Script,
    version: &Version,
    entries: &[Entry],
    out: &mut Vec<Diagnostic>,
) -> Option<()> {
    let Some(last) = entries.last() else {
        out.push(
            Diagnostic::error(&script.path, "the checkpoint lists no squashed migration")
                .help("write checkpoints with `tidemark squash --up-to VERSION`"),
        );
        return None;
    };
    if !is(Some(&last.version), version) {
        out.push(
            Diagnostic::error(
                &script.path,
                format!(
                    "the checkpoint is named for version {version} but its newest squashed migration is {}",
                    last.version
                ),
            )
            .at(&script.text, last.at)
            .help("name the file after the newest migration it squashes, or squash again"),
        );
        return None;
    }
    Some(())
}

/// One listed migration: a file still in the folder must be as it was squashed; a deleted
/// one stays in the set without a script (with its rollback file, when that is still there).
fn merge_entry(
    e: &Entry,
    script: &Script,
    form: Form,
    orphans: &mut Vec<Found>,
    migrations: &mut Vec<ScannedMigration>,
    out: &mut Vec<Diagnostic>,
) {
    match migrations
        .iter()
        .find(|m| is(m.version.as_ref(), &e.version))
    {
        Some(m) if m.kind != e.kind || m.up.checksum != e.checksum => out.push(
            Diagnostic::error(
                &m.up.path,
                format!(
                    "this migration changed after `{}` squashed it (recorded: {} {}, now: {} {})",
                    script.path,
                    e.kind.as_str(),
                    to_hex(&e.checksum),
                    m.kind.as_str(),
                    to_hex(&m.up.checksum)
                ),
            )
            .help("restore the file as it was squashed, or squash again"),
        ),
        Some(_) => {}
        None => {
            let down = orphans
                .iter()
                .position(|r| is(r.version.as_ref(), &e.version))
                .and_then(|i| orphans.remove(i).script);
            migrations.push(ScannedMigration {
                version: Some(e.version.clone()),
                name: e.name.clone(),
                kind: e.kind,
                form,
                up: Script {
                    text: String::new(),
                    checksum: e.checksum,
                    no_transaction: false,
                    code: false,
                    own_transaction: false,
                    out_of_order: false,
                    contract: false,
                    ..script.clone()
                },
                down,
                squashed: true,
            });
        }
    }
}

/// The checkpoint once `migrations` are in the folder's `order`: it stands for the versioned
/// migrations up to its version, and each of them must be one it lists.
pub(crate) fn finish(
    merged: Option<(Version, String, Script)>,
    migrations: &[ScannedMigration],
    order: Order,
    out: &mut Vec<Diagnostic>,
) -> Option<Checkpoint> {
    let (version, name, script) = merged?;
    let listed = entries(&script, &mut Vec::new())?;
    let text = version.to_string();
    let mut squashes = 0;
    for m in migrations.iter().filter(|m| m.version.is_some()) {
        if order.compare(&m.id(), &text) == std::cmp::Ordering::Greater {
            break;
        }
        squashes += 1;
        if !listed.iter().any(|e| is(m.version.as_ref(), &e.version)) {
            out.push(
                Diagnostic::error(
                    &m.up.path,
                    format!(
                        "version {} is at or below the checkpoint `{}` (version {version}), which does not stand for it",
                        m.id(),
                        script.path
                    ),
                )
                .help("give this migration a version above the checkpoint's, or squash again"),
            );
        }
    }
    Some(Checkpoint {
        version,
        name,
        script,
        squashes,
    })
}

/// Whether `found` is the migration of `listed`'s version: the same text, which is what
/// history records (a diesel directory's version also knows how tidemark 0.1 spelled it,
/// which the header, written from the text, does not).
fn is(found: Option<&Version>, listed: &Version) -> bool {
    found.is_some_and(|v| v.text() == listed.text())
}

/// Whether the header opens with `-- tidemark:checkpoint diesel`.
fn is_diesel(script: &Script) -> bool {
    script.text.lines().any(|line| {
        line.trim()
            .strip_prefix("--")
            .and_then(|c| c.trim().strip_prefix("tidemark:"))
            .and_then(|d| d.trim().strip_prefix(CHECKPOINT))
            .is_some_and(|rest| rest.trim() == DIESEL)
    })
}

/// The version in a diesel checkpoint's file name (`B{version}__{name}.sql`), as diesel reads
/// a version.
fn diesel_version_of(path: &str) -> Option<Version> {
    let file = Path::new(path).file_name()?.to_str()?;
    let (ver, _) = file.strip_prefix('B')?.split_once("__")?;
    Version::parse_diesel(ver)
}

/// The header's entries, in the order written (which `tidemark squash` makes the set's).
fn entries(script: &Script, out: &mut Vec<Diagnostic>) -> Option<Vec<Entry>> {
    let diesel = is_diesel(script);
    let mut entries = Vec::new();
    let mut at = 0;
    let mut ok = true;
    for line in script.text.split_inclusive('\n') {
        let here = at;
        at += line.len();
        let Some(rest) = line
            .trim()
            .strip_prefix("--")
            .and_then(|c| c.trim().strip_prefix("tidemark:"))
            .and_then(|d| d.trim().strip_prefix(SQUASHES))
        else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let parsed = (|| {
            let word = words.next()?;
            let version = if diesel {
                Version::parse_diesel(word)?
            } else {
                Version::parse_canonical(word)?
            };
            let kind = Kind::from_history(words.next()?).filter(|k| k.is_versioned())?;
            let hex = words.next()?;
            let checksum = parse_hex(hex)?;
            let name = words.collect::<Vec<_>>().join(" ");
            Some((version, kind, checksum, name))
        })();
        match parsed {
            Some((version, kind, checksum, name)) => entries.push(Entry {
                version,
                kind,
                checksum,
                name,
                at: here,
            }),
            None => {
                ok = false;
                out.push(
                    Diagnostic::error(&script.path, "a `tidemark:squashes` line tidemark cannot read")
                        .at(&script.text, here)
                        .help("it is `-- tidemark:squashes VERSION KIND CHECKSUM NAME`, as `tidemark squash` writes it"),
                );
            }
        }
    }
    ok.then_some(entries)
}

fn parse_hex(hex: &str) -> Option<Checksum> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The header `tidemark squash` writes for `squashed` (version, kind, checksum, name; in the
/// set's order), in a folder whose versions are in `order`: a diesel folder's (the string
/// order) says so, and its versions keep diesel's spelling.
pub fn checkpoint_header<'a>(
    order: Order,
    squashed: impl IntoIterator<Item = (&'a str, Kind, &'a Checksum, &'a str)>,
) -> String {
    let mut header = match order {
        Order::Text => format!("-- tidemark:{CHECKPOINT} {DIESEL}\n"),
        Order::Numeric => format!("-- tidemark:{CHECKPOINT}\n"),
    };
    for (version, kind, checksum, name) in squashed {
        header.push_str(&format!(
            "-- tidemark:{SQUASHES} {version} {} {} {name}\n",
            kind.as_str(),
            to_hex(checksum)
        ));
    }
    header
}
