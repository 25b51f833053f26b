//! `#[tidemark::test]`: an async test that receives a fresh migrated database.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, Token, Type};

/// `migrations = PATH` (default `MIGRATIONS`), `at = "VERSION"`, `fixtures("a.sql", …)`, in any
/// order.
pub(crate) struct Args {
    migrations: syn::Path,
    at: Option<LitStr>,
    fixtures: Option<crate::fixtures::List>,
}

const USAGE: &str = "unknown option; the options are `migrations = MY_MIGRATIONS`, `at = \"41\"` and `fixtures(\"users.sql\", …)`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Self {
            migrations: syn::parse_quote!(MIGRATIONS),
            at: None,
            fixtures: None,
        };
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key == "migrations" {
                input.parse::<Token![=]>()?;
                args.migrations = input.parse()?;
            } else if key == "at" {
                input.parse::<Token![=]>()?;
                args.at = Some(input.parse()?);
            } else if key == "fixtures" {
                let inner;
                syn::parenthesized!(inner in input);
                args.fixtures = Some(inner.parse()?);
            } else {
                return Err(syn::Error::new(key.span(), USAGE));
            }
            input.parse::<Option<Token![,]>>()?;
        }
        Ok(args)
    }
}

/// The build-time check that `at` is a version of the set: its canonical spellings (numeric and
/// diesel's) computed here, compared with the set's during `const` evaluation, which fails the
/// build naming the versions around it.
fn at_check(migrations: &syn::Path, at: &LitStr) -> syn::Result<TokenStream> {
    let written = at.value();
    let numeric = tidemark_core::Order::Numeric.canonical(&written);
    let diesel = tidemark_core::Order::Text.canonical(&written);
    if numeric.is_none() && diesel.is_none() {
        return Err(syn::Error::new(
            at.span(),
            format!("`{written}` is not a version: write it as the migration's file name does (`41`, `2.1`, `V1_2`, a diesel timestamp)"),
        ));
    }
    let parts: Vec<u64> = numeric
        .as_deref()
        .and_then(tidemark_core::Version::parse_canonical)
        .and_then(|v| v.parts().map(<[u64]>::to_vec))
        .unwrap_or_default();
    let numeric = numeric.unwrap_or_default();
    let diesel = diesel.unwrap_or_default();
    Ok(quote! {
        const _: () = ::tidemark::__private::require_version(
            &#migrations, (#numeric, &[#(#parts),*]), #diesel, #written,
        );
    })
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
    let check = match &args.at {
        Some(at) => at_check(migrations, at)?,
        None => quote!(),
    };
    let at = args.at.as_ref().map(|v| quote!(.at(#v)));
    let fixtures = match &args.fixtures {
        Some(list) => {
            let list = crate::fixtures::expand(list)?;
            quote!(.fixtures(#list))
        }
        None => quote!(),
    };
    let name = &item.sig.ident;
    let inner = format_ident!("__tidemark_{}", name);
    let output = &item.sig.output;
    let attrs = &item.attrs;
    let vis = &item.vis;
    let mut inner_fn = item.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.attrs.clear();
    inner_fn.vis = syn::Visibility::Inherited;
    // The version check sits beside the test, not in it: a `#[test]` function is compiled only
    // in test builds, and `cargo check` of the crate should fail on an unknown version too.
    Ok(quote! {
        #check
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() #output {
            #inner_fn
            ::tidemark::__private::test_runtime().block_on(async {
                let db = ::tidemark::testing::TestDatabase::builder(&#migrations)
                    #at
                    #fixtures
                    .build()
                    .await
                    .unwrap_or_else(|e| ::core::panic!("#[tidemark::test]: {}", e));
                let result = #inner(#arg).await;
                db.close().await.unwrap_or_else(|e| ::core::panic!("#[tidemark::test]: {}", e));
                result
            })
        }
    })
}
