//! The build-script helper that makes a new migration file trigger a rebuild, and how the
//! macro learns that a build script watches its folder.

use std::path::{Component, Path, PathBuf};

/// The prefix of the marker files [`rerun_if_changed`] leaves in `OUT_DIR`.
const MARKER: &str = "tidemark-rerun-";

/// Tells Cargo to rerun the build script, and so to recompile the crate and re-expand
/// `embed_migrations!`, whenever anything in `dir` changes (a new file included).
///
/// Editing an existing migration already triggers a rebuild (the macro embeds each file with
/// `include_str!`), but a *new* file is only seen when the build runs again. Call this from
/// `build.rs` with the same path you give the macro (or a folder above it):
///
/// ```text
/// // build.rs
/// fn main() {
///     tidemark::build::rerun_if_changed("migrations");
/// }
/// ```
///
/// It prints `cargo:rerun-if-changed=migrations` (Cargo scans a directory given this way
/// recursively) and leaves a marker in `OUT_DIR`, so `embed_migrations!` knows the folder is
/// watched and does not warn.
#[allow(clippy::print_stdout)]
pub fn rerun_if_changed(dir: &str) {
    println!("cargo:rerun-if-changed={dir}");
    if let Some(out) = std::env::var_os("OUT_DIR") {
        let name = format!(
            "{MARKER}{}",
            crate::checksum::to_hex(&crate::checksum::checksum(dir)[..8])
        );
        let _ = std::fs::write(Path::new(&out).join(name), dir);
    }
}

/// Whether a build script of the crate at `manifest_dir` watches `dir` (a path relative to it):
/// it called [`rerun_if_changed`] for `dir` or a folder above it (a marker in `out_dir`), or
/// its `build.rs` prints `rerun-if-changed` for it by hand.
pub fn is_watched(dir: &str, manifest_dir: &Path, out_dir: Option<&Path>) -> bool {
    let wanted = normal(dir);
    let mut watched: Vec<PathBuf> = Vec::new();
    if let Some(entries) = out_dir.and_then(|o| std::fs::read_dir(o).ok()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(MARKER) {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    watched.push(normal(&text));
                }
            }
        }
    }
    if watched.iter().any(|w| wanted.starts_with(w)) {
        return true;
    }
    // A build script without the helper: `println!("cargo:rerun-if-changed=migrations")`.
    let Ok(build) = std::fs::read_to_string(manifest_dir.join("build.rs")) else {
        return false;
    };
    build
        .split("rerun-if-changed=")
        .skip(1)
        .map(|rest| rest.split(['"', '\n', ')']).next().unwrap_or_default())
        .any(|w| wanted.starts_with(normal(w)))
}

/// A relative path without `.` components or a trailing slash, for comparing.
fn normal(path: &str) -> PathBuf {
    Path::new(path.trim())
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_watched_through_a_marker_or_a_printed_directive() {
        let out = tempdir("out");
        let krate = tempdir("crate");
        assert!(!is_watched("migrations", &krate, Some(&out)));
        std::fs::write(out.join(format!("{MARKER}x")), "./db/").unwrap();
        assert!(
            is_watched("db/migrations", &krate, Some(&out)),
            "a folder above counts"
        );
        assert!(!is_watched("migrations", &krate, Some(&out)));
        std::fs::write(
            krate.join("build.rs"),
            "fn main() { println!(\"cargo:rerun-if-changed=migrations\"); }",
        )
        .unwrap();
        assert!(is_watched("migrations/", &krate, None));
        assert!(!is_watched("other", &krate, None));
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tm-rerun-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
