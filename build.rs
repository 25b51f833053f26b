//! The tidemark package's own build script: its examples and tests embed migration folders, so
//! it does what a user's build.rs does (`tidemark::build::rerun_if_changed`), and a new file in
//! those folders rebuilds them. Only folders that exist are watched (a packaged crate may lack
//! them), so the script never reruns for nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for dir in [
        "examples/migrations",
        "examples/code_migrations",
        "tests/fixtures",
    ] {
        if std::path::Path::new(dir).is_dir() {
            tidemark_core::rerun_if_changed(dir);
        }
    }
}
