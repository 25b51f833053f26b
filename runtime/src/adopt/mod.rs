//! Adopting a database that another tool manages: read its history table (sqlx, refinery,
//! diesel or Flyway), check every applied migration against the set (its checksum too, where
//! the tool's algorithm can be recomputed), and record them in tidemark's history as applied.
//! The other tool's table is only read.
//!
//! [`foreign`] reads the table, [`decide`] matches it to the set (pure), [`checksum`] holds the
//! tools' checksum algorithms.

mod checksum;
pub(crate) mod decide;
pub(crate) mod foreign;
mod verb;

pub use crate::error::AdoptError;
pub use crate::tool::{Tool, UnknownTool};

/// What [`Migrator::adopt`](crate::Migrator::adopt) reads: a tool and its table, or detection
/// of whichever default table exists.
///
/// ```
/// use tidemark::{Adopt, Tool};
/// let sqlx = Adopt::from(Tool::Sqlx);
/// let custom = Adopt::tool(Tool::Refinery).source_table("app.schema_history");
/// let detect = Adopt::detect();
/// # let _ = (sqlx, custom, detect);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adopt {
    pub(crate) tool: Option<Tool>,
    pub(crate) table: Option<String>,
}

impl Adopt {
    /// Reads `tool`'s history from its default table.
    pub fn tool(tool: Tool) -> Self {
        Self {
            tool: Some(tool),
            table: None,
        }
    }

    /// Finds the tool by its default table: exactly one of them must exist.
    pub fn detect() -> Self {
        Self {
            tool: None,
            table: None,
        }
    }

    /// Reads another table than the tool's default: `name` or `schema.name`, as SQL would
    /// resolve it unquoted (through the `search_path`); a quoted part keeps its case.
    pub fn source_table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }
}

impl From<Tool> for Adopt {
    fn from(tool: Tool) -> Self {
        Self::tool(tool)
    }
}

/// What [`Migrator::adopt`](crate::Migrator::adopt) recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdoptReport {
    /// The tool whose history was read.
    pub tool: Tool,
    /// Its table, as the server names it.
    pub table: String,
    /// The versions recorded as applied, in order (repeatables as `R__{name}`).
    pub adopted: Vec<String>,
    /// Versions the other tool applied that tidemark's history already had (adopting twice
    /// records nothing the second time).
    pub already_recorded: Vec<String>,
    /// Migrations of the set the other tool had not applied: the next run applies them.
    pub pending: Vec<String>,
}
