//! Byte offsets, character indexes and (line, column) positions in a script.

/// The 1-based line and column (in characters) of byte offset `byte` in `text`.
///
/// An offset past the end, or inside a multi-byte character, is clamped to the nearest
/// character boundary before it.
pub fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &text[..byte];
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The byte offset of the character at 0-based character index `index`, or `None` when the
/// text is shorter. PostgreSQL reports error positions as 1-based character indexes.
pub fn char_to_byte(text: &str, index: usize) -> Option<usize> {
    if index == text.chars().count() {
        return Some(text.len());
    }
    text.char_indices().nth(index).map(|(b, _)| b)
}

/// The text of the line holding byte offset `byte`, without its line break.
pub fn line_at(text: &str, byte: usize) -> &str {
    let byte = byte.min(text.len());
    let start = text[..byte].rfind('\n').map_or(0, |p| p + 1);
    let end = text[byte..].find('\n').map_or(text.len(), |p| byte + p);
    text[start..end].trim_end_matches('\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let t = "ab\nçd\nx";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 5), (2, 2)); // after the two-byte ç
        assert_eq!(line_col(t, 4), (2, 1)); // inside ç: clamped
        assert_eq!(line_col(t, 99), (3, 2));
        assert_eq!(line_at(t, 5), "çd");
    }

    #[test]
    fn characters_to_bytes() {
        let t = "çab";
        assert_eq!(char_to_byte(t, 0), Some(0));
        assert_eq!(char_to_byte(t, 1), Some(2));
        assert_eq!(char_to_byte(t, 3), Some(4));
        assert_eq!(char_to_byte(t, 4), None);
    }
}
