//! Servers set up in special ways, each a private cluster of its own (`tidemark-cluster`): a role that must give its password.

use crate::SetupError;
use tidemark::tokio_postgres::{Config, NoTls};
use tidemark_cluster::{Cluster, ClusterOptions};

/// A private cluster on which one role logs in by password (scram-sha-256) and everyone else
/// is trusted on the socket.
pub struct PasswordServer {
    cluster: Cluster,
    /// The role that must give its password.
    pub role: &'static str,
}

const ROLE: &str = "tidemark_password_check";

/// Starts a [`PasswordServer`] whose role's password is `password`.
pub async fn password_server(password: &str) -> Result<PasswordServer, SetupError> {
    let options = ClusterOptions {
        hba: vec![format!("local all {ROLE} scram-sha-256")],
        ..ClusterOptions::default()
    };
    let cluster = Cluster::start(&options)?;
    let (admin, conn) = cluster
        .config("postgres")
        .connect(NoTls)
        .await
        .map_err(|e| server_error(&e))?;
    tokio::spawn(conn);
    let escaped = password.replace('\'', "''");
    admin
        .batch_execute(&format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{escaped}'"))
        .await
        .map_err(|e| server_error(&e))?;
    Ok(PasswordServer {
        cluster,
        role: ROLE,
    })
}

fn server_error(e: &dyn std::fmt::Debug) -> SetupError {
    SetupError::from(format!("setting up the password server: {e:?}"))
}

impl PasswordServer {
    /// A config for the password role on `dbname`, with `password` (right or wrong).
    pub fn config(&self, dbname: &str, password: &str) -> Config {
        let mut c = self.cluster.config(dbname);
        c.user(self.role).password(password);
        c
    }
}

/// A private cluster that listens on TCP at 127.0.0.1 with TLS (a server certificate for
/// `localhost` signed by a CA of its own) and accepts TCP clients only over TLS.
pub struct TlsServer {
    cluster: Cluster,
    /// The CA that signed the server's certificate, as a PEM file.
    pub ca_file: std::path::PathBuf,
    /// Another CA, which did not, as a PEM file.
    pub other_ca_file: std::path::PathBuf,
    _files: tempfile::TempDir,
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    (params.self_signed(&key).expect("a CA certificate"), key)
}

/// Starts a [`TlsServer`]; its certificate names `localhost` only (not 127.0.0.1), so
/// `verify-full` to `localhost` passes and to `127.0.0.1` fails on the name.
pub fn tls_server() -> Result<TlsServer, SetupError> {
    let (ca_cert, ca_key) = ca("tidemark test CA");
    let (other, _) = ca("some other CA");
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("server parameters");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("a server certificate");
    let options = ClusterOptions {
        tcp: true,
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), "server.crt".into()),
            ("ssl_key_file".into(), "server.key".into()),
        ],
        hba: vec![
            "hostssl all all 127.0.0.1/32 trust".into(),
            "hostnossl all all 127.0.0.1/32 reject".into(),
        ],
        files: vec![
            ("server.crt".into(), cert.pem().into_bytes()),
            ("server.key".into(), key.serialize_pem().into_bytes()),
        ],
    };
    let cluster = Cluster::start(&options)?;
    let files = tempfile::tempdir().map_err(|e| SetupError::from(e.to_string()))?;
    let ca_file = files.path().join("ca.pem");
    let other_ca_file = files.path().join("other-ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).map_err(|e| SetupError::from(e.to_string()))?;
    std::fs::write(&other_ca_file, other.pem()).map_err(|e| SetupError::from(e.to_string()))?;
    Ok(TlsServer {
        cluster,
        ca_file,
        other_ca_file,
        _files: files,
    })
}

impl TlsServer {
    /// A URL to `dbname` over TCP at `host` (`localhost` or `127.0.0.1`) with `params`
    /// (`sslmode=…&sslrootcert=…`).
    pub fn url(&self, host: &str, dbname: &str, params: &str) -> String {
        format!(
            "postgresql://postgres@{host}:{}/{dbname}?{params}",
            self.cluster.port()
        )
    }
}

/// A private cluster that listens on TCP at 127.0.0.1 without TLS.
pub fn plain_tcp_server() -> Result<(Cluster, u16), SetupError> {
    let cluster = Cluster::start(&ClusterOptions {
        tcp: true,
        ..ClusterOptions::default()
    })?;
    let port = cluster.port();
    Ok((cluster, port))
}
