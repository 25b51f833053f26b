//! Rust code migrations: the shape of each file's `up` and `down`, checked with syn so that a
//! mistake is an error naming the file, and the tokens that include the file as a module of the
//! calling crate and wrap its functions for the set.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use tidemark_core::Script;

/// What the file defines.
pub(crate) struct Shape {
    pub(crate) has_down: bool,
}

/// Checks the file's `up` (required) and `down` (optional): public, `async`, one argument of
/// the kind the file's transaction mode gives, a return type. Each problem is a message naming
/// `path:line:column`. A file that does not parse is left to the compiler, whose error points
/// into it.
pub(crate) fn shape(s: &Script) -> Result<Shape, Vec<String>> {
    let text = s.text.strip_prefix('\u{feff}').unwrap_or(&s.text);
    let Ok(file) = syn::parse_file(text) else {
        return Ok(Shape {
            has_down: find_fn(text, "down").is_some(),
        });
    };
    let find = |name: &str| {
        file.items.iter().find_map(|item| match item {
            syn::Item::Fn(f) if f.sig.ident == name => Some(f),
            _ => None,
        })
    };
    let mut problems = Vec::new();
    let expected = if s.no_transaction {
        "client: &tokio_postgres::Client"
    } else {
        "tx: &tokio_postgres::Transaction<'_>"
    };
    match find("up") {
        Some(f) => check(f, "up", s, text, &mut problems),
        None => problems.push(format!(
            "{}: a code migration needs `pub async fn up({expected}) -> Result<(), E>`, and this \
             file has no `up`",
            s.path
        )),
    }
    let down = find("down");
    if let Some(f) = down {
        check(f, "down", s, text, &mut problems);
    }
    if problems.is_empty() {
        Ok(Shape {
            has_down: down.is_some(),
        })
    } else {
        Err(problems)
    }
}

/// The byte offset of `fn {name}` in the text (a plain search: for the message's position).
fn find_fn(text: &str, name: &str) -> Option<usize> {
    let needle = format!("fn {name}");
    text.match_indices(&needle).map(|(i, _)| i).find(|&i| {
        let after = text[i + needle.len()..].chars().next();
        let before = text[..i].chars().next_back();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn check(f: &syn::ItemFn, name: &str, s: &Script, text: &str, problems: &mut Vec<String>) {
    let at = find_fn(text, name).map_or_else(
        || s.path.clone(),
        |b| {
            let (line, column) = tidemark_core::position::line_col(text, b);
            format!("{}:{line}:{column}", s.path)
        },
    );
    let mut problem = |what: String| problems.push(format!("{at}: {what}"));
    let sig = &f.sig;
    if matches!(f.vis, syn::Visibility::Inherited) {
        problem(format!(
            "`{name}` must be `pub`: the migration set calls it from outside the file's module"
        ));
    }
    if sig.asyncness.is_none() {
        problem(format!("`{name}` must be an `async fn`"));
    }
    if sig
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
    {
        problem(format!("`{name}` cannot have type or const parameters"));
    }
    let (wanted, other) = if s.no_transaction {
        ("client: &tokio_postgres::Client", "Transaction")
    } else {
        ("tx: &tokio_postgres::Transaction<'_>", "Client")
    };
    let args: Vec<&syn::FnArg> = sig.inputs.iter().collect();
    let reference = match args.as_slice() {
        [syn::FnArg::Typed(t)] => match &*t.ty {
            syn::Type::Reference(r) => Some(r),
            _ => None,
        },
        _ => None,
    };
    match reference {
        None => problem(format!(
            "`{name}` takes one argument, `{wanted}` ({})",
            match args.len() {
                1 => "its argument is not a reference".to_owned(),
                n => format!("it has {n}"),
            }
        )),
        Some(r) => {
            let last = match &*r.elem {
                syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            if last.as_deref() == Some(other) {
                problem(if s.no_transaction {
                    format!(
                        "this file runs outside a transaction (its `// tidemark:no-transaction` \
                         line), so `{name}` takes `{wanted}`"
                    )
                } else {
                    format!(
                        "`{name}` takes `&Client`, which is for a migration that runs outside a \
                         transaction: add `// tidemark:no-transaction` as the file's first line, \
                         or take `{wanted}`"
                    )
                });
            }
        }
    }
    if matches!(sig.output, syn::ReturnType::Default) {
        problem(format!(
            "`{name}` must return `Result<(), E>` (any `E: Into<Box<dyn Error + Send + Sync>>`)"
        ));
    }
}

/// The items for code migration `index`: the file as a module of the calling crate and a
/// wrapper per function, boxing its future and its error.
pub(crate) fn items(index: usize, s: &Script, shape: &Shape) -> TokenStream {
    let abs = s.abs_path.to_string_lossy();
    let module = module_ident(index);
    let wrapper = |name: &str| {
        let f = wrapper_ident(index, name);
        let call = Ident::new(name, Span::call_site());
        if s.no_transaction {
            quote! {
                fn #f<'a>(client: &'a p::Client) -> p::CodeFuture<'a> {
                    ::std::boxed::Box::pin(async move { p::boxed(#module::#call(client).await) })
                }
            }
        } else {
            quote! {
                fn #f<'a>(tx: &'a p::Transaction<'_>) -> p::CodeFuture<'a> {
                    ::std::boxed::Box::pin(async move { p::boxed(#module::#call(tx).await) })
                }
            }
        }
    };
    let up = wrapper("up");
    let down = shape.has_down.then(|| wrapper("down"));
    quote! {
        // `pub fn up` in a module only this block sees: `pub` is what the file's reader
        // expects, not a leak.
        #[allow(unreachable_pub)]
        #[path = #abs]
        mod #module;
        #up
        #down
    }
}

/// The script tokens of a code migration's `up` or `down`.
pub(crate) fn script(index: usize, s: &Script, name: &str, sum: &TokenStream) -> TokenStream {
    let path = &s.path;
    let f = wrapper_ident(index, name);
    let code = if s.no_transaction {
        quote!(p::Code::Client(#f))
    } else {
        quote!(p::Code::Transaction(#f))
    };
    let script = quote!(p::code_script(#path, #sum, #code));
    crate::directives::with_directives(s, script)
}

fn module_ident(index: usize) -> Ident {
    Ident::new(&format!("__tidemark_code_{index}"), Span::call_site())
}

fn wrapper_ident(index: usize, name: &str) -> Ident {
    Ident::new(&format!("__tidemark_{name}_{index}"), Span::call_site())
}
