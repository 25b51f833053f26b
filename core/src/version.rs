//! Migration versions: sequences of non-negative integers compared part by part.

use std::cmp::Ordering;
use std::fmt;

/// The largest value one version part may hold. Versions are stored in PostgreSQL as
/// `bigint[]`, so a part must fit in an `i64`.
pub const MAX_PART: u64 = i64::MAX as u64;

/// A migration version: `3` = `[3]`, Flyway's `2.1` = `[2, 1]`, diesel's
/// `2024-01-31-120000-0000` = `[20240131120000, 0]`.
///
/// Versions compare part by part, a shorter version that is a prefix of a longer one being the
/// smaller; this is also how PostgreSQL compares the `bigint[]` sort key in the history table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    parts: Vec<u64>,
}

impl Version {
    /// Builds a version from its parts. Returns `None` when there is no part or a part exceeds
    /// [`MAX_PART`].
    pub fn from_parts(parts: Vec<u64>) -> Option<Self> {
        if parts.is_empty() || parts.iter().any(|p| *p > MAX_PART) {
            return None;
        }
        Some(Self { parts })
    }

    /// The parts, most significant first.
    pub fn parts(&self) -> &[u64] {
        &self.parts
    }

    /// Parses the canonical text written by [`Display`](fmt::Display): parts joined with `.`.
    pub fn parse_canonical(text: &str) -> Option<Self> {
        let parts = text
            .split('.')
            .map(parse_digits)
            .collect::<Option<Vec<_>>>()?;
        Self::from_parts(parts)
    }

    /// Parses digit groups separated by any of `separators` (`1.2`, `1_2`), each group one part.
    pub(crate) fn parse_separated(text: &str, separators: &[char]) -> Option<Self> {
        let parts = text
            .split(|c| separators.contains(&c))
            .map(parse_digits)
            .collect::<Option<Vec<_>>>()?;
        Self::from_parts(parts)
    }

    /// Parses a diesel directory version: `20240131120000`, `2024-01-31-120000` (one part, the
    /// date and time digits) or `2024-01-31-120000-0000` (the date and time, then one part for
    /// every further group).
    pub(crate) fn parse_diesel(text: &str) -> Option<Self> {
        let groups: Vec<&str> = text.split('-').collect();
        if groups
            .iter()
            .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let head = groups.len().min(4);
        let mut parts = vec![parse_digits(&groups[..head].concat())?];
        for g in &groups[head..] {
            parts.push(parse_digits(g)?);
        }
        Self::from_parts(parts)
    }
}

fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    /// The canonical text stored in history: parts joined with `.`, without leading zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parts: &[u64]) -> Version {
        Version::from_parts(parts.to_vec()).unwrap()
    }

    #[test]
    fn diesel_forms() {
        assert_eq!(Version::parse_diesel("00000000000000"), Some(v(&[0])));
        assert_eq!(
            Version::parse_diesel("2024-01-31-120000"),
            Some(v(&[20240131120000]))
        );
        assert_eq!(
            Version::parse_diesel("2024-01-31-120000-0000"),
            Some(v(&[20240131120000, 0]))
        );
        assert_eq!(Version::parse_diesel("2024--01"), None);
        assert_eq!(Version::parse_diesel("2024-x"), None);
    }

    #[test]
    fn ordering_is_part_by_part() {
        assert!(v(&[2]) < v(&[10]));
        assert!(v(&[2, 1]) < v(&[2, 10]));
        assert!(v(&[20240131120000]) < v(&[20240131120000, 0]));
        assert!(v(&[20240131120000, 0]) < v(&[20240131120001]));
    }

    #[test]
    fn canonical_text_round_trips() {
        for text in ["0", "3", "2.1", "20240131120000.0"] {
            assert_eq!(Version::parse_canonical(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Version::parse_separated("0002_1", &['.', '_']),
            Some(v(&[2, 1]))
        );
        assert_eq!(Version::parse_canonical("9223372036854775808"), None);
        assert_eq!(Version::parse_canonical(""), None);
    }
}
