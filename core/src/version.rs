//! Migration versions, with the identity and the order of the tool that owns each form.
//!
//! Flyway, refinery, sqlx and golang-migrate versions are sequences of non-negative integers
//! compared part by part (`3`, `2.1`, `20240131120000`). diesel's version is the directory name
//! up to the first `_` with the dashes removed, and diesel orders versions **as strings** — real
//! folders mix 13- and 14-digit versions (`2020-12-7-190800`), so the numeric order would differ.
//! A folder's order follows its form: diesel's string order when every versioned migration is a
//! diesel directory, the numeric order otherwise (see [`Order`]).

use std::cmp::Ordering;
use std::fmt;

/// The largest value one version part may hold. Versions are stored in PostgreSQL as
/// `bigint[]`, so a part must fit in an `i64`.
pub const MAX_PART: u64 = i64::MAX as u64;

/// How the versions of a set are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Order {
    /// Part by part, numerically (Flyway, refinery, sqlx, golang-migrate; folders that mix
    /// forms).
    #[default]
    Numeric,
    /// As strings, byte by byte (diesel folders).
    Text,
}

impl Order {
    /// Compares two canonical version texts in this order. In the numeric order a text that is
    /// not numeric sorts after every numeric one, then as text.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Self::Text => a.cmp(b),
            // Without allocating: sorting ten thousand versions compares them ~140,000 times.
            Self::Numeric => match (is_numeric(a), is_numeric(b)) {
                (true, true) => digits(a).cmp(digits(b)).then_with(|| a.cmp(b)),
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => a.cmp(b),
            },
        }
    }

    /// The canonical text of a version as a person may write it (`--to 003`, Flyway's file
    /// spelling `V1_2`, `2024-01-31-120000`), or `None` when it is not one in this order.
    pub fn canonical(self, written: &str) -> Option<String> {
        let w = written.trim();
        match self {
            Self::Numeric => {
                let flyway = w
                    .strip_prefix(['V', 'v'])
                    .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                    .map(|rest| rest.replace('_', "."));
                Version::parse_canonical(flyway.as_deref().unwrap_or(w)).map(|v| v.to_string())
            }
            Self::Text => (!w.is_empty()).then(|| w.replace('-', "")),
        }
    }
}

/// A migration version: its canonical text (what history records) and, when it is numeric, its
/// parts. `3` = `[3]`, Flyway's `2.1` = `[2, 1]`; diesel's `2024-01-31-120000-0000` is the text
/// `202401311200000000` (one part).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    text: String,
    parts: Option<Vec<u64>>,
    /// What an earlier tidemark recorded for this diesel version, when it differs.
    legacy: Option<String>,
}

impl Version {
    /// Builds a numeric version from its parts. Returns `None` when there is no part or a part
    /// exceeds [`MAX_PART`].
    pub fn from_parts(parts: Vec<u64>) -> Option<Self> {
        if parts.is_empty() || parts.iter().any(|p| *p > MAX_PART) {
            return None;
        }
        let text = parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        Some(Self {
            text,
            parts: Some(parts),
            legacy: None,
        })
    }

    /// The numeric parts, most significant first; `None` for a diesel version that is not a
    /// number.
    pub fn parts(&self) -> Option<&[u64]> {
        self.parts.as_deref()
    }

    /// The text tidemark 0.1 recorded for this diesel version before versions took diesel's
    /// own form (`20240131120000.0` for `2024-01-31-120000-0000`), when it differs: history
    /// rows under it are the same migration.
    pub fn legacy_text(&self) -> Option<&str> {
        self.legacy.as_deref()
    }

    /// The canonical text (what [`Display`](fmt::Display) prints), without allocating.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Parses the canonical text of a numeric version: parts joined with `.`.
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

    /// A diesel directory's version, as diesel reads it: the name up to its first `_` (the
    /// whole name when there is none) with the dashes removed. It must start with a digit (a
    /// directory named `fixtures` is not a migration). `2020-12-7-190800` is the text
    /// `2020127190800`; a version of digits is also a number.
    pub(crate) fn parse_diesel(text: &str) -> Option<Self> {
        if !text.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let joined = text.replace('-', "");
        let parts = parse_digits(&joined)
            .filter(|p| *p <= MAX_PART)
            .map(|p| vec![p]);
        let legacy = legacy_diesel(text).filter(|l| *l != joined);
        Some(Self {
            text: joined,
            parts,
            legacy,
        })
    }
}

/// What tidemark 0.1 made of a diesel version: the first four dash groups as one number, then
/// one part per further group, without leading zeros.
fn legacy_diesel(text: &str) -> Option<String> {
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
    Version::from_parts(parts).map(|v| v.text)
}

/// Whether `text` is the canonical text of a numeric version (what
/// [`Version::parse_canonical`] accepts).
fn is_numeric(text: &str) -> bool {
    text.split('.')
        .all(|p| parse_digits(p).is_some_and(|v| v <= MAX_PART))
}

/// The parts of a text [`is_numeric`] accepted.
fn digits(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split('.').map(|p| parse_digits(p).unwrap_or(0))
}

fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Ord for Version {
    /// The numeric order (see [`Order::Numeric`]); a diesel folder sorts by text instead.
    fn cmp(&self, other: &Self) -> Ordering {
        // The parts are what `Order::Numeric` would parse from the texts.
        match (&self.parts, &other.parts) {
            (Some(x), Some(y)) => x.cmp(y).then_with(|| self.text.cmp(&other.text)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.text.cmp(&other.text),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    /// The canonical text stored in history.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parts: &[u64]) -> Version {
        Version::from_parts(parts.to_vec()).unwrap()
    }

    #[test]
    fn diesel_versions_are_the_name_without_dashes() {
        let d = |t: &str| Version::parse_diesel(t).unwrap();
        assert_eq!(d("00000000000000").to_string(), "00000000000000");
        assert_eq!(d("00000000000000").legacy_text(), Some("0"));
        assert_eq!(d("2024-01-31-120000").to_string(), "20240131120000");
        assert_eq!(
            d("2024-01-31-120000").legacy_text(),
            None,
            "same text as before"
        );
        let tail = d("2024-01-31-120000-0000");
        assert_eq!(tail.to_string(), "202401311200000000");
        assert_eq!(tail.legacy_text(), Some("20240131120000.0"));
        assert_eq!(d("2020-12-7-190800").to_string(), "2020127190800");
        let words = d("2023-05-23-1715-update-subgraph");
        assert_eq!(words.to_string(), "202305231715updatesubgraph");
        assert_eq!(words.parts(), None);
        assert_eq!(Version::parse_diesel("fixtures"), None);
    }

    #[test]
    fn diesel_folders_order_as_strings_others_numerically() {
        // The repro: a single-digit day makes a 13-digit version.
        let (a, b) = ("20200101000000", "2020127190800");
        assert_eq!(
            Order::Text.compare(a, b),
            Ordering::Less,
            "diesel runs a first"
        );
        assert_eq!(Order::Numeric.compare(a, b), Ordering::Greater);
        assert_eq!(Order::Numeric.compare("2", "10"), Ordering::Less);
        assert_eq!(Order::Numeric.compare("2.1", "2.10"), Ordering::Less);
        assert_eq!(Order::Numeric.compare("9", "R__x"), Ordering::Less);
        assert!(v(&[20240131120000]) < v(&[20240131120000, 0]));
    }

    #[test]
    fn versions_order_as_their_texts_do_in_the_numeric_order() {
        let d = |t: &str| Version::parse_diesel(t).unwrap();
        let all = [
            v(&[3]),
            v(&[10]),
            v(&[2, 1]),
            v(&[2, 10]),
            v(&[2]),
            d("2024-01-31-120000"),
            d("2023-05-23-1715-update-subgraph"),
            d("99999999999999999999"),
            d("0001"),
        ];
        for a in &all {
            for b in &all {
                assert_eq!(
                    a.cmp(b),
                    Order::Numeric.compare(&a.to_string(), &b.to_string()),
                    "{a} vs {b}"
                );
            }
        }
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
        assert_eq!(Order::Numeric.canonical(" 003 ").as_deref(), Some("3"));
        assert_eq!(Order::Numeric.canonical("V1_2").as_deref(), Some("1.2"));
        assert_eq!(Order::Numeric.canonical("v41").as_deref(), Some("41"));
        assert_eq!(Order::Numeric.canonical("V").as_deref(), None);
        assert_eq!(
            Order::Text.canonical("2024-01-31-120000").as_deref(),
            Some("20240131120000")
        );
    }
}
