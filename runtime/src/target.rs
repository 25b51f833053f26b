//! Where a run should leave the database, and how it uses transactions.

/// The version a run moves the database to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// Every migration applied (and repeatables current). The default.
    #[default]
    Latest,
    /// Exactly the versions up to and including this one applied: up or down, decided from
    /// history. The text is a version as written in a file name or history (`3`, `2.1`).
    Version(String),
    /// No versioned migration applied: everything rolled back.
    Initial,
}

impl Target {
    /// A version target from anything displayable: `Target::version(3)`.
    pub fn version(v: impl std::fmt::Display) -> Self {
        Self::Version(v.to_string())
    }
}

/// How transactional steps are grouped into transactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionMode {
    /// Each migration commits with its history row on its own (the default): a failure keeps
    /// the migrations before it.
    #[default]
    PerMigration,
    /// The whole run is one transaction: a failure keeps nothing. A plan holding a
    /// no-transaction migration is refused in this mode.
    Single,
}
