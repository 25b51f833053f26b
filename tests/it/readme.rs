//! The README's "Add it to a project" compiles as written: each `Cargo.toml` block and the Rust
//! (and SQL fixture) files after it go into a fresh crate with nothing else (the example migrations as its
//! folder), which must build with its tests.

use tidemark_rig::scratch::{repo_root, Scratch};

/// The fenced blocks of `text` with their info strings.
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        out.push((info.to_owned(), body.join("\n") + "\n"));
    }
    out
}

#[test]
fn the_readme_compiles_in_a_fresh_crate_with_only_the_dependencies_it_lists() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        !readme
            .lines()
            .any(|l| l.starts_with("# ") && l != "# tidemark"),
        "no hidden rustdoc lines: they show on GitHub and crates.io"
    );
    assert!(
        !readme.contains("[`"),
        "no intra-doc links: they show as brackets outside docs.rs"
    );
    // Each `Cargo.toml` block starts a crate; the Rust blocks after it are its files, and a
    // later crate builds on the earlier one (it keeps the files it does not write itself).
    let mut crates: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (info, body) in blocks(&readme) {
        if info == "toml" && body.contains("[dependencies]") {
            let inherited = crates.last().map(|c| c.1.clone()).unwrap_or_default();
            crates.push((manifest(&body), inherited));
        } else if info.starts_with("rust") || info == "sql" {
            // A Rust file names itself in a `// path` first line, a SQL file (a fixture) in a
            // `-- path` one.
            let first = body.lines().next();
            let Some(path) = first.and_then(|l| l.strip_prefix("// ").or(l.strip_prefix("-- ")))
            else {
                panic!(
                    "a Rust block of the README names its file on its first line: {info}\n{body}"
                );
            };
            let files = &mut crates.last_mut().expect("a Cargo.toml block first").1;
            files.retain(|(p, _)| p != path.trim());
            files.push((path.trim().to_owned(), body));
        }
    }
    assert_eq!(crates.len(), 2, "the lean form and the fuller one");
    assert!(
        crates[1].1.len() >= 5,
        "build.rs, src/lib.rs, src/main.rs, a code migration and a test"
    );
    assert!(
        crates[1]
            .1
            .iter()
            .any(|(path, body)| path.starts_with("migrations/")
                && path.ends_with(".rs")
                && body.contains("crate::")),
        "the fuller form has a code migration that calls the application's own code"
    );
    for (n, (manifest, files)) in crates.iter().enumerate() {
        let c = build(&format!("readme_app_{n}"), manifest, files);
        if n == 1 {
            // The fuller form's tests run too (the test server as this suite's), so what they
            // claim of the code migration and the rollbacks is true.
            let out = c.cargo(&["test"]);
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The manifest block with this repository's crates by path.
fn manifest(block: &str) -> String {
    block
        .replace(
            "tidemark = { version = \"0.1\",",
            "tidemark = { {tidemark},",
        )
        .replace("tidemark = \"0.1\"", "tidemark = { {tidemark} }")
        .replace(
            "tidemark-cli = { version = \"0.1\",",
            "tidemark-cli = { {tidemark-cli},",
        )
}

/// Builds a fresh crate of `files` with the example migrations: no error, no warning.
fn build(name: &str, manifest: &str, files: &[(String, String)]) -> Scratch {
    let c = Scratch::new(name, manifest);
    for (path, body) in files {
        // `myapp` is the README's name for the crate.
        c.write(path, &body.replace("myapp::", &format!("{name}::")));
    }
    for entry in std::fs::read_dir(repo_root().join("examples/migrations")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        c.write(
            &format!("migrations/{}", entry.file_name().to_string_lossy()),
            &text,
        );
    }
    let out = c.cargo(&["build", "--all-targets"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("warning"),
        "the README's code builds without warnings: {said}"
    );
    c
}
