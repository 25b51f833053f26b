//! Implementation detail of [tidemark](https://docs.rs/tidemark): its procedural macros. Use
//! them through the `tidemark` crate (`tidemark::embed_migrations!`), not directly.

mod embed;
mod manifest;
mod tokens;

use proc_macro::TokenStream;

/// Embeds a migration folder at compile time. Documented on `tidemark::embed_migrations!`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as embed::Args);
    embed::expand(&args).into()
}
