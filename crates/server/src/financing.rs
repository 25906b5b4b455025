//! Financing requests over HTTP (issue 11, item 3): a consortium asks a lender to finance its
//! designated package; the lender sees each request with its readiness (every item that needs
//! a licence has a valid one) and approves only a ready one.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use stackport_app::financing::{FinancingService, FinancingView, MissingLicence, INSTRUMENTS};
use stackport_app::registry::rfc3339;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{Json, Path};
use crate::ApiError;

#[derive(OpenApi)]
#[openapi(
    components(schemas(FinancingResponse, FinancingList, FinancingRequestBody, FinancingDecisionBody, MissingLicence)),
    tags((name = "financing", description = "Financing requests to the program's lenders (EXIM, DFC, USTDA)"))
)]
pub struct FinancingApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct FinancingResponse {
    pub id: String,
    pub proposal: String,
    pub owner_org: String,
    pub lender_org: String,
    pub instrument: String,
    pub amount_usd: f64,
    /// requested, approved or declined.
    pub status: String,
    /// Every item that needs a licence has a valid one now (EXIM's condition).
    pub ready: bool,
    pub missing_licences: Vec<MissingLicence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    pub ledger_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_ledger_index: Option<u64>,
}

impl From<FinancingView> for FinancingResponse {
    fn from(v: FinancingView) -> Self {
        let r = v.request;
        Self {
            id: r.id,
            proposal: r.proposal_id,
            owner_org: r.owner_org,
            lender_org: r.lender_org,
            instrument: r.instrument,
            amount_usd: r.amount as f64 / 100.0,
            status: r.status,
            ready: v.ready,
            missing_licences: v.missing_licences,
            reason: r.reason,
            created_at: rfc3339(r.created_at),
            decided_at: r.decided_at.map(rfc3339),
            decided_by: r.decided_by,
            ledger_index: r.ledger_index,
            decision_ledger_index: r.decision_ledger_index,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinancingList {
    pub requests: Vec<FinancingResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinancingRequestBody {
    /// The lender's organisation id (an organisation of kind `lender`).
    #[schema(max_length = 200)]
    pub lender: String,
    #[schema(
        pattern = "^(direct_loan|loan_guarantee|export_credit_insurance|equity|political_risk_insurance|grant)$"
    )]
    pub instrument: String,
    #[schema(minimum = 0.01, maximum = 1e13)]
    pub amount_usd: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinancingDecisionBody {
    #[schema(pattern = "^(approve|decline)$")]
    pub decision: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

type Service = State<Arc<FinancingService>>;

/// Asks a lender to finance a designated proposal (its own consortium).
#[utoipa::path(post, path = "/v1/proposals/{id}/financing", tag = "financing", request_body = FinancingRequestBody,
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 201, body = FinancingResponse),
        (status = 409, description = "not_designated: financing follows designation")))]
async fn request_financing(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
    Json(body): Json<FinancingRequestBody>,
) -> Result<(StatusCode, axum::Json<FinancingResponse>), ApiError> {
    if !body.amount_usd.is_finite() || !(0.01..=1e13).contains(&body.amount_usd) {
        return Err(ApiError::new(
            "invalid_parameter",
            format!("amount_usd: {} is not from 0.01 to 10^13", body.amount_usd),
        ));
    }
    if !INSTRUMENTS.contains(&body.instrument.as_str()) {
        return Err(ApiError::bad_request(format!(
            "instrument: {:?} is none of {}",
            body.instrument,
            INSTRUMENTS.join(", ")
        )));
    }
    let cents = (body.amount_usd * 100.0).round() as i64;
    let v = svc
        .request(&p, &id, &body.lender, &body.instrument, cents)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(v.into())))
}

/// Financing requests: a lender's are those made to it, a consortium's its own.
#[utoipa::path(get, path = "/v1/financing", tag = "financing",
    responses((status = 200, body = FinancingList)))]
async fn list_financing(
    State(svc): Service,
    Caller(p): Caller,
) -> Result<axum::Json<FinancingList>, ApiError> {
    let requests = svc.list(&p).await?;
    Ok(axum::Json(FinancingList {
        requests: requests.into_iter().map(FinancingResponse::from).collect(),
    }))
}

/// One financing request with its readiness now.
#[utoipa::path(get, path = "/v1/financing/{id}", tag = "financing",
    params(("id" = String, Path, description = "The request's id (`fin_…`)")),
    responses((status = 200, body = FinancingResponse)))]
async fn get_financing(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<FinancingResponse>, ApiError> {
    Ok(axum::Json(svc.get(&p, &id).await?.into()))
}

/// The lender's decision; approval only of a ready request.
#[utoipa::path(post, path = "/v1/financing/{id}/decision", tag = "financing", request_body = FinancingDecisionBody,
    params(("id" = String, Path, description = "The request's id")),
    responses((status = 200, body = FinancingResponse),
        (status = 409, description = "not_ready: an item needs a licence; invalid_transition: decided already")))]
async fn decide_financing(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
    Json(body): Json<FinancingDecisionBody>,
) -> Result<axum::Json<FinancingResponse>, ApiError> {
    let approve = match body.decision.as_str() {
        "approve" => true,
        "decline" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "decision: {other:?} is neither approve nor decline"
            )))
        }
    };
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::bad_request("reason: 1 to 2,000 characters"));
    }
    Ok(axum::Json(
        svc.decide(&p, &id, approve, reason).await?.into(),
    ))
}

pub fn router(svc: Arc<FinancingService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(request_financing))
        .routes(routes!(list_financing))
        .routes(routes!(get_financing))
        .routes(routes!(decide_financing))
        .with_state(svc)
}
