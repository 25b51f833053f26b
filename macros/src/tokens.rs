//! The scanned model as tokens: const constructors of `::tidemark::__private`.

use proc_macro2::TokenStream;
use quote::quote;
use tidemark_core::{Kind, MigrationSet, ScannedMigration, Script};

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
    let items = set.migrations.iter().map(migration);
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
    quote!({
        #(#warnings)*
        const MIGRATIONS: &[::tidemark::Migration] = &[#(#items),*];
        #[cfg(debug_assertions)]
        const SOURCE: ::core::option::Option<::tidemark::__private::Source> = ::core::option::Option::Some(
            ::tidemark::__private::Source { dir: #dir, shown: #shown, ignore: &[#(#ignore),*] },
        );
        #[cfg(not(debug_assertions))]
        const SOURCE: ::core::option::Option<::tidemark::__private::Source> = ::core::option::Option::None;
        ::tidemark::__private::migrations(MIGRATIONS, #digest, SOURCE)
    })
}

fn migration(m: &ScannedMigration) -> TokenStream {
    let id = m.id();
    let parts = m
        .version
        .as_ref()
        .map(|v| v.parts().to_vec())
        .unwrap_or_default();
    let name = &m.name;
    let kind = match m.kind {
        Kind::Versioned => quote!(Versioned),
        Kind::Repeatable => quote!(Repeatable),
        _ => quote!(::core::compile_error!(
            "tidemark-macros does not know this migration kind"
        )),
    };
    let up = script(&m.up);
    let down = match &m.down {
        Some(d) => {
            let d = script(d);
            quote!(::core::option::Option::Some(#d))
        }
        None => quote!(::core::option::Option::None),
    };
    quote!(::tidemark::__private::migration(#id, &[#(#parts),*], #name, ::tidemark::MigrationKind::#kind, #up, #down))
}

fn script(s: &Script) -> TokenStream {
    let abs = s.abs_path.to_string_lossy();
    let path = &s.path;
    let sum = bytes32(&s.checksum);
    let no_tx = s.no_transaction;
    quote!(::tidemark::__private::script(::core::include_str!(#abs), #path, #sum, #no_tx))
}

/// A `[u8; 32]` as one byte-string token (`*b"…"`) rather than 32 integer tokens: 1,000
/// migrations carry 2,000 checksums, and every token costs the compiler.
fn bytes32(bytes: &[u8; 32]) -> TokenStream {
    let lit = proc_macro2::Literal::byte_string(bytes);
    quote!(*#lit)
}
