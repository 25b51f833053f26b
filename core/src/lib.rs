//! Implementation detail of [tidemark](https://docs.rs/tidemark): everything about a migration
//! folder that needs no database.
//!
//! Scanning, the file-name grammar, directives, the SQL lexer and statement splitter,
//! checksums and validation. The `embed_migrations!` macro calls [`scan`] at build time and the
//! `tidemark` CLI calls it at run time, so both judge a folder identically. The only I/O is
//! reading the folder. The API is not covered by semver guarantees of its own; depend on
//! `tidemark`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod checkpoint;
mod checksum;
mod diagnostic;
pub(crate) mod directive;
mod kind;
pub mod lexer;
mod model;
mod name;
mod nontx;
mod pair;
pub mod position;
mod rerun;
mod scan;
mod script;
pub mod sum;
mod version;
mod wrapper;

pub use checkpoint::checkpoint_header;
pub use checksum::{
    checksum, digest_update, entry_digest, normalize, set_digest, to_hex, Checksum,
};
pub use diagnostic::{Diagnostic, Severity};
pub use directive::allowed_rules;
pub use kind::Kind;
pub use model::{Checkpoint, MigrationSet, ScannedMigration, Script};
pub use name::{parse_diesel_dir, parse_file_name, Form, ParsedName, Role};
pub use rerun::{is_watched, rerun_if_changed};
pub use scan::{check, scan, Audience, Checked, ScanOptions};
#[doc(hidden)]
pub use script::{check_script_bytes, check_sql_file};
pub use version::{Order, Version, MAX_PART};
pub use wrapper::without_own_transaction;
