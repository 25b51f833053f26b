//! Fixtures for test databases (`tidemark::fixtures!`, `#[tidemark::test(fixtures(…))]`): SQL
//! files found, read and checked during the build, and embedded with `include_str!`, so a test
//! binary loads them without the files.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{LitStr, Token};

/// `"users.sql", "orders.sql"`.
pub(crate) struct List(pub(crate) Vec<LitStr>);

impl syn::parse::Parse for List {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let items = Punctuated::<LitStr, Token![,]>::parse_terminated(input)?;
        Ok(Self(items.into_iter().collect()))
    }
}

/// Where a fixture named `name` may be, relative to the crate root: as written, then in a
/// `fixtures/` folder beside the tests (`tests/fixtures/`, `src/fixtures/`) or at the root.
fn candidates(name: &str) -> [String; 4] {
    [
        name.to_owned(),
        format!("tests/fixtures/{name}"),
        format!("src/fixtures/{name}"),
        format!("fixtures/{name}"),
    ]
}

/// `&[Fixture, …]`, each read and checked now; every problem is a compile error at its string.
pub(crate) fn expand(list: &List) -> syn::Result<TokenStream> {
    let root =
        crate::manifest::dir().map_err(|m| syn::Error::new(proc_macro2::Span::call_site(), m))?;
    let mut items = Vec::new();
    let mut errors: Vec<syn::Error> = Vec::new();
    for lit in &list.0 {
        match fixture(&root, &lit.value()) {
            Ok((shown, abs)) => items.push(quote!(
                ::tidemark::testing::Fixture::new(#shown, ::core::include_str!(#abs))
            )),
            Err(messages) => {
                errors.extend(messages.into_iter().map(|m| syn::Error::new(lit.span(), m)))
            }
        }
    }
    if let Some(mut first) = errors.pop() {
        for e in errors {
            first.combine(e);
        }
        return Err(first);
    }
    Ok(quote!(&[#(#items),*]))
}

/// The fixture's path as shown and its absolute path, or the errors that stop the build.
fn fixture(root: &std::path::Path, name: &str) -> Result<(String, String), Vec<String>> {
    let looked = candidates(name);
    let Some(shown) = looked.iter().find(|c| root.join(c).is_file()) else {
        return Err(vec![format!(
            "fixture `{name}` not found: looked for {} (relative to the crate root, or to a \
             `fixtures/` folder beside the tests)",
            looked.join(", ")
        )]);
    };
    let abs = root.join(shown);
    let bytes = std::fs::read(&abs).map_err(|e| vec![format!("{shown}: cannot read: {e}")])?;
    let text = tidemark_core::check_sql_file(shown, bytes)
        .map_err(|d| d.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    syntax(shown, &abs, text)?;
    Ok((shown.clone(), abs.to_string_lossy().into_owned()))
}

/// With the feature `syntax`: the PostgreSQL grammar's first error, at `path:line:col`.
#[cfg(feature = "syntax")]
fn syntax(shown: &str, abs: &std::path::Path, text: String) -> Result<(), Vec<String>> {
    let script = tidemark_core::Script {
        path: shown.to_owned(),
        abs_path: abs.to_owned(),
        checksum: tidemark_core::checksum(&text),
        text,
        no_transaction: false,
        code: false,
        own_transaction: false,
        out_of_order: false,
        contract: false,
    };
    match tidemark_analysis::syntax_error(&script) {
        Some(d) => Err(vec![d.to_string()]),
        None => Ok(()),
    }
}

/// Without the feature `syntax`: the server parses the fixture when the test loads it.
#[cfg(not(feature = "syntax"))]
fn syntax(_shown: &str, _abs: &std::path::Path, _text: String) -> Result<(), Vec<String>> {
    Ok(())
}
