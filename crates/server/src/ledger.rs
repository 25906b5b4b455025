//! The tamper-evident ledger's HTTP routes, over the [`DecisionLedger`] of `stackport-app`
//! (re-exported here with its receipt type, which responses embed). The server holds one in
//! [`crate::ServerContext::ledger`].
//!
//! Routes (all `GET`, all in the OpenAPI document via [`LedgerApi`]):
//! `/v1/ledger/checkpoint` (the signed checkpoint, C2SP text), `/v1/ledger/entries/{index}`,
//! `/v1/ledger/proof/inclusion?index=N[&size=S]`, `/v1/ledger/proof/consistency?from=A&to=B`.
//! A verifier holding only the log's public key (`ledger-verifier.pub` in the data directory)
//! and two checkpoints can check every answer without trusting the server.

use std::sync::Arc;

use axum::extract::State;

use crate::error::{Path as UrlPath, Query};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use stackport_ledger::merkle::Hash;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use stackport_app::ledger::{
    ConsistencyProof, DecisionLedger, InclusionProof, LedgerReceipt, LedgerServiceError, ORIGIN_ENV,
};

use crate::{ApiError, ServerContext};

// ---- HTTP -----------------------------------------------------------------------------------

#[derive(OpenApi)]
#[openapi(
    components(schemas(LedgerReceipt, InclusionProof, ConsistencyProof, EntryResponse)),
    tags((name = "ledger", description = "Tamper-evident ledger of decisions: RFC 6962 Merkle tree, C2SP signed checkpoints"))
)]
pub struct LedgerApi;

/// A stored entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntryResponse {
    pub index: u64,
    #[schema(value_type = String)]
    pub leaf_hash: Hash,
    /// The RFC 8785 canonical JSON exactly as stored: `leaf_hash = SHA-256(0x00 ‖ canonical)`.
    pub canonical: String,
    /// The same entry, parsed.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// 0-based leaf index.
    pub index: u64,
    /// Tree size the proof is for (default: the current signed checkpoint's).
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    pub from: u64,
    pub to: u64,
}

type Ledger = State<Arc<DecisionLedger>>;

/// The current signed checkpoint (C2SP tlog-checkpoint in a signed note).
#[utoipa::path(get, path = "/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, description = "origin, tree size, base64 root hash, blank line, signature lines", content_type = "text/plain", body = String)))]
async fn get_checkpoint(State(ledger): Ledger) -> Result<impl IntoResponse, ApiError> {
    let cp = ledger.checkpoint().await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        cp.note,
    ))
}

/// One entry, by index.
#[utoipa::path(get, path = "/v1/ledger/entries/{index}", tag = "ledger",
    params(("index" = u64, Path, description = "0-based leaf index")),
    responses((status = 200, body = EntryResponse), (status = 404, description = "index past the tree size (ledger_out_of_range)")))]
async fn get_entry(
    State(ledger): Ledger,
    UrlPath(index): UrlPath<u64>,
) -> Result<axum::Json<EntryResponse>, ApiError> {
    let e = ledger.entry(index).await?;
    let entry = serde_json::from_str(&e.entry).map_err(|err| {
        ApiError::new(
            "ledger_corrupt",
            format!("entry {index} is not JSON: {err}"),
        )
    })?;
    Ok(axum::Json(EntryResponse {
        index,
        leaf_hash: e.leaf_hash,
        canonical: e.entry,
        entry,
    }))
}

/// Inclusion proof of one entry.
#[utoipa::path(get, path = "/v1/ledger/proof/inclusion", tag = "ledger", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 404, description = "index or size past the tree (ledger_out_of_range)")))]
async fn get_inclusion(
    State(ledger): Ledger,
    Query(q): Query<InclusionQuery>,
) -> Result<axum::Json<InclusionProof>, ApiError> {
    Ok(axum::Json(ledger.inclusion_proof(q.index, q.size).await?))
}

/// Consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/ledger/proof/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 404, description = "from > to or to past the tree (ledger_out_of_range)")))]
async fn get_consistency(
    State(ledger): Ledger,
    Query(q): Query<ConsistencyQuery>,
) -> Result<axum::Json<ConsistencyProof>, ApiError> {
    Ok(axum::Json(ledger.consistency_proof(q.from, q.to).await?))
}

/// The ledger's routes, each declared once: its path and method come from its
/// `#[utoipa::path]` (utoipa-axum's `routes!`), so the router and the document cannot differ.
pub fn routes() -> OpenApiRouter<Arc<DecisionLedger>> {
    OpenApiRouter::new()
        .routes(routes!(get_checkpoint))
        .routes(routes!(get_entry))
        .routes(routes!(get_inclusion))
        .routes(routes!(get_consistency))
}

/// The ledger's routes over the context's ledger.
pub fn router(ctx: &ServerContext) -> OpenApiRouter {
    routes().with_state(ctx.ledger.clone())
}
