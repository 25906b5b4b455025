//! Financing requests (issue 11, item 3): a consortium asks a federal lender to finance a
//! designated package; the lender sees the requests made to it, each with its readiness, and
//! approves only a ready one.
//!
//! Readiness is EXIM's condition for its AI export financing
//! (`shared/reference/export-controls.md` §9.4): every item of the package that needs a licence
//! has a valid one before financing. It is computed when asked, from the stored review (each
//! item whose outcome is `license_required`, with its ECCN and destination) and the owner's
//! licence master (a licence of kind `licence`, valid today, covering the ECCN and the
//! destination), so a licence recorded later makes a request ready without touching it.

use std::sync::Arc;

use stackport_identity::policy::{decide, decide_on, reads_across, Action, Principal};
use stackport_identity::OrgKind;
use stackport_ledger::DecisionKind;
use stackport_program::workflow::Status;
use stackport_store::{FinancingRecord, LicenceRecord, Storage, StoreError};

use crate::ledger::DecisionLedger;
use crate::proposals::ProposalService;
use crate::AppError;

/// The instruments the program's lenders offer (EXIM loans, guarantees and export credit
/// insurance; DFC loans, equity and political risk insurance; USTDA grants).
pub const INSTRUMENTS: [&str; 6] = [
    "direct_loan",
    "loan_guarantee",
    "export_credit_insurance",
    "equity",
    "political_risk_insurance",
    "grant",
];

/// An item that needs a licence and has none valid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingLicence {
    pub component: String,
    pub eccn: Option<String>,
    pub destination: String,
}

/// A request with its readiness now.
#[derive(Debug, Clone)]
pub struct FinancingView {
    pub request: FinancingRecord,
    pub ready: bool,
    pub missing_licences: Vec<MissingLicence>,
}

pub struct FinancingService {
    store: Arc<dyn Storage>,
    ledger: Arc<DecisionLedger>,
    proposals: Arc<ProposalService>,
}

fn entry(
    p: &Principal,
    inputs: serde_json::Value,
    outputs: serde_json::Value,
) -> Result<String, AppError> {
    Ok(crate::ledger::decided_by(
        DecisionKind::Financing,
        p,
        inputs,
        outputs,
    )?)
}

/// Whether `l` covers an item of `eccn` to `destination` on `today`.
fn covers(l: &LicenceRecord, eccn: &str, destination: &str, today: &str) -> bool {
    l.kind == "licence"
        && l.destination == destination
        && l.eccns.iter().any(|e| e == eccn)
        && l.valid_from.as_str() <= today
        && today <= l.valid_to.as_str()
        && l.value_limit.is_none_or(|v| l.value_used < v)
        && l.quantity_limit.is_none_or(|q| l.quantity_used < q)
}

impl FinancingService {
    pub fn new(
        store: Arc<dyn Storage>,
        ledger: Arc<DecisionLedger>,
        proposals: Arc<ProposalService>,
    ) -> Self {
        Self {
            store,
            ledger,
            proposals,
        }
    }

    /// The items of `request`'s proposal that need a licence and have none valid today.
    async fn missing(&self, request: &FinancingRecord) -> Result<Vec<MissingLicence>, AppError> {
        let stored = self.store.proposal(&request.proposal_id).await?;
        let review: serde_json::Value =
            serde_json::from_str(&stored.record.review).map_err(|e| {
                AppError::Corrupt(format!("stored review of {:?}: {e}", request.proposal_id))
            })?;
        let licences = self.store.licences(Some(&request.owner_org)).await?;
        let today = stackport_store::timestamp::now().date().to_string();
        let mut missing = Vec::new();
        for item in review["items"].as_array().into_iter().flatten() {
            if item["outcome"] != "license_required" {
                continue;
            }
            let eccn = item["eccn"].as_str().map(str::to_string);
            let destination = item["destination"].as_str().unwrap_or_default().to_string();
            let covered = eccn
                .as_deref()
                .is_some_and(|e| licences.iter().any(|l| covers(l, e, &destination, &today)));
            if !covered {
                missing.push(MissingLicence {
                    component: item["component"].as_str().unwrap_or_default().to_string(),
                    eccn,
                    destination,
                });
            }
        }
        Ok(missing)
    }

    async fn view(&self, request: FinancingRecord) -> Result<FinancingView, AppError> {
        let missing_licences = self.missing(&request).await?;
        Ok(FinancingView {
            ready: missing_licences.is_empty(),
            missing_licences,
            request,
        })
    }

    /// A consortium asks `lender_org` to finance its designated proposal.
    pub async fn request(
        &self,
        p: &Principal,
        proposal_id: &str,
        lender_org: &str,
        instrument: &str,
        amount_cents: i64,
    ) -> Result<FinancingView, AppError> {
        let stored = self.proposals.visible(p, proposal_id).await?;
        if stored.record.owner_org.as_deref() != Some(p.org.as_str())
            || !decide(p, Action::RequestFinancing).allowed()
        {
            return Err(AppError::Forbidden(format!(
                "only the consortium that submitted {proposal_id:?} asks for its financing"
            )));
        }
        if stored.status != Status::Designated {
            return Err(AppError::Conflict {
                code: "not_designated",
                message: format!(
                    "proposal {proposal_id:?} is {}; financing follows designation",
                    stored.status
                ),
            });
        }
        if !INSTRUMENTS.contains(&instrument) {
            return Err(AppError::Invalid {
                code: "invalid_request",
                message: format!(
                    "instrument: {instrument:?} is none of {}",
                    INSTRUMENTS.join(", ")
                ),
            });
        }
        if amount_cents <= 0 {
            return Err(AppError::Invalid {
                code: "invalid_parameter",
                message: "amount_usd: above zero".into(),
            });
        }
        let lender = self
            .store
            .organisation(lender_org)
            .await
            .ok()
            .filter(|o| o.kind == OrgKind::Lender);
        let Some(lender) = lender else {
            return Err(AppError::Invalid {
                code: "not_a_lender",
                message: format!("lender: {lender_org:?} is not an organisation of kind lender"),
            });
        };
        let record = FinancingRecord {
            id: stackport_identity::new_id("fin"),
            proposal_id: proposal_id.to_string(),
            owner_org: p.org.clone(),
            lender_org: lender.id.clone(),
            instrument: instrument.to_string(),
            amount: amount_cents,
            status: "requested".into(),
            reason: None,
            created_at: stackport_store::timestamp::now_micros(),
            decided_at: None,
            decided_by: None,
            ledger_index: 0,
            decision_ledger_index: None,
        };
        let e = entry(
            p,
            serde_json::json!({ "financing": record.id, "proposal": proposal_id, "lender": lender.id,
                "instrument": instrument, "amount_cents": amount_cents }),
            serde_json::json!({ "status": "requested" }),
        )?;
        let stored = self.store.create_financing(&record, &e).await?;
        self.ledger.note_appended(1);
        self.view(stored).await
    }

    /// A request the caller may see: its consortium's, its lender's, or any for overseers.
    async fn visible(&self, p: &Principal, id: &str) -> Result<FinancingRecord, AppError> {
        let missing = || AppError::NotFound(format!("financing request {id:?}"));
        let r = match self.store.financing(id).await {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        let sees = r.lender_org == p.org
            || decide_on(p, Action::ReadFinancing, Some(&r.owner_org)).allowed();
        if sees {
            Ok(r)
        } else {
            Err(missing())
        }
    }

    pub async fn get(&self, p: &Principal, id: &str) -> Result<FinancingView, AppError> {
        let r = self.visible(p, id).await?;
        self.view(r).await
    }

    /// The requests the caller may see: a lender those made to it, a consortium its own.
    pub async fn list(&self, p: &Principal) -> Result<Vec<FinancingView>, AppError> {
        let records = if reads_across(p, Action::ReadFinancing) {
            self.store.financing_requests(None, None).await?
        } else if p.org_kind == OrgKind::Lender {
            self.store.financing_requests(None, Some(&p.org)).await?
        } else {
            self.store.financing_requests(Some(&p.org), None).await?
        };
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(self.view(r).await?);
        }
        Ok(out)
    }

    /// The lender's decision: approval only of a ready request.
    pub async fn decide(
        &self,
        p: &Principal,
        id: &str,
        approve: bool,
        reason: &str,
    ) -> Result<FinancingView, AppError> {
        let r = self.visible(p, id).await?;
        if r.lender_org != p.org || !decide(p, Action::DecideFinancing).allowed() {
            return Err(AppError::Forbidden(format!(
                "only the lender asked decides financing request {id:?}"
            )));
        }
        let view = self.view(r).await?;
        if approve && !view.ready {
            return Err(AppError::Conflict {
                code: "not_ready",
                message: format!(
                    "{} item(s) need a licence and have none valid: {}",
                    view.missing_licences.len(),
                    view.missing_licences
                        .iter()
                        .map(|m| format!(
                            "{} ({} to {})",
                            m.component,
                            m.eccn.as_deref().unwrap_or("?"),
                            m.destination
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let status = if approve { "approved" } else { "declined" };
        let e = entry(
            p,
            serde_json::json!({ "financing": id, "proposal": view.request.proposal_id, "reason": reason,
                "ready": view.ready }),
            serde_json::json!({ "status": status }),
        )?;
        let decided = self
            .store
            .decide_financing(id, status, reason, &p.user, &e)
            .await
            .map_err(|err| match AppError::from(err) {
                AppError::Conflict { message, .. } => AppError::Conflict {
                    code: "invalid_transition",
                    message,
                },
                other => other,
            })?;
        self.ledger.note_appended(1);
        crate::webhooks::emit(
            &self.store,
            &decided.owner_org,
            "financing.decided",
            serde_json::json!({ "financing": decided.id, "proposal": decided.proposal_id, "status": decided.status }),
        )
        .await;
        self.view(decided).await
    }
}
