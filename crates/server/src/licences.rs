//! Licences and shipments over HTTP (issue 11, item 5): the licence master, the shipments that
//! draw licences down (a blocked one answers 409 with the reason's code and is recorded as
//! blocked), usage history and expiry warnings.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use stackport_app::licences::{warnings, LicenceService, NewLicence, ShipmentRequest};
use stackport_app::registry::rfc3339;
use stackport_store::{LicenceRecord, StoredShipment};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{Json, Path};
use crate::ApiError;

#[derive(OpenApi)]
#[openapi(
    components(schemas(LicenceView, NewLicenceRequest, ShipmentRequestBody, ShipmentView, LicenceList, ShipmentList)),
    tags((name = "licences", description = "Licence master and shipments drawn against it"))
)]
pub struct LicencesApi;

/// Largest amount accepted, in US dollars (a bound, not a policy).
const MAX_USD: f64 = 1e13;

fn cents(field: &str, usd: Option<f64>) -> Result<Option<i64>, ApiError> {
    match usd {
        None => Ok(None),
        Some(v) if v.is_finite() && (0.0..=MAX_USD).contains(&v) => {
            Ok(Some((v * 100.0).round() as i64))
        }
        Some(v) => Err(ApiError::new(
            "invalid_parameter",
            format!("{field}: {v} is not an amount from 0 to 10^13 US dollars"),
        )),
    }
}

fn usd(c: i64) -> f64 {
    c as f64 / 100.0
}

/// A licence with what is left of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceView {
    pub id: String,
    pub owner_org: String,
    pub number: String,
    /// licence, licence_exception or nlr.
    pub kind: String,
    pub eccns: Vec<String>,
    pub destination: String,
    pub parties: Vec<String>,
    pub valid_from: String,
    pub valid_to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_limit_usd: Option<f64>,
    pub value_used_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_remaining_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_limit: Option<i64>,
    pub quantity_used: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_remaining: Option<i64>,
    /// Days until `valid_to` (negative once expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<i64>,
    /// expires_soon (30 days or fewer), expired, nearly_exhausted (90 % of a limit), exhausted.
    pub warnings: Vec<String>,
    pub created_at: String,
    pub ledger_index: u64,
}

impl From<LicenceRecord> for LicenceView {
    fn from(l: LicenceRecord) -> Self {
        let today = stackport_store::timestamp::now().date();
        let (expires_in_days, w) = warnings(&l, today);
        Self {
            value_limit_usd: l.value_limit.map(usd),
            value_used_usd: usd(l.value_used),
            value_remaining_usd: l.value_limit.map(|v| usd(v - l.value_used)),
            quantity_remaining: l.quantity_limit.map(|q| q - l.quantity_used),
            quantity_limit: l.quantity_limit,
            quantity_used: l.quantity_used,
            expires_in_days,
            warnings: w.into_iter().map(str::to_string).collect(),
            created_at: rfc3339(l.created_at),
            ledger_index: l.ledger_index,
            id: l.id,
            owner_org: l.owner_org,
            number: l.number,
            kind: l.kind,
            eccns: l.eccns,
            destination: l.destination,
            parties: l.parties,
            valid_from: l.valid_from,
            valid_to: l.valid_to,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceList {
    pub licences: Vec<LicenceView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLicenceRequest {
    /// The licence number (or the licence exception's symbol, or `NLR`).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub number: String,
    #[schema(pattern = "^(licence|licence_exception|nlr)$")]
    pub kind: String,
    #[schema(min_items = 1, max_items = 100)]
    pub eccns: Vec<String>,
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$")]
    pub destination: String,
    /// The parties it names; empty: any party.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub parties: Vec<String>,
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub valid_from: String,
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub valid_to: String,
    #[schema(minimum = 0, maximum = 1e13)]
    pub value_limit_usd: Option<f64>,
    #[schema(minimum = 0)]
    pub quantity_limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequestBody {
    pub eccn: String,
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$")]
    pub destination: String,
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub party: String,
    #[schema(minimum = 0, maximum = 1e13)]
    pub value_usd: f64,
    #[schema(minimum = 1)]
    pub quantity: i64,
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub ship_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    pub id: String,
    pub licence_id: String,
    pub eccn: String,
    pub destination: String,
    pub party: String,
    pub value_usd: f64,
    pub quantity: i64,
    pub ship_date: String,
    /// drawn or blocked.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub actor_user: String,
    pub at: String,
    pub ledger_index: u64,
}

impl From<StoredShipment> for ShipmentView {
    fn from(s: StoredShipment) -> Self {
        Self {
            value_usd: usd(s.value),
            at: rfc3339(s.at),
            id: s.id,
            licence_id: s.licence_id,
            eccn: s.eccn,
            destination: s.destination,
            party: s.party,
            quantity: s.quantity,
            ship_date: s.ship_date,
            outcome: s.outcome,
            reason: s.reason,
            actor_user: s.actor_user,
            ledger_index: s.ledger_index,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentList {
    pub licence: String,
    /// Oldest first, drawn and blocked.
    pub shipments: Vec<ShipmentView>,
}

type Service = State<Arc<LicenceService>>;

/// Records a licence, licence exception or NLR in the caller's organisation's licence master.
#[utoipa::path(post, path = "/v1/licences", tag = "licences", request_body = NewLicenceRequest,
    responses((status = 201, body = LicenceView), (status = 409, description = "conflict: the organisation has a licence of this number")))]
async fn record_licence(
    State(svc): Service,
    Caller(p): Caller,
    Json(req): Json<NewLicenceRequest>,
) -> Result<(StatusCode, axum::Json<LicenceView>), ApiError> {
    let new = NewLicence {
        value_limit: cents("value_limit_usd", req.value_limit_usd)?,
        quantity_limit: req.quantity_limit,
        number: req.number,
        kind: req.kind,
        eccns: req.eccns,
        destination: req.destination,
        parties: req.parties,
        valid_from: req.valid_from,
        valid_to: req.valid_to,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(svc.record(&p, new).await?.into()),
    ))
}

/// The licences the caller may see, with what is left of each and its warnings.
#[utoipa::path(get, path = "/v1/licences", tag = "licences",
    responses((status = 200, body = LicenceList)))]
async fn list_licences(
    State(svc): Service,
    Caller(p): Caller,
) -> Result<axum::Json<LicenceList>, ApiError> {
    let licences = svc.licences(&p).await?;
    Ok(axum::Json(LicenceList {
        licences: licences.into_iter().map(LicenceView::from).collect(),
    }))
}

/// One licence.
#[utoipa::path(get, path = "/v1/licences/{id}", tag = "licences",
    params(("id" = String, Path, description = "The licence's id (`lic_…`)")),
    responses((status = 200, body = LicenceView)))]
async fn get_licence(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<LicenceView>, ApiError> {
    Ok(axum::Json(svc.licence(&p, &id).await?.into()))
}

/// A licence's usage history: every shipment, drawn or blocked.
#[utoipa::path(get, path = "/v1/licences/{id}/shipments", tag = "licences",
    params(("id" = String, Path, description = "The licence's id")),
    responses((status = 200, body = ShipmentList)))]
async fn list_shipments(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ShipmentList>, ApiError> {
    let list = svc.shipments(&p, &id).await?;
    Ok(axum::Json(ShipmentList {
        licence: id,
        shipments: list.into_iter().map(ShipmentView::from).collect(),
    }))
}

/// Draws a shipment down a licence. Outside the licence (dates, items, destination, parties)
/// or past its limits, the shipment is blocked: recorded, ledgered, and answered 409 with the
/// reason's code; nothing is drawn.
#[utoipa::path(post, path = "/v1/licences/{id}/shipments", tag = "licences", request_body = ShipmentRequestBody,
    params(("id" = String, Path, description = "The licence's id")),
    responses((status = 201, body = ShipmentView),
        (status = 409, description = "blocked: licence_exhausted, licence_expired, licence_not_yet_valid, item_not_covered, destination_not_covered, party_not_covered")))]
async fn record_shipment(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
    Json(req): Json<ShipmentRequestBody>,
) -> Result<(StatusCode, axum::Json<ShipmentView>), ApiError> {
    let value = cents("value_usd", Some(req.value_usd))?.unwrap_or(0);
    let r = ShipmentRequest {
        eccn: req.eccn,
        destination: req.destination,
        party: req.party,
        value,
        quantity: req.quantity,
        ship_date: req.ship_date,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(svc.ship(&p, &id, r).await?.into()),
    ))
}

pub fn router(svc: Arc<LicenceService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(record_licence, list_licences))
        .routes(routes!(get_licence))
        .routes(routes!(list_shipments, record_shipment))
        .with_state(svc)
}
