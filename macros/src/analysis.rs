//! Build-time analysis (features `syntax` and `lint`): syntax errors and denied lints as
//! compile errors, the other lints as compiler warnings. Without the features, nothing (the
//! `allow` and `deny` options are accepted and do nothing, so a crate builds the same either
//! way).

use proc_macro2::{Span, TokenStream};

/// The warnings to emit, or the errors that stop the build.
#[cfg(feature = "syntax")]
pub(crate) fn run(
    set: &tidemark_core::MigrationSet,
    allow: Vec<String>,
    deny: Vec<String>,
    span: Span,
) -> syn::Result<Vec<TokenStream>> {
    let options = tidemark_analysis::Options {
        syntax: true,
        lint: cfg!(feature = "lint"),
        allow,
        deny,
    };
    let findings = tidemark_analysis::analyze(&set.migrations, &options);
    let errors: Vec<String> = findings
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        return Err(crate::errors::combined(span, errors));
    }
    Ok(findings
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let rule = d.rule.as_deref().unwrap_or("lint").replace('-', "_");
            crate::warning::warning(&format!("{rule}_{i}"), &d.to_string())
        })
        .collect())
}

/// Without the features: nothing to say.
#[cfg(not(feature = "syntax"))]
pub(crate) fn run(
    _set: &tidemark_core::MigrationSet,
    _allow: Vec<String>,
    _deny: Vec<String>,
    _span: Span,
) -> syn::Result<Vec<TokenStream>> {
    Ok(Vec::new())
}
