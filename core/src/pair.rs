//! Pairs the files of a folder into migrations: forward with rollback, by version, reporting
//! the rules across files (duplicate versions and names, rollbacks without a forward script).

use crate::diagnostic::Diagnostic;
use crate::kind::Kind;
use crate::model::{Found, ScannedMigration, Script};
use crate::name::Role;
use crate::version::Version;
use std::collections::BTreeMap;

#[derive(Default)]
struct Group {
    forward: Vec<Found>,
    rollback: Vec<Found>,
}

/// Pairs forward and rollback files into migrations in run order (versions ascending, then
/// repeatables by name), reporting every conflict. Rollbacks of versions without a forward
/// file are given back: a checkpoint may stand for their forward script
/// ([`orphan_rollbacks`] reports the others).
pub(crate) fn assemble(
    found: Vec<Found>,
    out: &mut Vec<Diagnostic>,
) -> (Vec<ScannedMigration>, Vec<Found>) {
    let (versioned, repeatable) = group(found);
    let mut migrations = Vec::new();
    let mut orphans = Vec::new();
    for (version, group) in versioned {
        migrations.extend(versioned_migration(version, group, &mut orphans, out));
    }
    for (name, group) in repeatable {
        migrations.extend(repeatable_migration(name, group, out));
    }
    (migrations, orphans)
}

/// The files grouped by version (versioned migrations) and by name (repeatables), forward
/// and rollback files apart; the maps keep run order.
fn group(found: Vec<Found>) -> (BTreeMap<Version, Group>, BTreeMap<String, Group>) {
    let mut versioned: BTreeMap<Version, Group> = BTreeMap::new();
    let mut repeatable: BTreeMap<String, Group> = BTreeMap::new();
    for f in found {
        match (&f.version, f.role) {
            (Some(v), Role::Forward) => versioned.entry(v.clone()).or_default().forward.push(f),
            (Some(v), Role::Rollback) => versioned.entry(v.clone()).or_default().rollback.push(f),
            (None, Role::Rollback) => repeatable
                .entry(f.name.clone())
                .or_default()
                .rollback
                .push(f),
            _ => repeatable
                .entry(f.name.clone())
                .or_default()
                .forward
                .push(f),
        }
    }
    (versioned, repeatable)
}

/// The up and down scripts of a pair, when both could be read.
fn scripts(up: Option<Script>, down: Option<Found>) -> Option<(Script, Option<Script>)> {
    let down = match down {
        None => None,
        Some(d) => Some(d.script?),
    };
    Some((up?, down))
}

/// One version's migration; its duplicates and conflicts reported. A rollback without a
/// forward file goes to `orphans` (a checkpoint may stand for its forward script).
fn versioned_migration(
    version: Version,
    group: Group,
    orphans: &mut Vec<Found>,
    out: &mut Vec<Diagnostic>,
) -> Option<ScannedMigration> {
    let duplicate = format!("duplicate version {version}");
    report_duplicates(&group.forward, &duplicate, RENUMBER, out);
    let second = format!("a second rollback for version {version}");
    report_duplicates(&group.rollback, &second, ONE_ROLLBACK, out);
    let Some(first) = group.forward.into_iter().next() else {
        orphans.extend(group.rollback);
        return None;
    };
    let down = group.rollback.into_iter().next();
    let code = first.script.as_ref().is_some_and(|s| s.code);
    if let Some(d) = down.as_ref().filter(|_| code) {
        out.push(
            Diagnostic::error(
                &d.path,
                format!("`{}` is a code migration: its rollback is its `down` function", first.path),
            )
            .help("move this SQL into `pub async fn down` (run it with `tx.batch_execute`) and delete this file"),
        );
        return None;
    }
    let (up, down) = scripts(first.script, down)?;
    if let Some(d) = &down {
        no_phase_here(d, "a rollback script takes its migration's phase: put `-- tidemark:contract` in the forward file and remove it here", out);
    }
    Some(ScannedMigration {
        version: Some(version),
        name: first.name,
        kind: if code { Kind::Code } else { Kind::Versioned },
        form: first.form,
        up,
        down,
        squashed: false,
    })
}

/// One repeatable migration; its duplicates, and undo scripts without it, reported.
fn repeatable_migration(
    name: String,
    group: Group,
    out: &mut Vec<Diagnostic>,
) -> Option<ScannedMigration> {
    let duplicate = format!("duplicate repeatable migration `{name}`");
    report_duplicates(
        &group.forward,
        &duplicate,
        "give each repeatable migration its own name",
        out,
    );
    let second = format!("a second undo script for repeatable migration `{name}`");
    report_duplicates(&group.rollback, &second, ONE_ROLLBACK, out);
    let Some(f) = group.forward.into_iter().next() else {
        for r in &group.rollback {
            out.push(
                Diagnostic::error(
                    &r.path,
                    format!("undo script for repeatable migration `{name}` has no `R__{name}.sql`"),
                )
                .help("add the repeatable migration, or fix the name in this file's name"),
            );
        }
        return None;
    };
    let (up, down) = scripts(f.script, group.rollback.into_iter().next())?;
    for s in std::iter::once(&up).chain(&down) {
        no_phase_here(s, "a repeatable migration is re-run whenever it changes, so it has no phase: move what it removes into a versioned migration marked `-- tidemark:contract`", out);
    }
    Some(ScannedMigration {
        version: None,
        name,
        kind: Kind::Repeatable,
        form: f.form,
        up,
        down,
        squashed: false,
    })
}

/// `tidemark:contract` where it means nothing (a rollback or a repeatable script): an error at
/// the directive, so a reader never believes the file waits for the old release.
fn no_phase_here(script: &Script, help: &str, out: &mut Vec<Diagnostic>) {
    if !script.contract {
        return;
    }
    let marker = if script.code { "//" } else { "--" };
    let body = script.text.strip_prefix('\u{feff}').unwrap_or(&script.text);
    let at = crate::directive::find(body, body.len(), marker, crate::directive::CONTRACT);
    let d = Diagnostic::error(&script.path, "`tidemark:contract` cannot be used here").help(help);
    out.push(match at {
        Some(at) => d.at(body, at),
        None => d,
    });
}

const ONE_ROLLBACK: &str = "keep one rollback script per version and delete or merge the other";
/// Reports rollbacks whose version has neither a forward file nor a checkpoint entry.
pub(crate) fn orphan_rollbacks(orphans: Vec<Found>, out: &mut Vec<Diagnostic>) {
    for r in orphans {
        let version = r
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        out.push(
            Diagnostic::error(
                &r.path,
                format!("rollback for version {version} has no forward migration"),
            )
            .help(
                "add the forward script for this version, or fix the version in this file's name",
            ),
        );
    }
}

const RENUMBER: &str = "give every migration its own version (renumber one of the two files)";

fn report_duplicates(files: &[Found], what: &str, help: &str, out: &mut Vec<Diagnostic>) {
    if let Some((first, rest)) = files.split_first() {
        for f in rest {
            out.push(
                Diagnostic::error(&f.path, format!("{what}: `{}` has it too", first.path))
                    .help(help),
            );
        }
    }
}
