//! What the macro embeds equals what core scans, and checksums ignore CRLF.

use std::path::Path;
use tidemark::Migrations;
use tidemark_core::{scan, ScanOptions};

static EXAMPLE: Migrations = tidemark::embed_migrations!("examples/migrations");
static CRLF: Migrations = tidemark::embed_migrations!("tests/fixtures/crlf");
static LF: Migrations = tidemark::embed_migrations!("tests/fixtures/lf");

#[test]
fn the_embedded_set_equals_cores_scan() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/migrations");
    let options = ScanOptions {
        display_path: Some("examples/migrations".into()),
        ..Default::default()
    };
    let scanned = scan(&dir, &options).expect("the example folder is valid");
    assert_eq!(EXAMPLE.digest(), &scanned.digest);
    assert_eq!(EXAMPLE.len(), scanned.migrations.len());
    for (e, s) in EXAMPLE.iter().zip(&scanned.migrations) {
        assert_eq!(e.version(), s.id());
        assert_eq!(e.name(), s.name);
        assert_eq!(e.up().path(), s.up.path);
        assert_eq!(e.up().sql(), s.up.text);
        assert_eq!(e.up().checksum(), &s.up.checksum);
        assert_eq!(e.up().no_transaction(), s.up.no_transaction);
        assert_eq!(
            e.down().map(|d| *d.checksum()),
            s.down.as_ref().map(|d| d.checksum)
        );
    }
}

#[test]
fn a_crlf_copy_has_the_checksum_of_its_lf_original() {
    let (crlf, lf) = (CRLF.iter().next().unwrap(), LF.iter().next().unwrap());
    assert!(
        crlf.up().sql().contains("\r\n"),
        "the fixture really has CRLF line ends"
    );
    assert!(!lf.up().sql().contains('\r'));
    assert_eq!(crlf.up().checksum(), lf.up().checksum());
    assert_eq!(CRLF.digest(), LF.digest());
}

static MIXED: Migrations =
    tidemark::embed_migrations!("tests/fixtures/mixed_forms", ignore = ["seed_data.sql"]);

#[test]
fn every_file_form_in_one_folder_in_version_order() {
    let versions: Vec<&str> = MIXED.iter().map(|m| m.version()).collect();
    assert_eq!(
        versions,
        [
            "00000000000000",
            "1",
            "2",
            "3",
            "3.1",
            "20240131120000",
            "202401311200000000",
            "R__view"
        ]
    );
    let names: Vec<&str> = MIXED.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "diesel_initial_setup",
            "flyway",
            "sqlx_reversible",
            "sqlx_simple",
            "dotted",
            "events",
            "event_index",
            "view"
        ]
    );
    let with_rollback: Vec<&str> = MIXED
        .iter()
        .filter(|m| m.down().is_some())
        .map(|m| m.version())
        .collect();
    assert_eq!(
        with_rollback,
        [
            "00000000000000",
            "1",
            "2",
            "3.1",
            "20240131120000",
            "202401311200000000"
        ]
    );
    let no_tx: Vec<&str> = MIXED
        .iter()
        .filter(|m| m.up().no_transaction())
        .map(|m| m.version())
        .collect();
    assert_eq!(
        no_tx,
        ["202401311200000000"],
        "diesel's run_in_transaction = false"
    );
    let index = MIXED.iter().find(|m| m.name() == "event_index").unwrap();
    assert!(
        index.down().unwrap().no_transaction(),
        "metadata.toml covers down.sql too"
    );
    assert_eq!(
        index.up().path(),
        "tests/fixtures/mixed_forms/2024-01-31-120000-0000_event_index/up.sql"
    );
    assert_eq!(
        MIXED.iter().last().unwrap().kind(),
        tidemark::MigrationKind::Repeatable
    );
}

/// A folder whose lock file (`tidemark.sum`) agrees with it builds: the macro reads the file and
/// checks every line (a disagreeing one is the trybuild case `lockfile-disagrees`).
static LOCKED: tidemark::Migrations = tidemark::embed_migrations!("tests/fixtures/locked");

#[test]
fn a_folder_whose_lock_file_agrees_builds() {
    let versions: Vec<&str> = LOCKED.iter().map(|m| m.version()).collect();
    assert_eq!(versions, ["1", "2"]);
}
