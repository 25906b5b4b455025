//! The example proposal of `stackport proposal new` and the README's walk-through
//! (`examples/proposal.json` in the repository): a five-layer package for Saudi Arabia and the
//! United Arab Emirates with H200 servers, storage and networking, a labelling pipeline from a
//! Kenyan member, an open-weight and a proprietary model, security software and a clinical
//! application, with the EXIM, DFC and USTDA support it asks for. The parties are invented.

/// The example as JSON text.
pub fn proposal_json() -> &'static str {
    include_str!("../../../examples/proposal.json")
}
