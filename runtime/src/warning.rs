//! What a run or a status has to say that is not an error. tidemark never prints: a
//! [`Report`](crate::Report) and a [`Status`](crate::Status) carry their warnings as values for
//! the service to log (each is also a `tracing` event, for a service that has a subscriber),
//! and the command line prints them.

use std::fmt;

/// Something worth telling the operator that did not stop the verb.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// Debug builds: this binary embeds an older state of its migration folder (files added,
    /// changed or removed since it was built). A deploy of it would not run them.
    StaleBinary {
        /// The folder, as written in `embed_migrations!`.
        folder: String,
        /// Files on disk the binary does not embed.
        new: Vec<String>,
        /// Files whose contents differ from what it embeds.
        changed: Vec<String>,
        /// Files it embeds that are gone from disk.
        gone: Vec<String>,
        /// Whether a build script watches the folder (then the binary was just not rebuilt).
        watched: bool,
    },
    /// The database has versions newer than every migration of this build (a newer build
    /// applied them; a deploy was rolled back): tolerated and left alone (see
    /// [`Migrator::allow_future`](crate::Migrator::allow_future)).
    FutureVersions {
        /// Those versions.
        versions: Vec<String>,
    },
    /// A contract migration ran although live registered instances embed sets without it
    /// ([`Migrator::force_contracts`](crate::Migrator::force_contracts)): they may break.
    ContractForced {
        /// The contract migration, with the instances that lacked it.
        contract: crate::WaitingContract,
    },
}

impl Warning {
    /// A stable name for machines: `stale_binary`, `future_versions`, `contract_forced`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::StaleBinary { .. } => "stale_binary",
            Self::FutureVersions { .. } => "future_versions",
            Self::ContractForced { .. } => "contract_forced",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaleBinary {
                folder,
                new,
                changed,
                gone,
                watched,
            } => {
                write!(
                    f,
                    "this binary embeds an older state of {folder}: it was built before these \
                     files changed"
                )?;
                for (what, paths) in [("new", new), ("changed", changed), ("gone", gone)] {
                    for p in paths {
                        write!(f, "\n  {what}: {p}")?;
                    }
                }
                if *watched {
                    // The build script is there: the binary was just not rebuilt.
                    write!(f, "\n  rebuild it (`cargo build`)")
                } else {
                    write!(
                        f,
                        "\n  rebuild it; so that new files always rebuild the crate, add a build.rs \
                         with `fn main() {{ println!(\"cargo:rerun-if-changed={folder}\"); }}`"
                    )
                }
            }
            Self::FutureVersions { versions } => write!(
                f,
                "the database has versions newer than this build's migrations ({}), left by a \
                 newer build: they are tolerated and left alone",
                versions.join(", ")
            ),
            Self::ContractForced { contract } => {
                let held = contract.to_string();
                let held = held.replacen("waits for", "ran (forced) over", 1);
                write!(f, "{held}: they may break")
            }
        }
    }
}
