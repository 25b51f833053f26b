//! Build-time analysis (features `syntax` and `lint`): a syntax error at `path:line:col`, each
//! lint firing as a compiler warning (made errors here with `#![deny(deprecated)]` so that
//! trybuild sees them), each allowed by its directive, nothing fired inside a function body or
//! a string, and `deny` in the macro call. Run with `cargo test --test lint --features lint`.

#[cfg(feature = "lint")]
#[test]
fn lint() {
    std::env::set_var("TIDEMARK_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/lint/*.rs");
    t.pass("tests/lint/pass/*.rs");
}
