//! The build-script helper that makes a new migration file trigger a rebuild.

/// Tells Cargo to rerun the build script, and so to recompile the crate and re-expand
/// `embed_migrations!`, whenever anything in `dir` changes.
///
/// Editing an existing migration already triggers a rebuild (the macro embeds each file with
/// `include_str!`), but a *new* file is only seen when the build runs again. Call this from
/// `build.rs` with the same path you give the macro:
///
/// ```no_run
/// // in build.rs, inside `fn main()`:
/// tidemark_core::rerun_if_changed("migrations");
/// ```
///
/// It is equivalent to `println!("cargo:rerun-if-changed=migrations");`: Cargo scans a directory
/// given this way recursively.
#[allow(clippy::print_stdout)]
pub fn rerun_if_changed(dir: &str) {
    println!("cargo:rerun-if-changed={dir}");
}
