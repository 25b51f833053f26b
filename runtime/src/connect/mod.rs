//! Connecting from a connection string as libpq does: the URL or `key=value` form, with
//! `sslmode` (`disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full`) and
//! `sslrootcert` (a PEM file, or `system` for the system's trusted CAs) read from the string or
//! from `PGSSLMODE` / `PGSSLROOTCERT`; TLS with rustls (feature `tls`; without it, only what needs no TLS connects).
//!
//! ```no_run
//! # async fn f() -> Result<(), tidemark::Error> {
//! let pool = tidemark::connect::pool("postgresql://app@db.example/app?sslmode=verify-full&sslrootcert=system")?;
//! # Ok(()) }
//! ```
//!
//! As in libpq: `prefer` (the default) uses TLS when the server offers it and verifies nothing;
//! `require` insists on TLS and verifies the chain only when a root certificate is given (or
//! `~/.postgresql/root.crt` exists); `verify-ca` verifies the chain, `verify-full` the chain and
//! the host name, and both need a root certificate. `allow` is taken as `prefer`.

mod describe;
mod string;
#[cfg(feature = "tls")]
mod tls;

pub(crate) use describe::describe;

use crate::error::Error;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::fmt;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// Taken as [`Prefer`](Self::Prefer) (libpq tries without TLS first).
    Allow,
    /// TLS when the server offers it, nothing verified (the default).
    #[default]
    Prefer,
    /// TLS or no connection; the chain is verified when a root certificate is given.
    Require,
    /// TLS, with the server's certificate chain verified.
    VerifyCa,
    /// TLS, with the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(Error::ConnectionString {
                    reason: format!(
                        "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ),
                })
            }
        })
    }
}

/// A connection string read as libpq reads it: the tokio-postgres configuration and the TLS
/// policy. Its `Debug` never shows a password.
#[derive(Clone)]
pub struct ConnectOptions {
    config: tokio_postgres::Config,
    ssl_mode: SslMode,
    root_cert: Option<String>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("target", &describe(&self.config))
            .field("ssl_mode", &self.ssl_mode)
            .field("root_cert", &self.root_cert)
            .finish()
    }
}

impl ConnectOptions {
    /// Reads a connection string (URL or `key=value`), with `PGSSLMODE` and `PGSSLROOTCERT`
    /// as defaults for what it does not say. Errors never repeat the string.
    pub fn parse(conn: &str) -> Result<Self, Error> {
        let split = string::split(conn).map_err(|reason| Error::ConnectionString { reason })?;
        let mut config: tokio_postgres::Config =
            split.rest.parse().map_err(|e| Error::ConnectionString {
                reason: crate::error::driver_text(&e),
            })?;
        for host in &split.hosts {
            config.host(host); // a path is a socket directory
        }
        let mode = match split.sslmode.or_else(|| std::env::var("PGSSLMODE").ok()) {
            Some(m) => SslMode::parse(&m)?,
            None => SslMode::Prefer,
        };
        let root_cert = split
            .sslrootcert
            .or_else(|| std::env::var("PGSSLROOTCERT").ok())
            .or_else(|| {
                // libpq's default root certificate file.
                let home = std::env::var_os("HOME")?;
                let path = std::path::Path::new(&home).join(".postgresql/root.crt");
                path.is_file().then(|| path.display().to_string())
            });
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        let options = Self {
            config,
            ssl_mode: mode,
            root_cert,
        };
        options.tls()?; // a missing or unreadable root certificate is an error now, not later
        Ok(options)
    }

    /// The tokio-postgres configuration (its `sslmode` reduced to what tokio-postgres knows).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The same options for another database of the same server (a fleet of databases).
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut other = self.clone();
        other.config.dbname(dbname);
        other
    }

    /// The `sslmode` asked for.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// Where it connects, for people: hosts or sockets, database and user, never a password.
    pub fn target(&self) -> String {
        describe(&self.config)
    }

    /// A pool of at most `max_size` connections with these options.
    pub fn pool(&self, max_size: usize) -> Result<Pool, Error> {
        let manager = Manager::from_config(
            self.config.clone(),
            self.tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(max_size)
            .build()
            .map_err(|e| Error::ConnectionString {
                reason: format!("cannot set up the connection pool: {e}"),
            })
    }

    /// The TLS connector these options call for.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Result<tls::MakeTls, Error> {
        let bad = |reason| Error::ConnectionString { reason };
        let roots = |required: bool| -> Result<Option<rustls::RootCertStore>, Error> {
            match &self.root_cert {
                Some(path) => tls::roots(path).map(Some).map_err(bad),
                None if required => Err(bad(format!(
                    "sslmode={} needs a root certificate to verify the server: set sslrootcert=FILE \
                     (or sslrootcert=system for the system's trusted CAs, or PGSSLROOTCERT)",
                    if self.ssl_mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
                ))),
                None => Ok(None),
            }
        };
        let verify = match self.ssl_mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => tls::Verify::Nothing,
            SslMode::Require => match roots(false)? {
                Some(r) => tls::Verify::Chain(r),
                None => tls::Verify::Nothing,
            },
            SslMode::VerifyCa => {
                tls::Verify::Chain(roots(true)?.unwrap_or_else(rustls::RootCertStore::empty))
            }
            SslMode::VerifyFull => {
                tls::Verify::Full(roots(true)?.unwrap_or_else(rustls::RootCertStore::empty))
            }
        };
        Ok(tls::MakeTls::new(tls::client_config(verify).map_err(bad)?))
    }

    /// The TLS connector these options call for: none in a build without the `tls` feature,
    /// which refuses every `sslmode` that needs TLS.
    #[cfg(not(feature = "tls"))]
    pub fn tls(&self) -> Result<tokio_postgres::NoTls, Error> {
        match self.ssl_mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => Ok(tokio_postgres::NoTls),
            _ => Err(Error::ConnectionString {
                reason: "this sslmode needs TLS, and tidemark was built without its `tls` feature"
                    .to_owned(),
            }),
        }
    }
}

#[cfg(feature = "tls")]
pub use tls::MakeTls;

/// The TLS connector type of this build (the testing kit's connections use it).
#[cfg(all(feature = "testing", feature = "tls"))]
pub(crate) type Tls = tls::MakeTls;
/// The TLS connector type of this build (the testing kit's connections use it).
#[cfg(all(feature = "testing", not(feature = "tls")))]
pub(crate) type Tls = tokio_postgres::NoTls;

/// A deadpool pool for a connection string, with TLS as its `sslmode` and `sslrootcert` say
/// (see the [module docs](self)); deadpool's default size.
pub fn pool(conn: &str) -> Result<Pool, Error> {
    let options = ConnectOptions::parse(conn)?;
    options.pool(deadpool_postgres::PoolConfig::default().max_size)
}
