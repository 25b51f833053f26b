//! TLS with rustls (ring), verifying as libpq's `sslmode` asks: nothing (`prefer`, `require`
//! without a root certificate), the chain (`verify-ca`, and `require` with one), or the chain and
//! the host name (`verify-full`).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the server's certificate is checked for.
#[derive(Debug)]
pub(crate) enum Verify {
    /// Nothing (encryption without authentication, as libpq's `prefer` and `require`).
    Nothing,
    /// A chain to one of these roots, whatever host name it names (`verify-ca`).
    Chain(RootCertStore),
    /// A chain to one of these roots, for the host connected to (`verify-full`).
    Full(RootCertStore),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration that verifies as `verify` says.
pub(crate) fn client_config(verify: Verify) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Full(roots) => {
            return Ok(builder.with_root_certificates(roots).with_no_client_auth());
        }
        Verify::Chain(roots) => Arc::new(ChainOnly(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("cannot use the root certificates: {e}"))?,
        )),
        Verify::Nothing => Arc::new(Anything(provider)),
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Root certificates from a PEM file, or the system's store for `system` (as libpq 16+).
pub(crate) fn roots(sslrootcert: &str) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    if sslrootcert == "system" {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = store.add(cert);
        }
        if store.is_empty() {
            return Err(
                "sslrootcert=system, but the system has no trusted certificates".to_owned(),
            );
        }
        return Ok(store);
    }
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(sslrootcert)
        .map_err(|e| format!("cannot read the root certificate file {sslrootcert}: {e}"))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| format!("cannot read the root certificate file {sslrootcert}: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("{sslrootcert} holds a certificate rustls cannot use: {e}"))?;
    }
    if store.is_empty() {
        return Err(format!(
            "the root certificate file {sslrootcert} holds no certificate"
        ));
    }
    Ok(store)
}

/// `verify-ca`: the chain must hold, the name need not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypt, authenticate nothing (the
/// handshake's signatures are still checked).
#[derive(Debug)]
struct Anything(Arc<CryptoProvider>);

impl ServerCertVerifier for Anything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// tokio-postgres-rustls's connector, which also works over a unix socket: tokio-postgres asks
/// for a connector with an empty host name there (PostgreSQL has no TLS on sockets, and the
/// server declines it), which rustls would refuse as a name.
#[derive(Clone)]
pub struct MakeTls(MakeRustlsConnect);

impl MakeTls {
    pub(crate) fn new(config: ClientConfig) -> Self {
        Self(MakeRustlsConnect::new(config))
    }
}

impl std::fmt::Debug for MakeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MakeTls(rustls)")
    }
}

impl<S> MakeTlsConnect<S> for MakeTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        let name = if hostname.is_empty() {
            "localhost"
        } else {
            hostname
        };
        MakeTlsConnect::<S>::make_tls_connect(&mut self.0, name)
    }
}
