//! The screening entry point. (Being written; signatures are stable.)

use serde::{Deserialize, Serialize};

use crate::model::{PartyType, Snapshot};

/// Version of the normalisation + matching algorithm; recorded in every result.
pub const ALGORITHM_VERSION: &str = "stackport-match/1";
/// Default score threshold: hits below it are not reported.
pub const DEFAULT_THRESHOLD: f64 = 0.85;
/// Longest accepted party name, in characters.
pub const MAX_NAME_CHARS: usize = 1000;

/// One party to screen.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    pub name: String,
    #[serde(default, rename = "type")]
    pub party_type: Option<PartyType>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub dob: Option<String>,
    #[serde(default)]
    pub identifiers: Vec<String>,
}

/// The query cannot be screened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("name is empty")]
    EmptyName,
    #[error("name is {0} characters long; the limit is {MAX_NAME_CHARS}")]
    NameTooLong(usize),
    #[error("country {0:?} is not an ISO 3166-1 alpha-2 code")]
    InvalidCountry(String),
}

/// One aligned token pair of the explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPair {
    pub query: Option<String>,
    pub candidate: Option<String>,
    pub similarity: f64,
}

/// One feature's share of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureShare {
    pub feature: String,
    pub value: f64,
    pub effect: f64,
}

/// Why a hit scored what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub alignment: Vec<TokenPair>,
    pub features: Vec<FeatureShare>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Entity id (`ofac-sdn:1234`, ...).
    pub entity: String,
    pub score: f64,
    /// List code (`SDN`, `EL`, ...).
    pub list: String,
    /// Primary name of the entity.
    pub name: String,
    /// The name or alias that matched.
    pub matched: String,
    pub explanation: Explanation,
}

/// The result of screening one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningResult {
    pub hits: Vec<Hit>,
    pub algorithm: String,
    pub snapshot_hashes: Vec<String>,
    pub threshold: f64,
}

/// A screening index over one snapshot.
pub struct Screener {
    snapshot_hashes: Vec<String>,
}

impl Screener {
    /// Builds the index over every name and alias of `snapshot`.
    pub fn new(snapshot: &Snapshot) -> Self {
        Self { snapshot_hashes: snapshot.sources.iter().map(|s| s.sha256.clone()).collect() }
    }

    /// Screens one party: at most `top` hits scoring at least `threshold`, best first.
    pub fn screen(&self, query: &Query, top: usize, threshold: f64) -> Result<ScreeningResult, QueryError> {
        let _ = (query, top);
        Ok(ScreeningResult { hits: vec![], algorithm: ALGORITHM_VERSION.into(), snapshot_hashes: self.snapshot_hashes.clone(), threshold })
    }

    /// Screens `query` only against the entities whose ids are in `ids` (re-screening after a
    /// list update).
    pub fn screen_against(&self, query: &Query, ids: &std::collections::HashSet<String>, top: usize, threshold: f64) -> Result<ScreeningResult, QueryError> {
        let mut r = self.screen(query, top.max(1) * 4, threshold)?;
        r.hits.retain(|h| ids.contains(&h.entity));
        r.hits.truncate(top);
        Ok(r)
    }
}
