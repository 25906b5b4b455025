//! Restricted-party screening over HTTP.
//!
//! - `POST /v1/screen`: one party; `POST /v1/screen/batch`: up to [`MAX_BATCH`] parties;
//!   every result is stored (party upserted, result kept) and appended to the tamper-evident
//!   ledger before it is returned, with the ledger receipt (leaf index and hash).
//! - `GET /v1/lists`: the stored snapshots with their source files, dates and hashes, and which
//!   one is loaded; `POST /v1/lists/refresh`: pick up a newly loaded snapshot now;
//!   `GET /v1/lists/{id}/new-hits`: what re-screening found after that snapshot was loaded.
//!
//! The routes validate and screen at the edge; storing, the group commit, the snapshot in use
//! and re-screening are `stackport-app`'s [`ScreeningState`]. The server checks the store for a
//! newer active snapshot every [`poll_interval`] and on `POST /v1/lists/refresh`; after a
//! switch, stored parties are re-screened against what changed since the snapshot each was
//! last compared on ([`stackport_app::screening::rescreen_stored_parties`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};

use crate::error::Path;
use serde::{Deserialize, Serialize};
use stackport_app::screening::{
    new_hit_dto, rfc3339, LoadedSnapshot, NewHitDto, RefreshResponse, RescreenFrom,
    RescreenSummary, ScreeningState, StoredResult,
};
use stackport_screening::{
    Hit, PartyType, Query, QueryError, ScreeningResult, ALGORITHM_VERSION, DEFAULT_THRESHOLD,
    MAX_NAME_CHARS,
};
use stackport_store::StoredScreening;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, Json};
use crate::ledger::LedgerReceipt;
use crate::ServerContext;

/// Most parties accepted in one batch request (more: HTTP 413 `batch_too_large`).
pub const MAX_BATCH: usize = 1000;
/// Most identifiers given for one party (passport, registration, IMO numbers).
pub const MAX_IDENTIFIERS: usize = 20;
/// Longest identifier, in characters.
pub const MAX_IDENTIFIER_CHARS: usize = 100;
/// Hits returned per party when the request does not say.
pub const DEFAULT_TOP: usize = 10;
/// Most hits a request may ask for per party.
pub const MAX_TOP: usize = 100;
/// Body size limit of the batch endpoint: [`MAX_BATCH`] parties with long names and identifiers.
const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// How often the server checks the store for a newly activated snapshot: the environment
/// variable `STACKPORT_LISTS_POLL_SECS` (seconds, `0` turns polling off), else 30 seconds.
pub fn poll_interval() -> Option<Duration> {
    match std::env::var("STACKPORT_LISTS_POLL_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        Some(0) => None,
        Some(n) => Some(Duration::from_secs(n)),
        None => Some(Duration::from_secs(30)),
    }
}

#[derive(OpenApi)]
#[openapi(
    components(schemas(
        ScreenRequest, BatchRequest, BatchParty, ScreenResponse, BatchResponse, HitDto, ExplanationDto, TokenPairDto,
        FeatureShareDto, LedgerReceipt, ListsResponse, SnapshotDto, SourceFileDto, RefreshResponse, RescreenSummary,
        RescreenFrom, NewHitDto, NewHitsResponse, ErrorBody, ErrorDetail, crate::error::ProblemDto
    )),
    tags((name = "screening", description = "Restricted-party screening against the US lists (OFAC SDN and non-SDN, trade.gov CSL, BIS DPL)"))
)]
pub struct ScreeningApi;

// ---- request and response bodies ------------------------------------------------------------

/// One party to screen.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// The party's name as written (1 to 1,000 characters, not only spaces).
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub name: String,
    /// `individual`, `entity`, `vessel` or `aircraft` (also `person`, `organization`,
    /// `company`, any case); empty or absent: unknown.
    #[serde(default, rename = "type")]
    #[schema(
        pattern = r"^\s*([Ii][Nn][Dd][Ii][Vv][Ii][Dd][Uu][Aa][Ll]|[Pp][Ee][Rr][Ss][Oo][Nn]|[Ee][Nn][Tt][Ii][Tt][Yy]|[Oo][Rr][Gg][Aa][Nn][Ii][Ss][Aa][Tt][Ii][Oo][Nn]|[Oo][Rr][Gg][Aa][Nn][Ii][Zz][Aa][Tt][Ii][Oo][Nn]|[Cc][Oo][Mm][Pp][Aa][Nn][Yy]|[Bb][Uu][Ss][Ii][Nn][Ee][Ss][Ss]|[Vv][Ee][Ss][Ss][Ee][Ll]|[Aa][Ii][Rr][Cc][Rr][Aa][Ff][Tt])?\s*$"
    )]
    pub party_type: Option<String>,
    /// ISO 3166-1 alpha-2 country code, any case; empty or absent: unknown.
    #[serde(default)]
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$")]
    pub country: Option<String>,
    /// Date of birth (`1960`, `1960-01`, `1960-01-12`, `12 Jan 1960`); anything else is
    /// refused (`invalid_dob`).
    #[serde(default)]
    #[schema(example = "1960-01-12")]
    pub dob: Option<String>,
    /// Identifiers (passport, registration, IMO numbers): at most 20, each at most 100
    /// characters.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub identifiers: Vec<String>,
    /// Most hits to return (1 to 100, default 10).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub top: Option<usize>,
    /// Lowest score reported, in [0, 1] (default: the product's documented default).
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub threshold: Option<f64>,
}

// The `type` pattern is what PartyType::parse accepts (after trimming, any case), or empty,
// spelled with character classes: JSON Schema patterns are ECMA-262, which has no inline
// `(?i)`. The `country` pattern is the format checked before the ISO table is consulted.

/// One party of a batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchParty {
    /// The caller's reference for this party, echoed in its result.
    #[serde(default)]
    pub id: Option<String>,
    /// As in `POST /v1/screen`.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub name: String,
    #[serde(default, rename = "type")]
    #[schema(
        pattern = r"^\s*([Ii][Nn][Dd][Ii][Vv][Ii][Dd][Uu][Aa][Ll]|[Pp][Ee][Rr][Ss][Oo][Nn]|[Ee][Nn][Tt][Ii][Tt][Yy]|[Oo][Rr][Gg][Aa][Nn][Ii][Ss][Aa][Tt][Ii][Oo][Nn]|[Oo][Rr][Gg][Aa][Nn][Ii][Zz][Aa][Tt][Ii][Oo][Nn]|[Cc][Oo][Mm][Pp][Aa][Nn][Yy]|[Bb][Uu][Ss][Ii][Nn][Ee][Ss][Ss]|[Vv][Ee][Ss][Ss][Ee][Ll]|[Aa][Ii][Rr][Cc][Rr][Aa][Ff][Tt])?\s*$"
    )]
    pub party_type: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$")]
    pub country: Option<String>,
    /// As in `POST /v1/screen`.
    #[serde(default)]
    pub dob: Option<String>,
    /// At most 20, each at most 100 characters.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub identifiers: Vec<String>,
}

/// Many parties, screened with the same `top` and `threshold`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// At most 1,000 parties.
    #[schema(max_items = 1000)]
    pub parties: Vec<BatchParty>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub top: Option<usize>,
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub threshold: Option<f64>,
}

/// One aligned token pair.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPairDto {
    pub query: Option<String>,
    pub candidate: Option<String>,
    pub similarity: f64,
}

/// One feature's share of a score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeatureShareDto {
    /// `name`, `weak_alias`, `type`, `country`, `dob`, `identifier`.
    pub feature: String,
    /// What was compared, in words.
    pub detail: String,
    /// How the score moved because of this feature (the name feature's effect is its score).
    pub effect: f64,
}

/// Why a hit scored what it did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExplanationDto {
    pub alignment: Vec<TokenPairDto>,
    pub features: Vec<FeatureShareDto>,
}

/// One hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HitDto {
    /// Entity id: `ofac-sdn:<ent_num>`, `ofac-cons:<ent_num>`, `csl:<_id>`, `bis-dpl:<id>`.
    pub entity: String,
    /// In [0, 1].
    pub score: f64,
    /// List code (`SDN`, `EL`, `DPL`, ...).
    pub list: String,
    /// The entity's primary name.
    pub name: String,
    /// The name or alias that matched.
    pub matched: String,
    pub explanation: ExplanationDto,
}

impl From<&Hit> for HitDto {
    fn from(h: &Hit) -> Self {
        Self {
            entity: h.entity.clone(),
            score: h.score,
            list: h.list.clone(),
            name: h.name.clone(),
            matched: h.matched.clone(),
            explanation: ExplanationDto {
                alignment: h
                    .explanation
                    .alignment
                    .iter()
                    .map(|t| TokenPairDto {
                        query: t.query.clone(),
                        candidate: t.candidate.clone(),
                        similarity: t.similarity,
                    })
                    .collect(),
                features: h
                    .explanation
                    .features
                    .iter()
                    .map(|f| FeatureShareDto {
                        feature: f.feature.clone(),
                        detail: f.detail.clone(),
                        effect: f.effect,
                    })
                    .collect(),
            },
        }
    }
}

/// The stored result of screening one party.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreenResponse {
    /// The caller's reference (batch only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Stable id of the party (a hash of what describes it).
    pub party: String,
    /// Id of the stored screening result.
    pub screening: i64,
    /// Id of the list snapshot screened against.
    pub snapshot: i64,
    /// SHA-256 of each source file of that snapshot.
    pub snapshot_hashes: Vec<String>,
    pub algorithm: String,
    pub threshold: f64,
    /// Best first; at most `top`, each scoring at least `threshold`.
    pub hits: Vec<HitDto>,
    /// RFC 3339.
    pub screened_at: String,
    /// The ledger entry recording this result (its leaf index and RFC 6962 leaf hash).
    pub ledger: Option<LedgerReceipt>,
}

/// Results of a batch, in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<ScreenResponse>,
}

/// One source file of a snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceFileDto {
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub data_date: Option<String>,
    pub records: u64,
    pub warnings: Vec<String>,
}

/// One stored list snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SnapshotDto {
    pub id: i64,
    /// SHA-256 over the sorted source hashes.
    pub hash: String,
    /// RFC 3339.
    pub loaded_at: String,
    pub entity_count: i64,
    /// The snapshot the store marks active.
    pub active: bool,
    /// The snapshot this server screens against now.
    pub in_use: bool,
    /// Newest data date among its files.
    pub data_date: Option<String>,
    /// RFC 3339; when stored parties were re-screened against its changes.
    pub rescreened_at: Option<String>,
    pub sources: Vec<SourceFileDto>,
}

/// The stored snapshots, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListsResponse {
    /// Id of the snapshot screened against now.
    pub in_use: Option<i64>,
    pub algorithm: String,
    pub default_threshold: f64,
    pub snapshots: Vec<SnapshotDto>,
}

/// New hits recorded for one snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewHitsResponse {
    pub snapshot: i64,
    pub new_hits: Vec<NewHitDto>,
}

/// Error body (every error of the API).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable code from the API's error table and a message naming what was wrong and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// Validation errors that list what they found (`invalid_proposal`, `invalid_package`):
    /// each problem with its path and its own code; absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<crate::error::ProblemDto>,
}
/// The module's router: loads the bundled snapshot on a fresh store, builds the index of the
/// active snapshot and starts the poller.
pub async fn router(ctx: &ServerContext) -> anyhow::Result<OpenApiRouter> {
    Ok(routes(start(ctx).await?))
}

/// Starts the screening state ([`ScreeningState::start`]) over the context's store and ledger,
/// with the bundled snapshot of the configuration and the [`poll_interval`]. Other modules that
/// screen (proposals) share the returned state.
pub async fn start(ctx: &ServerContext) -> anyhow::Result<Arc<ScreeningState>> {
    Ok(ScreeningState::start(
        ctx.store.clone(),
        ctx.ledger.clone(),
        ctx.metrics.as_ref(),
        ctx.config.bundled_lists.as_deref(),
        poll_interval(),
    )
    .await?)
}

/// The module's routes over a started state.
pub fn routes(state: Arc<ScreeningState>) -> OpenApiRouter {
    // A batch may be larger than the default body limit: its own router carries its own.
    let batch = OpenApiRouter::new()
        .routes(routes!(screen_batch))
        .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(screen))
        .merge(batch)
        .routes(routes!(lists))
        .routes(routes!(refresh))
        .routes(routes!(new_hits))
        .with_state(state)
}
// ---- validation -----------------------------------------------------------------------------

struct PartyFields<'a> {
    name: &'a str,
    party_type: Option<&'a str>,
    country: Option<&'a str>,
    dob: Option<&'a str>,
    identifiers: &'a [String],
}

/// Checks one party at the edge; `at` prefixes field names in messages (`parties[3].`).
fn validate_party(p: PartyFields<'_>, at: &str) -> Result<Query, ApiError> {
    let name = p.name.trim();
    if name.is_empty() {
        return Err(ApiError::new("empty_name", format!("{at}name is empty")));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(ApiError::new(
            "name_too_long",
            format!("{at}name is {chars} characters long; the limit is {MAX_NAME_CHARS}"),
        ));
    }
    let party_type = match p.party_type.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(PartyType::parse(t).ok_or_else(|| {
            ApiError::new(
                "invalid_party_type",
                format!("{at}type {t:?} is not individual, entity, vessel or aircraft"),
            )
        })?),
    };
    let country = match p.country.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        // The format is checked here; whether the code is assigned is checked by the screener
        // (QueryError::InvalidCountry), which knows the ISO 3166-1 table.
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(c) => {
            return Err(ApiError::new(
                "invalid_country",
                format!("{at}country {c:?} is not an ISO 3166-1 alpha-2 code"),
            ))
        }
    };
    let dob = match p.dob.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(d) => {
            stackport_screening::dob::parse(d)
                .map_err(|e| ApiError::new("invalid_dob", format!("{at}dob: {e}")))?;
            Some(d.to_string())
        }
    };
    if p.identifiers.len() > MAX_IDENTIFIERS {
        return Err(ApiError::bad_request(format!(
            "{at}identifiers holds {} values; the limit is {MAX_IDENTIFIERS}",
            p.identifiers.len()
        )));
    }
    let mut identifiers = Vec::with_capacity(p.identifiers.len());
    for (i, id) in p.identifiers.iter().enumerate() {
        let id = id.trim();
        let chars = id.chars().count();
        if chars > MAX_IDENTIFIER_CHARS {
            return Err(ApiError::bad_request(format!(
                "{at}identifiers[{i}] is {chars} characters long; the limit is {MAX_IDENTIFIER_CHARS}"
            )));
        }
        if !id.is_empty() {
            identifiers.push(id.to_string());
        }
    }
    Ok(Query {
        name: name.to_string(),
        party_type,
        country,
        dob,
        identifiers,
    })
}

fn validate_options(top: Option<usize>, threshold: Option<f64>) -> Result<(usize, f64), ApiError> {
    let top = top.unwrap_or(DEFAULT_TOP);
    if top == 0 || top > MAX_TOP {
        return Err(ApiError::bad_request(format!(
            "top is {top}; it must be between 1 and {MAX_TOP}"
        )));
    }
    let threshold = threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(0.0..=1.0).contains(&threshold) {
        return Err(ApiError::bad_request(format!(
            "threshold is {threshold}; it must be between 0 and 1"
        )));
    }
    Ok((top, threshold))
}

fn query_error(e: QueryError, at: &str) -> ApiError {
    let code = match e {
        QueryError::EmptyName => "empty_name",
        QueryError::NameTooLong(_) => "name_too_long",
        QueryError::InvalidCountry(_) => "invalid_country",
    };
    ApiError::new(code, format!("{at}{e}"))
}

fn response(
    stored: &StoredScreening,
    result: &ScreeningResult,
    id: Option<String>,
) -> ScreenResponse {
    ScreenResponse {
        id,
        party: stored.party_id.clone(),
        screening: stored.id,
        snapshot: stored.snapshot_id,
        snapshot_hashes: result.snapshot_hashes.clone(),
        algorithm: result.algorithm.clone(),
        threshold: result.threshold,
        hits: result.hits.iter().map(HitDto::from).collect(),
        screened_at: rfc3339(stored.screened_at),
        ledger: None,
    }
}
/// Stores the screenings (one transaction) and builds the responses.
async fn store_results(
    state: &ScreeningState,
    loaded: &LoadedSnapshot,
    items: Vec<(Option<String>, Query, ScreeningResult)>,
    actor: Option<stackport_ledger::Actor>,
) -> Result<Vec<ScreenResponse>, ApiError> {
    let (ids, items): (Vec<_>, Vec<_>) = items
        .into_iter()
        .map(|(id, q, r)| (id, (q, r, actor.clone())))
        .unzip();
    let stored = state.store_results_for(loaded, items).await?;
    Ok(stored
        .into_iter()
        .zip(ids)
        .map(|(s, id)| stored_response(s, id))
        .collect())
}

/// The response of a stored result, with its ledger receipt.
fn stored_response(s: StoredResult, id: Option<String>) -> ScreenResponse {
    ScreenResponse {
        ledger: Some(s.receipt),
        ..response(&s.stored, &s.result, id)
    }
}

// ---- handlers -------------------------------------------------------------------------------

/// Screen one party.
#[utoipa::path(
    post, path = "/v1/screen", tag = "screening",
    request_body = ScreenRequest,
    responses(
        (status = 200, description = "Stored screening result", body = ScreenResponse),
        (status = 400, description = "invalid_json, invalid_request, empty_name, name_too_long, invalid_country, invalid_party_type", body = ErrorBody),
        (status = 503, description = "no_snapshot", body = ErrorBody),
    )
)]
async fn screen(
    State(state): State<Arc<ScreeningState>>,
    caller: Option<axum::Extension<stackport_identity::Principal>>,
    Json(req): Json<ScreenRequest>,
) -> Result<axum::Json<ScreenResponse>, ApiError> {
    let query = validate_party(
        PartyFields {
            name: &req.name,
            party_type: req.party_type.as_deref(),
            country: req.country.as_deref(),
            dob: req.dob.as_deref(),
            identifiers: &req.identifiers,
        },
        "",
    )?;
    let (top, threshold) = validate_options(req.top, req.threshold)?;
    let loaded = state.require_loaded()?;
    let result = loaded
        .screener
        .screen(&query, top, threshold)
        .map_err(|e| query_error(e, ""))?;
    // Stored by the group-commit task with the screenings of concurrent requests.
    let stored = state
        .record_for(
            loaded,
            query,
            result,
            crate::auth::actor(caller.as_ref().map(|c| &c.0)),
        )
        .await?;
    Ok(axum::Json(stored_response(stored, None)))
}

/// Screen many parties (at most 1,000) with the same options.
#[utoipa::path(
    post, path = "/v1/screen/batch", tag = "screening",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Stored screening results, in request order", body = BatchResponse),
        (status = 400, description = "invalid_json, invalid_request, empty_name, name_too_long, invalid_country, invalid_party_type (the message names the party's index)", body = ErrorBody),
        (status = 413, description = "batch_too_large", body = ErrorBody),
        (status = 503, description = "no_snapshot", body = ErrorBody),
    )
)]
async fn screen_batch(
    State(state): State<Arc<ScreeningState>>,
    caller: Option<axum::Extension<stackport_identity::Principal>>,
    Json(req): Json<BatchRequest>,
) -> Result<axum::Json<BatchResponse>, ApiError> {
    if req.parties.len() > MAX_BATCH {
        return Err(ApiError::new(
            "batch_too_large",
            format!(
                "the batch holds {} parties; the limit is {MAX_BATCH}",
                req.parties.len()
            ),
        ));
    }
    let (top, threshold) = validate_options(req.top, req.threshold)?;
    let mut queries = Vec::with_capacity(req.parties.len());
    for (i, p) in req.parties.iter().enumerate() {
        let q = validate_party(
            PartyFields {
                name: &p.name,
                party_type: p.party_type.as_deref(),
                country: p.country.as_deref(),
                dob: p.dob.as_deref(),
                identifiers: &p.identifiers,
            },
            &format!("parties[{i}]."),
        )?;
        queries.push((p.id.clone(), q));
    }
    let loaded = state.require_loaded()?;
    let screener = loaded.screener.clone();
    // Scoring a whole batch is CPU work: off the async threads. Validation is all-or-nothing:
    // one bad party rejects the batch and nothing is stored.
    let items = tokio::task::spawn_blocking(move || {
        // The screener scores the parties in parallel (rayon); results come back in order.
        let parties: Vec<Query> = queries.iter().map(|(_, q)| q.clone()).collect();
        let results = screener.screen_many(&parties, top, threshold);
        queries
            .into_iter()
            .zip(results)
            .enumerate()
            .map(|(i, ((id, q), r))| {
                r.map(|r| (id, q, r))
                    .map_err(|e| query_error(e, &format!("parties[{i}].")))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await
    .map_err(ApiError::internal)??;
    let results = store_results(
        &state,
        &loaded,
        items,
        crate::auth::actor(caller.as_ref().map(|c| &c.0)),
    )
    .await?;
    Ok(axum::Json(BatchResponse { results }))
}

/// The stored list snapshots with their files, dates and hashes.
#[utoipa::path(
    get, path = "/v1/lists", tag = "screening",
    responses((status = 200, description = "Stored snapshots, oldest first", body = ListsResponse))
)]
async fn lists(
    State(state): State<Arc<ScreeningState>>,
) -> Result<axum::Json<ListsResponse>, ApiError> {
    let in_use = state.loaded().map(|l| l.info.id);
    let snapshots = state
        .store()
        .snapshots()
        .await?
        .into_iter()
        .map(|s| SnapshotDto {
            id: s.id,
            data_date: s.sources.iter().filter_map(|f| f.data_date.clone()).max(),
            hash: s.hash,
            loaded_at: rfc3339(s.loaded_at),
            entity_count: s.entity_count,
            active: s.active,
            in_use: Some(s.id) == in_use,
            rescreened_at: s.rescreened_at.map(rfc3339),
            sources: s
                .sources
                .into_iter()
                .map(|f| SourceFileDto {
                    path: f.path,
                    format: f.format,
                    sha256: f.sha256,
                    data_date: f.data_date,
                    records: f.records as u64,
                    warnings: f.warnings,
                })
                .collect(),
        })
        .collect();
    Ok(axum::Json(ListsResponse {
        in_use,
        algorithm: ALGORITHM_VERSION.to_string(),
        default_threshold: DEFAULT_THRESHOLD,
        snapshots,
    }))
}

/// Switch to the store's active snapshot now (after `stackport lists load`) and re-screen
/// stored parties against its changes.
#[utoipa::path(
    post, path = "/v1/lists/refresh", tag = "screening",
    responses(
        (status = 200, description = "Snapshot in use, and what re-screening found", body = RefreshResponse),
        (status = 500, description = "storage_error, internal", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<Arc<ScreeningState>>,
) -> Result<axum::Json<RefreshResponse>, ApiError> {
    state
        .refresh()
        .await
        .map(axum::Json)
        .map_err(|e| ApiError::internal(format!("{e:#}")))
}

/// New hits recorded by re-screening stored parties after snapshot `id` was loaded.
#[utoipa::path(
    get, path = "/v1/lists/{id}/new-hits", tag = "screening",
    params(("id" = i64, Path, description = "Snapshot id")),
    responses(
        (status = 200, description = "New hits, oldest first", body = NewHitsResponse),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
async fn new_hits(
    State(state): State<Arc<ScreeningState>>,
    Path(id): Path<String>,
) -> Result<axum::Json<NewHitsResponse>, ApiError> {
    // Parsed here rather than by the extractor so that a bad id gets the API's error shape.
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("snapshot id {id:?} is not an integer")))?;
    state.store().snapshot(id).await?;
    let hits = state.store().new_hits(id).await?;
    let mut names = HashMap::new();
    for h in &hits {
        if !names.contains_key(&h.hit.party_id) {
            if let Ok(p) = state.store().party(&h.hit.party_id).await {
                names.insert(p.id.clone(), p.name);
            }
        }
    }
    Ok(axum::Json(NewHitsResponse {
        snapshot: id,
        new_hits: hits
            .iter()
            .map(|h| new_hit_dto(h, names.get(&h.hit.party_id).cloned()))
            .collect(),
    }))
}
