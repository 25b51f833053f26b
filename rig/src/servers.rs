//! Servers set up in special ways, each a private cluster of its own (the kit's throwaway
//! cluster machinery): a role that must give its password.

use tidemark::testing::cluster::{Cluster, ClusterOptions};
use tidemark::testing::ServerError;
use tidemark::tokio_postgres::{Config, NoTls};

/// A private cluster on which one role logs in by password (scram-sha-256) and everyone else
/// is trusted on the socket.
pub struct PasswordServer {
    cluster: Cluster,
    /// The role that must give its password.
    pub role: &'static str,
}

const ROLE: &str = "tidemark_password_check";

/// Starts a [`PasswordServer`] whose role's password is `password`.
pub async fn password_server(password: &str) -> Result<PasswordServer, ServerError> {
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

fn server_error(e: &dyn std::fmt::Debug) -> ServerError {
    ServerError::new(format!("setting up the password server: {e:?}"))
}

impl PasswordServer {
    /// A config for the password role on `dbname`, with `password` (right or wrong).
    pub fn config(&self, dbname: &str, password: &str) -> Config {
        let mut c = self.cluster.config(dbname);
        c.user(self.role).password(password);
        c
    }
}
