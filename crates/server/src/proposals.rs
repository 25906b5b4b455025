//! Program proposals over HTTP (issue 9): a proposal is reviewed as a whole, stored, recorded
//! in the ledger, served back in the form a reader asks for, and re-evaluated when the lists
//! or the rules change.
//!
//! - `POST /v1/proposals`: the proposal JSON is read and checked (`Proposal::parse`), reviewed
//!   (`Reviewer::review`) against the rulebook, the program rules and the list snapshot in use,
//!   stored, and appended to the ledger in the same transaction with the versions it used; the
//!   response is the review with the entry's receipt. A proposal that fails its checks is a
//!   400 `invalid_proposal` listing every problem with its JSON path; nothing is stored.
//! - `GET /v1/proposals`, `GET /v1/proposals/{id}`, `GET /v1/proposals/{id}/review` (JSON as
//!   stored, or Markdown, HTML or annotated CycloneDX by `Accept`),
//!   `GET /v1/proposals/{id}/reevaluations`, and `POST /v1/packages/validate` (a CycloneDX BOM
//!   against the schema and the `stackport:` profile).
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};

use crate::error::{Bytes, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use stackport_controls::Rulebook;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_program::reevaluate::{self, party_keys, Changes, PartyKey};
use stackport_program::review::PartyResult;
use stackport_program::{ProgramRules, Proposal, ProposalError, Review, Reviewer};
use stackport_screening::{PartyType, Query as PartyQuery, Screener};
use stackport_store::{
    ProposalKeys, ProposalRecord, ReReview, Reevaluation, ReevaluationTrigger, ReviewedProposal,
    Storage, StoredProposal, StoredReevaluation,
};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ProblemDto};
use crate::ledger::{DecisionLedger, LedgerReceipt};
use crate::screening::{rfc3339, ErrorBody, LoadedSnapshot, ScreeningState};
use crate::ServerContext;

/// Re-evaluation screens each party exactly as the review does, so that hit ids compare one
/// to one.
use stackport_program::review::{PARTY_THRESHOLD, PARTY_TOP};
/// Largest proposal or package body accepted (a package of 10,000 components is ~10 MiB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Proposals listed per page when the request does not say, and at most.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;
/// Party keys read per round trip while re-evaluating after a list change.
const KEYS_PAGE: u32 = 2000;
/// Stored proposals read per round trip while re-deciding under new rules.
const RULES_PAGE: u32 = 200;
/// Re-reviews per transaction.
const REREVIEWS_PER_TX: usize = 500;
/// Re-evaluation records returned in one summary (all are stored).
const SUMMARY_RECORDS: usize = 1000;

#[derive(OpenApi)]
#[openapi(
    components(schemas(
        ProposalLine, ProposalListResponse, ProposalResponse, ReevaluationDto,
        ReevaluationsResponse, ReevaluationSummary, PackageValid, ProblemDto
    )),
    tags((name = "proposals", description = "American AI Exports Program proposals (EO 14320): full-stack packages reviewed as a whole, stored, recorded in the ledger and re-evaluated when lists or rules change"))
)]
pub struct ProposalsApi;

// ---- bodies ---------------------------------------------------------------------------------

/// One stored proposal in the list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalLine {
    pub id: String,
    pub consortium: String,
    /// The day the exports are assessed for.
    pub date: String,
    /// `ineligible`, `prohibited`, `held`, `licences_required` or `clear`.
    pub verdict: String,
    /// The list snapshot the last review screened against.
    pub list_snapshot: i64,
    /// Ledger entry of the last review.
    pub ledger_index: u64,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// A page of stored proposals, by id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalListResponse {
    pub proposals: Vec<ProposalLine>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// A stored proposal: what was submitted, its last review and that review's ledger receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalResponse {
    pub id: String,
    pub consortium: String,
    pub date: String,
    pub verdict: String,
    /// The proposal JSON as submitted.
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// The last review (the JSON contract of the proposals README, and the rest).
    #[schema(value_type = Object)]
    pub review: serde_json::Value,
    /// SHA-256 of the review JSON as `GET /v1/proposals/{id}/review` serves it; the ledger
    /// entry holds the same digest.
    pub review_sha256: String,
    pub ledger: LedgerReceipt,
    pub list_snapshot: i64,
    /// The last snapshot the parties' hits were compared on.
    pub checked_snapshot: i64,
    pub rulebook_version: String,
    pub program_rules_version: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One re-evaluation of a stored proposal.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// Ledger entry of the re-review.
    pub ledger_index: u64,
    /// RFC 3339.
    pub at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReevaluationsResponse {
    pub proposal: String,
    /// Oldest first.
    pub reevaluations: Vec<ReevaluationDto>,
}

/// What one re-evaluation pass did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
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

/// `POST /v1/packages/validate` on a valid package.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageValid {
    pub valid: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Most proposals returned (1 to 1,000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only proposals whose id sorts after this one (the previous page's `next_after`).
    pub after: Option<String>,
}

/// A stored time (microseconds since the Unix epoch) in RFC 3339.
fn stored_time(us: i64) -> String {
    stackport_store::timestamp::from_micros("time", us)
        .map(rfc3339)
        .unwrap_or_else(|_| us.to_string())
}

fn reevaluation_dto(r: &StoredReevaluation) -> ReevaluationDto {
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

/// Reviews, stores and re-evaluates proposals. Held by the router and (weakly) by the
/// screening state, which asks it to re-evaluate after a snapshot switch.
pub struct ProposalService {
    store: Arc<dyn Storage>,
    ledger: Arc<DecisionLedger>,
    rulebook: Arc<Rulebook>,
    rules: Arc<ProgramRules>,
    screening: Arc<ScreeningState>,
    /// One re-evaluation pass at a time (start-up, the poller, `POST /v1/lists/refresh`).
    reevaluating: tokio::sync::Mutex<()>,
    reviews: Arc<AtomicU64>,
    rereviews: Arc<AtomicU64>,
}

/// The program rules beside the rulebook (`program.toml` of the rulebook directory), else the
/// built-in ones.
pub fn load_program_rules(config: &crate::ServerConfig) -> anyhow::Result<ProgramRules> {
    match &config.rulebook_dir {
        Some(dir) => ProgramRules::load_dir(dir)
            .map_err(|e| anyhow::anyhow!("loading program rules from {}: {e}", dir.display())),
        None => {
            ProgramRules::embedded().map_err(|e| anyhow::anyhow!("built-in program rules: {e}"))
        }
    }
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

fn to_json<T: Serialize>(v: &T) -> anyhow::Result<String> {
    serde_json::to_string(v).map_err(|e| anyhow::anyhow!("a review does not serialise: {e}"))
}

/// The stored record of a review.
fn record_of(
    review: &Review,
    input: String,
    list_snapshot_id: i64,
) -> anyhow::Result<ProposalRecord> {
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
) -> anyhow::Result<String> {
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
        outputs["proposal_review"]["changes"] = serde_json::to_value(c)?;
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
    .map_err(|e| anyhow::anyhow!("proposal review decision: {e}"))
}

fn rules_version(rulebook: &str, program_rules: &str) -> String {
    format!("rulebook {rulebook}; program rules {program_rules}")
}

fn invalid(e: &ProposalError) -> ApiError {
    let problems: Vec<ProblemDto> = e.problems().iter().map(ProblemDto::from).collect();
    let first = problems
        .first()
        .map(|p| format!("{}: {}", p.path, p.message))
        .unwrap_or_default();
    ApiError::new(
        "invalid_proposal",
        format!(
            "the proposal cannot be reviewed: {} problem(s), first {first}",
            problems.len()
        ),
    )
    .with_problems(problems)
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
        ctx: &ServerContext,
        screening: Arc<ScreeningState>,
    ) -> anyhow::Result<Arc<Self>> {
        let rulebook = crate::controls::load_rulebook(&ctx.config)?;
        let rules = load_program_rules(&ctx.config)?;
        let service = Arc::new(Self {
            store: ctx.store.clone(),
            ledger: ctx.ledger.clone(),
            rulebook: Arc::new(rulebook),
            rules: Arc::new(rules),
            screening: screening.clone(),
            reevaluating: tokio::sync::Mutex::new(()),
            reviews: ctx.metrics.counter(
                "stackport_proposal_reviews_total",
                "Proposals reviewed and stored (POST /v1/proposals).",
            ),
            rereviews: ctx.metrics.counter(
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

    /// Reads, checks, reviews and stores one proposal with its ledger entry.
    pub async fn submit(&self, text: String) -> Result<(StoredProposal, LedgerReceipt), ApiError> {
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
        .await
        .map_err(ApiError::internal)?;
        let review = review.map_err(|e| invalid(&e))?;
        let record = record_of(&review, text, loaded.info.id).map_err(ApiError::internal)?;
        let entry = ledger_entry(&record, &loaded.info.hash, "submitted", None)
            .map_err(ApiError::internal)?;
        let (stored, receipt) = self
            .store
            .store_proposal(&ReviewedProposal {
                record,
                ledger_entry: entry,
            })
            .await?;
        self.ledger.note_appended(1);
        self.reviews.fetch_add(1, Ordering::Relaxed);
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
    async fn rederive(&self, stored: &StoredProposal) -> Result<(Proposal, Review), ApiError> {
        let loaded = self.screening.require_loaded()?;
        let (rulebook, rules) = (self.rulebook.clone(), self.rules.clone());
        let input = stored.record.input.clone();
        let old: serde_json::Value = serde_json::from_str(&stored.record.review)
            .map_err(|e| ApiError::new("storage_error", format!("stored review: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let (p, review, _) = review_again(&input, &old, &rulebook, &rules, &loaded.screener)
                .map_err(ApiError::internal)?;
            if serde_json::to_value(&review).ok().as_ref() != Some(&old) {
                // Another instance with other rules stored it, or the rules changed since.
                tracing::warn!(proposal = %p.id, "the review read again differs from the stored one; the report shows the one made now");
            }
            Ok((p, review))
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Compares every stored proposal not yet compared on `loaded` and reviews again those
    /// whose parties' hits differ there (see the module docs).
    pub async fn reevaluate_lists(
        &self,
        loaded: Arc<LoadedSnapshot>,
    ) -> anyhow::Result<ReevaluationSummary> {
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
                                record: record_of(&review, s.record.input.clone(), to)
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
    pub async fn reevaluate_rules(&self) -> anyhow::Result<ReevaluationSummary> {
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
                                record: record_of(&review, s.record.input.clone(), snapshot)
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
    ) -> anyhow::Result<()> {
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
                    changes: serde_json::to_value(&c)?,
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
            self.rereviews
                .fetch_add(stored.len() as u64, Ordering::Relaxed);
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

// ---- handlers -------------------------------------------------------------------------------

type Service = State<Arc<ProposalService>>;

fn body_text(Bytes(body): Bytes) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|e| {
        invalid(&ProposalError::Malformed(stackport_program::Problem::at(
            "$",
            "invalid_json",
            format!("the body is not UTF-8: {e}"),
        )))
    })
}

/// Review a proposal and store it.
#[utoipa::path(
    post, path = "/v1/proposals", tag = "proposals",
    request_body(content = Object, description = "A proposal (the JSON of the proposals README), its package a CycloneDX 1.6 BOM with the stackport: profile", content_type = "application/json"),
    responses(
        (status = 201, description = "Reviewed and stored: the review (verdict, eligibility, us_content, items, parties, location_verification, licence drafts, versions) with `ledger: {index, leaf_hash}`", body = Object,
            headers(("location" = String, description = "/v1/proposals/{id}"))),
        (status = 400, description = "invalid_proposal: not JSON, wrong shape, or values that fail the checks; `error.problems` lists each with its path and own code; nothing stored", body = ErrorBody),
        (status = 413, description = "the body exceeds 64 MiB"),
        (status = 500, description = "storage_error, internal; nothing stored", body = ErrorBody),
        (status = 503, description = "no_snapshot", body = ErrorBody),
    )
)]
async fn submit(State(service): Service, body: Bytes) -> Result<Response, ApiError> {
    let text = body_text(body)?;
    let (stored, receipt) = service.submit(text).await?;
    let mut review: serde_json::Value = serde_json::from_str(&stored.record.review)
        .map_err(|e| ApiError::internal(format!("review JSON: {e}")))?;
    review["ledger"] = serde_json::to_value(receipt).map_err(ApiError::internal)?;
    let location = format!("/v1/proposals/{}", stored.record.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(review),
    )
        .into_response())
}

/// Stored proposals, by id, a page at a time.
#[utoipa::path(
    get, path = "/v1/proposals", tag = "proposals", params(ListQuery),
    responses(
        (status = 200, description = "A page of stored proposals", body = ProposalListResponse),
        (status = 400, description = "invalid_request (limit out of range)", body = ErrorBody),
    )
)]
async fn list(
    State(service): Service,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<ProposalListResponse>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit is {limit}; it must be between 1 and {MAX_PAGE}"
        )));
    }
    let page = service.store.proposals(q.after.as_deref(), limit).await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|p| p.id.clone()))
        .flatten();
    Ok(axum::Json(ProposalListResponse {
        proposals: page
            .into_iter()
            .map(|p| ProposalLine {
                id: p.id,
                consortium: p.consortium,
                date: p.date,
                verdict: p.verdict,
                list_snapshot: p.list_snapshot_id,
                ledger_index: p.ledger_index,
                created_at: stored_time(p.created_at),
                updated_at: stored_time(p.updated_at),
            })
            .collect(),
        next_after,
    }))
}

/// One stored proposal: the input, the last review and its ledger receipt.
#[utoipa::path(
    get, path = "/v1/proposals/{id}", tag = "proposals",
    params(("id" = String, Path, description = "The proposal's id")),
    responses(
        (status = 200, body = ProposalResponse),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
async fn one(
    State(service): Service,
    Path(id): Path<String>,
) -> Result<axum::Json<ProposalResponse>, ApiError> {
    let p = service.store.proposal(&id).await?;
    let leaf = service.ledger.entry(p.ledger_index).await?;
    let parse = |what: &str, s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map_err(|e| ApiError::new("storage_error", format!("stored {what} of {id:?}: {e}")))
    };
    Ok(axum::Json(ProposalResponse {
        input: parse("input", &p.record.input)?,
        review: parse("review", &p.record.review)?,
        id: p.record.id,
        consortium: p.record.consortium,
        date: p.record.date,
        verdict: p.record.verdict,
        review_sha256: p.review_digest,
        ledger: LedgerReceipt {
            index: p.ledger_index,
            leaf_hash: leaf.leaf_hash,
        },
        list_snapshot: p.record.list_snapshot_id,
        checked_snapshot: p.checked_snapshot_id,
        rulebook_version: p.record.rulebook_version,
        program_rules_version: p.record.program_rules_version,
        created_at: stored_time(p.created_at),
        updated_at: stored_time(p.updated_at),
    }))
}

/// The forms a review is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReviewFormat {
    Json,
    Html,
    Markdown,
    CycloneDx,
}

impl ReviewFormat {
    const CYCLONEDX: &'static str = "application/vnd.cyclonedx+json";

    fn of(media: &str) -> Option<Self> {
        Some(match media {
            "application/json" | "application/*" | "*/*" => ReviewFormat::Json,
            "text/html" | "text/*" => ReviewFormat::Html,
            "text/markdown" => ReviewFormat::Markdown,
            Self::CYCLONEDX => ReviewFormat::CycloneDx,
            _ => return None,
        })
    }

    /// The form an `Accept` header asks for (RFC 9110 §12.5.1): the supported media type of
    /// highest weight, the first listed among equals; JSON without the header.
    fn negotiate(accept: Option<&str>) -> Result<Self, ApiError> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Ok(ReviewFormat::Json);
        };
        let mut best: Option<(f64, Self)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(f) = Self::of(&media) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, f));
                }
            }
        }
        best.map(|(_, f)| f).ok_or_else(|| {
            ApiError::new(
                "not_acceptable",
                format!("Accept {accept:?}: a review is served as application/json, text/html, text/markdown or {}", Self::CYCLONEDX),
            )
        })
    }
}

/// The last review of a stored proposal, in the form `Accept` asks for.
#[utoipa::path(
    get, path = "/v1/proposals/{id}/review", tag = "proposals",
    params(
        ("id" = String, Path, description = "The proposal's id"),
    ),
    responses(
        // The form is chosen by the Accept header (OpenAPI 3.1 §4.8.12.1: an `Accept` header
        // parameter is not declared; the response's media types say what it negotiates).
        (status = 200, description = "The review in the form the Accept header asks for: application/json (default: the review exactly as stored, its SHA-256 the ledger's review_sha256), text/html (a self-contained report), text/markdown, or application/vnd.cyclonedx+json (the package with each component's review attached)", content(
            (Object = "application/json"),
            (String = "text/html"),
            (String = "text/markdown"),
            (Object = "application/vnd.cyclonedx+json"),
        )),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 406, description = "not_acceptable", body = ErrorBody),
        (status = 500, description = "storage_error, internal", body = ErrorBody),
        (status = 503, description = "no_snapshot (reports other than JSON)", body = ErrorBody),
    )
)]
async fn review(
    State(service): Service,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format =
        ReviewFormat::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))?;
    let stored = service.store.proposal(&id).await?;
    if format == ReviewFormat::Json {
        return Ok((
            [(header::CONTENT_TYPE, "application/json")],
            stored.record.review,
        )
            .into_response());
    }
    let (proposal, review) = service.rederive(&stored).await?;
    Ok(match format {
        ReviewFormat::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            stackport_program::report::html(&review),
        )
            .into_response(),
        ReviewFormat::Markdown => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            stackport_program::report::markdown(&review),
        )
            .into_response(),
        _ => (
            [(header::CONTENT_TYPE, ReviewFormat::CYCLONEDX)],
            axum::Json(stackport_program::annotate::annotated_bom(
                &proposal, &review,
            )),
        )
            .into_response(),
    })
}

/// What re-evaluation changed in a stored proposal, oldest first.
#[utoipa::path(
    get, path = "/v1/proposals/{id}/reevaluations", tag = "proposals",
    params(("id" = String, Path, description = "The proposal's id")),
    responses(
        (status = 200, body = ReevaluationsResponse),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
async fn reevaluations(
    State(service): Service,
    Path(id): Path<String>,
) -> Result<axum::Json<ReevaluationsResponse>, ApiError> {
    let list = service.store.reevaluations(&id).await?;
    Ok(axum::Json(ReevaluationsResponse {
        proposal: id,
        reevaluations: list.iter().map(reevaluation_dto).collect(),
    }))
}

/// Check a CycloneDX 1.6 package against the official schema, then the stackport: profile.
#[utoipa::path(
    post, path = "/v1/packages/validate", tag = "proposals",
    request_body(content = Object, description = "A CycloneDX 1.6 JSON BOM", content_type = "application/json"),
    responses(
        (status = 200, description = "Valid CycloneDX 1.6 and stackport profile", body = PackageValid),
        (status = 400, description = "invalid_json: the body is not JSON", body = ErrorBody),
        (status = 413, description = "the body exceeds 64 MiB"),
        (status = 422, description = "invalid_package: `error.problems` lists each schema or profile problem with its path, bom-ref, property and code", body = ErrorBody),
    )
)]
async fn validate_package(
    State(service): Service,
    Bytes(body): Bytes,
) -> Result<axum::Json<PackageValid>, ApiError> {
    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new("invalid_json", format!("the package is not JSON: {e}")).with_problems(vec![
            ProblemDto {
                path: "$".into(),
                bom_ref: None,
                property: None,
                code: "invalid_json".into(),
                message: e.to_string(),
            },
        ])
    })?;
    let rulebook = service.rulebook.clone();
    let problems =
        tokio::task::spawn_blocking(move || stackport_program::bom::check_package(&doc, &rulebook))
            .await
            .map_err(ApiError::internal)?;
    if problems.is_empty() {
        return Ok(axum::Json(PackageValid { valid: true }));
    }
    let problems: Vec<ProblemDto> = problems.iter().map(ProblemDto::from).collect();
    Err(ApiError::new(
        "invalid_package",
        format!(
            "{} problem(s), first {}: {}",
            problems.len(),
            problems[0].path,
            problems[0].message
        ),
    )
    .with_problems(problems))
}

/// The module's routes, over the screening state the server shares.
pub async fn router(
    ctx: &ServerContext,
    screening: Arc<ScreeningState>,
) -> anyhow::Result<OpenApiRouter> {
    let service = ProposalService::start(ctx, screening).await?;
    // Proposals and packages may be larger than the default body limit.
    let uploads = OpenApiRouter::new()
        .routes(routes!(submit, list))
        .routes(routes!(validate_package))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    Ok(OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(one))
        .routes(routes!(review))
        .routes(routes!(reevaluations))
        .with_state(service))
}

#[cfg(test)]
mod tests {
    use super::ReviewFormat as F;
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

    #[test]
    fn accept_picks_the_supported_type_of_highest_weight() {
        assert_eq!(F::negotiate(None).unwrap(), F::Json);
        assert_eq!(F::negotiate(Some("")).unwrap(), F::Json);
        assert_eq!(F::negotiate(Some("text/html")).unwrap(), F::Html);
        assert_eq!(
            F::negotiate(Some("text/markdown;charset=utf-8")).unwrap(),
            F::Markdown
        );
        assert_eq!(
            F::negotiate(Some("application/vnd.cyclonedx+json")).unwrap(),
            F::CycloneDx
        );
        assert_eq!(
            F::negotiate(Some("text/html;q=0.5, text/markdown")).unwrap(),
            F::Markdown
        );
        assert_eq!(F::negotiate(Some("image/png, */*;q=0.1")).unwrap(), F::Json);
        assert_eq!(
            F::negotiate(Some("text/html;q=0, application/json")).unwrap(),
            F::Json
        );
        let e = F::negotiate(Some("image/png")).unwrap_err();
        assert_eq!((e.code, e.status.as_u16()), ("not_acceptable", 406));
    }
}
