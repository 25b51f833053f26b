//! The set digest's arithmetic: an order-independent sum of one entry per applied migration
//! (`tidemark_core::entry_digest`), which a run moves step by step and stores in the state
//! table with each step's history row.

use super::HistoryRow;
use tidemark_core::digest_update;

/// The digest of the successfully applied rows of history: what the state table must hold.
pub(crate) fn applied_digest<'a>(rows: impl IntoIterator<Item = &'a HistoryRow>) -> [u8; 32] {
    let mut acc = [0; 32];
    for row in rows.into_iter().filter(|r| r.success) {
        digest_update(&mut acc, &row.entry_digest(), true);
    }
    acc
}

/// `digest` without `entry` (a row a step removes or replaces); unchanged for `None`.
pub(crate) fn without(mut digest: [u8; 32], entry: Option<[u8; 32]>) -> [u8; 32] {
    if let Some(entry) = entry {
        digest_update(&mut digest, &entry, false);
    }
    digest
}

/// `digest` with `entries` (the rows a step records) added.
pub(crate) fn with(mut digest: [u8; 32], entries: impl IntoIterator<Item = [u8; 32]>) -> [u8; 32] {
    for entry in entries {
        digest_update(&mut digest, &entry, true);
    }
    digest
}
