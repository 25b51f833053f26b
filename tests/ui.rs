//! Compile-fail cases of `embed_migrations!`: one per error, the expected message checked in.

#[test]
fn ui() {
    // Under trybuild the crate is compiled from target/tests/trybuild/…, so CARGO_MANIFEST_DIR
    // would point there; the macro reads this override first.
    std::env::set_var("TIDEMARK_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
