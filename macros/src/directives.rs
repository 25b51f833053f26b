//! What a script's header directives add to its tokens, for SQL and Rust code migrations alike.

use proc_macro2::TokenStream;
use quote::quote;
use tidemark_core::Script;

/// `script` wrapped in what its header directives mark it with (`out-of-order`, `contract`):
/// SQL and Rust code migrations alike.
pub(crate) fn with_directives(s: &Script, script: TokenStream) -> TokenStream {
    let script = if s.out_of_order {
        quote!(p::out_of_order(#script))
    } else {
        script
    };
    if s.contract {
        quote!(p::contract(#script))
    } else {
        script
    }
}
