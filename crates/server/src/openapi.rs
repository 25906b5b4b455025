//! The OpenAPI 3.1 document of the whole API, merged from each module's piece.

use axum::response::IntoResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(info(
    title = "Stackport API",
    description = "Compliance for full-stack AI exports: restricted-party screening, export-control determinations, program proposals reviewed as a whole, a tamper-evident ledger and chip location verification."
))]
struct Root;

/// The merged document.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(crate::screening::ScreeningApi::openapi());
    doc.merge(crate::ledger::LedgerApi::openapi());
    doc.merge(crate::locate::LocateApi::openapi());
    doc.merge(crate::controls::ControlsApi::openapi());
    doc.merge(crate::proposals::ProposalsApi::openapi());
    doc
}

/// `GET /openapi.json`.
pub async fn document() -> impl IntoResponse {
    axum::Json(spec())
}
