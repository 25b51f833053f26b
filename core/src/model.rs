//! Plain data describing a scanned folder; the macro turns it into tokens, the CLI into a
//! run-time migration set.

use crate::checksum::Checksum;
use crate::diagnostic::Diagnostic;
use crate::kind::Kind;
use crate::name::{Form, Role};
use crate::version::{Order, Version};
use std::path::PathBuf;

/// One SQL script (a forward or a rollback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The path as shown to people: the folder as the user wrote it plus the file inside it.
    pub path: String,
    /// The absolute path, for `include_str!`.
    pub abs_path: PathBuf,
    /// The file's text exactly as read (byte-order mark and CRLF included).
    pub text: String,
    /// SHA-256 of the normalized text.
    pub checksum: Checksum,
    /// Runs outside a transaction (`-- tidemark:no-transaction`, `-- no-transaction`, or diesel's
    /// `run_in_transaction = false`).
    pub no_transaction: bool,
    /// A Rust code migration's source (`.rs`), which the macro includes as a module; not SQL.
    pub code: bool,
    /// The file is wrapped in its own `BEGIN` … `COMMIT`, which tidemark's transaction replaces
    /// (see [`without_own_transaction`](crate::without_own_transaction)).
    pub own_transaction: bool,
    /// May apply below the highest applied version (`-- tidemark:out-of-order`, `//` in Rust).
    pub out_of_order: bool,
    /// A contract migration (`-- tidemark:contract`, `//` in Rust): it removes or renames what
    /// the previous release uses, so it waits until no instance of that release is alive.
    pub contract: bool,
}

/// A migration assembled from one or two files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedMigration {
    /// The version; `None` for repeatables.
    pub version: Option<Version>,
    /// The descriptive name.
    pub name: String,
    /// Versioned or repeatable.
    pub kind: Kind,
    /// The naming convention of the forward file.
    pub form: Form,
    /// The forward (or repeatable) script.
    pub up: Script,
    /// The rollback script, if any.
    pub down: Option<Script>,
    /// Its file is gone: a checkpoint stands for it (see [`Checkpoint`]), and `up` is an empty
    /// script at the checkpoint's path with the checksum the checkpoint recorded.
    pub squashed: bool,
}

/// A checkpoint file (`B{ver}__{name}.sql`): the schema as of its version, which a database
/// with no migration applied runs instead of every migration it squashes (`tidemark squash`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The newest version it squashes.
    pub version: Version,
    /// The descriptive name.
    pub name: String,
    /// The script that creates the schema.
    pub script: Script,
    /// How many of the set's first versioned migrations it stands for (those up to `version`).
    pub squashes: usize,
}

impl ScannedMigration {
    /// The identity recorded in history: the canonical version text, or `R__{name}`.
    pub fn id(&self) -> String {
        match &self.version {
            Some(v) => v.to_string(),
            None => format!("R__{}", self.name),
        }
    }
}

/// A valid folder: its migrations in run order and the digest of the whole set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationSet {
    /// Versioned migrations by version, then repeatables by name.
    pub migrations: Vec<ScannedMigration>,
    /// The set digest (see [`set_digest`](crate::set_digest)).
    pub digest: Checksum,
    /// How its versions are ordered: diesel's string order for a diesel folder, else numeric.
    pub order: Order,
    /// Problems that do not stop the build, such as an empty forward script.
    pub warnings: Vec<Diagnostic>,
    /// The checkpoint, if the folder has one.
    pub checkpoint: Option<Checkpoint>,
}

/// One file that plays a role in a migration, as found by the scan; pairing turns
/// these into migrations. The script is `None` when the file failed its checks.
pub(crate) struct Found {
    pub(crate) version: Option<Version>,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) form: Form,
    pub(crate) path: String,
    pub(crate) script: Option<Script>,
}
