//! TLS through the `tidemark` binary (its default `tls` feature) against a real TLS server:
//! `verify-full` with the server's CA file, and `sslrootcert=system` reading the system's
//! trusted certificates (here `SSL_CERT_FILE`, which the system store honours, holding the
//! test CA), each refused with the wrong CA.

mod support;

use std::process::{Command, Output};
use support::text;

fn tidemark(dir: &std::path::Path, url: &str, cert_file: Option<&std::path::Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tidemark"));
    c.arg("--dir")
        .arg(dir)
        .arg("up")
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .env_remove("SSL_CERT_DIR");
    match cert_file {
        Some(f) => c.env("SSL_CERT_FILE", f),
        None => c.env_remove("SSL_CERT_FILE"),
    };
    c.output().unwrap()
}

#[test]
fn the_binary_verifies_the_server_with_a_ca_file_and_with_the_system_store() {
    let server = tidemark_rig::tls_server().unwrap();
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("V1__t.sql"),
        "CREATE TABLE t (id int);\n",
    )
    .unwrap();
    let with = |params: &str| server.url("localhost", "postgres", params);

    let wrong = format!(
        "sslmode=verify-full&sslrootcert={}",
        server.other_ca_file.display()
    );
    let out = tidemark(folder.path(), &with(&wrong), None);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).to_lowercase().contains("certificate"),
        "{}",
        text(&out)
    );

    let right = format!(
        "sslmode=verify-full&sslrootcert={}",
        server.ca_file.display()
    );
    let out = tidemark(folder.path(), &with(&right), None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1        t     up"), "{}", text(&out));

    // `system`: the system's trusted certificates; with the test CA among them, verified.
    let system = "sslmode=verify-full&sslrootcert=system";
    let out = tidemark(folder.path(), &with(system), Some(&server.other_ca_file));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let out = tidemark(folder.path(), &with(system), Some(&server.ca_file));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nothing to do"), "{}", text(&out));
}
