//! Checkpoints (`B{ver}__{name}.sql`) as the scan reads them: the migrations they stand for,
//! and every way a checkpoint and its folder can disagree.

use tidemark_core::{check, checksum, Checked, Kind, Order, ScanOptions};

/// A folder of `files` in a new temporary directory, checked.
fn checked(files: &[(&str, &str)]) -> Checked {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tidemark-checkpoint-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        // `00000000000002_a/up.sql`: a diesel directory.
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }
    let options = ScanOptions {
        display_path: Some("m".to_owned()),
        ..Default::default()
    };
    let c = check(&dir, &options);
    std::fs::remove_dir_all(&dir).unwrap();
    c
}

fn header(entries: &[(&str, &str, &str)]) -> String {
    header_in(Order::Numeric, entries)
}

/// The header `tidemark squash` writes in a folder of `order`.
fn header_in(order: Order, entries: &[(&str, &str, &str)]) -> String {
    let sums: Vec<_> = entries.iter().map(|(_, _, sql)| checksum(sql)).collect();
    tidemark_core::checkpoint_header(
        order,
        entries
            .iter()
            .zip(&sums)
            .map(|((v, name, _), sum)| (*v, Kind::Versioned, sum, *name)),
    )
}

fn errors(c: &Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect()
}

const A: &str = "CREATE TABLE a (id int);\n";
const B: &str = "CREATE TABLE b (id int);\n";
const C: &str = "CREATE TABLE c (id int);\n";

#[test]
fn a_checkpoint_stands_for_the_listed_migrations_whose_files_are_gone() {
    let b2 = header(&[("1", "a", A), ("2", "b", B)]) + "CREATE TABLE a (id int);\n";
    let c = checked(&[("B2__cp.sql", &b2), ("V2__b.sql", B), ("V3__c.sql", C)]);
    assert_eq!(errors(&c), Vec::<String>::new());
    let cp = c.checkpoint.as_ref().unwrap();
    assert_eq!((cp.version.to_string(), cp.squashes), ("2".to_owned(), 2));
    let listed: Vec<(String, bool)> = c.migrations.iter().map(|m| (m.id(), m.squashed)).collect();
    assert_eq!(
        listed,
        [
            ("1".to_owned(), true),
            ("2".to_owned(), false),
            ("3".to_owned(), false)
        ]
    );
    assert_eq!(c.migrations[0].up.checksum, checksum(A));
    assert_eq!(c.migrations[0].up.path, "m/B2__cp.sql");

    // A squashed migration's rollback file may stay, to roll back below the checkpoint; a
    // rollback of a version nothing stands for is still an error.
    let c = checked(&[
        ("B2__cp.sql", &b2),
        ("U1__a.sql", "DROP TABLE a;\n"),
        ("U7__x.sql", "SELECT 1;\n"),
    ]);
    assert_eq!(
        errors(&c),
        ["m/U7__x.sql: rollback for version 7 has no forward migration"]
    );
    assert_eq!(c.migrations[0].down.as_ref().unwrap().path, "m/U1__a.sql");
}

#[test]
fn a_changed_squashed_file_a_second_checkpoint_and_an_unlisted_version_are_errors() {
    let b2 = header(&[("1", "a", A), ("2", "b", B)]);
    let c = checked(&[
        ("B2__cp.sql", &b2),
        ("V1__a.sql", "CREATE TABLE a (x int);\n"),
    ]);
    assert_eq!(errors(&c).len(), 1);
    assert!(
        errors(&c)[0]
            .starts_with("m/V1__a.sql: this migration changed after `m/B2__cp.sql` squashed it"),
        "{:?}",
        errors(&c)
    );

    let c = checked(&[
        ("B2__cp.sql", &b2),
        ("B3__cp.sql", &header(&[("3", "c", C)])),
    ]);
    assert!(
        errors(&c)
            .iter()
            .any(|e| e.starts_with("m/B3__cp.sql: a second checkpoint beside `m/B2__cp.sql`")),
        "{:?}",
        errors(&c)
    );

    let c = checked(&[("B2__cp.sql", &b2), ("V1.5__late.sql", C)]);
    assert!(
        errors(&c)
            .iter()
            .any(|e| e.starts_with("m/V1.5__late.sql: version 1.5 is at or below the checkpoint")),
        "{:?}",
        errors(&c)
    );

    let c = checked(&[("B3__cp.sql", &b2)]);
    assert!(
        errors(&c)
            .iter()
            .any(|e| e.contains("is named for version 3 but its newest squashed migration is 2")),
        "{:?}",
        errors(&c)
    );

    let c = checked(&[(
        "B2__cp.sql",
        "-- tidemark:checkpoint\n-- tidemark:squashes 2 versioned zz b\nSELECT 1;\n",
    )]);
    assert!(
        errors(&c)
            .iter()
            .any(|e| e.contains("a `tidemark:squashes` line tidemark cannot read")),
        "{:?}",
        errors(&c)
    );
}

/// diesel's own first migration is `00000000000000_diesel_initial_setup`: a checkpoint of a
/// diesel folder keeps that spelling (it is not version `0`), and its file's version is
/// `00000000000002`, not `2`. Before the fix every verb refused the folder: "version
/// 00000000000000 is at or below the checkpoint … (version 2), which does not stand for it".
#[test]
fn a_diesel_checkpoint_keeps_leading_zeros() {
    let cp = header_in(
        Order::Text,
        &[("00000000000000", "x", A), ("00000000000002", "a", B)],
    );
    assert!(cp.starts_with("-- tidemark:checkpoint diesel\n"), "{cp}");
    let kept = [
        ("B00000000000002__checkpoint.sql", cp.as_str()),
        ("00000000000000_x/up.sql", A),
        ("00000000000002_a/up.sql", B),
        ("00000000000003_b/up.sql", C),
    ];
    let deleted = [kept[0], kept[3]];
    for files in [&kept[..], &deleted[..]] {
        let c = checked(files);
        assert_eq!(errors(&c), Vec::<String>::new());
        let cp = c.checkpoint.as_ref().unwrap();
        assert_eq!(
            (cp.version.to_string(), cp.squashes),
            ("00000000000002".to_owned(), 2)
        );
        let ids: Vec<String> = c.migrations.iter().map(|m| m.id()).collect();
        assert_eq!(ids, ["00000000000000", "00000000000002", "00000000000003"]);
        assert_eq!(c.order, Order::Text);
    }
}

/// diesel orders versions as strings: `2020-12-7-190800` (13 digits) comes after
/// `20201231000000`, where the numeric order would put it first, below the checkpoint. Once
/// the squashed directories are deleted, the set that remains keeps diesel's order. Before the
/// fix the squashed entries became Flyway migrations, the folder mixed forms and was ordered
/// as numbers ("version 2020127190800 is at or below the checkpoint").
#[test]
fn a_diesel_folder_keeps_its_order_after_the_squashed_directories_are_deleted() {
    let cp = header_in(Order::Text, &[("20200101000000", "a", A)]);
    let files = [
        ("B20200101000000__checkpoint.sql", cp.as_str()),
        ("2020-12-7-190800_b/up.sql", B),
        ("20201231000000_c/up.sql", C),
    ];
    let c = checked(&files);
    assert_eq!(errors(&c), Vec::<String>::new());
    let ids: Vec<String> = c.migrations.iter().map(|m| m.id()).collect();
    assert_eq!(ids, ["20200101000000", "20201231000000", "2020127190800"]);
    assert_eq!(c.order, Order::Text);
    assert!(c.migrations[0].squashed);
}
