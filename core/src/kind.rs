//! The one migration-kind enum, shared by core, the macro's tokens and the runtime (which
//! re-exports it as `tidemark::MigrationKind`).

/// How a migration is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// `V{ver}__…`, `{ver}_…`, diesel directories: applied once, in version order.
    Versioned,
    /// `R__…`: applied after the versioned ones whenever its checksum changed.
    Repeatable,
}

impl Kind {
    /// The text recorded in the history table's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Versioned => "versioned",
            Self::Repeatable => "repeatable",
        }
    }

    /// The kind for the text of a history row's `kind` column; unknown text is `None`.
    pub fn from_history(text: &str) -> Option<Self> {
        match text {
            "versioned" => Some(Self::Versioned),
            "repeatable" => Some(Self::Repeatable),
            _ => None,
        }
    }

    /// The tag that enters the set digest (`V` or `R`): part of every stored digest, so it
    /// never changes for an existing kind.
    pub(crate) fn digest_tag(self) -> &'static [u8] {
        match self {
            Self::Versioned => b"V",
            Self::Repeatable => b"R",
        }
    }
}
