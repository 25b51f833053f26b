//! Where in a migration file a server error points: PostgreSQL reports a 1-based *character*
//! index into the whole query text it was sent, or, for an error inside a function body or a
//! `DO` block, a position inside that body.

use tokio_postgres::error::{DbError, ErrorPosition};

/// The 0-based character index into the sent query text, when the server gave one (`None` for
/// no position and for positions inside a body).
pub(crate) fn query_char(error: &DbError) -> Option<usize> {
    match error.position()? {
        ErrorPosition::Original(p) => Some(usize::try_from(*p).ok()?.saturating_sub(1)),
        ErrorPosition::Internal { .. } => None,
    }
}

/// The byte offset in `script` that `error` points at. `base` is the character index at which
/// the script starts in the query text that was sent (0 when it was sent alone). `None` when the
/// server gave no position or it lies outside the script.
pub fn script_offset(error: &DbError, script: &str, base: usize) -> Option<usize> {
    match error.position()? {
        ErrorPosition::Original(_) => {
            let c = query_char(error)?.checked_sub(base)?;
            tidemark_core::position::char_to_byte(script, c)
        }
        ErrorPosition::Internal { position, query } => {
            // The body is quoted verbatim in the script; the first occurrence is the one.
            let start = script.find(query.as_str())?;
            let c = usize::try_from(*position).ok()?.saturating_sub(1);
            Some(start + tidemark_core::position::char_to_byte(query, c)?)
        }
    }
}
