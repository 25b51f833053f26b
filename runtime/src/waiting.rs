//! Who waits for whom in a rolling deploy (design §11): the live instances the registry shows,
//! and the contract migrations they hold. Data only, shared by the plan, the registry and the
//! reports.

use std::fmt;
use std::time::Duration;

/// A live registered instance, as the registry shows it: one running copy of an application
/// (see [`Migrator::register`](crate::Migrator::register)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveInstance {
    /// The instance's id (random, made when it registered).
    pub id: String,
    /// The application name it registered with.
    pub application: String,
    /// Its host name.
    pub host: String,
    /// Its process id on that host.
    pub pid: i32,
    /// The newest version its embedded set has.
    pub newest_version: Option<String>,
    /// The contract migrations its embedded set has: a pending contract migration not in this
    /// list waits for the instance to be gone.
    pub contracts: Vec<String>,
    /// When it registered, UTC, ISO 8601.
    pub started_at: String,
    /// Its last heartbeat, UTC, ISO 8601.
    pub last_seen: String,
    /// How long its row lives without another heartbeat (by the server's clock).
    pub expires_in: Duration,
}

impl LiveInstance {
    /// Whether this instance's set lacks the contract migration `version`: it holds its gate.
    pub(crate) fn lacks(&self, version: &str) -> bool {
        !self.contracts.iter().any(|c| c == version)
    }
}

impl fmt::Display for LiveInstance {
    /// `app 3f2a… (host pid 412, newest 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({} pid {}, newest {})",
            self.application,
            self.id,
            self.host,
            self.pid,
            self.newest_version.as_deref().unwrap_or("none"),
        )
    }
}

/// A pending contract migration that did not run because live instances embed a set without
/// it (the gate is closed). It runs once they are gone: on a registered instance's heartbeat,
/// on the next [`run`](crate::Migrator::run), or by hand with
/// [`Migrator::contract`](crate::Migrator::contract).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitingContract {
    /// The migration's version.
    pub version: String,
    /// Its name.
    pub name: String,
    /// Its file.
    pub path: String,
    /// The live instances whose sets lack it.
    pub holders: Vec<LiveInstance>,
}

impl fmt::Display for WaitingContract {
    /// `contract 3 (drop_name) waits for: app 3f2a… (…), …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "contract {} ({}) waits for {} live instance{} without it: ",
            self.version,
            self.name,
            self.holders.len(),
            if self.holders.len() == 1 { "" } else { "s" }
        )?;
        for (i, h) in self.holders.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{h}")?;
        }
        Ok(())
    }
}
