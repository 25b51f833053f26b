//! Where the crate that calls the macro lives.

use std::path::PathBuf;

/// The directory against which migration paths are resolved.
///
/// `TIDEMARK_MANIFEST_DIR_OVERRIDE` comes first: under trybuild, `CARGO_MANIFEST_DIR` points into
/// `target/tests/trybuild/…`, so the ui test driver sets the override to the real crate root.
pub(crate) fn dir() -> Result<PathBuf, String> {
    std::env::var_os("TIDEMARK_MANIFEST_DIR_OVERRIDE")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .ok_or_else(|| {
            "CARGO_MANIFEST_DIR is not set; embed_migrations! must be expanded by Cargo".to_owned()
        })
}
