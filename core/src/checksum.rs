//! Script checksums and the digest of a whole migration set.

use crate::kind::Kind;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// A SHA-256 digest.
pub type Checksum = [u8; 32];

/// The text as it is checksummed and executed: a leading byte-order mark removed and CRLF line
/// ends turned into LF, so a Windows checkout does not look like an edited migration.
pub fn normalize(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains("\r\n") {
        Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The checksum of one script: SHA-256 of its [normalized](normalize) text.
pub fn checksum(text: &str) -> Checksum {
    Sha256::digest(normalize(text).as_bytes()).into()
}

/// The hash of one migration's entry in the set digest: SHA-256 over its kind, identity
/// (canonical version text or repeatable name) and forward checksum.
pub fn entry_digest(kind: Kind, id: &str, sum: &Checksum) -> Checksum {
    let mut h = Sha256::new();
    h.update(kind.digest_tag());
    h.update(id.as_bytes());
    h.update([0]);
    h.update(sum);
    h.finalize().into()
}

/// Adds (`add = true`) or removes an entry hash to or from a set digest: 256-bit big-endian
/// addition or subtraction modulo 2^256.
pub fn digest_update(acc: &mut Checksum, entry: &Checksum, add: bool) {
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let (a, e) = (u16::from(acc[i]), u16::from(entry[i]));
        let v = if add {
            a + e + carry
        } else {
            256 + a - e - carry
        };
        acc[i] = v.to_le_bytes()[0];
        carry = if add { v >> 8 } else { u16::from(v < 256) };
    }
}

/// The digest of a set of migrations: the sum modulo 2^256 of every [`entry_digest`].
///
/// The build computes it over the embedded set. Being a sum, it does not depend on order and
/// the runtime updates it in constant time per applied or reverted migration, storing it in the
/// same transaction, so "is the database up to date" is one comparison.
pub fn set_digest<'a, I>(entries: I) -> Checksum
where
    I: IntoIterator<Item = (Kind, &'a str, &'a Checksum)>,
{
    let mut acc = [0; 32];
    for (kind, id, sum) in entries {
        digest_update(&mut acc, &entry_digest(kind, id, sum), true);
    }
    acc
}

/// Lower-case hexadecimal text of a digest.
pub fn to_hex(sum: &[u8]) -> String {
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_bom_do_not_change_the_checksum() {
        let lf = "create table a (x int);\n-- c\n";
        assert_eq!(
            checksum(lf),
            checksum("create table a (x int);\r\n-- c\r\n")
        );
        assert_eq!(checksum(lf), checksum(&format!("\u{feff}{lf}")));
        assert_ne!(checksum(lf), checksum("create table a (x bigint);\n-- c\n"));
    }

    #[test]
    fn digest_depends_on_identity_kind_and_checksum_not_order() {
        let (a, b) = (checksum("a"), checksum("b"));
        let d = set_digest([(Kind::Versioned, "1", &a), (Kind::Versioned, "2", &b)]);
        assert_eq!(
            d,
            set_digest([(Kind::Versioned, "2", &b), (Kind::Versioned, "1", &a)])
        );
        assert_ne!(
            d,
            set_digest([(Kind::Versioned, "1", &a), (Kind::Repeatable, "2", &b)])
        );
        assert_ne!(
            d,
            set_digest([(Kind::Versioned, "1", &b), (Kind::Versioned, "2", &a)])
        );
        assert_eq!(to_hex(&[0, 255]), "00ff");
    }

    #[test]
    fn digest_update_adds_and_removes() {
        let (a, b) = (checksum("a"), checksum("b"));
        let mut acc = set_digest([(Kind::Versioned, "1", &a)]);
        let e = entry_digest(Kind::Versioned, "2", &b);
        digest_update(&mut acc, &e, true);
        assert_eq!(
            acc,
            set_digest([(Kind::Versioned, "1", &a), (Kind::Versioned, "2", &b)])
        );
        digest_update(&mut acc, &e, false);
        assert_eq!(acc, set_digest([(Kind::Versioned, "1", &a)]));
        let mut wrap = [255; 32];
        digest_update(&mut wrap, &[255; 32], true);
        digest_update(&mut wrap, &[255; 32], false);
        assert_eq!(wrap, [255; 32]);
    }
}
