//! A PostgreSQL-aware statement splitter.
//!
//! It understands `'…'` strings (with `''`), `E'…'` strings (with backslash escapes), `"…"`
//! identifiers, `$tag$…$tag$` dollar quotes, `--` comments and nested `/* */` comments, and, like
//! psql, it does not end a statement at a `;` inside parentheses or inside the `BEGIN ATOMIC … END`
//! body of a `CREATE FUNCTION`/`CREATE PROCEDURE`. It splits; it does not parse the grammar, so it
//! never rejects valid SQL. The only errors are constructs still open at the end of the text.

use std::ops::Range;

/// How many leading words of a statement [`Statement::words`] keeps.
const KEPT_WORDS: usize = 8;

/// One piece of a script: a statement with the whitespace and comments before it.
///
/// The ranges of all pieces of a script are contiguous and cover it exactly, so joining the
/// pieces gives back the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The piece's byte range: from the end of the previous piece through this statement's `;`.
    pub range: Range<usize>,
    /// The byte offset of the statement's first character that is not whitespace or comment;
    /// `None` when the piece holds only whitespace and comments (a trailing remainder).
    pub code_start: Option<usize>,
    /// The first bare words of the statement (outside quotes and comments), upper-cased.
    pub words: Vec<String>,
    /// Whether the statement ends with a `;` (the last one of a file may not).
    pub terminated: bool,
}

impl Statement {
    /// Whether the piece holds a statement rather than only whitespace and comments.
    pub fn has_code(&self) -> bool {
        self.code_start.is_some()
    }

    /// The statement text from its first significant character, with the comments before it
    /// left out.
    pub fn code<'a>(&self, sql: &'a str) -> &'a str {
        &sql[self.code_start.unwrap_or(self.range.end)..self.range.end]
    }

    /// Whether the leading words are exactly `expected` (already upper-case).
    pub fn starts_with_words(&self, expected: &[&str]) -> bool {
        self.words.len() >= expected.len() && self.words.iter().zip(expected).all(|(w, e)| w == e)
    }
}

/// A quoted construct or comment still open at the end of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// What is open.
    pub kind: LexErrorKind,
    /// The byte offset where it was opened.
    pub offset: usize,
}

/// The kinds of [`LexError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexErrorKind {
    /// A `'…'` string literal.
    String,
    /// An `E'…'` string literal.
    EscapeString,
    /// A `"…"` quoted identifier.
    Identifier,
    /// A dollar quote with this tag (`$$` has the empty tag).
    DollarQuote(String),
    /// A `/* */` comment.
    BlockComment,
}

impl LexError {
    /// What is wrong, for a person.
    pub fn describe(&self) -> String {
        match &self.kind {
            LexErrorKind::String => "unterminated quoted string: no closing `'`".to_owned(),
            LexErrorKind::EscapeString => "unterminated E'' string: no closing `'`".to_owned(),
            LexErrorKind::Identifier => {
                "unterminated quoted identifier: no closing `\"`".to_owned()
            }
            LexErrorKind::DollarQuote(tag) => {
                format!("unterminated dollar-quoted string: no closing `${tag}$`")
            }
            LexErrorKind::BlockComment => "unterminated block comment: no closing `*/`".to_owned(),
        }
    }
}

/// Splits `sql` into statements. See the module docs for what is understood.
pub fn split(sql: &str) -> Result<Vec<Statement>, LexError> {
    Splitter::new(sql).run()
}

struct Splitter<'a> {
    b: &'a [u8],
    sql: &'a str,
    out: Vec<Statement>,
    piece_start: usize,
    code_start: Option<usize>,
    words: Vec<String>,
    word_count: usize,
    routine: bool,
    paren_depth: usize,
    begin_depth: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

impl<'a> Splitter<'a> {
    fn new(sql: &'a str) -> Self {
        Self {
            b: sql.as_bytes(),
            sql,
            out: Vec::new(),
            piece_start: 0,
            code_start: None,
            words: Vec::new(),
            word_count: 0,
            routine: false,
            paren_depth: 0,
            begin_depth: 0,
        }
    }

    fn run(mut self) -> Result<Vec<Statement>, LexError> {
        let b = self.b;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if c == b'-' && b.get(i + 1) == Some(&b'-') {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                continue;
            }
            if c == b'/' && b.get(i + 1) == Some(&b'*') {
                i = self.skip_block_comment(i)?;
                continue;
            }
            self.code_start.get_or_insert(i);
            i = match c {
                b'\'' => self.skip_quoted(i, i, b'\'', false, LexErrorKind::String)?,
                b'"' => self.skip_quoted(i, i, b'"', false, LexErrorKind::Identifier)?,
                b'$' => self.skip_dollar(i)?,
                b'(' => {
                    self.paren_depth += 1;
                    i + 1
                }
                b')' => {
                    self.paren_depth = self.paren_depth.saturating_sub(1);
                    i + 1
                }
                b';' => {
                    if self.paren_depth == 0 && self.begin_depth == 0 {
                        self.finish(i + 1, true);
                    }
                    i + 1
                }
                c if c.is_ascii_digit() => {
                    i + b[i..]
                        .iter()
                        .position(|&x| !(x.is_ascii_alphanumeric() || x == b'_' || x == b'.'))
                        .unwrap_or(b.len() - i)
                }
                c if is_ident_start(c) => self.word(i)?,
                _ => i + 1,
            };
        }
        if self.piece_start < b.len() {
            self.finish(b.len(), false);
        }
        Ok(self.out)
    }

    fn finish(&mut self, end: usize, terminated: bool) {
        self.out.push(Statement {
            range: self.piece_start..end,
            code_start: self.code_start.take(),
            words: std::mem::take(&mut self.words),
            terminated,
        });
        self.piece_start = end;
        self.word_count = 0;
        self.routine = false;
        self.paren_depth = 0;
        self.begin_depth = 0;
    }

    /// Reads an identifier or keyword starting at `i`; handles the `E'…'` prefix.
    fn word(&mut self, i: usize) -> Result<usize, LexError> {
        let b = self.b;
        let end = i + b[i..]
            .iter()
            .position(|&x| !is_ident_char(x))
            .unwrap_or(b.len() - i);
        let word = self.sql[i..end].to_ascii_uppercase();
        if word == "E" && b.get(end) == Some(&b'\'') {
            return self.skip_quoted(i, end, b'\'', true, LexErrorKind::EscapeString);
        }
        self.word_count += 1;
        if self.word_count == 2 || self.word_count == 4 {
            // CREATE FUNCTION / CREATE PROCEDURE / CREATE OR REPLACE FUNCTION|PROCEDURE
            let w = &self.words;
            let routine_word = word == "FUNCTION" || word == "PROCEDURE";
            self.routine |= routine_word
                && w.first().is_some_and(|f| f == "CREATE")
                && (self.word_count == 2 || (w[1] == "OR" && w[2] == "REPLACE"));
        }
        if self.routine && self.paren_depth == 0 && (word == "BEGIN" || word == "CASE") {
            self.begin_depth += 1;
        } else if word == "END" && self.begin_depth > 0 {
            self.begin_depth -= 1;
        }
        if self.words.len() < KEPT_WORDS {
            self.words.push(word);
        }
        Ok(end)
    }

    /// Skips a quoted construct whose opening quote is at `quote`; `start` is where it began
    /// (the `E` of an escape string). Doubled quotes are escapes; with `backslash`, so is `\x`.
    fn skip_quoted(
        &self,
        start: usize,
        quote: usize,
        q: u8,
        backslash: bool,
        kind: LexErrorKind,
    ) -> Result<usize, LexError> {
        let b = self.b;
        let mut k = quote + 1;
        while k < b.len() {
            if backslash && b[k] == b'\\' {
                k += 2;
            } else if b[k] == q {
                if b.get(k + 1) == Some(&q) {
                    k += 2;
                } else {
                    return Ok(k + 1);
                }
            } else {
                k += 1;
            }
        }
        Err(LexError {
            kind,
            offset: start,
        })
    }

    fn skip_dollar(&self, i: usize) -> Result<usize, LexError> {
        let b = self.b;
        let tag_len = b[i + 1..]
            .iter()
            .position(|&x| !is_ident_char(x) || x == b'$');
        let Some(tag_len) = tag_len else {
            return Ok(i + 1);
        };
        let tag_end = i + 1 + tag_len;
        let valid_tag = b.get(tag_end) == Some(&b'$')
            && (tag_len == 0 || is_ident_start(b[i + 1]) && !b[i + 1].is_ascii_digit());
        if !valid_tag {
            // `$1` parameters and `$` inside operators.
            return Ok(i + 1);
        }
        let delim = &self.sql[i..=tag_end];
        let body = tag_end + 1;
        match self.sql[body..].find(delim) {
            Some(p) => Ok(body + p + delim.len()),
            None => Err(LexError {
                kind: LexErrorKind::DollarQuote(self.sql[i + 1..tag_end].to_owned()),
                offset: i,
            }),
        }
    }

    fn skip_block_comment(&self, i: usize) -> Result<usize, LexError> {
        let b = self.b;
        let mut depth = 0usize;
        let mut k = i;
        while k + 1 < b.len() {
            match (b[k], b[k + 1]) {
                (b'/', b'*') => {
                    depth += 1;
                    k += 2;
                }
                (b'*', b'/') => {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        return Ok(k);
                    }
                }
                _ => k += 1,
            }
        }
        Err(LexError {
            kind: LexErrorKind::BlockComment,
            offset: i,
        })
    }
}

#[cfg(test)]
mod tests;
