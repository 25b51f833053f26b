//! The schema verbs (feature `schema`): `schema`, `drift` and `squash`, which build the schema
//! the migrations make on a scratch database. In an application's own `migrate` subcommand they
//! run its embedded set, Rust code migrations included; the `tidemark` binary runs them on a
//! folder it reads (and refuses one with code migrations, which it cannot run).

mod drift;
pub(crate) mod scratch;
mod squash;
mod write;

pub use drift::DriftArgs;
pub use squash::SquashArgs;
pub use write::SchemaArgs;

#[cfg(feature = "tool")]
pub(crate) use write::render;

use crate::MigrateCommand;
use std::path::Path;
use tidemark::Migrations;

/// Runs `command` when it is a schema verb (`Some` exit code), else `None`. A checkpoint goes
/// into `folder` (`squash --into`, else the folder the set was read or embedded from).
pub(crate) async fn execute(
    set: &Migrations,
    command: &MigrateCommand,
    folder: Option<&Path>,
) -> Option<u8> {
    Some(match command {
        MigrateCommand::Schema(args) => write::run(set, args).await,
        MigrateCommand::Drift(args) => drift::run(set, args).await,
        MigrateCommand::Squash(args) => squash::run(folder, set, args).await,
        _ => return None,
    })
}
