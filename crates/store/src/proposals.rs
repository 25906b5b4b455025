//! Program proposals (issue 9): the proposal as submitted, its last review, the party keys that
//! re-evaluation screens again, and the record of every re-evaluation (schema:
//! `migrations/*/0005_proposals.sql`).
//!
//! Every stored review is a decision: it is appended to the ledger in the same transaction as
//! its row, through the ledger's own append path (`append_in_tx`, as
//! [`crate::ScreeningStore::record_screenings`] does), and the row keeps its entry's index. A
//! proposal stored again under the same id replaces the stored one and keeps its creation
//! time; its re-evaluations stay.
//!
//! Re-evaluation reads the party keys page by page ([`ProposalStore::proposal_party_keys`],
//! one small JSON column per proposal, never the reviews), and writes each re-review together
//! with its re-evaluation record and its ledger entry ([`ProposalStore::record_rereviews`]).
//!
//! One implementation for both backends, expanded once per backend like the ledger's: the SQL
//! is the same, `QueryBuilder` writes each backend's placeholders. Times are microseconds
//! since the Unix epoch on both ([`crate::timestamp`]).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use stackport_program::reevaluate::PartyKey;
use stackport_program::workflow::{Opinion, Status};

use crate::ledger::{pg_begin, sqlite_begin, AppendReceipt};
use crate::{PgStore, SqliteStore, StoreError};

/// A reviewed proposal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalRecord {
    /// The proposal's own id.
    pub id: String,
    pub consortium: String,
    /// The day the exports are assessed for, `YYYY-MM-DD`.
    pub date: String,
    /// The verdict of the review.
    pub verdict: String,
    /// The proposal JSON as submitted.
    pub input: String,
    /// The review JSON, exactly as it is served (its SHA-256 is [`sha256_hex`]).
    pub review: String,
    /// What re-evaluation needs of each party, without reading the review.
    pub parties: Vec<PartyKey>,
    /// The list snapshot the review screened against.
    pub list_snapshot_id: i64,
    pub rulebook_version: String,
    pub program_rules_version: String,
    /// The organisation that submitted it (`None`: stored before owners were recorded, the
    /// platform's). A proposal is replaced under its id only by its own organisation.
    pub owner_org: Option<String>,
}

/// A review to store with the ledger entry that records it.
#[derive(Debug, Clone)]
pub struct ReviewedProposal {
    pub record: ProposalRecord,
    /// The canonical (RFC 8785) ledger entry of this review.
    pub ledger_entry: String,
    /// `submitted`, or `draft` for a proposal its consortium is still preparing. A stored
    /// proposal is replaced only while it is replaceable ([`Status::replaceable`]).
    pub status: Status,
}

/// Where a stored proposal stands in the workflow, with the review in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowState {
    pub status: Status,
    pub owner_org: Option<String>,
    /// The user who opened Commerce's review.
    pub review_opened_by: Option<String>,
    /// Each consulted agency (organisation id), its opinion and reason, by agency id.
    pub consulted: Vec<Consultation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consultation {
    pub agency_org: String,
    pub opinion: Option<Opinion>,
    pub reason: Option<String>,
    /// Microseconds since the Unix epoch.
    pub answered_at: Option<i64>,
}

/// One workflow step to store: the status moves `from` → `to` only if the proposal is still
/// `from` (else [`StoreError::Conflict`]: someone moved it meanwhile), with its event row and
/// its ledger entry in the same transaction.
#[derive(Debug, Clone)]
pub struct WorkflowStep {
    pub proposal_id: String,
    pub step: String,
    pub from: Status,
    pub to: Status,
    pub actor_user: String,
    pub actor_org: String,
    /// JSON: what the step said (agencies, opinion, reason).
    pub detail: serde_json::Value,
    /// The agencies a review consults (opening a review).
    pub consult: Vec<String>,
    /// An agency's opinion (agency org, opinion, reason).
    pub opinion: Option<(String, Opinion, String)>,
    /// Sets `review_opened_by` (opening a review).
    pub opened_by: Option<String>,
    /// The canonical ledger entry of the step.
    pub ledger_entry: String,
}

/// A stored workflow step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    pub proposal_id: String,
    pub step: String,
    pub from_status: Status,
    pub to_status: Status,
    pub actor_user: String,
    pub actor_org: String,
    pub detail: serde_json::Value,
    /// Microseconds since the Unix epoch.
    pub at: i64,
    pub ledger_index: u64,
}

/// A stored proposal with its last review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProposal {
    #[serde(flatten)]
    pub record: ProposalRecord,
    pub status: Status,
    /// SHA-256 of the review JSON, hex.
    pub review_digest: String,
    /// The last snapshot the parties' hits were compared on (the review's own, or a later one
    /// whose hits for these parties were the same).
    pub checked_snapshot_id: i64,
    /// Ledger entry of the last review.
    pub ledger_index: u64,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

/// One line of the list of stored proposals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalSummary {
    pub id: String,
    pub owner_org: Option<String>,
    pub status: Status,
    pub consortium: String,
    pub date: String,
    pub verdict: String,
    pub list_snapshot_id: i64,
    pub ledger_index: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The party keys of one stored proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalKeys {
    pub id: String,
    /// Ledger entry of the review the keys come from (what a re-review replaces).
    pub ledger_index: u64,
    pub parties: Vec<PartyKey>,
}

/// What made a stored proposal be reviewed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReevaluationTrigger {
    /// A new restricted-party list snapshot is in use.
    ListSnapshot,
    /// The rulebook or the program rules have a new version.
    Rulebook,
}

impl ReevaluationTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            ReevaluationTrigger::ListSnapshot => "list_snapshot",
            ReevaluationTrigger::Rulebook => "rulebook",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "list_snapshot" => Ok(ReevaluationTrigger::ListSnapshot),
            "rulebook" => Ok(ReevaluationTrigger::Rulebook),
            other => Err(StoreError::Corrupt(format!(
                "proposal_reevaluations.trigger_kind = {other:?}"
            ))),
        }
    }
}

/// What a re-evaluation found, to store beside the re-review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reevaluation {
    pub trigger: ReevaluationTrigger,
    /// The snapshot id, or the rulebook and program-rules versions, before.
    pub from_version: Option<String>,
    pub to_version: String,
    /// `stackport_program::reevaluate::Changes` as JSON.
    pub changes: serde_json::Value,
}

/// A stored proposal reviewed again.
#[derive(Debug, Clone)]
pub struct ReReview {
    /// The new review (the input, consortium and date are those stored).
    pub record: ProposalRecord,
    /// The ledger index of the stored review this one replaces: the row is replaced only if
    /// it still holds that review, so a proposal submitted again meanwhile is left alone.
    pub replaces: u64,
    /// What changed; `None` stores the new review without a re-evaluation record (a new rule
    /// version that changed nothing).
    pub reevaluation: Option<Reevaluation>,
    /// The canonical ledger entry of the re-review.
    pub ledger_entry: String,
}

/// A stored re-review: its ledger receipt and the re-evaluation record, if one was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReReview {
    pub proposal_id: String,
    pub receipt: AppendReceipt,
    pub reevaluation: Option<StoredReevaluation>,
}

/// A stored re-evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReevaluation {
    pub id: i64,
    pub proposal_id: String,
    #[serde(flatten)]
    pub reevaluation: Reevaluation,
    pub ledger_index: u64,
    /// Microseconds since the Unix epoch.
    pub at: i64,
}

/// Proposals and their reviews. Every method is one statement or one transaction.
#[async_trait::async_trait]
pub trait ProposalStore {
    /// Stores reviewed proposals in one transaction, each with its ledger entry; a proposal
    /// stored before under the same id is replaced (its creation time kept). Returns them as
    /// stored, in input order, with their ledger receipts.
    async fn store_proposals(
        &self,
        items: &[ReviewedProposal],
    ) -> Result<Vec<(StoredProposal, AppendReceipt)>, StoreError>;

    /// Stores one reviewed proposal with its ledger entry (see [`Self::store_proposals`]).
    async fn store_proposal(
        &self,
        item: &ReviewedProposal,
    ) -> Result<(StoredProposal, AppendReceipt), StoreError> {
        self.store_proposals(std::slice::from_ref(item))
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("storing one proposal returned none".into()))
    }

    /// One proposal; [`StoreError::NotFound`] if there is none with that id.
    async fn proposal(&self, id: &str) -> Result<StoredProposal, StoreError>;

    /// Where a proposal stands in the workflow; [`StoreError::NotFound`] if there is none.
    async fn proposal_workflow(&self, id: &str) -> Result<WorkflowState, StoreError>;

    /// Stores one workflow step with its ledger entry (see [`WorkflowStep`]).
    async fn record_workflow_step(
        &self,
        step: &WorkflowStep,
    ) -> Result<(StoredEvent, AppendReceipt), StoreError>;

    /// Every step taken on a proposal, oldest first.
    async fn proposal_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError>;

    /// Designated proposals (the program's catalogue), by id, after `after`, at most `limit`.
    async fn designated_proposals(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProposalSummary>, StoreError>;

    /// Whether `org` is consulted on proposal `id`.
    async fn consulted_on(&self, id: &str, org: &str) -> Result<bool, StoreError>;

    /// Stored proposals by id, after `after`, at most `limit`; only `owner`'s if given.
    async fn proposals(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProposalSummary>, StoreError>;

    /// The party keys of stored proposals by id, after `after`, at most `limit`; with
    /// `not_checked_on`, only those whose parties were not yet compared on that snapshot.
    async fn proposal_party_keys(
        &self,
        not_checked_on: Option<i64>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProposalKeys>, StoreError>;

    /// Records that the parties of these proposals have the same hits on `snapshot_id` as in
    /// their stored reviews. Returns how many rows were marked.
    async fn mark_proposals_checked(
        &self,
        ids: &[String],
        snapshot_id: i64,
    ) -> Result<u64, StoreError>;

    /// Stored proposals whose last review used another rulebook or program-rules version, by
    /// id, after `after`, at most `limit`.
    async fn proposals_under_other_rules(
        &self,
        rulebook_version: &str,
        program_rules_version: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredProposal>, StoreError>;

    /// Stores re-reviews in one transaction: each new review replaces the stored one (only
    /// if the row still holds the review it replaces), with its re-evaluation record and its
    /// ledger entry. Returns what was stored, in input order; a re-review whose proposal
    /// changed meanwhile is left out (nothing of it is stored, not even its ledger entry).
    async fn record_rereviews(&self, items: &[ReReview])
        -> Result<Vec<StoredReReview>, StoreError>;

    /// The re-evaluations of one proposal, oldest first; [`StoreError::NotFound`] if the
    /// proposal is unknown.
    async fn reevaluations(&self, proposal_id: &str)
        -> Result<Vec<StoredReevaluation>, StoreError>;
}

/// SHA-256 of a text, lower-case hex: the digest of a review (`review_digest`) and of a
/// proposal's input, as the ledger entry of a review holds them.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn status_col(s: &str) -> Result<Status, StoreError> {
    s.parse()
        .map_err(|e: String| StoreError::Corrupt(format!("proposals.status: {e}")))
}

fn opinion_col(s: Option<String>) -> Result<Option<Opinion>, StoreError> {
    s.map(|s| {
        s.parse().map_err(|e: String| {
            StoreError::Corrupt(format!("proposal_consultations.opinion: {e}"))
        })
    })
    .transpose()
}

fn index_col(v: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{column} is negative ({v})")))
}

fn index_bind(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("ledger index {v}")))
}

fn json_col<T: serde::de::DeserializeOwned>(
    what: &str,
    id: &str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Corrupt(format!("{what} of proposal {id:?} is not valid: {e}")))
}

fn to_json<T: Serialize + ?Sized>(what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| StoreError::Corrupt(format!("{what} does not serialise: {e}")))
}

const SUMMARY_COLUMNS: &str =
    "id, owner_org, status, consortium, date, verdict, list_snapshot_id, ledger_index, created_at, updated_at";
const PROPOSAL_COLUMNS: &str = "id, consortium, date, verdict, input, review, review_digest, parties, list_snapshot_id, checked_snapshot_id, rulebook_version, program_rules_version, ledger_index, created_at, updated_at, owner_org, status";
const REEVALUATION_COLUMNS: &str =
    "id, proposal_id, trigger_kind, from_version, to_version, changes, ledger_index, at";

/// One implementation for both backends, expanded once per backend into its own module.
/// `$ledger` is the ledger module of the same backend (its `append_in_tx`), `$begin` begins a
/// transaction that may append to the ledger.
macro_rules! proposal_store_impl {
    ($module:ident, $store:ty, $db:ty, $begin:path, $ledger:ident) => {
        mod $module {
            use super::*;

            type DbRow = <$db as sqlx::Database>::Row;
            type Builder<'a> = sqlx::QueryBuilder<'a, $db>;

            fn summary_row(r: &DbRow) -> Result<ProposalSummary, StoreError> {
                Ok(ProposalSummary {
                    id: r.try_get("id")?,
                    owner_org: r.try_get("owner_org")?,
                    status: status_col(&r.try_get::<String, _>("status")?)?,
                    consortium: r.try_get("consortium")?,
                    date: r.try_get("date")?,
                    verdict: r.try_get("verdict")?,
                    list_snapshot_id: r.try_get("list_snapshot_id")?,
                    ledger_index: index_col(r.try_get("ledger_index")?, "proposals.ledger_index")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn proposal_row(r: &DbRow) -> Result<StoredProposal, StoreError> {
                let id: String = r.try_get("id")?;
                let parties = json_col("parties", &id, &r.try_get::<String, _>("parties")?)?;
                Ok(StoredProposal {
                    record: ProposalRecord {
                        consortium: r.try_get("consortium")?,
                        date: r.try_get("date")?,
                        verdict: r.try_get("verdict")?,
                        input: r.try_get("input")?,
                        review: r.try_get("review")?,
                        parties,
                        list_snapshot_id: r.try_get("list_snapshot_id")?,
                        rulebook_version: r.try_get("rulebook_version")?,
                        program_rules_version: r.try_get("program_rules_version")?,
                        owner_org: r.try_get("owner_org")?,
                        id,
                    },
                    status: status_col(&r.try_get::<String, _>("status")?)?,
                    review_digest: r.try_get("review_digest")?,
                    checked_snapshot_id: r.try_get("checked_snapshot_id")?,
                    ledger_index: index_col(r.try_get("ledger_index")?, "proposals.ledger_index")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn reevaluation_row(r: &DbRow) -> Result<StoredReevaluation, StoreError> {
                let proposal_id: String = r.try_get("proposal_id")?;
                let changes = json_col("re-evaluation changes", &proposal_id, &r.try_get::<String, _>("changes")?)?;
                Ok(StoredReevaluation {
                    id: r.try_get("id")?,
                    reevaluation: Reevaluation {
                        trigger: ReevaluationTrigger::parse(&r.try_get::<String, _>("trigger_kind")?)?,
                        from_version: r.try_get("from_version")?,
                        to_version: r.try_get("to_version")?,
                        changes,
                    },
                    proposal_id,
                    ledger_index: index_col(r.try_get("ledger_index")?, "proposal_reevaluations.ledger_index")?,
                    at: r.try_get("at")?,
                })
            }

            /// Keyset pagination by id; `filtered` says whether the query has a `WHERE` already.
            fn page(qb: &mut Builder<'_>, filtered: bool, after: Option<&str>, limit: u32) {
                if let Some(after) = after {
                    qb.push(if filtered { " AND " } else { " WHERE " }).push("id > ").push_bind(after.to_string());
                }
                qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
            }

            #[async_trait::async_trait]
            impl ProposalStore for $store {
                async fn store_proposals(&self, items: &[ReviewedProposal]) -> Result<Vec<(StoredProposal, AppendReceipt)>, StoreError> {
                    if items.is_empty() {
                        return Ok(Vec::new());
                    }
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    let entries: Vec<String> = items.iter().map(|i| i.ledger_entry.clone()).collect();
                    let receipts = crate::ledger::$ledger::append_in_tx(&mut *tx, &entries).await?;
                    let mut out = Vec::with_capacity(items.len());
                    for (item, receipt) in items.iter().zip(receipts) {
                        let r = &item.record;
                        let digest = sha256_hex(&r.review);
                        let mut qb = Builder::new(format!("INSERT INTO proposals ({PROPOSAL_COLUMNS}) VALUES ("));
                        let mut v = qb.separated(", ");
                        v.push_bind(r.id.as_str())
                            .push_bind(r.consortium.as_str())
                            .push_bind(r.date.as_str())
                            .push_bind(r.verdict.as_str())
                            .push_bind(r.input.as_str())
                            .push_bind(r.review.as_str())
                            .push_bind(digest.as_str())
                            .push_bind(to_json("party keys", &r.parties)?)
                            .push_bind(r.list_snapshot_id)
                            .push_bind(r.list_snapshot_id)
                            .push_bind(r.rulebook_version.as_str())
                            .push_bind(r.program_rules_version.as_str())
                            .push_bind(index_bind(receipt.index)?)
                            .push_bind(at)
                            .push_bind(at)
                            .push_bind(r.owner_org.as_deref())
                            .push_bind(item.status.as_str());
                        // Stored again under the same id: replaced, created_at kept; only by
                        // the organisation that stored it (no row comes back otherwise).
                        qb.push(
                            ") ON CONFLICT (id) DO UPDATE SET consortium = excluded.consortium, date = excluded.date, verdict = excluded.verdict, \
                             input = excluded.input, review = excluded.review, review_digest = excluded.review_digest, parties = excluded.parties, \
                             list_snapshot_id = excluded.list_snapshot_id, checked_snapshot_id = excluded.checked_snapshot_id, \
                             rulebook_version = excluded.rulebook_version, program_rules_version = excluded.program_rules_version, \
                             ledger_index = excluded.ledger_index, updated_at = excluded.updated_at, status = excluded.status \
                             WHERE proposals.owner_org IS NOT DISTINCT FROM excluded.owner_org \
                             AND proposals.status IN ('draft', 'submitted', 'withdrawn') RETURNING created_at",
                        );
                        let Some(row) = qb.build().fetch_optional(&mut *tx).await? else {
                            // Not replaced: another organisation's id, or one under review or decided.
                            let mut q = Builder::new("SELECT owner_org, status FROM proposals WHERE id = ");
                            q.push_bind(r.id.as_str());
                            let held = q.build().fetch_one(&mut *tx).await?;
                            let owner: Option<String> = held.try_get("owner_org")?;
                            let status: String = held.try_get("status")?;
                            return Err(if owner != r.owner_org {
                                StoreError::Conflict(format!("the proposal id {:?} is taken; choose another id", r.id))
                            } else {
                                StoreError::Conflict(format!("locked: proposal {:?} is {status} and cannot be replaced", r.id))
                            });
                        };
                        let created_at: i64 = row.try_get(0)?;
                        out.push((
                            StoredProposal {
                                record: r.clone(),
                                status: item.status,
                                review_digest: digest,
                                checked_snapshot_id: r.list_snapshot_id,
                                ledger_index: receipt.index,
                                created_at,
                                updated_at: at,
                            },
                            receipt,
                        ));
                    }
                    tx.commit().await?;
                    Ok(out)
                }

                async fn proposal(&self, id: &str) -> Result<StoredProposal, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE id = "));
                    qb.push_bind(id);
                    let row = qb.build().fetch_optional(&self.pool).await?.ok_or_else(|| StoreError::NotFound(format!("proposal {id:?}")))?;
                    proposal_row(&row)
                }

                async fn proposal_workflow(&self, id: &str) -> Result<WorkflowState, StoreError> {
                    let mut qb = Builder::new("SELECT status, owner_org, review_opened_by FROM proposals WHERE id = ");
                    qb.push_bind(id);
                    let row = qb.build().fetch_optional(&self.pool).await?.ok_or_else(|| StoreError::NotFound(format!("proposal {id:?}")))?;
                    let mut qb = Builder::new("SELECT agency_org, opinion, reason, answered_at FROM proposal_consultations WHERE proposal_id = ");
                    qb.push_bind(id).push(" ORDER BY agency_org");
                    let consulted = qb
                        .build()
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|r| {
                            Ok(Consultation {
                                agency_org: r.try_get("agency_org")?,
                                opinion: opinion_col(r.try_get("opinion")?)?,
                                reason: r.try_get("reason")?,
                                answered_at: r.try_get("answered_at")?,
                            })
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    Ok(WorkflowState {
                        status: status_col(&row.try_get::<String, _>("status")?)?,
                        owner_org: row.try_get("owner_org")?,
                        review_opened_by: row.try_get("review_opened_by")?,
                        consulted,
                    })
                }

                async fn record_workflow_step(&self, step: &WorkflowStep) -> Result<(StoredEvent, AppendReceipt), StoreError> {
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    // Compare and set: the step applies to the state it was decided on.
                    let mut qb = Builder::new("UPDATE proposals SET status = ");
                    qb.push_bind(step.to.as_str());
                    if let Some(by) = &step.opened_by {
                        qb.push(", review_opened_by = ").push_bind(by.as_str());
                    }
                    qb.push(" WHERE id = ").push_bind(step.proposal_id.as_str()).push(" AND status = ").push_bind(step.from.as_str());
                    if qb.build().execute(&mut *tx).await?.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!(
                            "proposal {:?} is no longer {}: another step was taken meanwhile", step.proposal_id, step.from
                        )));
                    }
                    for agency in &step.consult {
                        let mut qb = Builder::new("INSERT INTO proposal_consultations (proposal_id, agency_org) VALUES (");
                        qb.push_bind(step.proposal_id.as_str()).push(", ").push_bind(agency.as_str()).push(")");
                        qb.build().execute(&mut *tx).await.map_err(|e| match &e {
                            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                                StoreError::NotFound(format!("organisation {agency:?}"))
                            }
                            _ => StoreError::Database(e),
                        })?;
                    }
                    if let Some((agency, opinion, reason)) = &step.opinion {
                        let mut qb = Builder::new("UPDATE proposal_consultations SET opinion = ");
                        qb.push_bind(opinion.as_str()).push(", reason = ").push_bind(reason.as_str()).push(", answered_at = ").push_bind(at)
                            .push(" WHERE proposal_id = ").push_bind(step.proposal_id.as_str()).push(" AND agency_org = ").push_bind(agency.as_str());
                        if qb.build().execute(&mut *tx).await?.rows_affected() != 1 {
                            return Err(StoreError::NotFound(format!("consultation of {agency:?} on {:?}", step.proposal_id)));
                        }
                    }
                    let receipts = crate::ledger::$ledger::append_in_tx(&mut *tx, std::slice::from_ref(&step.ledger_entry)).await?;
                    let receipt = receipts.into_iter().next().ok_or_else(|| StoreError::Corrupt("no ledger receipt".into()))?;
                    let detail = to_json("workflow detail", &step.detail)?;
                    let mut qb = Builder::new("INSERT INTO proposal_events (proposal_id, step, from_status, to_status, actor_user, actor_org, detail, at, ledger_index) VALUES (");
                    let mut v = qb.separated(", ");
                    v.push_bind(step.proposal_id.as_str())
                        .push_bind(step.step.as_str())
                        .push_bind(step.from.as_str())
                        .push_bind(step.to.as_str())
                        .push_bind(step.actor_user.as_str())
                        .push_bind(step.actor_org.as_str())
                        .push_bind(detail.as_str())
                        .push_bind(at)
                        .push_bind(index_bind(receipt.index)?);
                    qb.push(") RETURNING id");
                    let id: i64 = qb.build().fetch_one(&mut *tx).await?.try_get(0)?;
                    tx.commit().await?;
                    Ok((
                        StoredEvent {
                            id,
                            proposal_id: step.proposal_id.clone(),
                            step: step.step.clone(),
                            from_status: step.from,
                            to_status: step.to,
                            actor_user: step.actor_user.clone(),
                            actor_org: step.actor_org.clone(),
                            detail: step.detail.clone(),
                            at,
                            ledger_index: receipt.index,
                        },
                        receipt,
                    ))
                }

                async fn proposal_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
                    let mut qb = Builder::new("SELECT id, proposal_id, step, from_status, to_status, actor_user, actor_org, detail, at, ledger_index FROM proposal_events WHERE proposal_id = ");
                    qb.push_bind(id).push(" ORDER BY id");
                    qb.build()
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|r| {
                            let proposal_id: String = r.try_get("proposal_id")?;
                            Ok(StoredEvent {
                                id: r.try_get("id")?,
                                step: r.try_get("step")?,
                                from_status: status_col(&r.try_get::<String, _>("from_status")?)?,
                                to_status: status_col(&r.try_get::<String, _>("to_status")?)?,
                                actor_user: r.try_get("actor_user")?,
                                actor_org: r.try_get("actor_org")?,
                                detail: json_col("workflow detail", &proposal_id, &r.try_get::<String, _>("detail")?)?,
                                at: r.try_get("at")?,
                                ledger_index: index_col(r.try_get("ledger_index")?, "proposal_events.ledger_index")?,
                                proposal_id,
                            })
                        })
                        .collect()
                }

                async fn designated_proposals(&self, after: Option<&str>, limit: u32) -> Result<Vec<ProposalSummary>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {SUMMARY_COLUMNS} FROM proposals WHERE status = 'designated'"));
                    page(&mut qb, true, after, limit);
                    qb.build().fetch_all(&self.pool).await?.iter().map(summary_row).collect()
                }

                async fn consulted_on(&self, id: &str, org: &str) -> Result<bool, StoreError> {
                    let mut qb = Builder::new("SELECT COUNT(*) FROM proposal_consultations WHERE proposal_id = ");
                    qb.push_bind(id).push(" AND agency_org = ").push_bind(org);
                    let n: i64 = qb.build().fetch_one(&self.pool).await?.try_get(0)?;
                    Ok(n > 0)
                }

                async fn proposals(&self, owner: Option<&str>, after: Option<&str>, limit: u32) -> Result<Vec<ProposalSummary>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {SUMMARY_COLUMNS} FROM proposals"));
                    if let Some(owner) = owner {
                        qb.push(" WHERE owner_org = ").push_bind(owner);
                    }
                    page(&mut qb, owner.is_some(), after, limit);
                    qb.build().fetch_all(&self.pool).await?.iter().map(summary_row).collect()
                }

                async fn proposal_party_keys(&self, not_checked_on: Option<i64>, after: Option<&str>, limit: u32) -> Result<Vec<ProposalKeys>, StoreError> {
                    let mut qb = Builder::new("SELECT id, ledger_index, parties FROM proposals");
                    if let Some(s) = not_checked_on {
                        qb.push(" WHERE checked_snapshot_id <> ").push_bind(s);
                    }
                    page(&mut qb, not_checked_on.is_some(), after, limit);
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| {
                            let id: String = r.try_get("id")?;
                            Ok(ProposalKeys {
                                parties: json_col("parties", &id, &r.try_get::<String, _>("parties")?)?,
                                ledger_index: index_col(r.try_get("ledger_index")?, "proposals.ledger_index")?,
                                id,
                            })
                        })
                        .collect()
                }

                async fn mark_proposals_checked(&self, ids: &[String], snapshot_id: i64) -> Result<u64, StoreError> {
                    let mut marked = 0;
                    for chunk in ids.chunks(crate::IDS_PER_LIST) {
                        let mut qb = Builder::new("UPDATE proposals SET checked_snapshot_id = ");
                        qb.push_bind(snapshot_id).push(" WHERE id ");
                        crate::push_id_list(&mut qb, chunk);
                        marked += qb.build().execute(&self.pool).await?.rows_affected();
                    }
                    Ok(marked)
                }

                async fn proposals_under_other_rules(&self, rulebook_version: &str, program_rules_version: &str, after: Option<&str>, limit: u32) -> Result<Vec<StoredProposal>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE (rulebook_version <> "));
                    qb.push_bind(rulebook_version).push(" OR program_rules_version <> ").push_bind(program_rules_version).push(")");
                    page(&mut qb, true, after, limit);
                    qb.build().fetch_all(&self.pool).await?.iter().map(proposal_row).collect()
                }

                async fn record_rereviews(&self, items: &[ReReview]) -> Result<Vec<StoredReReview>, StoreError> {
                    if items.is_empty() {
                        return Ok(Vec::new());
                    }
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    // The new reviews first, each only where the row still holds the review it
                    // replaces; then the ledger entries of those stored, then their indexes.
                    let mut applied = Vec::with_capacity(items.len());
                    for item in items {
                        let r = &item.record;
                        let mut qb = Builder::new("UPDATE proposals SET ");
                        let mut set = qb.separated(", ");
                        set.push("verdict = ").push_bind_unseparated(r.verdict.as_str());
                        set.push("review = ").push_bind_unseparated(r.review.as_str());
                        set.push("review_digest = ").push_bind_unseparated(sha256_hex(&r.review));
                        set.push("parties = ").push_bind_unseparated(to_json("party keys", &r.parties)?);
                        set.push("list_snapshot_id = ").push_bind_unseparated(r.list_snapshot_id);
                        set.push("checked_snapshot_id = ").push_bind_unseparated(r.list_snapshot_id);
                        set.push("rulebook_version = ").push_bind_unseparated(r.rulebook_version.as_str());
                        set.push("program_rules_version = ").push_bind_unseparated(r.program_rules_version.as_str());
                        set.push("updated_at = ").push_bind_unseparated(at);
                        qb.push(" WHERE id = ").push_bind(r.id.as_str()).push(" AND ledger_index = ").push_bind(index_bind(item.replaces)?);
                        if qb.build().execute(&mut *tx).await?.rows_affected() == 1 {
                            applied.push(item);
                        }
                    }
                    let entries: Vec<String> = applied.iter().map(|i| i.ledger_entry.clone()).collect();
                    let receipts = crate::ledger::$ledger::append_in_tx(&mut *tx, &entries).await?;
                    let mut out = Vec::with_capacity(applied.len());
                    for (item, receipt) in applied.into_iter().zip(receipts) {
                        let id = item.record.id.as_str();
                        let index = index_bind(receipt.index)?;
                        let mut qb = Builder::new("UPDATE proposals SET ledger_index = ");
                        qb.push_bind(index).push(" WHERE id = ").push_bind(id);
                        qb.build().execute(&mut *tx).await?;
                        let reevaluation = match &item.reevaluation {
                            None => None,
                            Some(re) => {
                                let mut qb = Builder::new("INSERT INTO proposal_reevaluations (proposal_id, trigger_kind, from_version, to_version, changes, ledger_index, at) VALUES (");
                                let mut v = qb.separated(", ");
                                v.push_bind(id)
                                    .push_bind(re.trigger.as_str())
                                    .push_bind(re.from_version.as_deref())
                                    .push_bind(re.to_version.as_str())
                                    .push_bind(to_json("re-evaluation changes", &re.changes)?)
                                    .push_bind(index)
                                    .push_bind(at);
                                qb.push(") RETURNING id");
                                let rid: i64 = qb.build().fetch_one(&mut *tx).await?.try_get(0)?;
                                Some(StoredReevaluation { id: rid, proposal_id: id.to_string(), reevaluation: re.clone(), ledger_index: receipt.index, at })
                            }
                        };
                        out.push(StoredReReview { proposal_id: id.to_string(), receipt, reevaluation });
                    }
                    tx.commit().await?;
                    Ok(out)
                }

                async fn reevaluations(&self, proposal_id: &str) -> Result<Vec<StoredReevaluation>, StoreError> {
                    let mut qb = Builder::new("SELECT COUNT(*) FROM proposals WHERE id = ");
                    qb.push_bind(proposal_id);
                    let n: i64 = qb.build().fetch_one(&self.pool).await?.try_get(0)?;
                    if n == 0 {
                        return Err(StoreError::NotFound(format!("proposal {proposal_id:?}")));
                    }
                    let mut qb = Builder::new(format!("SELECT {REEVALUATION_COLUMNS} FROM proposal_reevaluations WHERE proposal_id = "));
                    qb.push_bind(proposal_id).push(" ORDER BY id");
                    qb.build().fetch_all(&self.pool).await?.iter().map(reevaluation_row).collect()
                }
            }
        }
    };
}

proposal_store_impl!(
    sqlite_proposals,
    SqliteStore,
    sqlx::Sqlite,
    sqlite_begin,
    sqlite_impl
);
proposal_store_impl!(pg_proposals, PgStore, sqlx::Postgres, pg_begin, pg_impl);
