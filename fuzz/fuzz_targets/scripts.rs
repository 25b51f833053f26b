//! A script's checks (encoding, directives, lexer, transaction safety) never panic on any
//! bytes, and the splitter's pieces always cover the text exactly, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let diesel = data.first().is_some_and(|b| b & 1 == 1);
    let _ = tidemark_core::check_script_bytes(data, diesel);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pieces) = tidemark_core::lexer::split(text) {
            let mut at = 0;
            for p in &pieces {
                assert_eq!(p.range.start, at, "pieces are contiguous");
                assert!(p.range.end >= p.range.start);
                if let Some(c) = p.code_start {
                    assert!(p.range.contains(&c));
                }
                at = p.range.end;
            }
            assert_eq!(at, text.len(), "pieces cover the text");
        }
    }
});
