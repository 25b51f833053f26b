//! The README's "Add it to a project" compiles as written: its `Cargo.toml` block and its Rust
//! files go into a fresh crate with nothing else (the example migrations as its folder), which
//! must build with its tests.

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
    let blocks = blocks(&readme);
    let manifest = blocks
        .iter()
        .find(|(info, body)| info == "toml" && body.contains("[dependencies]"))
        .expect("a Cargo.toml block")
        .1
        .replace(
            "tidemark = { version = \"0.1\",",
            "tidemark = { {tidemark},",
        )
        .replace("tidemark = \"0.1\"", "tidemark = { {tidemark} }");
    let c = Scratch::new("readme_app", &manifest);
    let mut files = 0;
    for (info, body) in blocks.iter().filter(|(i, _)| i.starts_with("rust")) {
        let Some(path) = body.lines().next().and_then(|l| l.strip_prefix("// ")) else {
            panic!("a Rust block of the README names its file on its first line: {info}\n{body}");
        };
        c.write(path.trim(), body);
        files += 1;
    }
    assert!(files >= 3, "build.rs, src/main.rs and a test");
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
}
