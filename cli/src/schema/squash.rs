//! `squash --up-to V`: a checkpoint, `B{V}__{name}.sql`, holding the schema as of
//! version V, which a database with no migration applied runs instead of every migration up to
//! V (recording each as applied), while databases that applied them keep running `up` as
//! before. The files of the squashed migrations may then be deleted.

use super::scratch::{self, LeaveOutArgs, ScratchArgs};
use crate::exit;
use crate::say;
use std::path::{Path, PathBuf};
use tidemark::{Migration, Migrations, Target};

/// `squash`'s options.
#[derive(clap::Args, Clone, Debug)]
pub struct SquashArgs {
    /// The newest version the checkpoint stands for.
    #[arg(long, value_name = "VERSION")]
    up_to: String,
    /// The checkpoint's name: the file is `B{VERSION}__{NAME}.sql`.
    #[arg(long, default_value = "checkpoint")]
    name: String,
    /// The folder to write the checkpoint into (default: the migration folder; in an
    /// application's `migrate squash`, the folder the migrations were embedded from, which a
    /// debug build knows).
    #[arg(long, value_name = "DIR")]
    into: Option<PathBuf>,
    #[command(flatten)]
    scratch: ScratchArgs,
    #[command(flatten)]
    leave_out: LeaveOutArgs,
}

/// Squashes into `--into`, else `folder` (the folder the set was read from), else the folder
/// the set was embedded from.
pub(crate) async fn run(folder: Option<&Path>, set: &Migrations, args: &SquashArgs) -> u8 {
    let Some(dir) = args.into.as_deref().or(folder).or(set.folder()) else {
        say::error(
            "this build does not know where its migration folder is (a release build):              give it with --into DIR",
        );
        return exit::USAGE;
    };
    match squash(dir, set, args).await {
        Ok(()) => exit::OK,
        Err(e) => {
            say::error(&e);
            exit::FAILURE
        }
    }
}

async fn squash(dir: &Path, set: &Migrations, args: &SquashArgs) -> Result<(), String> {
    let squashed = squashed_up_to(set, &args.up_to)?;
    let version = squashed[squashed.len() - 1].version().to_owned();
    let mut header = tidemark_core::checkpoint_header(
        set.order(),
        squashed
            .iter()
            .map(|m| (m.version(), m.kind(), m.up().checksum(), m.name())),
    );
    let explanation = format!(
        "The schema as of version {version}, written by `tidemark squash --up-to {version}`: a\n\
         database with no migration applied runs this instead of the {} migrations listed above\n\
         and records each of them as applied; a database that applied them goes on from there.\n\
         Do not edit: squash again instead.",
        squashed.len()
    );
    header.push_str(
        &scratch::render(
            set,
            Target::Version(version.clone()),
            &explanation,
            &args.scratch,
            &args.leave_out,
        )
        .await?,
    );
    let file = dir.join(format!("B{version}__{}.sql", args.name));
    std::fs::write(&file, &header).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    say::out(&format!(
        "wrote {}: the schema as of version {version}, standing for {}",
        file.display(),
        say::count(squashed.len(), "migration")
    ));
    remove_old_checkpoint(dir, set, &file)?;
    note_data_changes(set, &squashed);
    say::out(&format!(
        "the files of the {} squashed migrations may now be deleted (keep their rollbacks if you \
         roll back below version {version}); databases that applied them keep running `up` as before",
        squashed.len()
    ));
    Ok(())
}

/// The versioned migrations up to `up_to` (diesel's dashes are not part of its versions),
/// which must reach past the current checkpoint.
fn squashed_up_to<'s>(set: &'s Migrations, up_to: &str) -> Result<Vec<&'s Migration>, String> {
    let versioned: Vec<&Migration> = set.iter().filter(|m| m.kind().is_versioned()).collect();
    let wanted = up_to.replace('-', "");
    let upto = versioned
        .iter()
        .position(|m| m.version() == wanted)
        .ok_or_else(|| format!("version {up_to} is not a versioned migration of the folder"))?;
    if let Some((old, at, squashes)) = set.checkpoint() {
        if upto < squashes {
            return Err(format!(
                "{} already squashes up to version {at}: squash up to a later version",
                old.path()
            ));
        }
    }
    Ok(versioned[..=upto].to_vec())
}

/// The checkpoint the new one replaces, deleted.
fn remove_old_checkpoint(dir: &Path, set: &Migrations, new: &Path) -> Result<(), String> {
    let Some((old, _, _)) = set.checkpoint() else {
        return Ok(());
    };
    let old_file = dir.join(Path::new(old.path()).file_name().unwrap_or_default());
    if old_file == new {
        return Ok(());
    }
    std::fs::remove_file(&old_file).map_err(|e| {
        format!(
            "cannot remove the old checkpoint {}: {e}",
            old_file.display()
        )
    })?;
    say::out(&format!(
        "removed the old checkpoint {}",
        old_file.display()
    ));
    Ok(())
}

/// Lists the squashed migrations that change data, which a schema does not hold.
fn note_data_changes(set: &Migrations, squashed: &[&Migration]) {
    let data: Vec<String> = squashed
        .iter()
        .filter_map(|m| changes_data(set, m))
        .collect();
    if data.is_empty() {
        return;
    }
    say::out(&format!(
        "note: {} change data, which a schema does not hold: a database made from the \
         checkpoint will not have what they insert or update; move that data into a seed \
         or into a migration after the checkpoint:",
        say::count(data.len(), "squashed migration")
    ));
    for d in &data {
        say::out(&format!("  {d}"));
    }
}

/// Where `m` changes data: its first `INSERT`, `UPDATE`, `DELETE`, `MERGE` or `COPY`, or a
/// code migration (which may do anything).
fn changes_data(set: &Migrations, m: &Migration) -> Option<String> {
    if set.is_squashed(m) {
        return None; // an earlier checkpoint already stands for it
    }
    if m.up().is_code() {
        return Some(format!("{}: a code migration", m.up().path()));
    }
    let sql = m.up().sql();
    let statements = tidemark_core::lexer::split(sql).ok()?;
    const DML: [&str; 5] = ["INSERT", "UPDATE", "DELETE", "MERGE", "COPY"];
    statements.iter().find_map(|s| {
        let first = s.words.first()?;
        let verb = if first == "WITH" {
            s.words.iter().find(|w| DML.contains(&w.as_str()))?
        } else {
            DML.contains(&first.as_str()).then_some(first)?
        };
        let line = sql[..s.code_start.unwrap_or(0)].matches('\n').count() + 1;
        Some(format!("{}:{line}: {verb}", m.up().path()))
    })
}
