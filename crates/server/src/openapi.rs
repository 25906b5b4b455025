//! The OpenAPI 3.1 document of the whole API. Each operation is declared beside its handler
//! and collected by the router that serves it ([`crate::app_with`]); this module holds the
//! document's root and the parts every operation shares.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stackport API",
        description = "Compliance for full-stack AI exports: restricted-party screening, export-control determinations, program proposals reviewed as a whole, a tamper-evident ledger and chip location verification."
    ),
    tags(
        (name = "health", description = "Liveness, metrics and this document"),
    )
)]
struct Root;

/// The document's root (info, tags) with every module's components; the paths are added by
/// the router.
pub fn root() -> Document {
    let mut doc = Root::openapi();
    doc.merge(crate::screening::ScreeningApi::openapi());
    doc.merge(crate::ledger::LedgerApi::openapi());
    doc.merge(crate::locate::LocateApi::openapi());
    doc.merge(crate::controls::ControlsApi::openapi());
    doc.merge(crate::proposals::ProposalsApi::openapi());
    doc.merge(crate::identity::IdentityApi::openapi());
    doc.merge(crate::licences::LicencesApi::openapi());
    doc.merge(crate::financing::FinancingApi::openapi());
    doc.merge(crate::holds::ReviewApi::openapi());
    doc.merge(crate::webhooks::WebhooksApi::openapi());
    doc
}

/// The finished document: what the router collected, with the error responses every
/// operation can give because of its shape, so that no status code the API answers goes
/// undocumented:
///
/// - any operation: 408 (`request_timeout`, from the edge);
/// - any operation that takes a credential: 401 (`unauthenticated`) and 403 (`forbidden`),
///   and the bearer security requirement;
/// - with parameters or a body: 400 (the codes of [`CODES`] with status 400);
/// - with a path parameter: 404 (`not_found`);
/// - with a body: 413 (`body_too_large`) and 415 (`unsupported_media_type`).
///
/// Every response of status 400 or more carries the [`ErrorBody`] schema, also where the
/// operation's own declaration gave only a description.
///
/// [`CODES`]: crate::error::CODES
/// [`ErrorBody`]: crate::screening::ErrorBody
pub fn finish(mut doc: Document) -> Document {
    use stackport_identity::policy::{route_access, Access};
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token (`spt_…`), from `stackport admin bootstrap` or `POST /v1/tokens`",
                ))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ]
        .into_iter()
        .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
        {
            let params = op.parameters.as_deref().unwrap_or_default();
            let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
            let has_body = op.request_body.is_some();
            let mut statuses = vec![408];
            // Every operation but the public ones takes a credential (the policy's table).
            if matches!(route_access(method, path), Some(Access::Needs(_))) {
                op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                statuses.extend([401, 403]);
            }
            if has_body || !params.is_empty() {
                statuses.push(400);
            }
            if has_path {
                statuses.push(404);
            }
            if has_body {
                statuses.extend([413, 415]);
            }
            for status in statuses {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::T(Response::new(codes_of(status))));
            }
            for (status, response) in op.responses.responses.iter_mut() {
                let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
                if let (true, RefOr::T(r)) = (is_error, response) {
                    if r.content.is_empty() {
                        r.content.insert(
                            "application/json".into(),
                            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                        );
                    }
                }
            }
        }
    }
    doc
}

/// The name of the bearer-token security scheme.
pub const BEARER: &str = "bearer";

/// Operations of the document that the policy's route table does not know: a route added
/// without deciding who may call it. The server refuses to start with any.
pub fn undecided_operations(doc: &Document) -> Vec<String> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if op.is_some() && stackport_identity::policy::route_access(method, path).is_none() {
                out.push(format!("{method} {path}"));
            }
        }
    }
    out
}

/// The description of a shared error response: the codes of that status.
fn codes_of(status: u16) -> String {
    let codes: Vec<String> = crate::error::CODES
        .iter()
        .filter(|(_, s, _)| *s == status)
        .map(|(code, _, meaning)| format!("`{code}`: {meaning}"))
        .collect();
    codes.join("; ")
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object)))]
pub async fn document(Extension(doc): Extension<Served>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.to_string(),
    )
}

/// The finished document, serialised once at start-up.
#[derive(Clone)]
pub struct Served(pub Arc<str>);

impl Served {
    pub fn new(doc: &Document) -> anyhow::Result<Self> {
        Ok(Self(serde_json::to_string(doc)?.into()))
    }
}
