//! Warnings from a proc macro on stable Rust: the expansion uses a `#[deprecated]` constant
//! whose note is the message, so the compiler prints `warning: use of deprecated constant
//! `…::name`: message` at the macro call, in every `cargo build` (and cargo replays it when the
//! crate is cached).

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Statements for a block expression that make the compiler warn with `message`; `name` (an
/// identifier) is what the warning says is deprecated.
pub(crate) fn warning(name: &str, message: &str) -> TokenStream {
    let ident = syn::Ident::new(name, Span::call_site());
    quote! {
        #[deprecated(note = #message)]
        #[allow(non_upper_case_globals)]
        const #ident: () = ();
        let _ = #ident;
    }
}
