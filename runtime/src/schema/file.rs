//! The committed schema file against the rendering of today's migrations.

use std::fmt;

/// Where a committed schema file first differs from what the migrations make
/// ([`compare_file`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileDifference {
    /// 1-based line of the first difference.
    pub line: usize,
    /// That line in the file (`(end of file)` when the file is shorter).
    pub file: String,
    /// That line as the migrations make it (`(end)` when the rendering is shorter).
    pub made: String,
}

impl fmt::Display for FileDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "out of date: the migrations make another schema (first difference at line {}: the \
             file has `{}`, the migrations make `{}`)",
            self.line, self.file, self.made
        )
    }
}

/// `None` when `committed` is `expected` byte for byte; else the first line that differs.
pub fn compare_file(committed: &str, expected: &str) -> Option<FileDifference> {
    if committed == expected {
        return None;
    }
    let line = committed
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(expected.lines().count()));
    Some(FileDifference {
        line: line + 1,
        file: committed
            .lines()
            .nth(line)
            .unwrap_or("(end of file)")
            .to_owned(),
        made: expected.lines().nth(line).unwrap_or("(end)").to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::compare_file;

    #[test]
    fn the_first_differing_line_is_named() {
        assert_eq!(compare_file("a\nb\n", "a\nb\n"), None);
        let d = compare_file("a\nb\nc\n", "a\nx\nc\n").unwrap();
        assert_eq!((d.line, d.file.as_str(), d.made.as_str()), (2, "b", "x"));
        let shorter = compare_file("a\n", "a\nb\n").unwrap();
        assert_eq!((shorter.line, shorter.file.as_str()), (2, "(end of file)"));
    }
}
