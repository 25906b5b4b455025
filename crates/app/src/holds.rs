//! The review queue and holds (issue 11, item 4; rules in `stackport_program::holds`).
//!
//! When a proposal is stored, every hit of its parties becomes a review item of the proposal's
//! organisation, unless the same party and list entry were decided a false match before (then
//! the item is stored cleared, `remembered`). A proposal with an open item is held; Commerce
//! cannot designate it while the hold is in force. A reviewer decides each item; a second
//! person releases the hold once none of its items is open or a true match, after someone
//! asked for the release. Decisions and releases go to the ledger with their actors.

use std::collections::HashSet;
use std::sync::Arc;

use stackport_identity::policy::{decide, decide_on, reads_across, Action, Principal};
use stackport_ledger::DecisionKind;
use stackport_program::holds::{self, MatchDecision};
use stackport_program::Review;
use stackport_store::{HoldRecord, ItemDecision, ReviewItem, Storage, StoreError};

use crate::ledger::DecisionLedger;
use crate::AppError;

/// Stores the review items of a just-stored proposal and holds it if any is open.
pub async fn queue_proposal(
    store: &Arc<dyn Storage>,
    owner: &str,
    review: &Review,
) -> Result<usize, AppError> {
    let remembered: HashSet<(String, String)> = store
        .remembered_false_matches(owner)
        .await?
        .into_iter()
        .collect();
    let now = stackport_store::timestamp::now_micros();
    let mut items = Vec::new();
    for party in &review.parties {
        let party_key = holds::party_key(&party.name, party.country.as_deref());
        for hit in &party.hits {
            let match_key = holds::match_key(&hit.entity, &hit.name);
            let cleared = remembered.contains(&(party_key.clone(), match_key.clone()));
            items.push(ReviewItem {
                id: stackport_identity::new_id("rvw"),
                owner_org: owner.to_string(),
                proposal_id: review.id.clone(),
                party: party.party.clone(),
                party_name: party.name.clone(),
                party_key: party_key.clone(),
                entity_id: hit.entity.clone(),
                entity_name: hit.name.clone(),
                match_key,
                list: hit.list.clone(),
                score: hit.score,
                status: if cleared { "false_match" } else { "open" }.into(),
                remembered: cleared,
                reason_code: cleared.then(|| "remembered".to_string()),
                note: None,
                decided_by: None,
                decided_at: cleared.then_some(now),
                ledger_index: None,
                created_at: now,
            });
        }
    }
    let open = items.iter().filter(|i| i.status == "open").count();
    let hold = (open > 0).then(|| HoldRecord {
        id: stackport_identity::new_id("hld"),
        owner_org: owner.to_string(),
        subject_kind: "proposal".into(),
        subject_id: review.id.clone(),
        reason: format!("{open} potential match(es) of its parties under review"),
        status: "held".into(),
        placed_at: now,
        requested_by: None,
        request_reason: None,
        released_by: None,
        release_reason: None,
        released_at: None,
        ledger_index: None,
    });
    let placed = store
        .record_review_items(&review.id, &items, hold.as_ref())
        .await?;
    if let (true, Some(h)) = (placed, &hold) {
        crate::webhooks::emit(
            store,
            owner,
            "hold.placed",
            serde_json::json!({ "hold": h.id, "subject": { "kind": h.subject_kind, "id": h.subject_id }, "reason": h.reason }),
        )
        .await;
    }
    Ok(open)
}

pub struct ReviewService {
    store: Arc<dyn Storage>,
    ledger: Arc<DecisionLedger>,
}

fn entry(
    p: &Principal,
    inputs: serde_json::Value,
    outputs: serde_json::Value,
) -> Result<String, AppError> {
    Ok(crate::ledger::decided_by(
        DecisionKind::ScreeningReview,
        p,
        inputs,
        outputs,
    )?)
}

fn transition(e: StoreError, code: &'static str) -> AppError {
    match AppError::from(e) {
        AppError::Conflict { message, .. } => AppError::Conflict { code, message },
        other => other,
    }
}

impl ReviewService {
    pub fn new(store: Arc<dyn Storage>, ledger: Arc<DecisionLedger>) -> Self {
        Self { store, ledger }
    }

    /// The caller's organisation's items (every organisation's for overseers), of `status`.
    pub async fn items(
        &self,
        p: &Principal,
        status: Option<&str>,
    ) -> Result<Vec<ReviewItem>, AppError> {
        let owner = (!reads_across(p, Action::ReadReviewQueue)).then_some(p.org.as_str());
        Ok(self.store.review_items(owner, status).await?)
    }

    /// A reviewer of the item's organisation decides it.
    pub async fn decide_item(
        &self,
        p: &Principal,
        id: &str,
        decision: MatchDecision,
        reason_code: &str,
        note: &str,
    ) -> Result<ReviewItem, AppError> {
        let missing = || AppError::NotFound(format!("review item {id:?}"));
        let item = match self.store.review_item(id).await {
            Ok(i) => i,
            Err(StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        if !decide_on(p, Action::ReadReviewQueue, Some(&item.owner_org)).allowed() {
            return Err(missing());
        }
        if item.owner_org != p.org || !decide(p, Action::DecideMatch).allowed() {
            return Err(AppError::Forbidden(
                "a reviewer of the party's organisation decides its matches".into(),
            ));
        }
        if !holds::reason_allowed(decision, reason_code) {
            return Err(AppError::Invalid {
                code: "invalid_reason_code",
                message: format!(
                    "reason_code: {reason_code:?} is not a reason for a {} (expected one of {})",
                    decision.as_str(),
                    match decision {
                        MatchDecision::FalseMatch => holds::FALSE_MATCH_REASONS.join(", "),
                        MatchDecision::TrueMatch => holds::TRUE_MATCH_REASONS.join(", "),
                    }
                ),
            });
        }
        let e = entry(
            p,
            serde_json::json!({ "review_item": id, "proposal": item.proposal_id, "party": item.party,
                "party_name": item.party_name, "entity": item.entity_id, "list": item.list, "score": item.score,
                "reason_code": reason_code, "note": note }),
            serde_json::json!({ "decision": decision.as_str() }),
        )?;
        let decided = self
            .store
            .decide_review_item(&ItemDecision {
                item_id: id.to_string(),
                decision: decision.as_str().to_string(),
                reason_code: reason_code.to_string(),
                note: note.to_string(),
                decided_by: p.user.clone(),
                ledger_entry: e,
            })
            .await
            .map_err(|e| transition(e, "invalid_transition"))?;
        self.ledger.note_appended(1);
        Ok(decided)
    }

    pub async fn holds(&self, p: &Principal) -> Result<Vec<HoldRecord>, AppError> {
        let owner = (!reads_across(p, Action::ReadReviewQueue)).then_some(p.org.as_str());
        Ok(self.store.holds(owner).await?)
    }

    async fn own_hold(
        &self,
        p: &Principal,
        id: &str,
        action: Action,
    ) -> Result<HoldRecord, AppError> {
        let missing = || AppError::NotFound(format!("hold {id:?}"));
        let hold = match self.store.hold(id).await {
            Ok(h) => h,
            Err(StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        if !decide_on(p, Action::ReadReviewQueue, Some(&hold.owner_org)).allowed() {
            return Err(missing());
        }
        if hold.owner_org != p.org || !decide(p, action).allowed() {
            return Err(AppError::Forbidden(
                "the hold's own organisation releases it".into(),
            ));
        }
        Ok(hold)
    }

    /// Someone of the hold's organisation asks for its release (the first of the four eyes).
    pub async fn request_release(
        &self,
        p: &Principal,
        id: &str,
        reason: &str,
    ) -> Result<HoldRecord, AppError> {
        self.own_hold(p, id, Action::RequestRelease).await?;
        self.store
            .request_release(id, &p.user, reason)
            .await
            .map_err(|e| transition(e, "invalid_transition"))
    }

    /// Another person releases it, once none of its matches is open or true.
    pub async fn release(
        &self,
        p: &Principal,
        id: &str,
        reason: &str,
    ) -> Result<HoldRecord, AppError> {
        let hold = self.own_hold(p, id, Action::ReleaseHold).await?;
        let (open, true_matches) = self.store.proposal_item_counts(&hold.subject_id).await?;
        holds::may_release(
            &hold.status,
            hold.requested_by.as_deref(),
            &p.user,
            open,
            true_matches,
        )
        .map_err(|e| match e.code() {
            "four_eyes" => AppError::Forbidden(e.to_string()),
            code => AppError::Conflict {
                code,
                message: e.to_string(),
            },
        })?;
        let e = entry(
            p,
            serde_json::json!({ "hold": id, "subject": { "kind": hold.subject_kind, "id": hold.subject_id },
                "requested_by": hold.requested_by, "reason": reason }),
            serde_json::json!({ "status": "released" }),
        )?;
        let released = self
            .store
            .release_hold(id, &p.user, reason, &e)
            .await
            .map_err(|e| transition(e, "invalid_transition"))?;
        self.ledger.note_appended(1);
        Ok(released)
    }
}
