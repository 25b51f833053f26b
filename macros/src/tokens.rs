//! The scanned model as tokens: const constructors of `::tidemark::__private`.

use proc_macro2::TokenStream;
use quote::quote;
use tidemark_core::{Kind, MigrationSet, Order, ScannedMigration, Script};

/// Where the set came from, for the debug-build check that the binary is not stale.
pub(crate) struct Source {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) shown: String,
    pub(crate) ignore: Vec<String>,
    /// Whether a build script watches the folder (then a stale binary was just not rebuilt).
    pub(crate) watched: bool,
}

/// A block expression evaluating to `tidemark::Migrations`, usable in a `static`, after the
/// `warnings` statements; or the problems of its code migrations' files.
pub(crate) fn migrations(
    set: &MigrationSet,
    source: &Source,
    warnings: &[TokenStream],
) -> Result<TokenStream, Vec<String>> {
    // A diesel folder's order is its version text: no numeric sort key.
    let numeric = set.order == Order::Numeric;
    let mut problems = Vec::new();
    let mut code_items = Vec::new();
    let mut items = Vec::with_capacity(set.migrations.len());
    for (index, m) in set.migrations.iter().enumerate() {
        if m.squashed {
            items.push(squashed(m, numeric));
            continue;
        }
        if m.kind != Kind::Code {
            items.push(migration(m, numeric, None));
            continue;
        }
        match crate::code::shape(&m.up) {
            Ok(shape) => {
                code_items.push(crate::code::items(index, &m.up, &shape));
                items.push(migration(m, numeric, Some((index, shape))));
            }
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
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
    let watched = source.watched;
    let set_expr = match &set.checkpoint {
        None => quote!(p::migrations(MIGRATIONS, #digest, SOURCE, #order)),
        Some(c) => {
            let id = c.version.to_string();
            let parts = sort_key(Some(&c.version), numeric);
            let name = &c.name;
            let up = script(&c.script);
            let squashes = c.squashes;
            quote!(p::checkpointed(
                MIGRATIONS, #digest, SOURCE, #order,
                p::migration(#id, &[#(#parts),*], #name, p::VERSIONED, "", #up, p::NO_DOWN),
                #squashes,
            ))
        }
    };
    // Short paths through one `use`: 1,000 migrations are tens of thousands of tokens.
    Ok(quote!({
        #(#warnings)*
        use ::tidemark::__private as p;
        #(#code_items)*
        const MIGRATIONS: &[::tidemark::Migration] = &[#(#items),*];
        #[cfg(debug_assertions)]
        const SOURCE: ::core::option::Option<p::Source> = ::core::option::Option::Some(
            p::Source { dir: #dir, shown: #shown, ignore: &[#(#ignore),*], watched: #watched },
        );
        #[cfg(not(debug_assertions))]
        const SOURCE: ::core::option::Option<p::Source> = ::core::option::Option::None;
        #set_expr
    }))
}

/// One migration; `code` is a code migration's index and shape.
fn migration(
    m: &ScannedMigration,
    numeric: bool,
    code: Option<(usize, crate::code::Shape)>,
) -> TokenStream {
    let id = m.id();
    let parts = sort_key(m.version.as_ref(), numeric);
    let legacy = m
        .version
        .as_ref()
        .and_then(|v| v.legacy_text())
        .unwrap_or_default();
    let name = &m.name;
    let kind = match m.kind {
        Kind::Versioned => quote!(p::VERSIONED),
        Kind::Repeatable => quote!(p::REPEATABLE),
        Kind::Code => quote!(p::CODE),
        _ => quote!(::core::compile_error!(
            "tidemark-macros does not know this migration kind"
        )),
    };
    if let Some((index, shape)) = code {
        let sum = bytes32(&m.up.checksum);
        let up = crate::code::script(index, &m.up, "up", &sum);
        let down = if shape.has_down {
            let d = crate::code::script(index, &m.up, "down", &sum);
            quote!(p::down(#d))
        } else {
            quote!(p::NO_DOWN)
        };
        return quote!(p::migration(#id, &[#(#parts),*], #name, #kind, #legacy, #up, #down));
    }
    let up = script(&m.up);
    let down = rollback(m.down.as_ref());
    quote!(p::migration(#id, &[#(#parts),*], #name, #kind, #legacy, #up, #down))
}

/// A version's numeric parts, the history's sort key; none in a diesel folder, whose order is
/// its version text.
fn sort_key(version: Option<&tidemark_core::Version>, numeric: bool) -> Vec<u64> {
    version
        .and_then(|v| v.parts())
        .filter(|_| numeric)
        .map(<[u64]>::to_vec)
        .unwrap_or_default()
}

/// A migration squashed into the checkpoint whose file is gone: no forward script of its own.
fn squashed(m: &ScannedMigration, numeric: bool) -> TokenStream {
    let id = m.id();
    let parts = sort_key(m.version.as_ref(), numeric);
    let name = &m.name;
    let kind = match m.kind {
        Kind::Code => quote!(p::CODE),
        _ => quote!(p::VERSIONED),
    };
    let path = &m.up.path;
    let sum = bytes32(&m.up.checksum);
    // Its rollback file may still be there, to roll back below the checkpoint.
    let down = rollback(m.down.as_ref());
    quote!(p::migration(#id, &[#(#parts),*], #name, #kind, "", p::squashed(#path, #sum), #down))
}

/// `p::down(…)` of a rollback script, or `p::NO_DOWN`.
fn rollback(d: Option<&Script>) -> TokenStream {
    match d {
        Some(d) => {
            let d = script(d);
            quote!(p::down(#d))
        }
        None => quote!(p::NO_DOWN),
    }
}

fn script(s: &Script) -> TokenStream {
    let abs = s.abs_path.to_string_lossy();
    let path = &s.path;
    let sum = bytes32(&s.checksum);
    let no_tx = s.no_transaction;
    let own_tx = s.own_transaction;
    let script = quote!(p::script(::core::include_str!(#abs), #path, #sum, #no_tx, #own_tx));
    crate::directives::with_directives(s, script)
}

/// A `[u8; 32]` as one byte-string token (`*b"…"`) rather than 32 integer tokens: 1,000
/// migrations carry 2,000 checksums, and every token costs the compiler.
fn bytes32(bytes: &[u8; 32]) -> TokenStream {
    let lit = proc_macro2::Literal::byte_string(bytes);
    quote!(*#lit)
}
