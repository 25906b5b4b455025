//! Export-control routes: `POST /v1/classify`, `POST /v1/determine` (one case or a batch) and
//! `GET /v1/rulebook`, over the compiled rulebook of `stackport-controls`.
//!
//! The rulebook is loaded once at start-up (from `ServerConfig::rulebook_dir`, else the
//! rulebook compiled into the binary) and shared read-only. Every determination is appended to
//! the tamper-evident ledger and the response carries its leaf index and hash.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use stackport_controls::case::CaseInput;
use stackport_controls::item::ItemSpec;
use stackport_controls::{DeterminationOutput, InputError, Posture, Rulebook};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, Json};
use crate::ledger::{DecisionLedger, LedgerReceipt};
use crate::screening::ErrorBody;
use crate::ServerContext;

/// Most cases accepted in one `POST /v1/determine` batch.
pub const MAX_BATCH: usize = 10_000;

#[derive(OpenApi)]
#[openapi(
    components(schemas(ClassifyRequest, ClassifyResponse, DetermineRequest, DetermineResponse, DetermineBatchResponse, RulebookResponse, RuleInfo)),
    tags((name = "controls", description = "Export-control classification and licence determination (15 CFR Parts 734-774), dated and cited"))
)]
pub struct ControlsApi;

struct ControlsState {
    rulebook: Arc<Rulebook>,
    ledger: Arc<DecisionLedger>,
    determinations: ::metrics::Counter,
    classifications: ::metrics::Counter,
}

/// The rulebook the server decides by: `ServerConfig::rulebook_dir`, else the one compiled
/// into the binary.
pub fn load_rulebook(config: &crate::ServerConfig) -> anyhow::Result<Rulebook> {
    match &config.rulebook_dir {
        Some(dir) => Rulebook::load_dir(dir)
            .map_err(|e| anyhow::anyhow!("loading rulebook {}: {e}", dir.display())),
        None => Rulebook::embedded().map_err(|e| anyhow::anyhow!("built-in rulebook: {e}")),
    }
}

pub async fn router(ctx: &ServerContext) -> anyhow::Result<OpenApiRouter> {
    let state = Arc::new(ControlsState {
        rulebook: Arc::new(load_rulebook(&ctx.config)?),
        ledger: ctx.ledger.clone(),
        determinations: ctx.metrics.counter(
            "stackport_determinations_total",
            "Licence determinations made (single and batch).",
        ),
        classifications: ctx.metrics.counter(
            "stackport_classifications_total",
            "Item classifications made.",
        ),
    });
    Ok(OpenApiRouter::new()
        .routes(routes!(classify))
        .routes(routes!(determine))
        .routes(routes!(rulebook_info))
        .with_state(state))
}

/// Maps an engine input error to a stable API code; `at` prefixes the message (batch index).
fn input_error(e: InputError, at: &str) -> ApiError {
    let code = match &e {
        InputError::UnknownCountry { .. } => "invalid_country",
        InputError::UnknownCatalog(_) => "unknown_catalog_item",
        InputError::BadDate(_) => "invalid_date",
        InputError::DateOutOfRange { .. } => "date_out_of_range",
        InputError::BadNumber { .. } => "invalid_parameter",
        InputError::UnknownEndUse(_) => "unknown_end_use",
        InputError::BadItem(_) | InputError::BadPosture(_) | InputError::Invalid { .. } => {
            "invalid_request"
        }
    };
    ApiError::new(code, format!("{at}{e}"))
}

// ------------------------------------------------------------------------------------------
// POST /v1/classify

/// An item to classify.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClassifyRequest {
    /// Exactly one of `catalog` (id), `chip` (tpp or throughput, die_area_mm2, datacenter, ...),
    /// `model` (training_operations, published), `memory`, `computer`.
    #[schema(value_type = Object)]
    pub item: serde_json::Value,
    /// Day, YYYY-MM-DD (default: the rulebook's sources date).
    #[serde(default)]
    pub date: Option<String>,
    /// `enforced` (default) or `codified`.
    #[serde(default)]
    pub posture: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifyResponse {
    pub date: String,
    pub posture: String,
    /// ECCN, `EAR99`, or null when not subject to the EAR or undetermined.
    pub eccn: Option<String>,
    /// The paragraph test met (e.g. `3A090.a.1`).
    pub paragraph: Option<String>,
    pub determined: bool,
    /// Parameters the classification needs and did not get.
    pub missing: Vec<String>,
    pub tpp: Option<f64>,
    pub performance_density: Option<f64>,
    pub citations: Vec<String>,
    pub rule_versions: Vec<String>,
    pub reasons: Vec<String>,
}

#[utoipa::path(
    post, path = "/v1/classify", tag = "controls",
    request_body = ClassifyRequest,
    responses(
        (status = 200, description = "Classification with reasoning and citations", body = ClassifyResponse),
        (status = 400, description = "invalid_json, invalid_request, unknown_catalog_item, invalid_parameter, invalid_date, date_out_of_range", body = ErrorBody),
    )
)]
async fn classify(
    State(state): State<Arc<ControlsState>>,
    Json(req): Json<ClassifyRequest>,
) -> Result<axum::Json<ClassifyResponse>, ApiError> {
    let rb = &state.rulebook;
    let spec: ItemSpec = serde_json::from_value(req.item)
        .map_err(|e| ApiError::new("invalid_request", format!("item: {e}")))?;
    let date = match &req.date {
        Some(d) => rb.parse_date(d).map_err(|e| input_error(e, ""))?,
        None => rb.sources_as_of,
    };
    let posture = match req.posture.as_deref() {
        None => Posture::Enforced,
        Some(p) => {
            Posture::parse(p).ok_or_else(|| input_error(InputError::BadPosture(p.into()), ""))?
        }
    };
    let item = rb.resolve_item(&spec).map_err(|e| input_error(e, ""))?;
    let c = rb
        .classify(&item, date, posture)
        .map_err(|e| input_error(e, ""))?;
    state.classifications.increment(1);
    use stackport_controls::rulebook::Param;
    let mut rule_versions: Vec<String> = c.rules.iter().map(|r| rb.rule(*r).version()).collect();
    rule_versions.extend(
        c.not_enforced
            .iter()
            .map(|r| format!("{} (codified, not enforced)", rb.rule(*r).version())),
    );
    Ok(axum::Json(ClassifyResponse {
        date: date.to_string(),
        posture: posture.as_str().into(),
        eccn: c.eccn.as_deref().map(str::to_string),
        paragraph: c.paragraph.map(str::to_string),
        determined: c.determined,
        missing: c.missing.iter().map(|m| m.to_string()).collect(),
        tpp: item.param(Param::Tpp),
        performance_density: item.param(Param::PerformanceDensity),
        citations: c
            .rules
            .iter()
            .map(|r| rb.rule(*r).citation.clone())
            .collect(),
        rule_versions,
        reasons: c
            .rules
            .iter()
            .map(|r| {
                let r = rb.rule(*r);
                format!("{} [{}; {}; {}]", r.title, r.citation, r.fr, r.version())
            })
            .collect(),
    }))
}

// ------------------------------------------------------------------------------------------
// POST /v1/determine

/// One case (the JSONL contract of `stackport determine --batch`), or `{"cases": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"id": "c1", "date": "2026-03-01", "item": {"catalog": "nvidia-h200"}, "export_from": "US", "destination": "CN", "end_user": {"name": "Buyer", "hq_country": "CN"}, "posture": "enforced"}))]
pub struct DetermineRequest {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub id: serde_json::Value,
    pub date: String,
    #[schema(value_type = Object)]
    pub item: serde_json::Value,
    #[serde(default)]
    pub export_from: Option<String>,
    pub destination: String,
    /// `{name, hq_country, screening_hits: [{list, entity, name}]}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub end_user: Option<serde_json::Value>,
    #[serde(default)]
    pub end_use: Option<Vec<String>>,
    #[serde(default)]
    pub posture: Option<String>,
    #[serde(default)]
    pub exporter: Option<String>,
}

/// A determination and where it went in the ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetermineResponse {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub determination: DeterminationOutput,
    /// The ledger entry recording this determination.
    pub ledger: Option<LedgerReceipt>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DetermineBatchResponse {
    pub results: Vec<DetermineResponse>,
}

#[utoipa::path(
    post, path = "/v1/determine", tag = "controls",
    request_body(content = DetermineRequest, description = "One case, or {\"cases\": [case, ...]} for a batch"),
    responses(
        (status = 200, description = "One determination (single case) or {results: [...]} in request order (batch); each with its ledger receipt", body = DetermineResponse),
        (status = 400, description = "invalid_json, invalid_request, invalid_country, unknown_catalog_item, invalid_parameter, invalid_date, date_out_of_range, unknown_end_use (a batch message names the case's index); nothing is recorded", body = ErrorBody),
        (status = 413, description = "batch_too_large", body = ErrorBody),
    )
)]
async fn determine(
    State(state): State<Arc<ControlsState>>,
    caller: Option<axum::Extension<stackport_identity::Principal>>,
    Json(body): Json<serde_json::Value>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let rb = &state.rulebook;
    let (batch, raw_cases) = match body.get("cases") {
        Some(serde_json::Value::Array(a)) => (true, a.clone()),
        Some(_) => {
            return Err(ApiError::new(
                "invalid_request",
                "cases: expected an array of cases",
            ))
        }
        None => (false, vec![body]),
    };
    if raw_cases.len() > MAX_BATCH {
        return Err(ApiError::new(
            "batch_too_large",
            format!("{} cases; the limit is {MAX_BATCH}", raw_cases.len()),
        ));
    }
    // Decide every case before recording any, so that a bad case records nothing.
    let mut decided = Vec::with_capacity(raw_cases.len());
    for (i, raw) in raw_cases.into_iter().enumerate() {
        let at = if batch {
            format!("cases[{i}]: ")
        } else {
            String::new()
        };
        let case: CaseInput = serde_json::from_value(raw.clone())
            .map_err(|e| ApiError::new("invalid_request", format!("{at}{e}")))?;
        let out = rb
            .determine_input(&case, &[], false)
            .map_err(|e| input_error(e, &at))?;
        decided.push((raw, out));
    }
    let mut results = Vec::with_capacity(decided.len());
    for (raw, out) in decided {
        // LEDGER: every determination is appended here; the receipt (leaf index and hash) goes
        // into the response.
        let decision = stackport_ledger::Decision::now(
            stackport_ledger::DecisionKind::Determination,
            raw,
            serde_json::to_value(&out).map_err(ApiError::internal)?,
            stackport_ledger::DecisionVersions {
                rules: Some(rb.version.clone()),
                lists: None,
            },
        )
        .by(crate::auth::actor(caller.as_ref().map(|c| &c.0)));
        let receipt = state.ledger.record(&decision).await?;
        state.determinations.increment(1);
        results.push(DetermineResponse {
            determination: out,
            ledger: Some(receipt),
        });
    }
    if batch {
        Ok(axum::Json(DetermineBatchResponse { results }).into_response())
    } else {
        let one = results
            .pop()
            .ok_or_else(|| ApiError::internal("no result"))?;
        Ok(axum::Json(one).into_response())
    }
}

// ------------------------------------------------------------------------------------------
// GET /v1/rulebook

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleInfo {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub citation: String,
    pub fr: String,
    pub effective: String,
    pub compliance: Option<String>,
    pub end: Option<String>,
    /// `enforced` or `codified_only`.
    pub enforcement: String,
    pub not_enforced_from: Option<String>,
    pub confidence: String,
    pub uncertain: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulebookResponse {
    pub version: String,
    pub valid_from: String,
    pub valid_through: String,
    pub sources_as_of: String,
    /// Days on which some entry starts, ends or stops being enforced.
    pub change_dates: Vec<String>,
    pub rules: Vec<RuleInfo>,
    pub catalog: Vec<String>,
}

#[utoipa::path(
    get, path = "/v1/rulebook", tag = "controls",
    responses((status = 200, description = "Rulebook version, entries with citations and effective dates, catalog ids", body = RulebookResponse))
)]
async fn rulebook_info(State(state): State<Arc<ControlsState>>) -> axum::Json<RulebookResponse> {
    let rb = &state.rulebook;
    axum::Json(RulebookResponse {
        version: rb.version.clone(),
        valid_from: rb.valid_from.to_string(),
        valid_through: rb.valid_through.to_string(),
        sources_as_of: rb.sources_as_of.to_string(),
        change_dates: rb.change_dates().iter().map(|d| d.to_string()).collect(),
        rules: rb
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: r.id.clone(),
                kind: r.kind.into(),
                title: r.title.clone(),
                citation: r.citation.clone(),
                fr: r.fr.clone(),
                effective: r.effective.to_string(),
                compliance: r.compliance.map(|d| d.to_string()),
                end: r.end.map(|d| d.to_string()),
                enforcement: match r.enforcement {
                    stackport_controls::rulebook::Enforcement::Enforced => "enforced".into(),
                    stackport_controls::rulebook::Enforcement::CodifiedOnly => {
                        "codified_only".into()
                    }
                },
                not_enforced_from: r.not_enforced_from.map(|d| d.to_string()),
                confidence: r.confidence.as_str().into(),
                uncertain: r.uncertain.clone(),
            })
            .collect(),
        catalog: rb.catalog().iter().map(|c| c.id.clone()).collect(),
    })
}
