//! A migration's phase in a rolling deploy (design §11): expand or contract.

use std::fmt;

/// When a migration may run during a rolling deploy.
///
/// An **expand** migration (the default) only adds: the previous release keeps working on the
/// schema it leaves, so it runs at once. A **contract** migration (`-- tidemark:contract`, or
/// `// tidemark:contract` in a Rust one) removes or renames what the previous release uses: it
/// runs only once no live registered instance embeds a set without it (see
/// [`Migrator::register`](crate::Migrator::register)), and is reported as
/// [waiting](crate::Report::waiting) until then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Phase {
    /// Adds; never breaks the previous release. Runs at once.
    #[default]
    Expand,
    /// Removes or renames what the previous release uses. Waits for it to be gone.
    Contract,
}

impl Phase {
    /// `expand` or `contract`, as history records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expand => "expand",
            Self::Contract => "contract",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
