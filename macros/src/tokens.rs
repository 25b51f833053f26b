//! The scanned model as tokens: const constructors of `::tidemark::__private`.

use proc_macro2::TokenStream;
use quote::quote;
use tidemark_core::{Kind, MigrationSet, Order, ScannedMigration, Script};

/// Where the set came from, for the debug-build check that the binary is not stale.
pub(crate) struct Source {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) shown: String,
    pub(crate) ignore: Vec<String>,
}

/// A block expression evaluating to `tidemark::Migrations`, usable in a `static`, after the
/// `warnings` statements.
pub(crate) fn migrations(
    set: &MigrationSet,
    source: &Source,
    warnings: &[TokenStream],
) -> TokenStream {
    // A diesel folder's order is its version text: no numeric sort key.
    let numeric = set.order == Order::Numeric;
    let items = set.migrations.iter().map(|m| migration(m, numeric));
    let order = match set.order {
        Order::Text => quote!(p::TEXT),
        _ => quote!(p::NUMERIC),
    };
    let digest = bytes32(&set.digest);
    // The folder's absolute path only in debug builds of the calling crate, where the runtime
    // compares the folder with what was embedded; a release binary holds no build-machine path.
    let dir = source
        .dir
        .canonicalize()
        .unwrap_or_else(|_| source.dir.clone());
    let dir = dir.to_string_lossy();
    let shown = &source.shown;
    let ignore = &source.ignore;
    // Short paths through one `use`: 1,000 migrations are tens of thousands of tokens.
    quote!({
        #(#warnings)*
        use ::tidemark::__private as p;
        const MIGRATIONS: &[::tidemark::Migration] = &[#(#items),*];
        #[cfg(debug_assertions)]
        const SOURCE: ::core::option::Option<p::Source> = ::core::option::Option::Some(
            p::Source { dir: #dir, shown: #shown, ignore: &[#(#ignore),*] },
        );
        #[cfg(not(debug_assertions))]
        const SOURCE: ::core::option::Option<p::Source> = ::core::option::Option::None;
        p::migrations(MIGRATIONS, #digest, SOURCE, #order)
    })
}

fn migration(m: &ScannedMigration, numeric: bool) -> TokenStream {
    let id = m.id();
    let parts = m
        .version
        .as_ref()
        .and_then(|v| v.parts())
        .filter(|_| numeric)
        .map(<[u64]>::to_vec)
        .unwrap_or_default();
    let legacy = m
        .version
        .as_ref()
        .and_then(|v| v.legacy_text())
        .unwrap_or_default();
    let name = &m.name;
    let kind = match m.kind {
        Kind::Versioned => quote!(p::VERSIONED),
        Kind::Repeatable => quote!(p::REPEATABLE),
        _ => quote!(::core::compile_error!(
            "tidemark-macros does not know this migration kind"
        )),
    };
    let up = script(&m.up);
    let down = match &m.down {
        Some(d) => {
            let d = script(d);
            quote!(p::down(#d))
        }
        None => quote!(p::NO_DOWN),
    };
    quote!(p::migration(#id, &[#(#parts),*], #name, #kind, #legacy, #up, #down))
}

fn script(s: &Script) -> TokenStream {
    let abs = s.abs_path.to_string_lossy();
    let path = &s.path;
    let sum = bytes32(&s.checksum);
    let no_tx = s.no_transaction;
    let own_tx = s.own_transaction;
    quote!(p::script(::core::include_str!(#abs), #path, #sum, #no_tx, #own_tx))
}

/// A `[u8; 32]` as one byte-string token (`*b"…"`) rather than 32 integer tokens: 1,000
/// migrations carry 2,000 checksums, and every token costs the compiler.
fn bytes32(bytes: &[u8; 32]) -> TokenStream {
    let lit = proc_macro2::Literal::byte_string(bytes);
    quote!(*#lit)
}
