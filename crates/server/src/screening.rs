//! Restricted-party screening over HTTP.
//!
//! - `POST /v1/screen`: one party; `POST /v1/screen/batch`: up to [`MAX_BATCH`] parties;
//!   every result is stored (party upserted, result kept) and appended to the tamper-evident
//!   ledger before it is returned, with the ledger receipt (leaf index and hash).
//! - `GET /v1/lists`: the stored snapshots with their source files, dates and hashes, and which
//!   one is loaded; `POST /v1/lists/refresh`: pick up a newly loaded snapshot now;
//!   `GET /v1/lists/{id}/new-hits`: what re-screening found after that snapshot was loaded.
//!
//! The loaded [`Screener`] lives in memory behind an `Arc` that is swapped whole when a new
//! snapshot becomes active, so a request in flight finishes on the snapshot it started with.
//! The store is the source of truth: the server builds its index from the active snapshot in
//! the store (several servers can share one PostgreSQL database) and checks for a newer active
//! snapshot every [`poll_interval`] and on `POST /v1/lists/refresh`. After a switch, each stored
//! party is re-screened against the entries the snapshot in use added or changed since the
//! snapshot that party was last screened or re-screened against, and the new hits are recorded
//! ([`rescreen_stored_parties`]; the CLI's `stackport rescreen` compares an explicit pair of
//! snapshots with [`rescreen`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};

use crate::error::Path;
use serde::{Deserialize, Serialize};
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_screening::{
    diff, Hit, PartyType, Query, QueryError, Screener, ScreeningResult, Snapshot,
    ALGORITHM_VERSION, DEFAULT_THRESHOLD, MAX_NAME_CHARS,
};
use stackport_store::{
    EntryChange, NewHit, ScreeningRecord, SnapshotInfo, Storage, StoreError, StoredNewHit,
    StoredParty, StoredScreening,
};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, Json};
use crate::ledger::{DecisionLedger, LedgerReceipt};
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
/// Hits considered per party when re-screening against changed entries.
const RESCREEN_TOP: usize = 50;

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

/// What a re-screen after a list update found.
///
/// Each stored party is compared from the snapshot it was last screened or re-screened
/// against, so one re-screen may compare from several snapshots (`from_snapshots`);
/// `from_snapshot` and the entry counts are those of the snapshot most parties came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RescreenSummary {
    pub from_snapshot: i64,
    pub to_snapshot: i64,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// Stored parties re-screened.
    pub parties: usize,
    /// Stored parties that could not be screened any more (for instance an invalid country).
    pub skipped: usize,
    pub new_hits: Vec<NewHitDto>,
    /// Every snapshot parties were compared from, most parties first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from_snapshots: Vec<RescreenFrom>,
}

/// The parties of one re-screen compared from one snapshot, and what changed since it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RescreenFrom {
    pub from_snapshot: i64,
    /// Stored parties compared from this snapshot.
    pub parties: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

/// One new hit from re-screening.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewHitDto {
    pub party: String,
    pub party_name: Option<String>,
    pub entity: String,
    /// `added` or `changed`.
    pub change: String,
    pub score: f64,
    pub from_snapshot: i64,
    pub to_snapshot: i64,
    /// The full hit with its explanation.
    #[schema(value_type = Object)]
    pub hit: serde_json::Value,
    /// RFC 3339.
    pub found_at: String,
    /// Index of the ledger entry recording this hit.
    pub ledger_index: Option<u64>,
}

/// New hits recorded for one snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewHitsResponse {
    pub snapshot: i64,
    pub new_hits: Vec<NewHitDto>,
}

/// Result of `POST /v1/lists/refresh`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefreshResponse {
    /// Snapshot in use after the refresh.
    pub in_use: Option<i64>,
    /// Whether the server switched to another snapshot.
    pub switched: bool,
    pub rescreen: Option<RescreenSummary>,
    /// Stored proposals whose parties were compared on the snapshot in use, and those
    /// re-reviewed because their hits changed; absent when there was none to compare.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposals: Option<crate::proposals::ReevaluationSummary>,
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

// ---- state ----------------------------------------------------------------------------------

/// A snapshot loaded into memory with its index.
pub struct LoadedSnapshot {
    pub info: SnapshotInfo,
    pub screener: Arc<Screener>,
}

/// The screening module's state: the store and the snapshot in use.
pub struct ScreeningState {
    store: Arc<dyn Storage>,
    loaded: RwLock<Option<Arc<LoadedSnapshot>>>,
    /// One refresh at a time (the poller and `POST /v1/lists/refresh`).
    refresh_lock: tokio::sync::Mutex<()>,
    queries: Arc<AtomicU64>,
    hits: Arc<AtomicU64>,
    new_hits: Arc<AtomicU64>,
    snapshot_switches: Arc<AtomicU64>,
    /// Every stored screening result is appended here.
    ledger: Arc<DecisionLedger>,
    /// Re-evaluates stored proposals once a snapshot is in use (weak: the proposal service
    /// holds this state, not the other way round).
    proposals: OnceLock<Weak<crate::proposals::ProposalService>>,
    /// Single screenings waiting to be stored by the group-commit task ([`commit_screenings`]).
    committer: OnceLock<tokio::sync::mpsc::Sender<PendingScreening>>,
}

/// A screening waiting for its commit, and where its answer goes.
struct PendingScreening {
    loaded: Arc<LoadedSnapshot>,
    query: Query,
    result: ScreeningResult,
    reply: tokio::sync::oneshot::Sender<Result<ScreenResponse, ApiError>>,
}

/// Most screenings stored in one transaction by the group-commit task.
const GROUP_COMMIT_MAX: usize = 512;

/// Stores single screenings in groups: whatever is waiting when the previous commit ends goes
/// into the next transaction, rows and ledger entries together, so concurrent requests share
/// one durable commit (as determinations' ledger appends do) and a lone request waits for
/// nobody. Ends when the state is dropped.
async fn commit_screenings(
    state: Weak<ScreeningState>,
    mut rx: tokio::sync::mpsc::Receiver<PendingScreening>,
) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_COMMIT_MAX {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let Some(state) = state.upgrade() else { break };
        // One transaction per snapshot (a switch can land between two requests).
        while !group.is_empty() {
            let id = group[0].loaded.info.id;
            let (same, rest): (Vec<_>, Vec<_>) =
                group.into_iter().partition(|p| p.loaded.info.id == id);
            group = rest;
            let loaded = same[0].loaded.clone();
            let mut replies = Vec::with_capacity(same.len());
            let mut items = Vec::with_capacity(same.len());
            for p in same {
                replies.push(p.reply);
                items.push((None, p.query, p.result));
            }
            match store_results(&state, &loaded, items).await {
                Ok(responses) => {
                    for (reply, r) in replies.into_iter().zip(responses) {
                        let _ = reply.send(Ok(r));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(ApiError::new(e.code, e.message.clone())));
                    }
                }
            }
        }
    }
}

impl ScreeningState {
    /// The snapshot in use now, if any.
    pub fn loaded(&self) -> Option<Arc<LoadedSnapshot>> {
        self.loaded.read().expect("snapshot lock poisoned").clone()
    }

    pub(crate) fn require_loaded(&self) -> Result<Arc<LoadedSnapshot>, ApiError> {
        self.loaded().ok_or_else(|| {
            ApiError::new(
                "no_snapshot",
                "no restricted-party list snapshot is loaded; run `stackport lists load DIR`",
            )
        })
    }

    /// Switches to the store's active snapshot if it is not the one in use, then re-screens
    /// the stored parties not compared on it yet ([`rescreen_stored_parties`]).
    pub async fn refresh(&self) -> anyhow::Result<RefreshResponse> {
        let _guard = self.refresh_lock.lock().await;
        let Some(active) = self.store.active_snapshot().await? else {
            return Ok(RefreshResponse {
                in_use: self.loaded().map(|l| l.info.id),
                switched: false,
                rescreen: None,
                proposals: None,
            });
        };
        let current = self.loaded();
        let switched = current.as_ref().map(|l| l.info.id) != Some(active.id);
        let loaded = if switched {
            let loaded = Arc::new(load_snapshot(self.store.as_ref(), active.clone()).await?);
            // The swap: requests that already hold the previous Arc finish on it.
            *self.loaded.write().expect("snapshot lock poisoned") = Some(loaded.clone());
            self.snapshot_switches.fetch_add(1, Ordering::Relaxed);
            tracing::info!(snapshot = active.id, hash = %active.hash, entities = active.entity_count, "list snapshot in use");
            loaded
        } else {
            current.expect("not switched means a snapshot is loaded")
        };
        // Re-screen when this snapshot's changes were never gone through, or when parties were
        // last compared on another snapshot (after a roll-back, or screened meanwhile by a
        // server still on an older one).
        let mut summary = None;
        let stored = self.store.snapshot(loaded.info.id).await?;
        if stored.rescreened_at.is_none() || self.store.parties_behind(loaded.info.id).await? > 0 {
            if let Some(report) =
                rescreen_stored_parties(self.store.clone(), &stored, loaded.screener.clone())
                    .await?
            {
                self.new_hits
                    .fetch_add(report.new_hits.len() as u64, Ordering::Relaxed);
                tracing::info!(
                    from = report.from_snapshot,
                    to = loaded.info.id,
                    parties = report.parties,
                    new_hits = report.new_hits.len(),
                    "re-screened stored parties"
                );
                summary = Some(report);
            }
        }
        // Stored proposals whose parties were not compared on this snapshot yet: those whose
        // hits differ are reviewed again (crate::proposals). Cheap when there are none.
        let mut proposals = None;
        if let Some(service) = self.proposals.get().and_then(Weak::upgrade) {
            let report = service.reevaluate_lists(loaded.clone()).await?;
            if report.proposals_checked > 0 {
                proposals = Some(report);
            }
        }
        Ok(RefreshResponse {
            in_use: Some(loaded.info.id),
            switched,
            rescreen: summary,
            proposals,
        })
    }

    /// Has `refresh` re-evaluate stored proposals after each switch (set once, by the
    /// proposal service).
    pub fn follow_with(&self, proposals: Weak<crate::proposals::ProposalService>) {
        let _ = self.proposals.set(proposals);
    }
}

/// Reads a stored snapshot and builds its index (off the async threads).
pub async fn load_snapshot(
    store: &dyn Storage,
    info: SnapshotInfo,
) -> anyhow::Result<LoadedSnapshot> {
    let entities = store.snapshot_entities(info.id).await?;
    let snapshot = Snapshot {
        sources: info.sources.clone(),
        entities,
    };
    let screener = tokio::task::spawn_blocking(move || Screener::new(&snapshot)).await?;
    Ok(LoadedSnapshot {
        info,
        screener: Arc::new(screener),
    })
}

/// The stored snapshot loaded just before `id` (the highest id below it).
pub async fn previous_snapshot(
    store: &dyn Storage,
    id: i64,
) -> anyhow::Result<Option<SnapshotInfo>> {
    Ok(store
        .snapshots()
        .await?
        .into_iter()
        .filter(|s| s.id < id)
        .max_by_key(|s| s.id))
}

/// Re-screens every stored party against the entries of `to` that are new or changed since
/// `from` (an explicit pair, as `stackport rescreen --from --to` asks), records the hits as new
/// hits (once per party, snapshot and entity) and marks `to` as re-screened. Parties last
/// compared on `from` are recorded as compared on `to`. `screener` must be built over `to`.
/// Returns the hits recorded by this call.
pub async fn rescreen(
    store: Arc<dyn Storage>,
    from: &SnapshotInfo,
    to: &SnapshotInfo,
    screener: Arc<Screener>,
) -> anyhow::Result<RescreenSummary> {
    let parties = store.parties().await?;
    let ids: Vec<String> = parties.iter().map(|p| p.id.clone()).collect();
    let summary = compare(store.clone(), to, screener, vec![(from.id, parties)]).await?;
    store
        .mark_parties_compared(&ids, Some(from.id), to.id)
        .await?;
    store.mark_rescreened(to.id).await?;
    Ok(summary)
}

/// Re-screens each stored party against the entries of `to` that are new or changed since the
/// snapshot the party was last screened or re-screened against, records the hits as new hits
/// and records every party covered as compared on `to`; marks `to` as re-screened. Parties
/// already compared on `to` are left out. `screener` must be built over `to`.
///
/// Parties stored before their last snapshot was recorded are compared from the snapshot
/// loaded before `to` (the highest id below it), unless `to` was re-screened already: the
/// re-screen that marked it covered every party stored then.
///
/// `None` when there is nothing to compare from: no party to re-screen and no snapshot
/// before `to`.
pub async fn rescreen_stored_parties(
    store: Arc<dyn Storage>,
    to: &SnapshotInfo,
    screener: Arc<Screener>,
) -> anyhow::Result<Option<RescreenSummary>> {
    let previous = previous_snapshot(store.as_ref(), to.id)
        .await?
        .map(|s| s.id);
    let unrecorded_from = if to.rescreened_at.is_some() {
        Some(to.id)
    } else {
        previous
    };
    // Grouped by the snapshot compared from; `recorded` keeps, per party, the last snapshot as
    // stored, which marking them compared checks again.
    let mut groups: BTreeMap<i64, Vec<StoredParty>> = BTreeMap::new();
    let mut recorded: BTreeMap<Option<i64>, Vec<String>> = BTreeMap::new();
    for p in store.parties().await? {
        let from = p.last_snapshot_id.or(unrecorded_from);
        if p.last_snapshot_id != Some(to.id) {
            recorded
                .entry(p.last_snapshot_id)
                .or_default()
                .push(p.id.clone());
        }
        match from {
            Some(from) if from != to.id => groups.entry(from).or_default().push(p),
            _ => {}
        }
    }
    let groups: Vec<(i64, Vec<StoredParty>)> = if groups.is_empty() {
        // Nothing to compare: the summary still says what changed since the previous one.
        match previous {
            Some(previous) => vec![(previous, Vec::new())],
            None => Vec::new(),
        }
    } else {
        groups.into_iter().collect()
    };
    if groups.is_empty() {
        return Ok(None);
    }
    let summary = compare(store.clone(), to, screener, groups).await?;
    for (compared_from, ids) in &recorded {
        store
            .mark_parties_compared(ids, *compared_from, to.id)
            .await?;
    }
    store.mark_rescreened(to.id).await?;
    Ok(Some(summary))
}

/// Screens each group of parties against the entries of `to` new or changed since the group's
/// snapshot, and records what they hit as new hits (each with its ledger entry). `groups` must
/// not be empty.
async fn compare(
    store: Arc<dyn Storage>,
    to: &SnapshotInfo,
    screener: Arc<Screener>,
    groups: Vec<(i64, Vec<StoredParty>)>,
) -> anyhow::Result<RescreenSummary> {
    let new = store.snapshot_entities(to.id).await?;
    let to_id = to.id;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut found = Vec::new();
    let mut skipped = 0usize;
    let mut bases: Vec<RescreenFrom> = Vec::with_capacity(groups.len());
    for (from_id, parties) in groups {
        // One read and one diff per snapshot compared from, whatever the number of parties.
        let old = store.snapshot_entities(from_id).await?;
        let d = diff::diff(&old, &new);
        drop(old);
        names.extend(parties.iter().map(|p| (p.id.clone(), p.name.clone())));
        let base = RescreenFrom {
            from_snapshot: from_id,
            parties: parties.len(),
            added: d.added.len(),
            removed: d.removed.len(),
            changed: d.changed.len(),
        };
        let changed: HashSet<String> = d.changed.iter().cloned().collect();
        let targets: HashSet<String> = d.added_or_changed().map(str::to_string).collect();
        let screener = screener.clone();
        // Scoring is CPU work: off the async threads.
        let (hits, group_skipped) = tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut skipped = 0usize;
            if targets.is_empty() {
                return (found, skipped);
            }
            for p in &parties {
                match screener.screen_against(&p.query(), &targets, RESCREEN_TOP, p.threshold) {
                    Ok(r) => {
                        for h in &r.hits {
                            found.push(NewHit {
                                party_id: p.id.clone(),
                                from_snapshot_id: from_id,
                                to_snapshot_id: to_id,
                                entity_id: h.entity.clone(),
                                change: if changed.contains(&h.entity) {
                                    EntryChange::Changed
                                } else {
                                    EntryChange::Added
                                },
                                score: h.score,
                                hit: serde_json::to_value(h).unwrap_or(serde_json::Value::Null),
                            });
                        }
                    }
                    Err(_) => skipped += 1,
                }
            }
            (found, skipped)
        })
        .await?;
        found.extend(hits);
        skipped += group_skipped;
        bases.push(base);
    }
    drop(new);
    // Each new hit is a screening decision too: recorded in the ledger with its row.
    let lists_version = to.hash.clone();
    let entry = |_: usize, h: &StoredNewHit| -> Result<String, StoreError> {
        Decision::now(
            DecisionKind::Screening,
            serde_json::json!({
                "party": h.hit.party_id,
                "rescreen": { "from_snapshot": h.hit.from_snapshot_id, "to_snapshot": h.hit.to_snapshot_id },
            }),
            serde_json::json!({
                "new_hit": h.id,
                "entity": h.hit.entity_id,
                "change": h.hit.change.as_str(),
                "score": h.hit.score,
                "hit": h.hit.hit,
            }),
            DecisionVersions { lists: Some(lists_version.clone()), rules: None },
        )
        .canonical_json()
        .map_err(|e| StoreError::Corrupt(format!("new-hit decision: {e}")))
    };
    let stored: Vec<StoredNewHit> = store
        .record_new_hits(&found, &entry)
        .await?
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    // Most parties first; on a tie, the latest snapshot.
    bases.sort_by(|a, b| {
        b.parties
            .cmp(&a.parties)
            .then(b.from_snapshot.cmp(&a.from_snapshot))
    });
    let main = bases
        .first()
        .cloned()
        .expect("compare is given at least one group");
    Ok(RescreenSummary {
        from_snapshot: main.from_snapshot,
        to_snapshot: to.id,
        added: main.added,
        removed: main.removed,
        changed: main.changed,
        parties: bases.iter().map(|b| b.parties).sum(),
        skipped,
        new_hits: stored
            .iter()
            .map(|h| new_hit_dto(h, names.get(&h.hit.party_id).cloned()))
            .collect(),
        from_snapshots: bases,
    })
}

fn new_hit_dto(h: &StoredNewHit, party_name: Option<String>) -> NewHitDto {
    NewHitDto {
        party: h.hit.party_id.clone(),
        party_name,
        entity: h.hit.entity_id.clone(),
        change: h.hit.change.as_str().to_string(),
        score: h.hit.score,
        from_snapshot: h.hit.from_snapshot_id,
        to_snapshot: h.hit.to_snapshot_id,
        hit: h.hit.hit.clone(),
        found_at: rfc3339(h.found_at),
        ledger_index: h.ledger_index,
    }
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Stores the snapshot read from `dir` when the store has none yet (the bundled default on a
/// fresh install). Returns the stored snapshot, or `None` if the store already had one.
pub async fn ensure_snapshot(
    store: &dyn Storage,
    dir: &std::path::Path,
) -> anyhow::Result<Option<SnapshotInfo>> {
    if !store.snapshots().await?.is_empty() {
        return Ok(None);
    }
    let path = dir.to_path_buf();
    let snapshot = tokio::task::spawn_blocking(move || stackport_screening::parse::load_dir(&path))
        .await?
        .map_err(|e| anyhow::anyhow!("loading the list snapshot in {}: {e}", dir.display()))?;
    let info = store.store_snapshot(&snapshot).await?;
    // Nothing was screened before the first snapshot: nothing to re-screen.
    store.mark_rescreened(info.id).await?;
    tracing::info!(snapshot = info.id, entities = info.entity_count, dir = %dir.display(), "stored the first list snapshot");
    Ok(Some(info))
}

/// The module's router: loads the bundled snapshot on a fresh store, builds the index of the
/// active snapshot and starts the poller.
pub async fn router(ctx: &ServerContext) -> anyhow::Result<OpenApiRouter> {
    Ok(routes(start(ctx).await?))
}

/// Loads the bundled snapshot on a fresh store, builds the index of the active snapshot and
/// starts the poller. Other modules that screen (proposals) share the returned state.
pub async fn start(ctx: &ServerContext) -> anyhow::Result<Arc<ScreeningState>> {
    if let Some(dir) = &ctx.config.bundled_lists {
        ensure_snapshot(ctx.store.as_ref(), dir).await?;
    }
    let state = Arc::new(ScreeningState {
        store: ctx.store.clone(),
        ledger: ctx.ledger.clone(),
        loaded: RwLock::new(None),
        refresh_lock: tokio::sync::Mutex::new(()),
        queries: ctx.metrics.counter(
            "stackport_screening_parties_total",
            "Parties screened (single and batch).",
        ),
        hits: ctx.metrics.counter(
            "stackport_screening_hits_total",
            "Hits returned by screening.",
        ),
        new_hits: ctx.metrics.counter(
            "stackport_screening_new_hits_total",
            "New hits recorded by re-screening after a list update.",
        ),
        snapshot_switches: ctx.metrics.counter(
            "stackport_screening_snapshot_loads_total",
            "List snapshots loaded into memory.",
        ),
        proposals: OnceLock::new(),
        committer: OnceLock::new(),
    });
    let (tx, rx) = tokio::sync::mpsc::channel(4 * GROUP_COMMIT_MAX);
    let _ = state.committer.set(tx);
    tokio::spawn(commit_screenings(Arc::downgrade(&state), rx));
    state.refresh().await?;
    if let Some(every) = poll_interval() {
        // The poller holds only a weak reference: it stops when the router is dropped.
        let weak = Arc::downgrade(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { break };
                if let Err(e) = state.refresh().await {
                    tracing::warn!("checking for a new list snapshot failed: {e:#}");
                }
            }
        });
    }
    Ok(state)
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

/// Stores the screenings and builds the responses. The one place results leave for storage.
async fn store_results(
    state: &ScreeningState,
    loaded: &LoadedSnapshot,
    items: Vec<(Option<String>, Query, ScreeningResult)>,
) -> Result<Vec<ScreenResponse>, ApiError> {
    let records: Vec<ScreeningRecord> = items
        .iter()
        .map(|(_, q, r)| ScreeningRecord {
            party: q.clone(),
            snapshot_id: loaded.info.id,
            result: r.clone(),
        })
        .collect();
    // Every stored result goes into the tamper-evident ledger in the same transaction as its
    // row, with the versions it used (the snapshot's content hash and the algorithm); the
    // receipt goes back in the response. A failed append stores nothing and the request fails.
    let lists_version = loaded.info.hash.clone();
    let entry = |i: usize, stored: &StoredScreening| -> Result<String, StoreError> {
        let (id, _, result) = &items[i];
        let resp = response(stored, result, id.clone());
        let decision = Decision::now(
            DecisionKind::Screening,
            serde_json::json!({ "party": records[i].party, "threshold": resp.threshold }),
            serde_json::json!({
                "screening": resp.screening,
                "party": resp.party,
                "snapshot": resp.snapshot,
                "snapshot_hashes": resp.snapshot_hashes,
                "algorithm": resp.algorithm,
                "hits": resp.hits.iter().map(|h| serde_json::json!({
                    "entity": h.entity, "score": h.score, "list": h.list, "name": h.name, "matched": h.matched,
                })).collect::<Vec<_>>(),
            }),
            DecisionVersions {
                lists: Some(lists_version.clone()),
                rules: None,
            },
        );
        decision
            .canonical_json()
            .map_err(|e| StoreError::Corrupt(format!("screening decision: {e}")))
    };
    let stored = state.store.record_screenings(&records, &entry).await?;
    state.ledger.note_appended(stored.len() as u64);
    let responses: Vec<ScreenResponse> = stored
        .iter()
        .zip(items)
        .map(|((s, receipt), (id, _, r))| ScreenResponse {
            ledger: Some(LedgerReceipt {
                index: receipt.index,
                leaf_hash: receipt.leaf_hash,
            }),
            ..response(s, &r, id)
        })
        .collect();
    state
        .queries
        .fetch_add(responses.len() as u64, Ordering::Relaxed);
    state.hits.fetch_add(
        responses.iter().map(|r| r.hits.len() as u64).sum(),
        Ordering::Relaxed,
    );
    Ok(responses)
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
    let (reply, answer) = tokio::sync::oneshot::channel();
    let pending = PendingScreening {
        loaded,
        query,
        result,
        reply,
    };
    let committer = state
        .committer
        .get()
        .ok_or_else(|| ApiError::internal("the screening commit task is not running"))?;
    committer
        .send(pending)
        .await
        .map_err(|_| ApiError::internal("the screening commit task stopped"))?;
    let out = answer
        .await
        .map_err(|_| ApiError::internal("the screening commit task dropped the request"))??;
    Ok(axum::Json(out))
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
    let results = store_results(&state, &loaded, items).await?;
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
        .store
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
    state.store.snapshot(id).await?;
    let hits = state.store.new_hits(id).await?;
    let mut names = HashMap::new();
    for h in &hits {
        if !names.contains_key(&h.hit.party_id) {
            if let Ok(p) = state.store.party(&h.hit.party_id).await {
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
