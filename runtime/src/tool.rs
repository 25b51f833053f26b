//! The migration tools whose history tidemark can adopt (feature `adopt`): a leaf, so both the
//! adoption and its errors can name them.

use std::fmt;
use std::str::FromStr;

/// A migration tool whose history tidemark can adopt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// sqlx (`_sqlx_migrations`; SHA-384 checksums).
    Sqlx,
    /// refinery (`refinery_schema_history`; SipHash checksums of name, version and SQL).
    Refinery,
    /// diesel (`__diesel_schema_migrations`; versions only).
    Diesel,
    /// Flyway (`flyway_schema_history`; CRC-32 checksums of the lines; repeatables, baseline
    /// and undo rows).
    Flyway,
}

impl Tool {
    /// Every tool, in the order detection looks for their tables.
    pub const ALL: [Tool; 4] = [Tool::Sqlx, Tool::Refinery, Tool::Diesel, Tool::Flyway];

    /// The tool's name as the CLI takes it: `sqlx`, `refinery`, `diesel`, `flyway`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlx => "sqlx",
            Self::Refinery => "refinery",
            Self::Diesel => "diesel",
            Self::Flyway => "flyway",
        }
    }

    /// The tool's default history table, found through the `search_path`.
    pub fn default_table(self) -> &'static str {
        match self {
            Self::Sqlx => "_sqlx_migrations",
            Self::Refinery => "refinery_schema_history",
            Self::Diesel => "__diesel_schema_migrations",
            Self::Flyway => "flyway_schema_history",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Tool::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTool(pub String);

impl fmt::Display for UnknownTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown tool {:?}: expected sqlx, refinery, diesel or flyway",
            self.0
        )
    }
}

impl std::error::Error for UnknownTool {}

impl FromStr for Tool {
    type Err = UnknownTool;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tool::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTool(s.to_owned()))
    }
}
