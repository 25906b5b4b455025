//! The proposal service (issue 9): a proposal is reviewed as a whole, stored with its ledger
//! entry, read back, and re-evaluated when the lists or the rules change.
//!
//! [`ProposalService::submit`] reads and checks the proposal JSON (`Proposal::parse`), reviews
//! it (`Reviewer::review`) against the rulebook, the program rules and the list snapshot in
//! use, and stores it, appended to the ledger in the same transaction with the versions it
//! used. A proposal that fails its checks is an [`AppError::InvalidProposal`] listing every
//! problem with its JSON path; nothing is stored.
//!
//! Re-evaluation, as compliance tools do it (only what a change can affect):
//! - a list snapshot: once a snapshot is in use ([`ScreeningState::refresh`] calls
//!   [`ProposalService::reevaluate_lists`]), every stored party key not yet compared on it is
//!   screened on the new index exactly as the review screens it (top [`PARTY_TOP`], the default
//!   threshold), unique names once, in parallel; only proposals where some party's hit ids
//!   differ from the stored ones are reviewed again in full. The others are marked as compared,
//!   nothing else of them changes;
//! - a rulebook or program-rules version: at start-up, proposals reviewed under other versions
//!   are decided again with their stored party results (`review_with_parties`, no screening).
//!
//! Each re-review is stored with its re-evaluation record (`reevaluate::changes`: verdict,
//! new and cleared hits, status, item and check changes) and its ledger entry in one
//! transaction, and is reported in the log and the refresh response.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use stackport_controls::Rulebook;
use stackport_identity::policy::{decide, decide_on, Action, Principal};
use stackport_identity::OrgKind;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_program::reevaluate::{self, party_keys, Changes, PartyKey};
use stackport_program::review::PartyResult;
use stackport_program::workflow::{self, Opinion, ReviewFacts, Status, Step, WorkflowError};
use stackport_program::{ProgramRules, Proposal, ProposalError, Review, Reviewer};
use stackport_screening::{PartyType, Query as PartyQuery, Screener};
use stackport_store::{
    ProposalKeys, ProposalRecord, ProposalSummary, ReReview, Reevaluation, ReevaluationTrigger,
    ReviewedProposal, Storage, StoredEvent, StoredProposal, StoredReevaluation, WorkflowStep,
};

use crate::ledger::{DecisionLedger, LedgerReceipt};
use crate::screening::{rfc3339, LoadedSnapshot, ScreeningState};
use crate::{AppError, Counters};

/// Re-evaluation screens each party exactly as the review does, so that hit ids compare one
/// to one.
use stackport_program::review::{PARTY_THRESHOLD, PARTY_TOP};
/// Party keys read per round trip while re-evaluating after a list change.
const KEYS_PAGE: u32 = 2000;
/// Stored proposals read per round trip while re-deciding under new rules.
const RULES_PAGE: u32 = 200;
/// Re-reviews per transaction.
const REREVIEWS_PER_TX: usize = 500;
/// Re-evaluation records returned in one summary (all are stored).
const SUMMARY_RECORDS: usize = 1000;

/// One re-evaluation of a stored proposal.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReevaluationDto {
    pub id: i64,
    pub proposal: String,
    /// `list_snapshot` or `rulebook`.
    pub trigger: String,
    /// The snapshot id, or `rulebook V; program rules W`, before and after.
    pub from: Option<String>,
    pub to: String,
    pub verdict_before: Option<String>,
    pub verdict_after: String,
    /// `verdict_before`, `verdict_after`, `new_hits`, `cleared_hits`, `status_changes`,
    /// `items`, `checks` (`stackport_program::reevaluate::Changes`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: serde_json::Value,
    /// Ledger entry of the re-review.
    pub ledger_index: u64,
    /// RFC 3339.
    pub at: String,
}

/// What one re-evaluation pass did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReevaluationSummary {
    /// `list_snapshot` or `rulebook`.
    pub trigger: String,
    /// The snapshot id, or the rulebook and program-rules versions, now in use.
    pub to: String,
    /// Stored proposals the pass looked at.
    pub proposals_checked: usize,
    /// Distinct parties screened (list passes).
    pub parties_screened: usize,
    /// Proposals reviewed again and stored.
    pub reevaluated: usize,
    /// Of those, with a re-evaluation record (something a reviewer acts on changed).
    pub changed: usize,
    pub verdicts_changed: usize,
    /// Proposals that could not be reviewed again (logged); their stored review stands.
    pub failed: usize,
    pub elapsed_ms: u64,
    /// The records stored, at most 1,000.
    pub records: Vec<ReevaluationDto>,
}

/// A stored time (microseconds since the Unix epoch) in RFC 3339.
pub fn stored_time(us: i64) -> String {
    stackport_store::timestamp::from_micros("time", us)
        .map(rfc3339)
        .unwrap_or_else(|_| us.to_string())
}

/// A stored re-evaluation as reported.
pub fn reevaluation_dto(r: &StoredReevaluation) -> ReevaluationDto {
    let changes = &r.reevaluation.changes;
    ReevaluationDto {
        id: r.id,
        proposal: r.proposal_id.clone(),
        trigger: r.reevaluation.trigger.as_str().to_string(),
        from: r.reevaluation.from_version.clone(),
        to: r.reevaluation.to_version.clone(),
        verdict_before: changes["verdict_before"].as_str().map(str::to_string),
        verdict_after: changes["verdict_after"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        changes: changes.clone(),
        ledger_index: r.ledger_index,
        at: stored_time(r.at),
    }
}

// ---- the service ----------------------------------------------------------------------------

/// Reviews, stores and re-evaluates proposals. Held by the server's routes and (weakly) by the
/// screening state, which asks it to re-evaluate after a snapshot switch.
pub struct ProposalService {
    store: Arc<dyn Storage>,
    ledger: Arc<DecisionLedger>,
    rulebook: Arc<Rulebook>,
    rules: Arc<ProgramRules>,
    screening: Arc<ScreeningState>,
    /// One re-evaluation pass at a time (start-up, the poller, `POST /v1/lists/refresh`).
    reevaluating: tokio::sync::Mutex<()>,
    reviews: metrics::Counter,
    rereviews: metrics::Counter,
}

/// A stored proposal reviewed again, ready to store.
struct Reviewed {
    record: ProposalRecord,
    /// The ledger index of the stored review it replaces.
    replaces: u64,
    /// The snapshot id, or the rule versions, of the stored review.
    from: String,
    /// What changed, where anything a reviewer acts on did.
    changes: Option<Changes>,
}

/// What the review of one submitted proposal produced, or why it could not be made.
fn review_text(
    text: &str,
    rulebook: &Rulebook,
    rules: &ProgramRules,
    screener: &Screener,
) -> Result<Review, ProposalError> {
    let p = Proposal::parse(text, rulebook, rules)?;
    Reviewer {
        rulebook,
        rules,
        screener,
    }
    .review(&p)
}

/// A stored review made again from its input, reusing its stored party results (nothing is
/// screened while the proposal's parties are those results'): the review the rules in use
/// give, with the stored list hashes where the party results were reused (the third value).
fn review_again(
    input: &str,
    old: &serde_json::Value,
    rulebook: &Rulebook,
    rules: &ProgramRules,
    screener: &Screener,
) -> Result<(Proposal, Review, bool), String> {
    let p = Proposal::parse(input, rulebook, rules).map_err(|e| {
        format!("the stored proposal does not pass its checks under the rules in use: {e}")
    })?;
    let parties: Option<Vec<PartyResult>> = serde_json::from_value(old["parties"].clone()).ok();
    let mut review = Reviewer {
        rulebook,
        rules,
        screener,
    }
    .review_with_parties(&p, parties)
    .map_err(|e| e.to_string())?;
    let reused = serde_json::to_value(&review.parties).ok().as_ref() == Some(&old["parties"]);
    if reused {
        if let Ok(h) = serde_json::from_value(old["versions"]["list_hashes"].clone()) {
            review.versions.list_hashes = h;
        }
    }
    Ok((p, review, reused))
}

fn to_json<T: Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v)
        .map_err(|e| AppError::internal(format!("a review does not serialise: {e}")))
}

/// The stored record of a review.
fn record_of(
    review: &Review,
    input: String,
    list_snapshot_id: i64,
    owner_org: Option<String>,
) -> Result<ProposalRecord, AppError> {
    Ok(ProposalRecord {
        id: review.id.clone(),
        consortium: review.consortium.clone(),
        date: review.date.clone(),
        verdict: review.verdict.as_str().to_string(),
        input,
        review: to_json(review)?,
        parties: party_keys(review),
        list_snapshot_id,
        rulebook_version: review.versions.rulebook.clone(),
        program_rules_version: review.versions.program_rules.clone(),
        owner_org,
    })
}

/// The ledger entry of a stored review: the proposal, the digest of its input and of the
/// review, the verdict, and the versions of the rules and lists it used (ARCHITECTURE.md).
/// The ledger has no kind of its own for proposal reviews yet: a review is recorded as a
/// determination whose outputs name it (`proposal_review`).
fn ledger_entry(
    record: &ProposalRecord,
    lists_hash: &str,
    trigger: &str,
    changes: Option<&Changes>,
) -> Result<String, AppError> {
    let mut outputs = serde_json::json!({
        "proposal_review": {
            "verdict": record.verdict,
            "review_sha256": stackport_store::sha256_hex(&record.review),
            "rulebook": record.rulebook_version,
            "program_rules": record.program_rules_version,
            "list_snapshot": record.list_snapshot_id,
        }
    });
    if let Some(c) = changes {
        outputs["proposal_review"]["changes"] = serde_json::to_value(c)
            .map_err(|e| AppError::internal(format!("re-evaluation changes: {e}")))?;
    }
    Decision::now(
        DecisionKind::ProposalReview,
        serde_json::json!({
            "proposal": record.id,
            "date": record.date,
            "input_sha256": stackport_store::sha256_hex(&record.input),
            "trigger": trigger,
        }),
        outputs,
        DecisionVersions {
            rules: Some(rules_version(
                &record.rulebook_version,
                &record.program_rules_version,
            )),
            lists: Some(lists_hash.to_string()),
        },
    )
    .canonical_json()
    .map_err(|e| AppError::internal(format!("proposal review decision: {e}")))
}

fn rules_version(rulebook: &str, program_rules: &str) -> String {
    format!("rulebook {rulebook}; program rules {program_rules}")
}

/// The screening query the review makes for a party key.
fn party_query(k: &PartyKey) -> PartyQuery {
    PartyQuery {
        name: k.name.clone(),
        party_type: k.entity.then_some(PartyType::Entity),
        country: k.country.clone(),
        dob: None,
        identifiers: Vec::new(),
    }
}

/// Splits a page of party keys into the proposals whose parties' hits on `screener` differ
/// from the stored ones and those whose do not. Each distinct (name, country, type) is
/// screened once, on all cores. Returns (affected, unaffected ids, distinct parties screened).
fn affected_by(
    screener: &Screener,
    page: Vec<ProposalKeys>,
) -> (Vec<ProposalKeys>, Vec<String>, usize) {
    let mut slot: HashMap<(&str, Option<&str>, bool), usize> = HashMap::new();
    let mut queries = Vec::new();
    let slots: Vec<Vec<usize>> = page
        .iter()
        .map(|k| {
            k.parties
                .iter()
                .map(|p| {
                    *slot
                        .entry((p.name.as_str(), p.country.as_deref(), p.entity))
                        .or_insert_with(|| {
                            queries.push(party_query(p));
                            queries.len() - 1
                        })
                })
                .collect()
        })
        .collect();
    let hits: Vec<Vec<String>> = screener
        .screen_many(&queries, PARTY_TOP, PARTY_THRESHOLD)
        .into_iter()
        .map(|r| {
            // A name that normalises to nothing cannot match: the review keeps no hits for it.
            let mut ids: Vec<String> = r
                .map(|r| r.hits.into_iter().map(|h| h.entity).collect())
                .unwrap_or_default();
            ids.sort();
            ids.dedup();
            ids
        })
        .collect();
    let screened = queries.len();
    let mut affected = Vec::new();
    let mut unaffected = Vec::new();
    for (k, s) in page.into_iter().zip(slots) {
        if k.parties.iter().zip(s).any(|(p, i)| p.hits != hits[i]) {
            affected.push(k);
        } else {
            unaffected.push(k.id);
        }
    }
    (affected, unaffected, screened)
}

impl ProposalService {
    /// Builds the service on the shared screening state, has that state call it after each
    /// snapshot switch, and re-evaluates what start-up requires: proposals reviewed under
    /// other rule versions, then proposals not yet compared on the snapshot in use.
    pub async fn start(
        store: Arc<dyn Storage>,
        ledger: Arc<DecisionLedger>,
        rulebook: Arc<Rulebook>,
        rules: Arc<ProgramRules>,
        screening: Arc<ScreeningState>,
        counters: &dyn Counters,
    ) -> Result<Arc<Self>, AppError> {
        let service = Arc::new(Self {
            store,
            ledger,
            rulebook,
            rules,
            screening: screening.clone(),
            reevaluating: tokio::sync::Mutex::new(()),
            reviews: counters.counter(
                "stackport_proposal_reviews_total",
                "Proposals reviewed and stored (POST /v1/proposals).",
            ),
            rereviews: counters.counter(
                "stackport_proposal_rereviews_total",
                "Stored proposals reviewed again after a list snapshot or rule version change.",
            ),
        });
        screening.follow_with(Arc::downgrade(&service));
        let rules = service.reevaluate_rules().await?;
        if rules.proposals_checked > 0 {
            tracing::info!(
                to = %rules.to, checked = rules.proposals_checked, reevaluated = rules.reevaluated,
                changed = rules.changed, verdicts_changed = rules.verdicts_changed, failed = rules.failed,
                "stored proposals re-decided under the rules in use"
            );
        }
        if let Some(loaded) = screening.loaded() {
            service.reevaluate_lists(loaded).await?;
        }
        Ok(service)
    }

    /// The store the proposals are kept in (for reading them back).
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// The ledger the reviews are recorded in.
    pub fn ledger(&self) -> &Arc<DecisionLedger> {
        &self.ledger
    }

    /// The rulebook in use (packages are checked against its catalog).
    pub fn rulebook(&self) -> &Arc<Rulebook> {
        &self.rulebook
    }

    /// Reads, checks, reviews and stores one proposal with its ledger entry, owned by
    /// `owner_org` (the submitting organisation). A proposal stored under the same id by
    /// another organisation is not replaced ([`AppError::Conflict`] `proposal_id_taken`).
    pub async fn submit(
        &self,
        text: String,
        owner_org: Option<String>,
        status: Status,
    ) -> Result<(StoredProposal, LedgerReceipt), AppError> {
        let loaded = self.screening.require_loaded()?;
        let (rulebook, rules, screener) = (
            self.rulebook.clone(),
            self.rules.clone(),
            loaded.screener.clone(),
        );
        // Reading and reviewing a large package is CPU work: off the async threads.
        let (text, review) = tokio::task::spawn_blocking(move || {
            let r = review_text(&text, &rulebook, &rules, &screener);
            (text, r)
        })
        .await?;
        let review = review?;
        let record = record_of(&review, text, loaded.info.id, owner_org)?;
        let entry = ledger_entry(&record, &loaded.info.hash, "submitted", None)?;
        let (stored, receipt) = self
            .store
            .store_proposal(&ReviewedProposal {
                record,
                ledger_entry: entry,
                status,
            })
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict { message, .. } => AppError::Conflict {
                    code: if message.starts_with("locked:") {
                        "proposal_locked"
                    } else {
                        "proposal_id_taken"
                    },
                    message,
                },
                other => other,
            })?;
        self.ledger.note_appended(1);
        self.reviews.increment(1);
        // Every potential match of its parties enters its organisation's review queue, and
        // the proposal is held while one is open.
        if let Some(owner) = &stored.record.owner_org {
            crate::holds::queue_proposal(&self.store, owner, &review).await?;
        }
        Ok((
            stored,
            LedgerReceipt {
                index: receipt.index,
                leaf_hash: receipt.leaf_hash,
            },
        ))
    }

    /// The stored proposal read again, with its review as a value (for the reports): the
    /// stored party results are reused, so nothing is screened, and the versions are the
    /// stored review's. Identical to the stored review while the rules are those it used.
    pub async fn rederive(&self, stored: &StoredProposal) -> Result<(Proposal, Review), AppError> {
        let loaded = self.screening.require_loaded()?;
        let (rulebook, rules) = (self.rulebook.clone(), self.rules.clone());
        let input = stored.record.input.clone();
        let old: serde_json::Value = serde_json::from_str(&stored.record.review)
            .map_err(|e| AppError::Corrupt(format!("stored review: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let (p, review, _) = review_again(&input, &old, &rulebook, &rules, &loaded.screener)
                .map_err(AppError::Internal)?;
            if serde_json::to_value(&review).ok().as_ref() != Some(&old) {
                // Another instance with other rules stored it, or the rules changed since.
                tracing::warn!(proposal = %p.id, "the review read again differs from the stored one; the report shows the one made now");
            }
            Ok((p, review))
        })
        .await?
    }

    /// Compares every stored proposal not yet compared on `loaded` and reviews again those
    /// whose parties' hits differ there (see the module docs).
    pub async fn reevaluate_lists(
        &self,
        loaded: Arc<LoadedSnapshot>,
    ) -> Result<ReevaluationSummary, AppError> {
        let _guard = self.reevaluating.lock().await;
        let started = Instant::now();
        let to = loaded.info.id;
        let mut summary = ReevaluationSummary {
            trigger: ReevaluationTrigger::ListSnapshot.as_str().into(),
            to: to.to_string(),
            ..Default::default()
        };
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .proposal_party_keys(Some(to), after.as_deref(), KEYS_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            summary.proposals_checked += page.len();
            let screener = loaded.screener.clone();
            let (affected, unaffected, screened) =
                tokio::task::spawn_blocking(move || affected_by(&screener, page)).await?;
            summary.parties_screened += screened;

            let mut stored = Vec::with_capacity(affected.len());
            for k in &affected {
                match self.store.proposal(&k.id).await {
                    Ok(p) if p.ledger_index == k.ledger_index => stored.push(p),
                    // Submitted again or deleted since its keys were read: reviewed anew.
                    Ok(_) | Err(stackport_store::StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let (rulebook, rules, screener) = (
                self.rulebook.clone(),
                self.rules.clone(),
                loaded.screener.clone(),
            );
            // Full reviews of the affected proposals, on all cores.
            let results: Vec<Result<Reviewed, (String, String)>> =
                tokio::task::spawn_blocking(move || {
                    stored
                        .par_iter()
                        .map(|s| {
                            let fail = |e: String| (s.record.id.clone(), e);
                            let review = review_text(&s.record.input, &rulebook, &rules, &screener)
                                .map_err(|e| fail(e.to_string()))?;
                            let old: serde_json::Value = serde_json::from_str(&s.record.review)
                                .map_err(|e| fail(e.to_string()))?;
                            let changes = reevaluate::changes(&old, &review);
                            Ok(Reviewed {
                                record: record_of(
                                    &review,
                                    s.record.input.clone(),
                                    to,
                                    s.record.owner_org.clone(),
                                )
                                .map_err(|e| fail(e.to_string()))?,
                                replaces: s.ledger_index,
                                from: s.record.list_snapshot_id.to_string(),
                                changes: changes.any().then_some(changes),
                            })
                        })
                        .collect()
                })
                .await?;
            let mut done = Vec::with_capacity(results.len());
            let mut failed = Vec::new();
            for r in results {
                match r {
                    Ok(r) => done.push(r),
                    Err((id, e)) => {
                        tracing::warn!(proposal = %id, snapshot = to, "re-review after a list change failed; the stored review stands: {e}");
                        failed.push(id);
                    }
                }
            }
            summary.failed += failed.len();
            self.store_rereviews(
                done,
                ReevaluationTrigger::ListSnapshot,
                &loaded.info.hash,
                &mut summary,
            )
            .await?;
            // Not reviewable under the rules in use: marked so that every poll does not try
            // again (the start-up pass under new rules does).
            let mut checked = unaffected;
            checked.extend(failed);
            self.store.mark_proposals_checked(&checked, to).await?;
        }
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        if summary.proposals_checked > 0 {
            tracing::info!(
                snapshot = to,
                checked = summary.proposals_checked,
                parties = summary.parties_screened,
                reevaluated = summary.reevaluated,
                changed = summary.changed,
                verdicts_changed = summary.verdicts_changed,
                failed = summary.failed,
                elapsed_ms = summary.elapsed_ms,
                "stored proposals compared on the list snapshot in use"
            );
        }
        Ok(summary)
    }

    /// Re-decides every stored proposal reviewed under another rulebook or program-rules
    /// version, with its stored party results (the lists did not change, so the screening
    /// stands). The new review is stored whatever it found (the stored review is always one
    /// made under the rules in use); a re-evaluation record only where something changed.
    pub async fn reevaluate_rules(&self) -> Result<ReevaluationSummary, AppError> {
        let _guard = self.reevaluating.lock().await;
        let started = Instant::now();
        let (rbv, prv) = (self.rulebook.version.clone(), self.rules.version.clone());
        let mut summary = ReevaluationSummary {
            trigger: ReevaluationTrigger::Rulebook.as_str().into(),
            to: rules_version(&rbv, &prv),
            ..Default::default()
        };
        let hashes: HashMap<i64, String> = self
            .store
            .snapshots()
            .await?
            .into_iter()
            .map(|s| (s.id, s.hash))
            .collect();
        let current = self.screening.loaded();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .proposals_under_other_rules(&rbv, &prv, after.as_deref(), RULES_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.record.id.clone());
            summary.proposals_checked += page.len();
            let Some(loaded) = current.clone() else {
                // No snapshot at all: nothing can be reviewed (and nothing was stored without one).
                summary.failed += page.len();
                continue;
            };
            let (rulebook, rules) = (self.rulebook.clone(), self.rules.clone());
            let results: Vec<Result<Reviewed, (String, String)>> =
                tokio::task::spawn_blocking(move || {
                    page.par_iter()
                        .map(|s| {
                            let fail = |e: String| (s.record.id.clone(), e);
                            let old: serde_json::Value = serde_json::from_str(&s.record.review)
                                .map_err(|e| fail(e.to_string()))?;
                            let (_, review, reused) = review_again(
                                &s.record.input,
                                &old,
                                &rulebook,
                                &rules,
                                &loaded.screener,
                            )
                            .map_err(fail)?;
                            // Party results reused: the review still rests on the snapshot they
                            // came from; otherwise they were screened on the snapshot in use.
                            let snapshot = if reused {
                                s.record.list_snapshot_id
                            } else {
                                loaded.info.id
                            };
                            let changes = reevaluate::changes(&old, &review);
                            Ok(Reviewed {
                                record: record_of(
                                    &review,
                                    s.record.input.clone(),
                                    snapshot,
                                    s.record.owner_org.clone(),
                                )
                                .map_err(|e| fail(e.to_string()))?,
                                replaces: s.ledger_index,
                                from: rules_version(
                                    &s.record.rulebook_version,
                                    &s.record.program_rules_version,
                                ),
                                changes: changes.any().then_some(changes),
                            })
                        })
                        .collect()
                })
                .await?;
            // Grouped by the snapshot each review rests on, for its ledger entry.
            let mut by_snapshot: HashMap<i64, Vec<Reviewed>> = HashMap::new();
            for r in results {
                match r {
                    Ok(r) => by_snapshot
                        .entry(r.record.list_snapshot_id)
                        .or_default()
                        .push(r),
                    Err((id, e)) => {
                        tracing::warn!(proposal = %id, "re-deciding under the rules in use failed; the stored review stands: {e}");
                        summary.failed += 1;
                    }
                }
            }
            for (snapshot, items) in by_snapshot {
                let hash = hashes.get(&snapshot).cloned().unwrap_or_default();
                self.store_rereviews(items, ReevaluationTrigger::Rulebook, &hash, &mut summary)
                    .await?;
            }
        }
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Stores re-reviews (with their records and ledger entries), a transaction per
    /// [`REREVIEWS_PER_TX`], and adds them to `summary`.
    async fn store_rereviews(
        &self,
        done: Vec<Reviewed>,
        trigger: ReevaluationTrigger,
        lists_hash: &str,
        summary: &mut ReevaluationSummary,
    ) -> Result<(), AppError> {
        let mut batch = Vec::with_capacity(done.len());
        for r in done {
            let entry = ledger_entry(&r.record, lists_hash, trigger.as_str(), r.changes.as_ref())?;
            let to = match trigger {
                ReevaluationTrigger::ListSnapshot => r.record.list_snapshot_id.to_string(),
                ReevaluationTrigger::Rulebook => {
                    rules_version(&r.record.rulebook_version, &r.record.program_rules_version)
                }
            };
            let reevaluation = match r.changes {
                Some(c) => Some(Reevaluation {
                    trigger,
                    from_version: Some(r.from),
                    to_version: to,
                    changes: serde_json::to_value(&c)
                        .map_err(|e| AppError::internal(format!("re-evaluation changes: {e}")))?,
                }),
                None => None,
            };
            batch.push(ReReview {
                record: r.record,
                replaces: r.replaces,
                reevaluation,
                ledger_entry: entry,
            });
        }
        for chunk in batch.chunks(REREVIEWS_PER_TX) {
            let stored = self.store.record_rereviews(chunk).await?;
            self.ledger.note_appended(stored.len() as u64);
            self.rereviews.increment(stored.len() as u64);
            summary.reevaluated += stored.len();
            for s in &stored {
                let Some(re) = &s.reevaluation else { continue };
                summary.changed += 1;
                let dto = reevaluation_dto(re);
                if dto.verdict_before.as_deref() != Some(dto.verdict_after.as_str()) {
                    summary.verdicts_changed += 1;
                }
                if summary.records.len() < SUMMARY_RECORDS {
                    summary.records.push(dto);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reports are rendered from the review made again with the stored party results:
    /// it must be the stored review, value for value, for every sample proposal.
    #[test]
    fn a_review_made_again_from_storage_is_the_stored_one() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let snapshot = stackport_screening::parse::load_dir(&root.join("../../data/lists"))
            .expect("bundled lists");
        let screener = Screener::new(&snapshot);
        let rulebook = Rulebook::embedded().expect("rulebook");
        let rules = ProgramRules::embedded().expect("program rules");
        let dir = root.join("../../../shared/eval/proposals");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).expect("sample set") {
            let path = e.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !(name.starts_with('S') && name.ends_with(".json")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("sample");
            let review = review_text(&text, &rulebook, &rules, &screener).expect("reviewed");
            let stored: serde_json::Value =
                serde_json::from_str(&serde_json::to_string(&review).unwrap()).unwrap();
            let (_, again, reused) =
                review_again(&text, &stored, &rulebook, &rules, &screener).expect("again");
            assert!(reused, "{name}: the stored party results are reused");
            assert_eq!(serde_json::to_value(&again).unwrap(), stored, "{name}");
            n += 1;
        }
        assert!(n >= 10);
    }
}

/// A workflow step as asked over the API (`stackport_program::workflow`).
#[derive(Debug, Clone)]
pub enum StepRequest {
    Submit,
    Withdraw {
        reason: String,
    },
    /// Commerce opens its review, consulting these agencies (organisation ids).
    StartReview {
        agencies: Vec<String>,
        reason: String,
    },
    Opinion {
        opinion: Opinion,
        reason: String,
    },
    Designate {
        reason: String,
        over_objection: bool,
    },
    Decline {
        reason: String,
    },
}

impl StepRequest {
    /// The policy's action for this step (checked again here, on the proposal itself).
    pub fn action(&self) -> Action {
        match self {
            StepRequest::Submit | StepRequest::Withdraw { .. } => Action::SubmitProposal,
            StepRequest::StartReview { .. } => Action::StartReview,
            StepRequest::Opinion { .. } => Action::GiveOpinion,
            StepRequest::Designate { .. } | StepRequest::Decline { .. } => Action::DecideProposal,
        }
    }
}

fn workflow_error(e: WorkflowError) -> AppError {
    let message = e.to_string();
    match e.code() {
        "four_eyes" => AppError::Forbidden(message),
        "invalid_request" => AppError::Invalid {
            code: "invalid_request",
            message,
        },
        code => AppError::Conflict { code, message },
    }
}

impl ProposalService {
    /// The stored proposal, if `p` may see it: its own organisation's, any for those who
    /// oversee proposals (Commerce, the platform, auditors), and those an agency is consulted
    /// on. Another's is [`AppError::NotFound`] exactly as a missing one.
    pub async fn visible(&self, p: &Principal, id: &str) -> Result<StoredProposal, AppError> {
        let missing = || AppError::NotFound(format!("proposal {id:?}"));
        let stored = match self.store.proposal(id).await {
            Ok(s) => s,
            Err(stackport_store::StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        if self.sees(p, id, stored.record.owner_org.as_deref()).await? {
            Ok(stored)
        } else {
            Err(missing())
        }
    }

    async fn sees(&self, p: &Principal, id: &str, owner: Option<&str>) -> Result<bool, AppError> {
        if decide_on(p, Action::ReadProposal, owner).allowed() {
            return Ok(true);
        }
        Ok(p.org_kind == OrgKind::Agency && self.store.consulted_on(id, &p.org).await?)
    }

    /// Takes one workflow step on a proposal as `p`, stored with its event and its ledger
    /// entry (naming the acting user and organisation) in one transaction.
    pub async fn step(
        &self,
        p: &Principal,
        id: &str,
        req: StepRequest,
    ) -> Result<StoredEvent, AppError> {
        let missing = || AppError::NotFound(format!("proposal {id:?}"));
        let state = match self.store.proposal_workflow(id).await {
            Ok(s) => s,
            Err(stackport_store::StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        if !self.sees(p, id, state.owner_org.as_deref()).await? {
            return Err(missing());
        }
        // The route's check was on the kind of action; this one is on this proposal.
        let own = state.owner_org.as_deref() == Some(p.org.as_str());
        let allowed = decide(p, req.action()).allowed()
            && match &req {
                StepRequest::Submit | StepRequest::Withdraw { .. } => own,
                StepRequest::Opinion { .. } => {
                    state.consulted.iter().any(|c| c.agency_org == p.org)
                }
                _ => true,
            };
        if !allowed {
            return Err(AppError::Forbidden(format!(
                "the role {} of this organisation may not take this step on proposal {id:?}",
                p.role
            )));
        }
        let facts = ReviewFacts {
            opened_by: state.review_opened_by.clone(),
            consulted: state
                .consulted
                .iter()
                .map(|c| (c.agency_org.clone(), c.opinion))
                .collect(),
        };
        let (step, detail, consult, opinion, opened_by) = match &req {
            StepRequest::Submit => (Step::Submit, serde_json::json!({}), vec![], None, None),
            StepRequest::Withdraw { reason } => (
                Step::Withdraw,
                serde_json::json!({ "reason": reason }),
                vec![],
                None,
                None,
            ),
            StepRequest::StartReview { agencies, reason } => {
                for a in agencies {
                    let org = self
                        .store
                        .organisation(a)
                        .await
                        .map_err(|_| AppError::Invalid {
                            code: "not_an_agency",
                            message: format!("agencies: {a:?} is not an organisation"),
                        })?;
                    if org.kind != OrgKind::Agency {
                        return Err(AppError::Invalid {
                            code: "not_an_agency",
                            message: format!(
                                "agencies: {a:?} is a {} organisation, not an agency",
                                org.kind
                            ),
                        });
                    }
                }
                (
                    Step::StartReview {
                        agencies: agencies.clone(),
                    },
                    serde_json::json!({ "agencies": agencies, "reason": reason }),
                    agencies.clone(),
                    None,
                    Some(p.user.clone()),
                )
            }
            StepRequest::Opinion { opinion, reason } => (
                Step::Opinion {
                    agency: p.org.clone(),
                    opinion: *opinion,
                },
                serde_json::json!({ "agency": p.org, "opinion": opinion, "reason": reason }),
                vec![],
                Some((p.org.clone(), *opinion, reason.clone())),
                None,
            ),
            StepRequest::Designate {
                reason,
                over_objection,
            } => (
                Step::Designate {
                    actor: p.user.clone(),
                    over_objection: *over_objection,
                },
                serde_json::json!({ "reason": reason, "over_objection": over_objection }),
                vec![],
                None,
                None,
            ),
            StepRequest::Decline { reason } => (
                Step::Decline {
                    actor: p.user.clone(),
                },
                serde_json::json!({ "reason": reason }),
                vec![],
                None,
                None,
            ),
        };
        let to = workflow::next(state.status, &step, &facts).map_err(workflow_error)?;
        // A failed check blocks the document: no designation while a hold is in force.
        if to == Status::Designated {
            if let Some(hold) = self.store.hold_on("proposal", id).await? {
                return Err(AppError::Conflict {
                    code: "held",
                    message: format!(
                        "proposal {id:?} is held ({}): hold {}",
                        hold.reason, hold.id
                    ),
                });
            }
        }
        let entry = crate::ledger::decided_by(
            DecisionKind::ProposalWorkflow,
            p,
            serde_json::json!({ "proposal": id, "step": step.name(), "detail": detail }),
            serde_json::json!({ "from": state.status, "to": to }),
        )?;
        let (event, _) = self
            .store
            .record_workflow_step(&WorkflowStep {
                proposal_id: id.to_string(),
                step: step.name().to_string(),
                from: state.status,
                to,
                actor_user: p.user.clone(),
                actor_org: p.org.clone(),
                detail,
                consult,
                opinion,
                opened_by,
                ledger_entry: entry,
            })
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict { message, .. } => AppError::Conflict {
                    code: "invalid_transition",
                    message,
                },
                other => other,
            })?;
        self.ledger.note_appended(1);
        if to == Status::Designated {
            if let Some(owner) = &state.owner_org {
                crate::webhooks::emit(
                    &self.store,
                    owner,
                    "proposal.designated",
                    serde_json::json!({ "proposal": id, "event": event.id }),
                )
                .await;
            }
        }
        Ok(event)
    }

    /// Every step taken on a proposal `p` may see, oldest first.
    pub async fn history(&self, p: &Principal, id: &str) -> Result<Vec<StoredEvent>, AppError> {
        self.visible(p, id).await?;
        Ok(self.store.proposal_events(id).await?)
    }

    /// The program's catalogue: designated packages, a page at a time.
    pub async fn catalogue(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProposalSummary>, AppError> {
        Ok(self.store.designated_proposals(after, limit).await?)
    }
}
