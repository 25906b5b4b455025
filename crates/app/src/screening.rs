//! The screening state and re-screening: the list snapshot in use, the group commit of
//! screening results, and what re-screening stored parties finds after a list update.
//!
//! The loaded [`Screener`] lives in memory behind an `Arc` that is swapped whole when a new
//! snapshot becomes active, so a screening in flight finishes on the snapshot it started with.
//! The store is the source of truth: the index is built from the active snapshot in the store
//! (several servers can share one PostgreSQL database) and [`ScreeningState::refresh`] checks
//! for a newer active snapshot (the server calls it on a timer and on `POST /v1/lists/refresh`).
//! After a switch, each stored party is re-screened against the entries the snapshot in use
//! added or changed since the snapshot that party was last screened or re-screened against, and
//! the new hits are recorded ([`rescreen_stored_parties`]; the CLI's `stackport rescreen`
//! compares an explicit pair of snapshots with [`rescreen`]).
//!
//! Every stored screening result and every new hit is appended to the tamper-evident ledger in
//! the transaction that stores it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use stackport_ledger::{Actor, Decision, DecisionKind, DecisionVersions};
use stackport_screening::{diff, Query, Screener, ScreeningResult, Snapshot};
use stackport_store::{
    EntryChange, NewHit, ScreeningRecord, SnapshotInfo, Storage, StoreError, StoredNewHit,
    StoredParty, StoredScreening,
};

use crate::ledger::{DecisionLedger, LedgerReceipt};
use crate::{AppError, Counters};

/// Hits considered per party when re-screening against changed entries.
const RESCREEN_TOP: usize = 50;

/// What a re-screen after a list update found.
///
/// Each stored party is compared from the snapshot it was last screened or re-screened
/// against, so one re-screen may compare from several snapshots (`from_snapshots`);
/// `from_snapshot` and the entry counts are those of the snapshot most parties came from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RescreenFrom {
    pub from_snapshot: i64,
    /// Stored parties compared from this snapshot.
    pub parties: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

/// One new hit from re-screening.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub hit: serde_json::Value,
    /// RFC 3339.
    pub found_at: String,
    /// Index of the ledger entry recording this hit.
    pub ledger_index: Option<u64>,
}

/// Result of `POST /v1/lists/refresh`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A snapshot loaded into memory with its index.
pub struct LoadedSnapshot {
    pub info: SnapshotInfo,
    pub screener: Arc<Screener>,
}

/// A screening result as stored: its row, the result, and its ledger entry.
#[derive(Debug, Clone)]
pub struct StoredResult {
    pub stored: StoredScreening,
    pub result: ScreeningResult,
    pub receipt: LedgerReceipt,
}

/// The screening state: the store, the snapshot in use, and the group-commit task that stores
/// single screenings.
pub struct ScreeningState {
    store: Arc<dyn Storage>,
    loaded: RwLock<Option<Arc<LoadedSnapshot>>>,
    /// One refresh at a time (the server's poller and `POST /v1/lists/refresh`).
    refresh_lock: tokio::sync::Mutex<()>,
    queries: metrics::Counter,
    hits: metrics::Counter,
    new_hits: metrics::Counter,
    snapshot_switches: metrics::Counter,
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
    actor: Option<Actor>,
    reply: tokio::sync::oneshot::Sender<Result<StoredResult, AppError>>,
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
                items.push((p.query, p.result, p.actor));
            }
            match state.store_results_for(&loaded, items).await {
                Ok(stored) => {
                    for (reply, r) in replies.into_iter().zip(stored) {
                        let _ = reply.send(Ok(r));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for reply in replies {
                        let _ = reply.send(Err(AppError::Shared(e.clone())));
                    }
                }
            }
        }
    }
}

impl ScreeningState {
    /// Stores the snapshot in `bundled_lists` when the store has none (a fresh install), builds
    /// the index of the active snapshot, starts the group-commit task and, every `poll`, checks
    /// the store for a newly activated snapshot ([`ScreeningState::refresh`]). Other services
    /// that screen (proposals) share the returned state.
    pub async fn start(
        store: Arc<dyn Storage>,
        ledger: Arc<DecisionLedger>,
        counters: &dyn Counters,
        bundled_lists: Option<&std::path::Path>,
        poll: Option<Duration>,
    ) -> Result<Arc<Self>, AppError> {
        if let Some(dir) = bundled_lists {
            ensure_snapshot(store.as_ref(), dir).await?;
        }
        let state = Arc::new(ScreeningState {
            store,
            ledger,
            loaded: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            queries: counters.counter(
                "stackport_screening_parties_total",
                "Parties screened (single and batch).",
            ),
            hits: counters.counter(
                "stackport_screening_hits_total",
                "Hits returned by screening.",
            ),
            new_hits: counters.counter(
                "stackport_screening_new_hits_total",
                "New hits recorded by re-screening after a list update.",
            ),
            snapshot_switches: counters.counter(
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
        if let Some(every) = poll {
            // The poller holds only a weak reference: it stops when the state is dropped.
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

    /// Stores one screening result through the group-commit task ([`commit_screenings`]):
    /// answers once its row and its ledger entry are durable.
    pub async fn record(
        &self,
        loaded: Arc<LoadedSnapshot>,
        query: Query,
        result: ScreeningResult,
    ) -> Result<StoredResult, AppError> {
        self.record_for(loaded, query, result, None).await
    }

    /// [`Self::record`] of a screening asked for by `actor` (named in its ledger entry).
    pub async fn record_for(
        &self,
        loaded: Arc<LoadedSnapshot>,
        query: Query,
        result: ScreeningResult,
        actor: Option<Actor>,
    ) -> Result<StoredResult, AppError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = PendingScreening {
            loaded,
            query,
            result,
            actor,
            reply,
        };
        let committer = self
            .committer
            .get()
            .ok_or_else(|| AppError::internal("the screening commit task is not running"))?;
        committer
            .send(pending)
            .await
            .map_err(|_| AppError::internal("the screening commit task stopped"))?;
        answer
            .await
            .map_err(|_| AppError::internal("the screening commit task dropped the request"))?
    }

    /// Stores screening results of `loaded`, in order, in one transaction with their ledger
    /// entries. The one place results leave for storage.
    pub async fn store_results(
        &self,
        loaded: &LoadedSnapshot,
        items: Vec<(Query, ScreeningResult)>,
    ) -> Result<Vec<StoredResult>, AppError> {
        let items = items.into_iter().map(|(q, r)| (q, r, None)).collect();
        self.store_results_for(loaded, items).await
    }

    /// [`Self::store_results`] with the actor each screening was asked for by, named in its
    /// ledger entry.
    pub async fn store_results_for(
        &self,
        loaded: &LoadedSnapshot,
        items: Vec<(Query, ScreeningResult, Option<Actor>)>,
    ) -> Result<Vec<StoredResult>, AppError> {
        let records: Vec<ScreeningRecord> = items
            .iter()
            .map(|(q, r, _)| ScreeningRecord {
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
            let (_, result, actor) = &items[i];
            let decision = Decision::now(
                DecisionKind::Screening,
                serde_json::json!({ "party": records[i].party, "threshold": result.threshold }),
                serde_json::json!({
                    "screening": stored.id,
                    "party": stored.party_id,
                    "snapshot": stored.snapshot_id,
                    "snapshot_hashes": result.snapshot_hashes,
                    "algorithm": result.algorithm,
                    "hits": result.hits.iter().map(|h| serde_json::json!({
                        "entity": h.entity, "score": h.score, "list": h.list, "name": h.name, "matched": h.matched,
                    })).collect::<Vec<_>>(),
                }),
                DecisionVersions {
                    lists: Some(lists_version.clone()),
                    rules: None,
                },
            )
            .by(actor.clone());
            decision
                .canonical_json()
                .map_err(|e| StoreError::Corrupt(format!("screening decision: {e}")))
        };
        let stored = self.store.record_screenings(&records, &entry).await?;
        self.ledger.note_appended(stored.len() as u64);
        let results: Vec<StoredResult> = stored
            .into_iter()
            .zip(items)
            .map(|((stored, receipt), (_, result, _))| StoredResult {
                stored,
                result,
                receipt: LedgerReceipt {
                    index: receipt.index,
                    leaf_hash: receipt.leaf_hash,
                },
            })
            .collect();
        self.queries.increment(results.len() as u64);
        self.hits
            .increment(results.iter().map(|r| r.result.hits.len() as u64).sum());
        Ok(results)
    }

    /// The snapshot in use now, if any.
    pub fn loaded(&self) -> Option<Arc<LoadedSnapshot>> {
        self.loaded.read().expect("snapshot lock poisoned").clone()
    }

    /// The snapshot in use now, or [`AppError::NoSnapshot`].
    pub fn require_loaded(&self) -> Result<Arc<LoadedSnapshot>, AppError> {
        self.loaded().ok_or(AppError::NoSnapshot)
    }

    /// The store the state reads snapshots and parties from.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// Switches to the store's active snapshot if it is not the one in use, then re-screens
    /// the stored parties not compared on it yet ([`rescreen_stored_parties`]).
    pub async fn refresh(&self) -> Result<RefreshResponse, AppError> {
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
            self.snapshot_switches.increment(1);
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
                self.new_hits.increment(report.new_hits.len() as u64);
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
) -> Result<LoadedSnapshot, AppError> {
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
) -> Result<Option<SnapshotInfo>, AppError> {
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
) -> Result<RescreenSummary, AppError> {
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
) -> Result<Option<RescreenSummary>, AppError> {
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
) -> Result<RescreenSummary, AppError> {
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

/// A stored new hit as reported, with its party's name.
pub fn new_hit_dto(h: &StoredNewHit, party_name: Option<String>) -> NewHitDto {
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

/// A time in RFC 3339.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Stores the snapshot read from `dir` when the store has none yet (the bundled default on a
/// fresh install). Returns the stored snapshot, or `None` if the store already had one.
pub async fn ensure_snapshot(
    store: &dyn Storage,
    dir: &std::path::Path,
) -> Result<Option<SnapshotInfo>, AppError> {
    if !store.snapshots().await?.is_empty() {
        return Ok(None);
    }
    let path = dir.to_path_buf();
    let snapshot = tokio::task::spawn_blocking(move || stackport_screening::parse::load_dir(&path))
        .await?
        .map_err(|e| {
            AppError::Config(format!(
                "loading the list snapshot in {}: {e}",
                dir.display()
            ))
        })?;
    let info = store.store_snapshot(&snapshot).await?;
    // Nothing was screened before the first snapshot: nothing to re-screen.
    store.mark_rescreened(info.id).await?;
    tracing::info!(snapshot = info.id, entities = info.entity_count, dir = %dir.display(), "stored the first list snapshot");
    Ok(Some(info))
}
