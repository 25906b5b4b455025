//! Program proposals over HTTP (issue 9): a proposal is reviewed as a whole, stored, recorded
//! in the ledger, served back in the form a reader asks for, and re-evaluated when the lists
//! or the rules change.
//!
//! - `POST /v1/proposals`: the proposal JSON is read and checked (`Proposal::parse`), reviewed
//!   (`Reviewer::review`) against the rulebook, the program rules and the list snapshot in use,
//!   stored, and appended to the ledger in the same transaction with the versions it used; the
//!   response is the review with the entry's receipt. A proposal that fails its checks is a
//!   400 `invalid_proposal` listing every problem with its JSON path; nothing is stored.
//! - `GET /v1/proposals`, `GET /v1/proposals/{id}`, `GET /v1/proposals/{id}/review` (JSON as
//!   stored, or Markdown, HTML or annotated CycloneDX by `Accept`),
//!   `GET /v1/proposals/{id}/reevaluations`, and `POST /v1/packages/validate` (a CycloneDX BOM
//!   against the schema and the `stackport:` profile).
//!
//! Reviewing, storing and re-evaluating are `stackport-app`'s [`ProposalService`] (its module
//! docs say what a list or rules change re-evaluates); these routes read and answer.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};

use crate::error::{Bytes, Json, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stackport_app::proposals::StepRequest;
use stackport_app::proposals::{
    reevaluation_dto, stored_time, ProposalService, ReevaluationDto, ReevaluationSummary,
};
use stackport_app::screening::ScreeningState;
use stackport_app::AppError;
use stackport_identity::policy::{reads_across, Action, Principal};
use stackport_program::workflow::Status;
use stackport_program::{ProgramRules, ProposalError};
use stackport_store::{ProposalSummary, StoredEvent};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{ApiError, ProblemDto};
use crate::ledger::LedgerReceipt;
use crate::screening::ErrorBody;
use crate::ServerContext;

/// Largest proposal or package body accepted (a package of 10,000 components is ~10 MiB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Proposals listed per page when the request does not say, and at most.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

#[derive(OpenApi)]
#[openapi(
    components(schemas(
        ProposalLine, ProposalListResponse, ProposalResponse, ReevaluationDto,
        ReevaluationsResponse, ReevaluationSummary, PackageValid, ProblemDto
    )),
    tags((name = "proposals", description = "American AI Exports Program proposals (EO 14320): full-stack packages reviewed as a whole, stored, recorded in the ledger and re-evaluated when lists or rules change"))
)]
pub struct ProposalsApi;

// ---- bodies ---------------------------------------------------------------------------------

/// One stored proposal in the list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalLine {
    pub id: String,
    /// Where it stands in the workflow.
    #[schema(value_type = String, example = "submitted")]
    pub status: Status,
    pub consortium: String,
    /// The day the exports are assessed for.
    pub date: String,
    /// `ineligible`, `prohibited`, `held`, `licences_required` or `clear`.
    pub verdict: String,
    /// The list snapshot the last review screened against.
    pub list_snapshot: i64,
    /// Ledger entry of the last review.
    pub ledger_index: u64,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// A page of stored proposals, by id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalListResponse {
    pub proposals: Vec<ProposalLine>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// A stored proposal: what was submitted, its last review and that review's ledger receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalResponse {
    pub id: String,
    /// Where it stands in the workflow: draft, submitted, under_review, designated, declined
    /// or withdrawn.
    #[schema(value_type = String, example = "submitted")]
    pub status: Status,
    pub consortium: String,
    pub date: String,
    pub verdict: String,
    /// The proposal JSON as submitted.
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// The last review (the JSON contract of the proposals README, and the rest).
    #[schema(value_type = Object)]
    pub review: serde_json::Value,
    /// SHA-256 of the review JSON as `GET /v1/proposals/{id}/review` serves it; the ledger
    /// entry holds the same digest.
    pub review_sha256: String,
    pub ledger: LedgerReceipt,
    pub list_snapshot: i64,
    /// The last snapshot the parties' hits were compared on.
    pub checked_snapshot: i64,
    pub rulebook_version: String,
    pub program_rules_version: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReevaluationsResponse {
    pub proposal: String,
    /// Oldest first.
    pub reevaluations: Vec<ReevaluationDto>,
}

/// `POST /v1/packages/validate` on a valid package.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageValid {
    pub valid: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmitQuery {
    /// Store it as a draft (reviewed, not yet submitted to the program): `POST
    /// /v1/proposals/{id}/submit` submits it later.
    pub draft: Option<bool>,
}

impl ListQuery {
    /// The page size asked for, within 1 ..= MAX_PAGE.
    fn page_limit(&self) -> Result<u32, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::bad_request(format!(
                "limit is {limit}; it must be between 1 and {MAX_PAGE}"
            )));
        }
        Ok(limit)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Most proposals returned (1 to 1,000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only proposals whose id sorts after this one (the previous page's `next_after`).
    pub after: Option<String>,
}

/// The program rules beside the rulebook (`program.toml` of the rulebook directory), else the
/// built-in ones.
pub fn load_program_rules(config: &crate::ServerConfig) -> anyhow::Result<ProgramRules> {
    match &config.rulebook_dir {
        Some(dir) => ProgramRules::load_dir(dir)
            .map_err(|e| anyhow::anyhow!("loading program rules from {}: {e}", dir.display())),
        None => {
            ProgramRules::embedded().map_err(|e| anyhow::anyhow!("built-in program rules: {e}"))
        }
    }
}

/// Starts the proposal service ([`ProposalService::start`]) over the context's store and
/// ledger, with the configured rulebook and program rules, on the shared screening state.
pub async fn start(
    ctx: &ServerContext,
    screening: Arc<ScreeningState>,
) -> anyhow::Result<Arc<ProposalService>> {
    let rulebook = crate::controls::load_rulebook(&ctx.config)?;
    let rules = load_program_rules(&ctx.config)?;
    Ok(ProposalService::start(
        ctx.store.clone(),
        ctx.ledger.clone(),
        Arc::new(rulebook),
        Arc::new(rules),
        screening,
        ctx.metrics.as_ref(),
    )
    .await?)
}

// ---- handlers -------------------------------------------------------------------------------

type Service = State<Arc<ProposalService>>;

fn body_text(Bytes(body): Bytes) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|e| {
        AppError::InvalidProposal(ProposalError::Malformed(stackport_program::Problem::at(
            "$",
            "invalid_json",
            format!("the body is not UTF-8: {e}"),
        )))
        .into()
    })
}

/// Review a proposal and store it.
#[utoipa::path(
    post, path = "/v1/proposals", tag = "proposals",
    request_body(content = Object, description = "A proposal (the JSON of the proposals README), its package a CycloneDX 1.6 BOM with the stackport: profile", content_type = "application/json"),
    responses(
        (status = 201, description = "Reviewed and stored: the review (verdict, eligibility, us_content, items, parties, location_verification, licence drafts, versions) with `ledger: {index, leaf_hash}`", body = Object,
            headers(("location" = String, description = "/v1/proposals/{id}"))),
        (status = 400, description = "invalid_proposal: not JSON, wrong shape, or values that fail the checks; `error.problems` lists each with its path and own code; nothing stored", body = ErrorBody),
        (status = 409, description = "proposal_id_taken: another organisation's proposal has this id; nothing stored", body = ErrorBody),
        (status = 413, description = "the body exceeds 64 MiB"),
        (status = 500, description = "storage_error, internal; nothing stored", body = ErrorBody),
        (status = 503, description = "no_snapshot", body = ErrorBody),
    )
)]
async fn submit(
    State(service): Service,
    Caller(caller): Caller,
    Query(q): Query<SubmitQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = body_text(body)?;
    let status = if q.draft.unwrap_or(false) {
        Status::Draft
    } else {
        Status::Submitted
    };
    let (stored, receipt) = service.submit(text, Some(caller.org), status).await?;
    let mut review: serde_json::Value = serde_json::from_str(&stored.record.review)
        .map_err(|e| ApiError::internal(format!("review JSON: {e}")))?;
    review["ledger"] = serde_json::to_value(receipt).map_err(ApiError::internal)?;
    let location = format!("/v1/proposals/{}", stored.record.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(review),
    )
        .into_response())
}

/// Stored proposals, by id, a page at a time.
#[utoipa::path(
    get, path = "/v1/proposals", tag = "proposals", params(ListQuery),
    responses(
        (status = 200, description = "A page of stored proposals", body = ProposalListResponse),
        (status = 400, description = "invalid_request (limit out of range)", body = ErrorBody),
    )
)]
async fn list(
    State(service): Service,
    Caller(caller): Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<ProposalListResponse>, ApiError> {
    let limit = q.page_limit()?;
    // Commerce, the platform and auditors list every organisation's; others their own.
    let owner = (!reads_across(&caller, Action::ReadProposals)).then_some(caller.org.as_str());
    let page = service
        .store()
        .proposals(owner, q.after.as_deref(), limit)
        .await?;
    Ok(axum::Json(page_response(page, limit)))
}

/// A page of proposal summaries as the list routes answer it.
fn page_response(page: Vec<ProposalSummary>, limit: u32) -> ProposalListResponse {
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|p| p.id.clone()))
        .flatten();
    ProposalListResponse {
        proposals: page
            .into_iter()
            .map(|p| ProposalLine {
                status: p.status,
                id: p.id,
                consortium: p.consortium,
                date: p.date,
                verdict: p.verdict,
                list_snapshot: p.list_snapshot_id,
                ledger_index: p.ledger_index,
                created_at: stored_time(p.created_at),
                updated_at: stored_time(p.updated_at),
            })
            .collect(),
        next_after,
    }
}

/// One stored proposal: the input, the last review and its ledger receipt.
#[utoipa::path(
    get, path = "/v1/proposals/{id}", tag = "proposals",
    params(("id" = String, Path, description = "The proposal's id")),
    responses(
        (status = 200, body = ProposalResponse),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
async fn one(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ProposalResponse>, ApiError> {
    let p = service.visible(&caller, &id).await?;
    let leaf = service.ledger().entry(p.ledger_index).await?;
    let parse = |what: &str, s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map_err(|e| ApiError::new("storage_error", format!("stored {what} of {id:?}: {e}")))
    };
    Ok(axum::Json(ProposalResponse {
        input: parse("input", &p.record.input)?,
        review: parse("review", &p.record.review)?,
        id: p.record.id,
        consortium: p.record.consortium,
        date: p.record.date,
        verdict: p.record.verdict,
        review_sha256: p.review_digest,
        status: p.status,
        ledger: LedgerReceipt {
            index: p.ledger_index,
            leaf_hash: leaf.leaf_hash,
        },
        list_snapshot: p.record.list_snapshot_id,
        checked_snapshot: p.checked_snapshot_id,
        rulebook_version: p.record.rulebook_version,
        program_rules_version: p.record.program_rules_version,
        created_at: stored_time(p.created_at),
        updated_at: stored_time(p.updated_at),
    }))
}

/// The forms a review is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReviewFormat {
    Json,
    Html,
    Markdown,
    CycloneDx,
}

impl ReviewFormat {
    const CYCLONEDX: &'static str = "application/vnd.cyclonedx+json";

    fn of(media: &str) -> Option<Self> {
        Some(match media {
            "application/json" | "application/*" | "*/*" => ReviewFormat::Json,
            "text/html" | "text/*" => ReviewFormat::Html,
            "text/markdown" => ReviewFormat::Markdown,
            Self::CYCLONEDX => ReviewFormat::CycloneDx,
            _ => return None,
        })
    }

    /// The form an `Accept` header asks for (RFC 9110 §12.5.1): the supported media type of
    /// highest weight, the first listed among equals; JSON without the header.
    fn negotiate(accept: Option<&str>) -> Result<Self, ApiError> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Ok(ReviewFormat::Json);
        };
        let mut best: Option<(f64, Self)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(f) = Self::of(&media) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, f));
                }
            }
        }
        best.map(|(_, f)| f).ok_or_else(|| {
            ApiError::new(
                "not_acceptable",
                format!("Accept {accept:?}: a review is served as application/json, text/html, text/markdown or {}", Self::CYCLONEDX),
            )
        })
    }
}

/// The last review of a stored proposal, in the form `Accept` asks for.
#[utoipa::path(
    get, path = "/v1/proposals/{id}/review", tag = "proposals",
    params(
        ("id" = String, Path, description = "The proposal's id"),
    ),
    responses(
        // The form is chosen by the Accept header (OpenAPI 3.1 §4.8.12.1: an `Accept` header
        // parameter is not declared; the response's media types say what it negotiates).
        (status = 200, description = "The review in the form the Accept header asks for: application/json (default: the review exactly as stored, its SHA-256 the ledger's review_sha256), text/html (a self-contained report), text/markdown, or application/vnd.cyclonedx+json (the package with each component's review attached)", content(
            (Object = "application/json"),
            (String = "text/html"),
            (String = "text/markdown"),
            (Object = "application/vnd.cyclonedx+json"),
        )),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 406, description = "not_acceptable", body = ErrorBody),
        (status = 500, description = "storage_error, internal", body = ErrorBody),
        (status = 503, description = "no_snapshot (reports other than JSON)", body = ErrorBody),
    )
)]
async fn review(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format =
        ReviewFormat::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))?;
    let stored = service.visible(&caller, &id).await?;
    if format == ReviewFormat::Json {
        return Ok((
            [(header::CONTENT_TYPE, "application/json")],
            stored.record.review,
        )
            .into_response());
    }
    let (proposal, review) = service.rederive(&stored).await?;
    Ok(match format {
        ReviewFormat::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            stackport_program::report::html(&review),
        )
            .into_response(),
        ReviewFormat::Markdown => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            stackport_program::report::markdown(&review),
        )
            .into_response(),
        _ => (
            [(header::CONTENT_TYPE, ReviewFormat::CYCLONEDX)],
            axum::Json(stackport_program::annotate::annotated_bom(
                &proposal, &review,
            )),
        )
            .into_response(),
    })
}

/// What re-evaluation changed in a stored proposal, oldest first.
#[utoipa::path(
    get, path = "/v1/proposals/{id}/reevaluations", tag = "proposals",
    params(("id" = String, Path, description = "The proposal's id")),
    responses(
        (status = 200, body = ReevaluationsResponse),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
async fn reevaluations(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ReevaluationsResponse>, ApiError> {
    service.visible(&caller, &id).await?;
    let list = service.store().reevaluations(&id).await?;
    Ok(axum::Json(ReevaluationsResponse {
        proposal: id,
        reevaluations: list.iter().map(reevaluation_dto).collect(),
    }))
}

/// Check a CycloneDX 1.6 package against the official schema, then the stackport: profile.
#[utoipa::path(
    post, path = "/v1/packages/validate", tag = "proposals",
    request_body(content = Object, description = "A CycloneDX 1.6 JSON BOM", content_type = "application/json"),
    responses(
        (status = 200, description = "Valid CycloneDX 1.6 and stackport profile", body = PackageValid),
        (status = 400, description = "invalid_json: the body is not JSON", body = ErrorBody),
        (status = 413, description = "the body exceeds 64 MiB"),
        (status = 422, description = "invalid_package: `error.problems` lists each schema or profile problem with its path, bom-ref, property and code", body = ErrorBody),
    )
)]
async fn validate_package(
    State(service): Service,
    Bytes(body): Bytes,
) -> Result<axum::Json<PackageValid>, ApiError> {
    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new("invalid_json", format!("the package is not JSON: {e}")).with_problems(vec![
            ProblemDto {
                path: "$".into(),
                bom_ref: None,
                property: None,
                code: "invalid_json".into(),
                message: e.to_string(),
            },
        ])
    })?;
    let rulebook = service.rulebook().clone();
    let problems =
        tokio::task::spawn_blocking(move || stackport_program::bom::check_package(&doc, &rulebook))
            .await
            .map_err(ApiError::internal)?;
    if problems.is_empty() {
        return Ok(axum::Json(PackageValid { valid: true }));
    }
    let problems: Vec<ProblemDto> = problems.iter().map(ProblemDto::from).collect();
    Err(ApiError::new(
        "invalid_package",
        format!(
            "{} problem(s), first {}: {}",
            problems.len(),
            problems[0].path,
            problems[0].message
        ),
    )
    .with_problems(problems))
}

/// One workflow step as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    /// submit, withdraw, start_review, opinion, designate or decline.
    pub step: String,
    #[schema(value_type = String)]
    pub from: Status,
    #[schema(value_type = String)]
    pub to: Status,
    /// The acting user and organisation.
    pub actor: ActorView,
    /// What the step said: agencies, opinion, reason.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// RFC 3339.
    pub at: String,
    /// The step's ledger entry.
    pub ledger_index: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    pub user: String,
    pub organisation: String,
}

impl From<StoredEvent> for EventView {
    fn from(e: StoredEvent) -> Self {
        Self {
            id: e.id,
            step: e.step,
            from: e.from_status,
            to: e.to_status,
            actor: ActorView {
                user: e.actor_user,
                organisation: e.actor_org,
            },
            detail: e.detail,
            at: stored_time(e.at),
            ledger_index: e.ledger_index,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryResponse {
    pub proposal: String,
    /// Oldest first.
    pub events: Vec<EventView>,
}

/// Why: every step but a submission records a reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationBody {
    /// The consulted agencies' organisation ids (organisations of kind `agency`).
    #[schema(min_items = 1, max_items = 20)]
    pub agencies: Vec<String>,
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpinionBody {
    #[schema(value_type = String, pattern = "^(concur|object|no_position)$")]
    pub opinion: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[schema(pattern = "^(designate|decline)$")]
    pub decision: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
    /// Designate although a consulted agency objects (the reason must answer the objection).
    pub over_objection: Option<bool>,
}

fn reason(text: &str) -> Result<String, ApiError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 2000 {
        return Err(ApiError::bad_request("reason: 1 to 2,000 characters"));
    }
    Ok(t.to_string())
}

async fn take_step(
    service: &ProposalService,
    caller: &Principal,
    id: &str,
    step: StepRequest,
) -> Result<axum::Json<EventView>, ApiError> {
    Ok(axum::Json(service.step(caller, id, step).await?.into()))
}

/// Submits a draft to the program.
#[utoipa::path(post, path = "/v1/proposals/{id}/submit", tag = "proposals",
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 200, body = EventView), (status = 409, description = "invalid_transition: not a draft")))]
async fn submit_draft(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<EventView>, ApiError> {
    take_step(&service, &caller, &id, StepRequest::Submit).await
}

/// Withdraws a proposal (its own consortium, before a decision).
#[utoipa::path(post, path = "/v1/proposals/{id}/withdraw", tag = "proposals", request_body = ReasonBody,
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 200, body = EventView), (status = 409, description = "invalid_transition: decided already")))]
async fn withdraw(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<ReasonBody>,
) -> Result<axum::Json<EventView>, ApiError> {
    let reason = reason(&body.reason)?;
    take_step(&service, &caller, &id, StepRequest::Withdraw { reason }).await
}

/// Commerce opens its review of a submitted proposal, consulting agencies.
#[utoipa::path(post, path = "/v1/proposals/{id}/consultation", tag = "proposals", request_body = ConsultationBody,
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 200, body = EventView), (status = 409, description = "invalid_transition: not submitted")))]
async fn consultation(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<ConsultationBody>,
) -> Result<axum::Json<EventView>, ApiError> {
    let reason = reason(&body.reason)?;
    let step = StepRequest::StartReview {
        agencies: body.agencies,
        reason,
    };
    take_step(&service, &caller, &id, step).await
}

/// A consulted agency's opinion (it may revise it until Commerce decides).
#[utoipa::path(post, path = "/v1/proposals/{id}/opinion", tag = "proposals", request_body = OpinionBody,
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 200, body = EventView), (status = 409, description = "invalid_transition: not under review")))]
async fn opinion(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<OpinionBody>,
) -> Result<axum::Json<EventView>, ApiError> {
    let opinion = body
        .opinion
        .parse()
        .map_err(|e: String| ApiError::bad_request(format!("opinion: {e}")))?;
    let reason = reason(&body.reason)?;
    take_step(
        &service,
        &caller,
        &id,
        StepRequest::Opinion { opinion, reason },
    )
    .await
}

/// Commerce designates or declines a proposal under review (another person than the one who
/// opened the review; designation once every consulted agency has given its opinion).
#[utoipa::path(post, path = "/v1/proposals/{id}/decision", tag = "proposals", request_body = DecisionBody,
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 200, body = EventView),
        (status = 409, description = "invalid_transition, opinions_missing, agency_objects")))]
async fn decision(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<DecisionBody>,
) -> Result<axum::Json<EventView>, ApiError> {
    let reason = reason(&body.reason)?;
    let step = match body.decision.as_str() {
        "designate" => StepRequest::Designate {
            reason,
            over_objection: body.over_objection.unwrap_or(false),
        },
        "decline" => StepRequest::Decline { reason },
        other => {
            return Err(ApiError::bad_request(format!(
                "decision: {other:?} is neither designate nor decline"
            )))
        }
    };
    take_step(&service, &caller, &id, step).await
}

/// Every step taken on a proposal, oldest first, each with its actor and ledger entry.
#[utoipa::path(get, path = "/v1/proposals/{id}/history", tag = "proposals",
    params(("id" = String, Path, description = "The proposal's id")),
    responses((status = 200, body = HistoryResponse)))]
async fn history(
    State(service): Service,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<HistoryResponse>, ApiError> {
    let events = service.history(&caller, &id).await?;
    Ok(axum::Json(HistoryResponse {
        proposal: id,
        events: events.into_iter().map(EventView::from).collect(),
    }))
}

/// The program's catalogue: the designated packages buyers see, by id.
#[utoipa::path(get, path = "/v1/catalogue", tag = "proposals", params(ListQuery),
    responses((status = 200, body = ProposalListResponse)))]
async fn catalogue(
    State(service): Service,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<ProposalListResponse>, ApiError> {
    let limit = q.page_limit()?;
    let page = service.catalogue(q.after.as_deref(), limit).await?;
    Ok(axum::Json(page_response(page, limit)))
}

/// The module's routes, over the screening state the server shares.
pub async fn router(
    ctx: &ServerContext,
    screening: Arc<ScreeningState>,
) -> anyhow::Result<OpenApiRouter> {
    let service = start(ctx, screening).await?;
    // Proposals and packages may be larger than the default body limit.
    let uploads = OpenApiRouter::new()
        .routes(routes!(submit, list))
        .routes(routes!(validate_package))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    Ok(OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(one))
        .routes(routes!(review))
        .routes(routes!(reevaluations))
        .routes(routes!(history))
        .routes(routes!(submit_draft))
        .routes(routes!(withdraw))
        .routes(routes!(consultation))
        .routes(routes!(opinion))
        .routes(routes!(decision))
        .routes(routes!(catalogue))
        .with_state(service.clone())
        // Financing requests read the proposals' reviews and status through this service.
        .merge(crate::financing::router(Arc::new(
            stackport_app::financing::FinancingService::new(
                ctx.store.clone(),
                ctx.ledger.clone(),
                service,
            ),
        ))))
}

#[cfg(test)]
mod tests {
    use super::ReviewFormat as F;

    #[test]
    fn accept_picks_the_supported_type_of_highest_weight() {
        assert_eq!(F::negotiate(None).unwrap(), F::Json);
        assert_eq!(F::negotiate(Some("")).unwrap(), F::Json);
        assert_eq!(F::negotiate(Some("text/html")).unwrap(), F::Html);
        assert_eq!(
            F::negotiate(Some("text/markdown;charset=utf-8")).unwrap(),
            F::Markdown
        );
        assert_eq!(
            F::negotiate(Some("application/vnd.cyclonedx+json")).unwrap(),
            F::CycloneDx
        );
        assert_eq!(
            F::negotiate(Some("text/html;q=0.5, text/markdown")).unwrap(),
            F::Markdown
        );
        assert_eq!(F::negotiate(Some("image/png, */*;q=0.1")).unwrap(), F::Json);
        assert_eq!(
            F::negotiate(Some("text/html;q=0, application/json")).unwrap(),
            F::Json
        );
        let e = F::negotiate(Some("image/png")).unwrap_err();
        assert_eq!((e.code, e.status.as_u16()), ("not_acceptable", 406));
    }
}
