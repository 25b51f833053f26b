//! Implementation detail of [tidemark](https://docs.rs/tidemark): its procedural macros. Use
//! them through the `tidemark` crate (`tidemark::embed_migrations!`), not directly.

mod analysis;
mod code;
mod directives;
mod embed;
mod errors;
mod fixtures;
mod manifest;
mod test_attr;
mod tokens;
mod warning;

use proc_macro::TokenStream;

/// Embeds a migration folder at compile time. Documented on `tidemark::embed_migrations!`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as embed::Args);
    embed::expand(&args).into()
}

/// SQL fixtures read and checked at compile time. Documented on `tidemark::fixtures!`.
#[proc_macro]
pub fn fixtures(input: TokenStream) -> TokenStream {
    let list = syn::parse_macro_input!(input as fixtures::List);
    fixtures::expand(&list)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Marks an async test that receives a fresh, migrated database. Documented on
/// `tidemark::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(args as test_attr::Args);
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    test_attr::expand(&args, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
