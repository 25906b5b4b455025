//! Reports for people: Markdown and self-contained HTML.

use crate::review::Review;

/// The review as Markdown.
pub fn markdown(r: &Review) -> String {
    format!(
        "# Review of proposal {}\n\nVerdict: {}\n",
        r.id,
        r.verdict.as_str()
    )
}

/// The review as one self-contained HTML page.
pub fn html(r: &Review) -> String {
    format!(
        "<!doctype html><title>{}</title><p>{}</p>",
        r.id,
        r.verdict.as_str()
    )
}
