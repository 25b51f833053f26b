//! The tidemark package's own build script: its examples and tests embed migration folders, so
//! it does what a user's build.rs does (`tidemark::build::rerun_if_changed`), and a new file in
//! those folders rebuilds them. Only folders that exist are watched (a packaged crate may lack
//! them), so the script never reruns for nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Spelled out too: the lint cases are built by trybuild in crates without this script's
    // output, and the macro then reads this file to see that the folder is watched.
    println!("cargo:rerun-if-changed=tests/lint");
    for dir in [
        "examples/migrations",
        "examples/code_migrations",
        "examples/rolling_deploy",
        "tests/fixtures",
        "tests/ui/fixtures/data-tests",
    ] {
        if std::path::Path::new(dir).is_dir() {
            tidemark_core::rerun_if_changed(dir);
        }
    }
}
