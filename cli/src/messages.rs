//! Error messages in the CLI's terms: the library's messages name API options
//! (`allow_missing(true)`); on the command line the same advice names flags.

use tidemark::Error;

/// The message for `e` on the command line; `target` describes where the connection went.
pub(crate) fn describe(e: &Error, target: &str) -> String {
    match e {
        // The library's words, with where the connection went and flags for API options.
        Error::Pool(_) => {
            let text = e.to_string();
            let cause = text
                .strip_prefix("cannot get a database connection: ")
                .unwrap_or(&text);
            format!("cannot connect to {target}: {cause}")
        }
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
        Error::MissingContract { .. } => e
            .to_string()
            .replace("set `allow_missing(true)`", "pass --allow-missing"),
        Error::ContractWaiting { .. } => e.to_string().replace(" (`force_contracts(true)`)", ""),
        Error::LockTimeout { .. } => e
            .to_string()
            .replace("raise `lock_timeout`", "raise --lock-timeout"),
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
