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
    /// `V{ver}__…rs`, `{ver}_….rs`, diesel `up.rs`: Rust code, applied once, in version order
    /// with the SQL ones.
    Code,
}

impl Kind {
    /// The text recorded in the history table's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Versioned => "versioned",
            Self::Repeatable => "repeatable",
            Self::Code => "code",
        }
    }

    /// Whether it is applied once, in version order (versioned SQL and code).
    pub fn is_versioned(self) -> bool {
        matches!(self, Self::Versioned | Self::Code)
    }

    /// The kind for the text of a history row's `kind` column; unknown text is `None`.
    pub fn from_history(text: &str) -> Option<Self> {
        match text {
            "versioned" => Some(Self::Versioned),
            "repeatable" => Some(Self::Repeatable),
            "code" => Some(Self::Code),
            _ => None,
        }
    }

    /// The tag that enters the set digest (`V` or `R`): part of every stored digest, so it
    /// never changes for an existing kind.
    pub(crate) fn digest_tag(self) -> &'static [u8] {
        match self {
            Self::Versioned => b"V",
            Self::Repeatable => b"R",
            Self::Code => b"C",
        }
    }
}
