//! The review queue and holds over HTTP (issue 11, item 4): potential matches decided true or
//! false with a reason code, holds released by a second person.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use stackport_app::holds::ReviewService;
use stackport_app::registry::rfc3339;
use stackport_program::holds::MatchDecision;
use stackport_store::{HoldRecord, ReviewItem};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{Json, Path, Query};
use crate::ApiError;

#[derive(OpenApi)]
#[openapi(
    components(schemas(ReviewItemView, ReviewItemList, HoldView, HoldList, MatchDecisionBody, HoldReasonBody)),
    tags((name = "review", description = "Review queue of potential matches, and holds"))
)]
pub struct ReviewApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItemView {
    pub id: String,
    pub proposal: String,
    pub party: String,
    pub party_name: String,
    pub entity: String,
    pub entity_name: String,
    pub list: String,
    pub score: f64,
    /// open, false_match or true_match.
    pub status: String,
    /// Cleared by an earlier false-match decision on the same party and list entry.
    pub remembered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}

impl From<ReviewItem> for ReviewItemView {
    fn from(i: ReviewItem) -> Self {
        Self {
            id: i.id,
            proposal: i.proposal_id,
            party: i.party,
            party_name: i.party_name,
            entity: i.entity_id,
            entity_name: i.entity_name,
            list: i.list,
            score: i.score,
            status: i.status,
            remembered: i.remembered,
            reason_code: i.reason_code,
            note: i.note,
            decided_by: i.decided_by,
            decided_at: i.decided_at.map(rfc3339),
            ledger_index: i.ledger_index,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItemList {
    pub items: Vec<ReviewItemView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: String,
    /// proposal.
    pub subject_kind: String,
    pub subject_id: String,
    pub reason: String,
    /// held or released.
    pub status: String,
    pub placed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}

impl From<HoldRecord> for HoldView {
    fn from(h: HoldRecord) -> Self {
        Self {
            id: h.id,
            subject_kind: h.subject_kind,
            subject_id: h.subject_id,
            reason: h.reason,
            status: h.status,
            placed_at: rfc3339(h.placed_at),
            requested_by: h.requested_by,
            request_reason: h.request_reason,
            released_by: h.released_by,
            release_reason: h.release_reason,
            released_at: h.released_at.map(rfc3339),
            ledger_index: h.ledger_index,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldList {
    pub holds: Vec<HoldView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    /// Only items of this status.
    #[param(pattern = "^(open|false_match|true_match)$")]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchDecisionBody {
    #[schema(pattern = "^(false_match|true_match)$")]
    pub decision: String,
    /// false_match: different_name, different_country, different_date_of_birth,
    /// different_party_type, different_identifiers, other; true_match: same_identifiers,
    /// same_name_and_country, other.
    pub reason_code: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldReasonBody {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

fn text(field: &str, v: &str) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > 2000 {
        return Err(ApiError::bad_request(format!(
            "{field}: 1 to 2,000 characters"
        )));
    }
    Ok(t.to_string())
}

type Service = State<Arc<ReviewService>>;

/// The review queue: potential matches of the caller's organisation's parties.
#[utoipa::path(get, path = "/v1/review-items", tag = "review", params(ItemQuery),
    responses((status = 200, body = ReviewItemList)))]
async fn list_review_items(
    State(svc): Service,
    Caller(p): Caller,
    Query(q): Query<ItemQuery>,
) -> Result<axum::Json<ReviewItemList>, ApiError> {
    if let Some(s) = q.status.as_deref() {
        if !["open", "false_match", "true_match"].contains(&s) {
            return Err(ApiError::bad_request(format!(
                "status: {s:?} is none of open, false_match, true_match"
            )));
        }
    }
    let items = svc.items(&p, q.status.as_deref()).await?;
    Ok(axum::Json(ReviewItemList {
        items: items.into_iter().map(ReviewItemView::from).collect(),
    }))
}

/// A reviewer decides a potential match true or false; a false match is remembered for the
/// party and the list entry.
#[utoipa::path(post, path = "/v1/review-items/{id}/decision", tag = "review", request_body = MatchDecisionBody,
    params(("id" = String, Path, description = "The review item's id")),
    responses((status = 200, body = ReviewItemView),
        (status = 409, description = "invalid_transition: decided already")))]
async fn decide_review_item(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
    Json(body): Json<MatchDecisionBody>,
) -> Result<axum::Json<ReviewItemView>, ApiError> {
    let decision: MatchDecision = body
        .decision
        .parse()
        .map_err(|e: String| ApiError::bad_request(format!("decision: {e}")))?;
    let note = text("note", &body.note)?;
    Ok(axum::Json(
        svc.decide_item(&p, &id, decision, body.reason_code.trim(), &note)
            .await?
            .into(),
    ))
}

/// Holds of the caller's organisation.
#[utoipa::path(get, path = "/v1/holds", tag = "review",
    responses((status = 200, body = HoldList)))]
async fn list_holds(
    State(svc): Service,
    Caller(p): Caller,
) -> Result<axum::Json<HoldList>, ApiError> {
    let holds = svc.holds(&p).await?;
    Ok(axum::Json(HoldList {
        holds: holds.into_iter().map(HoldView::from).collect(),
    }))
}

/// Asks for a hold's release, with the reason (the first of four eyes).
#[utoipa::path(post, path = "/v1/holds/{id}/release-request", tag = "review", request_body = HoldReasonBody,
    params(("id" = String, Path, description = "The hold's id")),
    responses((status = 200, body = HoldView), (status = 409, description = "invalid_transition: not held")))]
async fn request_release(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
    Json(body): Json<HoldReasonBody>,
) -> Result<axum::Json<HoldView>, ApiError> {
    let reason = text("reason", &body.reason)?;
    Ok(axum::Json(
        svc.request_release(&p, &id, &reason).await?.into(),
    ))
}

/// Releases a hold: another person than the one who asked, once none of its matches is open
/// or true.
#[utoipa::path(post, path = "/v1/holds/{id}/release", tag = "review", request_body = HoldReasonBody,
    params(("id" = String, Path, description = "The hold's id")),
    responses((status = 200, body = HoldView),
        (status = 409, description = "invalid_transition, matches_open, true_match")))]
async fn release_hold(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
    Json(body): Json<HoldReasonBody>,
) -> Result<axum::Json<HoldView>, ApiError> {
    let reason = text("reason", &body.reason)?;
    Ok(axum::Json(svc.release(&p, &id, &reason).await?.into()))
}

pub fn router(svc: Arc<ReviewService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_review_items))
        .routes(routes!(decide_review_item))
        .routes(routes!(list_holds))
        .routes(routes!(request_release))
        .routes(routes!(release_hold))
        .with_state(svc)
}
