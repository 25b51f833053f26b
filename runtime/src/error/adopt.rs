//! [`AdoptError`]: why another tool's history cannot be adopted.

use crate::tool::Tool;

/// Why another tool's history cannot be adopted ([`Error::Adopt`](crate::Error::Adopt));
/// nothing was recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    /// The tool's history table cannot be adopted as a whole: it is not there, several are,
    /// or it lacks the tool's columns.
    #[error("cannot adopt {table}{}: {problem}; nothing was recorded", tool_suffix(*.tool))]
    ForeignHistory {
        /// The tool, when known.
        tool: Option<Tool>,
        /// The table (or the tables looked for).
        table: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A row of the tool's history does not match the set: a version the set lacks, a file
    /// changed since the tool applied it, a failed row.
    #[error(
        "cannot adopt {table} ({tool}): version {version}{}: {problem}; nothing was recorded",
        path.as_deref().map(|p| format!(" ({p})")).unwrap_or_default()
    )]
    Mismatch {
        /// The tool.
        tool: Tool,
        /// Its table.
        table: String,
        /// The version as the tool recorded it (a Flyway repeatable: its script).
        version: String,
        /// The set's file for it, when there is one.
        path: Option<String>,
        /// What differs and what to do.
        problem: String,
    },
}

impl AdoptError {
    /// The stable name of the kind of error (`foreign_history`, `adopt_mismatch`), as
    /// [`Error::kind`](crate::Error::kind) gives it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ForeignHistory { .. } => "foreign_history",
            Self::Mismatch { .. } => "adopt_mismatch",
        }
    }
}

impl From<AdoptError> for crate::Error {
    fn from(e: AdoptError) -> Self {
        Self::Adopt(Box::new(e))
    }
}

fn tool_suffix(tool: Option<Tool>) -> String {
    tool.map(|t| format!(" ({t})")).unwrap_or_default()
}
