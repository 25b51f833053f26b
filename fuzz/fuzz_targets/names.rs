//! The file-name grammar and version texts: no input panics, and every version a name yields
//! prints as canonical text that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_core::{parse_diesel_dir, parse_file_name, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(parsed)) = parse_file_name(text) {
        if let Some(v) = parsed.version {
            assert_eq!(Version::parse_canonical(&v.to_string()), Some(v));
        }
        assert!(!parsed.name.is_empty());
    }
    if let Some((v, name)) = parse_diesel_dir(text) {
        assert_eq!(Version::parse_canonical(&v.to_string()), Some(v));
        assert!(!name.is_empty() || !text.contains('_'));
    }
    if let Some(v) = Version::parse_canonical(text) {
        assert_eq!(Version::parse_canonical(&v.to_string()), Some(v));
    }
});
