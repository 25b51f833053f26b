//! A new migration file must never ship silently unembedded: a scratch crate without a build
//! script warns at build time, its debug binary reports the stale set at run time, and with
//! `tidemark::build::rerun_if_changed` in a build script a new file is embedded.

use tidemark_rig::scratch::Scratch;

const MAIN: &str = r#"
static M: tidemark::Migrations = tidemark::embed_migrations!("migrations");

/// Prints tidemark's warnings, so the test can read them.
struct Print;
impl tracing::Subscriber for Print {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool { m.target().starts_with("tidemark") }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id { tracing::span::Id::from_u64(1) }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        struct M;
        impl tracing::field::Visit for M {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" { println!("WARN {v:?}"); }
            }
        }
        e.record(&mut M);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn main() {
    tracing::subscriber::set_global_default(Print).unwrap();
    let _ = M.migrator();
    println!("EMBEDDED {}", M.len());
}
"#;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_new_file_is_announced_without_a_build_script_and_embedded_with_one() {
    let deps = "[dependencies]\ntidemark = { {tidemark} }\ntracing = \"0.1\"\n";
    let c = Scratch::new("stale_probe", deps);
    c.write("src/main.rs", MAIN);
    c.write("migrations/V1__a.sql", "CREATE TABLE a (id int);\n");
    let built = c.cargo(&["build"]);
    assert!(built.status.success(), "{}", text(&built));
    assert!(
        text(&built).contains(
            "no build script watches `migrations`: a migration file added there is not embedded"
        ),
        "the build warns: {}",
        text(&built)
    );
    let run = c.cargo(&["run"]);
    assert!(text(&run).contains("EMBEDDED 1"), "{}", text(&run));
    assert!(!text(&run).contains("older state"), "{}", text(&run));

    c.write("migrations/V2__b.sql", "CREATE TABLE b (id int);\n");
    let run = c.cargo(&["run"]);
    let out = text(&run);
    assert!(out.contains("EMBEDDED 1"), "cargo did not rebuild: {out}");
    assert!(
        out.contains("this binary embeds an older state of migrations")
            && out.contains("new: migrations/V2__b.sql"),
        "the debug binary says it is stale, and why: {out}"
    );

    // With the helper in a build script, a new file rebuilds the crate.
    c.write(
        "Cargo.toml",
        &std::fs::read_to_string(c.path().join("Cargo.toml"))
            .unwrap()
            .replace(
                "[dependencies]",
                "[build-dependencies]\ntidemark = { {tidemark} }\n\n[dependencies]",
            )
            .replace(
                "{tidemark}",
                &format!(
                    "path = {:?}",
                    tidemark_rig::scratch::repo_root().display().to_string()
                ),
            ),
    );
    c.write(
        "build.rs",
        "fn main() {\n    tidemark::build::rerun_if_changed(\"migrations\");\n}\n",
    );
    let built = c.cargo(&["build"]);
    assert!(built.status.success(), "{}", text(&built));
    assert!(
        !text(&built).contains("no build script watches"),
        "{}",
        text(&built)
    );
    c.write("migrations/V3__c.sql", "CREATE TABLE c (id int);\n");
    let run = c.cargo(&["run"]);
    let out = text(&run);
    assert!(
        out.contains("EMBEDDED 3"),
        "the new files are embedded: {out}"
    );
    assert!(!out.contains("older state"), "{out}");

    // Watched by a build script, a binary that was just not rebuilt is told to rebuild, not
    // to add the build script it has.
    c.write("migrations/V4__d.sql", "CREATE TABLE d (id int);\n");
    let bin = tidemark_rig::scratch::repo_root().join("target/scratch/debug/stale_probe");
    let run = std::process::Command::new(&bin).output().unwrap();
    let out = text(&run);
    assert!(
        out.contains("new: migrations/V4__d.sql") && out.contains("rebuild it (`cargo build`)"),
        "{out}"
    );
    assert!(!out.contains("add a build.rs"), "{out}");
}

/// tidemark never prints: a stale debug binary and versions newer than the build reach the
/// caller as values in the `Report` and the `Status`, with no `tracing` subscriber installed
/// (this suite installs none).
#[tokio::test]
async fn warnings_reach_the_report_and_the_status_without_a_subscriber() {
    let db = crate::support::fresh_db().await;
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("V1__a.sql"),
        "CREATE TABLE a (id int);\n",
    )
    .unwrap();
    let scanned = tidemark_core::scan(
        folder.path(),
        &tidemark_core::ScanOptions {
            display_path: Some("migrations".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let read = tidemark::__private::from_scanned(scanned);
    // As `embed_migrations!` builds it in a debug build: knowing its folder, unwatched.
    let items: &'static [tidemark::Migration] = Box::leak(read.iter().cloned().collect());
    let dir: &'static str = Box::leak(folder.path().display().to_string().into_boxed_str());
    let source = tidemark::__private::Source {
        dir,
        shown: "migrations",
        ignore: &[],
        watched: false,
    };
    let set = tidemark::__private::migrations(items, *read.digest(), Some(source), read.order());
    std::fs::write(
        folder.path().join("V2__b.sql"),
        "CREATE TABLE b (id int);\n",
    )
    .unwrap();

    let report = set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["1"]);
    let [stale] = report.warnings.as_slice() else {
        panic!("{:?}", report.warnings)
    };
    assert_eq!(stale.kind(), "stale_binary");
    assert!(
        stale.to_string().contains("new: migrations/V2__b.sql")
            && stale.to_string().contains("add a build.rs"),
        "{stale}"
    );

    // A newer build applied version 2; this one tolerates it and says so.
    crate::support::set_of(&[
        ("V1__a.sql", "CREATE TABLE a (id int);\n"),
        ("V2__b.sql", "CREATE TABLE b (id int);\n"),
    ])
    .migrator()
    .run(&db.pool)
    .await
    .unwrap();
    let older = crate::support::set_of(&[("V1__a.sql", "CREATE TABLE a (id int);\n")]);
    let future = tidemark::Warning::FutureVersions {
        versions: vec!["2".to_owned()],
    };
    let report = older.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.warnings, std::slice::from_ref(&future));
    let status = older.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.warnings, [future]);
}
