//! `#[tidemark::test]`: an async test that receives a fresh migrated database.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Token, Type};

/// `migrations = PATH` (default `MIGRATIONS`).
pub(crate) struct Args {
    migrations: syn::Path,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Self {
                migrations: syn::parse_quote!(MIGRATIONS),
            });
        }
        let key: syn::Ident = input.parse()?;
        if key != "migrations" {
            return Err(syn::Error::new(
                key.span(),
                "unknown option; use `#[tidemark::test(migrations = MY_MIGRATIONS)]`",
            ));
        }
        input.parse::<Token![=]>()?;
        let migrations = input.parse()?;
        input.parse::<Option<Token![,]>>()?;
        Ok(Self { migrations })
    }
}

pub(crate) fn expand(args: &Args, item: ItemFn) -> syn::Result<TokenStream> {
    if item.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            item.sig.fn_token.span(),
            "#[tidemark::test] needs an `async fn`",
        ));
    }
    let arg = match item.sig.inputs.len() {
        0 => quote!(),
        1 => match &item.sig.inputs[0] {
            FnArg::Typed(t) if matches!(*t.ty, Type::Reference(_)) => quote!(&db),
            FnArg::Typed(_) => quote!(::core::clone::Clone::clone(db.pool())),
            FnArg::Receiver(r) => return Err(syn::Error::new(r.span(), "a test takes no `self`")),
        },
        _ => {
            return Err(syn::Error::new(
                item.sig.inputs[1].span(),
                "#[tidemark::test] passes one argument: a `deadpool_postgres::Pool` or a `&TestDatabase`",
            ))
        }
    };
    let migrations = &args.migrations;
    let name = &item.sig.ident;
    let inner = format_ident!("__tidemark_{}", name);
    let output = &item.sig.output;
    let attrs = &item.attrs;
    let vis = &item.vis;
    let mut inner_fn = item.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.attrs.clear();
    inner_fn.vis = syn::Visibility::Inherited;
    Ok(quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() #output {
            #inner_fn
            ::tidemark::__private::test_runtime().block_on(async {
                let db = ::tidemark::testing::TestDatabase::new(&#migrations)
                    .await
                    .unwrap_or_else(|e| ::core::panic!("#[tidemark::test]: {}", e));
                let result = #inner(#arg).await;
                db.close().await.unwrap_or_else(|e| ::core::panic!("#[tidemark::test]: {}", e));
                result
            })
        }
    })
}
