//! Webhooks over HTTP (issue 11, item 6): register an endpoint for events, list them, read a
//! webhook's deliveries. The secret is in the response that creates the webhook only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use stackport_app::registry::rfc3339;
use stackport_app::webhooks::WebhookService;
use stackport_store::{DeliveryRecord, WebhookRecord};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{Json, Path};
use crate::ApiError;

#[derive(OpenApi)]
#[openapi(
    components(schemas(WebhookView, NewWebhook, CreatedWebhook, DeliveryView, WebhookList, DeliveryList)),
    tags((name = "webhooks", description = "Signed webhook deliveries of events (HMAC-SHA256 with a timestamp), retried with backoff"))
)]
pub struct WebhooksApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: String,
}

impl From<WebhookRecord> for WebhookView {
    fn from(h: WebhookRecord) -> Self {
        Self {
            id: h.id,
            url: h.url,
            events: h.events,
            created_at: rfc3339(h.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// Verify each delivery's `Stackport-Signature: t=…,v1=…` (hex HMAC-SHA256 of `t.body`)
    /// with it; shown this once.
    pub secret: String,
    #[serde(flatten)]
    pub webhook: WebhookView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http(s) URL.
    #[schema(max_length = 2000)]
    pub url: String,
    /// hold.placed, licence.exhausted, financing.decided, proposal.designated, or *.
    #[schema(min_items = 1, max_items = 4)]
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            id: d.id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub webhook: String,
    pub deliveries: Vec<DeliveryView>,
}

type Service = State<Arc<WebhookService>>;

/// Registers a webhook of the caller's organisation.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook)))]
async fn create_webhook(
    State(svc): Service,
    Caller(p): Caller,
    Json(body): Json<NewWebhook>,
) -> Result<(StatusCode, axum::Json<CreatedWebhook>), ApiError> {
    let hook = svc.register(&p, &body.url, &body.events).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhook {
            secret: hook.secret.clone(),
            webhook: hook.into(),
        }),
    ))
}

/// The caller's organisation's webhooks (never their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList)))]
async fn list_webhooks(
    State(svc): Service,
    Caller(p): Caller,
) -> Result<axum::Json<WebhookList>, ApiError> {
    let hooks = svc.list(&p).await?;
    Ok(axum::Json(WebhookList {
        webhooks: hooks.into_iter().map(WebhookView::from).collect(),
    }))
}

/// A webhook's deliveries and their attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 200, body = DeliveryList)))]
async fn list_deliveries(
    State(svc): Service,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<DeliveryList>, ApiError> {
    let deliveries = svc.deliveries(&p, &id).await?;
    Ok(axum::Json(DeliveryList {
        webhook: id,
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}

pub fn router(svc: Arc<WebhookService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(list_deliveries))
        .with_state(svc)
}
