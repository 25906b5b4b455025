//! Restricted-party screening against the US lists (OFAC SDN and non-SDN, the trade.gov
//! Consolidated Screening List with the BIS Entity, Denied Persons, Unverified and Military
//! End-User lists and State's debarments, and the BIS DPL file) and the UN Security Council
//! Consolidated List.
//!
//! The pieces, in the order data flows through them:
//!
//! - [`parse`] reads the real list formats into one [`model::Entity`] model and a
//!   [`model::Snapshot`] that records every source file's hash and date;
//! - [`normalize`] turns any name (list side or query side) into comparable tokens: NFKC,
//!   romanisation by the per-script channels of [`script`], case folding, punctuation,
//!   `SURNAME, Given` order, legal forms as weak tokens, given-name transliteration variants,
//!   digits kept;
//! - [`index`] builds the candidate index over every name and alias of a snapshot, and
//!   [`score`] aligns query and candidate tokens and explains each hit;
//! - [`Screener`] ties them together: `screen(query) -> ScreeningResult`;
//! - [`diff`] compares two snapshots entry by entry, for re-screening.
//!
//! The crate is pure: no async runtime, no database, no network.

pub mod countries;
pub mod diff;
pub mod dob;
mod index;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod script;

mod screener;
pub mod similarity;

pub use model::{Alias, AliasStrength, Entity, ListSource, PartyType, Snapshot, SourceFile};
pub use screener::{
    Explanation, FeatureShare, Hit, Query, QueryError, Screener, ScreeningResult, TokenPair,
    ALGORITHM_VERSION, DEFAULT_THRESHOLD, MAX_NAME_CHARS,
};
