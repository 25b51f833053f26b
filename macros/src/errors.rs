//! Many problems as one compile error: each message its own `error:` at the same span.

use proc_macro2::Span;

/// `messages` as one `syn::Error`, in order (none: "invalid migration folder").
pub(crate) fn combined(
    span: Span,
    messages: impl IntoIterator<Item = impl std::fmt::Display>,
) -> syn::Error {
    let mut errors = messages.into_iter().map(|m| syn::Error::new(span, m));
    let mut first = errors
        .next()
        .unwrap_or_else(|| syn::Error::new(span, "invalid migration folder"));
    for e in errors {
        first.combine(e);
    }
    first
}
