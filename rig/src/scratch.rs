//! Scratch crates: a small crate written to a temporary directory that depends on this
//! repository's `tidemark` by path, built with cargo the way a user's crate would be. Builds go
//! to `target/scratch` (shared by every scratch crate, so only the first build compiles the
//! dependencies) and run offline against the workspace's `Cargo.lock`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root (where the workspace `Cargo.toml` is).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("rig/ is inside the repository")
        .to_path_buf()
}

/// A crate in a temporary directory.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A crate named `name` whose `Cargo.toml` has `manifest_tail` after its `[package]` table
    /// (dependencies; `{tidemark}` stands for `path = "<repo>"`, `{tidemark-cli}` for
    /// `path = "<repo>/cli"`).
    pub fn new(name: &str, manifest_tail: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = |p: PathBuf| format!("path = {:?}", p.display().to_string());
        let tail = manifest_tail
            .replace("{tidemark}", &path(repo_root()))
            .replace("{tidemark-cli}", &path(repo_root().join("cli")));
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n{tail}"
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::copy(
            repo_root().join("Cargo.lock"),
            dir.path().join("Cargo.lock"),
        )
        .unwrap();
        Self { dir }
    }

    /// The crate's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `file` (relative to the crate), creating folders.
    pub fn write(&self, file: &str, text: &str) {
        let path = self.dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Removes `file`.
    pub fn remove(&self, file: &str) {
        std::fs::remove_file(self.dir.path().join(file)).unwrap();
    }

    /// `cargo ARGS` in the crate, offline, into `target/scratch`.
    pub fn cargo(&self, args: &[&str]) -> Output {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(args)
            .args(["--offline", "--quiet"])
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", repo_root().join("target/scratch"))
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs")
    }
}
