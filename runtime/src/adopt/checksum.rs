//! The checksums other tools record, recomputed from an embedded script: sqlx's SHA-384 of the
//! file, refinery's SipHash-1-3 of name, version and SQL, Flyway's CRC-32 of the file's lines.
//! diesel records none.

use sha2::{Digest, Sha384};
use std::hash::{Hash, Hasher};

/// sqlx: SHA-384 of the file as read (a byte-order mark and CRLF line ends included).
pub(crate) fn sqlx(raw: &str) -> Vec<u8> {
    Sha384::digest(raw.as_bytes()).to_vec()
}

/// refinery: SipHash-1-3 with zero keys over `Hash` of the name, the version (`i32`, or `i64`
/// when refinery was built with `int8-versions`, which makes the column `int8`) and the SQL as
/// read.
pub(crate) fn refinery(name: &str, version: i64, wide: bool, raw: &str) -> Option<u64> {
    let mut h = siphasher::sip::SipHasher13::new();
    name.hash(&mut h);
    if wide {
        version.hash(&mut h);
    } else {
        i32::try_from(version).ok()?.hash(&mut h);
    }
    raw.hash(&mut h);
    Some(h.finish())
}

/// Flyway: CRC-32 over the file's lines without their line ends (Java's `readLine`, which ends
/// a line at `\n`, `\r` or `\r\n`) and without a leading byte-order mark, as a signed 32-bit
/// integer. Line ends and empty lines add nothing, so this is the CRC-32 of the text with every
/// `\r` and `\n` left out.
pub(crate) fn flyway(raw: &str) -> i32 {
    let text = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let mut crc = crc32fast::Hasher::new();
    for piece in text.split(['\r', '\n']) {
        crc.update(piece.as_bytes());
    }
    i32::from_ne_bytes(crc.finalize().to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "CREATE TABLE t (id int);\n";
    const WINDOWS: &str = "\u{feff}CREATE TABLE users (\r\n  id int\r\n);\r\n";

    #[test]
    fn sqlx_hashes_the_file_as_read() {
        // Known answers from Python's hashlib.sha384 over the same bytes.
        assert_eq!(
            tidemark_core::to_hex(&sqlx(PLAIN)),
            "e1cc0b49a7d453bb345d9fc52670c0bfd4a694b2befb7061a9bad55916701e1ef4ddd22ee7cb1c80b4317a1b5780422c"
        );
        assert_eq!(
            tidemark_core::to_hex(&sqlx(WINDOWS)),
            "5dc9450e41d7ffbab02546254f0467cac7dd24eba63ca993e3a0f6e20e399e8b708a5d6e81c0851df7f86b7d4d939e9e"
        );
    }

    #[test]
    fn refinery_hashes_name_version_and_sql() {
        // Known answers from refinery-core 0.10's `Migration::unapplied(..).checksum()`.
        assert_eq!(
            refinery("initial", 1, false, PLAIN),
            Some(1459393547224997786)
        );
        assert_eq!(
            refinery("add_users", 20, false, WINDOWS),
            Some(2576705837375637131)
        );
        assert_ne!(
            refinery("initial", 1, true, PLAIN),
            Some(1459393547224997786)
        );
        assert_eq!(refinery("big", 1 << 40, false, PLAIN), None);
    }

    #[test]
    fn flyway_hashes_lines_without_their_ends() {
        // Known answers from Python's zlib.crc32 fed line by line.
        assert_eq!(flyway(PLAIN), 92137680);
        assert_eq!(flyway(WINDOWS), 1043533331);
        assert_eq!(flyway("a\r\nb\n\n"), flyway("a\rb"));
        assert_ne!(flyway("a b"), flyway("ab"));
    }
}
