//! Error messages in the CLI's terms: the library's messages name API options
//! (`allow_missing(true)`); on the command line the same advice names flags.

use crate::error::Error;

/// The message for `e` on the command line; `target` describes where the connection went.
pub(super) fn describe(e: &Error, target: &str) -> String {
    match e {
        Error::Pool(p) => format!("cannot connect to {target}: {}", crate::error::pool_text(p)),
        Error::Missing { version, name } => format!(
            "version {version} ({name}) is applied in the database but unknown to these \
             migrations; deploy a build that has it, or pass --allow-missing"
        ),
        Error::OutOfOrder {
            version,
            path,
            highest,
        } => format!(
            "{path} (version {version}) is pending but the newer version {highest} is already \
             applied; give it a version above {highest}, or pass --allow-out-of-order"
        ),
        Error::LockTimeout {
            key,
            waited,
            holder,
        } => format!(
            "gave up waiting for the migration lock (key {key}) after {}; it is held by {holder}; \
             wait for that migration to finish, or raise --lock-timeout",
            crate::report::human(*waited)
        ),
        Error::NoTransactionInSingleRun { version, path } => format!(
            "{path} (version {version}) runs outside a transaction, so it cannot be part of a \
             single-transaction run; drop --single-transaction"
        ),
        Error::InvalidName { what, name, reason } => {
            format!("--{what} {name:?} cannot be used: {reason}")
        }
        other => other.to_string(),
    }
}
