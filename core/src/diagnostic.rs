//! Problems found in a migration folder, located at `path:line:column`.

use std::fmt;

/// Whether a problem stops the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Stops the build (`embed_migrations!`) and fails `tidemark check`.
    Error,
    /// Reported by `tidemark check`; the build stays silent.
    Warning,
    /// Something `tidemark check` says so it is not a surprise (a file that runs outside a
    /// transaction without saying so).
    Note,
}

/// One problem, with where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The path as the user wrote it plus the file inside the folder, e.g. `migrations/V3__x.sql`.
    pub path: String,
    /// 1-based line, where the problem has one.
    pub line: Option<usize>,
    /// 1-based column in characters, where the problem has one.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The analysis rule that found it (`syntax`, or a lint such as
    /// `require-concurrent-index-creation`), when it comes from build-time analysis.
    pub rule: Option<String>,
}

impl Diagnostic {
    /// An error about a whole file.
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
            rule: None,
        }
    }

    /// A warning about a whole file.
    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(path, message)
        }
    }

    /// A note about a whole file.
    pub fn note(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Note,
            ..Self::error(path, message)
        }
    }

    /// Locates the problem at byte offset `byte` of `text`.
    #[must_use]
    pub fn at(mut self, text: &str, byte: usize) -> Self {
        let (line, column) = crate::position::line_col(text, byte);
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Adds what to do.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn sort_key(&self) -> (&str, usize, usize, Severity, &str) {
        let (l, c) = (self.line.unwrap_or(0), self.column.unwrap_or(0));
        (&self.path, l, c, self.severity, &self.message)
    }
}

impl fmt::Display for Diagnostic {
    /// `path:line:column: message`, then `help: …` on its own line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics by path, line, column, severity and message, so output is deterministic.
pub(crate) fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}
