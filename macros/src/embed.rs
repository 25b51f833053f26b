//! `embed_migrations!("dir", ignore = ["file.sql", …])`: parse the call, scan, expand.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, LitStr, Token};
use tidemark_core::{scan, ScanOptions};

/// The macro's arguments.
pub(crate) struct Args {
    dir: LitStr,
    ignore: Vec<LitStr>,
    /// Analysis rules silenced for the set (with the `lint` feature).
    allow: Vec<LitStr>,
    /// Analysis rules whose findings are errors (with the `lint` feature).
    deny: Vec<LitStr>,
}

impl Args {
    /// The `allow` list.
    pub(crate) fn allow(&self) -> Vec<String> {
        self.allow.iter().map(LitStr::value).collect()
    }

    /// The `deny` list.
    pub(crate) fn deny(&self) -> Vec<String> {
        self.deny.iter().map(LitStr::value).collect()
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dir: LitStr = input.parse()?;
        let (mut ignore, mut allow, mut deny) = (Vec::new(), Vec::new(), Vec::new());
        while input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            let into = if key == "ignore" {
                &mut ignore
            } else if key == "allow" {
                &mut allow
            } else if key == "deny" {
                &mut deny
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    "unknown option; the options are `ignore = [\"file.sql\", …]`, \
                     `allow = [\"rule\", …]` and `deny = [\"rule\", …]`",
                ));
            };
            input.parse::<Token![=]>()?;
            let list;
            bracketed!(list in input);
            into.extend(Punctuated::<LitStr, Token![,]>::parse_terminated(&list)?);
        }
        Ok(Self {
            dir,
            ignore,
            allow,
            deny,
        })
    }
}

/// Expands the call: the migration set on success; on failure every problem as a compile error
/// at the path literal, plus an empty set of the right type so nothing else fails to compile.
pub(crate) fn expand(args: &Args) -> TokenStream {
    match try_expand(args) {
        Ok(tokens) => tokens,
        Err(err) => {
            let errors = err.to_compile_error();
            quote!({ #errors ::tidemark::__private::EMPTY })
        }
    }
}

fn try_expand(args: &Args) -> syn::Result<TokenStream> {
    let written = args.dir.value();
    let span = args.dir.span();
    if std::path::Path::new(&written).is_absolute() {
        return Err(syn::Error::new(
            span,
            "the migration folder must be relative to the crate root (the directory of Cargo.toml)",
        ));
    }
    let root = crate::manifest::dir().map_err(|e| syn::Error::new(span, e))?;
    let options = ScanOptions {
        display_path: Some(written.trim_end_matches('/').to_owned()),
        ignore: args.ignore.iter().map(LitStr::value).collect(),
        ..ScanOptions::default()
    };
    match scan(&root.join(&written), &options) {
        Ok(set) => {
            let out_dir = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from);
            let mut warnings = crate::analysis::run(&set, args.allow(), args.deny(), span)?;
            let watched = tidemark_core::is_watched(&written, &root, out_dir.as_deref());
            if !watched {
                warnings.push(crate::warning::warning(
                    "new_migration_files_are_not_seen_without_a_build_script",
                    &format!(
                        "no build script watches `{written}`: a migration file added there is not \
                         embedded until something else makes this crate rebuild; add a build.rs with \
                         `fn main() {{ println!(\"cargo:rerun-if-changed={written}\"); }}` (it needs \
                         no build dependency)"
                    ),
                ));
            }
            let source = crate::tokens::Source {
                dir: root.join(&written),
                shown: options.display_path.clone().unwrap_or_default(),
                ignore: options.ignore.clone(),
                watched,
            };
            let tokens = crate::tokens::migrations(&set, &source, &warnings)
                .map_err(|problems| crate::errors::combined(span, problems))?;
            // The lock file, when there is one, is read like a migration: editing it rebuilds.
            let sum = root.join(&written).join(tidemark_core::sum::FILE);
            Ok(match sum.to_str().filter(|_| sum.is_file()) {
                Some(abs) => quote!({ const _: &[u8] = ::core::include_bytes!(#abs); #tokens }),
                None => tokens,
            })
        }
        Err(diagnostics) => {
            let errors = diagnostics.iter().filter(|d| d.is_error());
            Err(crate::errors::combined(span, errors))
        }
    }
}
