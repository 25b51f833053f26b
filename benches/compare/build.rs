//! Generates the same migrations in each tool's file format, before the macros embed them:
//! `generated/{tidemark,sqlx,refinery,diesel}/{10,100,1000}`.

use std::fs;
use std::path::Path;

/// A small realistic migration: a table with a primary key and an index, and every 10th an
/// ALTER of an earlier table.
fn sql(i: usize) -> String {
    let mut s = format!(
        "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, \
         created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX t{i}_name ON t{i} (name);\n"
    );
    if i.is_multiple_of(10) {
        s.push_str(&format!(
            "ALTER TABLE t{} ADD COLUMN extra_{i} int;\n",
            i - 5
        ));
    }
    s
}

/// The version of `package` that Cargo.lock pins, for the report.
fn locked_version(lock: &str, package: &str) -> String {
    let needle = format!("name = \"{package}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| lock[i + needle.len()..].split('"').next())
        .unwrap_or("?")
        .to_owned()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");
    // What tidemark's macro embeds (so its warning about unwatched folders stays quiet).
    println!("cargo:rerun-if-changed=generated/tidemark");
    let lock = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .unwrap_or_default();
    for (env, package) in [
        ("VERSION_SQLX", "sqlx"),
        ("VERSION_REFINERY", "refinery"),
        ("VERSION_DIESEL", "diesel_migrations"),
        ("VERSION_TOKIO_POSTGRES", "tokio-postgres"),
        ("VERSION_TIDEMARK", "tidemark"),
    ] {
        println!("cargo:rustc-env={env}={}", locked_version(&lock, package));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    for n in [10usize, 100, 1000] {
        for tool in ["tidemark", "sqlx", "refinery", "diesel"] {
            let dir = root.join(tool).join(n.to_string());
            if dir.join(".complete").exists() {
                continue;
            }
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            for i in 1..=n {
                match tool {
                    "tidemark" | "refinery" => {
                        fs::write(dir.join(format!("V{i}__table_{i}.sql")), sql(i)).unwrap()
                    }
                    "sqlx" => fs::write(dir.join(format!("{i}_table_{i}.sql")), sql(i)).unwrap(),
                    _ => {
                        let d = dir.join(format!("{i:014}_table_{i}"));
                        fs::create_dir_all(&d).unwrap();
                        fs::write(d.join("up.sql"), sql(i)).unwrap();
                        fs::write(d.join("down.sql"), format!("DROP TABLE t{i};\n")).unwrap();
                    }
                }
            }
            fs::write(dir.join(".complete"), "").unwrap();
        }
    }
}
