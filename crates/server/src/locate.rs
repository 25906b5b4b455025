//! The chip registry over HTTP (issue 5), over `stackport-app`'s [`LocateService`] (whose
//! module docs say how measurements are checked, verdicts reached and alerts raised).
//!
//! Routes (all under `/v1/locate`): enrol chips and landmarks, accept landmark-signed
//! measurements, read a chip's status, verdict history and SVG map, and the open-alerts report
//! (CSV or JSON). Measurements also arrive from NATS JetStream ([`start_nats_consumer`],
//! started by [`router`] when `STACKPORT_NATS_URL` is set). A rejection is a 4xx with a stable
//! code, counted on `/metrics` (`stackport_locate_rejected_<code>_total`). A landmark whose
//! stated place contradicts its round trips to other landmarks is listed by
//! `GET /v1/locate/landmarks/alerts`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Extension;
use stackport_identity::policy::{decide_on, Action, Principal};

use crate::error::{Bytes, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use stackport_app::registry::{
    atlas, now_us, rfc3339, AlertView, IngestOutcome, VerdictView, DEFAULT_STREAM, DURABLE,
    SUBJECT_PREFIX,
};
use stackport_app::Rejection;
use stackport_locate::countries::CountryCode;
use stackport_locate::protocol::{ChipId, LandmarkId, PublicKey};
use stackport_locate::GeoPoint;
use stackport_store::{ChipRecord, LandmarkRecord, StoreError};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use stackport_app::registry::{start_nats_consumer, LocateConfig, LocateService};

use crate::error::{ApiError, Json};
use crate::ServerContext;

/// Environment: NATS server URL; when set, the server consumes measurements from JetStream.
pub const NATS_URL_ENV: &str = "STACKPORT_NATS_URL";
/// Environment: prohibited countries for verdicts, comma-separated ISO 3166-1 alpha-2.
pub const PROHIBITED_ENV: &str = "STACKPORT_LOCATE_PROHIBITED";
/// Environment: JetStream stream name (default [`DEFAULT_STREAM`]).
pub const NATS_STREAM_ENV: &str = "STACKPORT_NATS_STREAM";

// ---- request and response bodies ----

/// A licensed site.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Site {
    /// Degrees north, WGS 84.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Degrees east, WGS 84.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// ISO 3166-1 alpha-2 (or alpha-3), any case; it must name a country of the atlas.
    #[schema(pattern = r"^\s*[A-Za-z]{2,3}\s*$")]
    pub country: String,
}

/// `POST /v1/locate/chips`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EnrolChip {
    /// 1 to 64 characters of `A-Z a-z 0-9 . _ : -`.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    pub id: String,
    /// `ed25519:<hex>`, `p384:<hex>` or a PEM public key.
    pub public_key: String,
    /// Catalog model, e.g. `H100-SXM5-80GB` (1 to 200 characters, not only spaces).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub model: String,
    /// The chip's owner (1 to 200 characters, not only spaces).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub owner: String,
    pub site: Site,
    /// The export it left under (licence number, ledger entry).
    pub export_ref: Option<String>,
    /// Seconds between check-ins, 60 to 31,622,400 (366 days); default one day.
    #[schema(minimum = 60, maximum = 31_622_400)]
    pub checkin_interval_s: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChipView {
    pub id: String,
    pub public_key: String,
    pub model: String,
    pub owner: String,
    pub site: Site,
    pub export_ref: Option<String>,
    pub checkin_interval_s: i64,
    pub enrolled_at_us: i64,
}

impl From<ChipRecord> for ChipView {
    fn from(c: ChipRecord) -> Self {
        Self {
            id: c.id,
            public_key: c.public_key,
            model: c.model,
            owner: c.owner,
            site: Site {
                lat: c.site_lat,
                lon: c.site_lon,
                country: c.site_country,
            },
            export_ref: c.export_ref,
            checkin_interval_s: c.checkin_interval_s,
            enrolled_at_us: c.enrolled_at,
        }
    }
}

/// `POST /v1/locate/landmarks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrolLandmark {
    /// 1 to 64 characters of `A-Z a-z 0-9 . _ : -`.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    pub id: String,
    /// `ed25519:<hex>`, `p384:<hex>` or a PEM public key.
    pub public_key: String,
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
}

/// `GET /v1/locate/chips/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChipStatus {
    pub chip: ChipView,
    pub latest_verdict: Option<VerdictView>,
    pub open_alerts: Vec<AlertView>,
}

/// `POST /v1/locate/measurements` as JSON.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MeasurementBody {
    /// The landmark-signed binary measurement, base64 (RFC 4648 §4).
    pub measurement: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

/// The forms of the alerts report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Csv,
}

// ---- handlers ----

type Svc = State<Arc<LocateService>>;

fn parse_site(svc: &LocateService, lat: f64, lon: f64) -> Result<GeoPoint, ApiError> {
    GeoPoint::new(lat, lon).map_err(|e| {
        svc.reject(Rejection::InvalidCoordinates, e.to_string())
            .into()
    })
}

#[utoipa::path(post, path = "/v1/locate/chips", tag = "locate", request_body = EnrolChip,
    responses((status = 201, description = "Enrolled", body = ChipView),
              (status = 400, description = "invalid_json, invalid_request, invalid_public_key, invalid_coordinates, invalid_country"),
              (status = 409, description = "already_enrolled")))]
async fn enrol_chip(
    State(svc): Svc,
    caller: Option<Extension<Principal>>,
    Json(body): Json<EnrolChip>,
) -> Result<(StatusCode, axum::Json<ChipView>), ApiError> {
    ChipId::new(&body.id).map_err(|e| svc.reject(Rejection::InvalidRequest, format!("id: {e}")))?;
    let key = PublicKey::parse(&body.public_key)
        .map_err(|e| svc.reject(Rejection::InvalidPublicKey, e.to_string()))?;
    parse_site(&svc, body.site.lat, body.site.lon)?;
    let country = CountryCode::parse(&body.site.country)
        .map_err(|e| svc.reject(Rejection::InvalidCountry, format!("site.country: {e}")))?;
    // The code must name a country the atlas knows (Natural Earth 50m), not merely be two letters.
    atlas()?
        .zone(std::slice::from_ref(&country))
        .map_err(|e| svc.reject(Rejection::InvalidCountry, format!("site.country: {e}")))?;
    for (field, v) in [("model", &body.model), ("owner", &body.owner)] {
        if v.trim().is_empty() || v.chars().count() > 200 {
            return Err(svc
                .reject(
                    Rejection::InvalidRequest,
                    format!("{field}: must be 1 to 200 characters, not only spaces"),
                )
                .into());
        }
    }
    let interval = body
        .checkin_interval_s
        .unwrap_or(svc.config().default_checkin_s);
    if !(60..=366 * 24 * 3600).contains(&interval) {
        return Err(svc
            .reject(
                Rejection::InvalidRequest,
                format!("checkin_interval_s: {interval} is outside 60..=31622400"),
            )
            .into());
    }
    let record = ChipRecord {
        id: body.id,
        public_key: key.to_string(),
        model: body.model,
        owner: body.owner,
        site_lat: body.site.lat,
        site_lon: body.site.lon,
        site_country: country.as_str().to_string(),
        export_ref: body.export_ref,
        checkin_interval_s: interval,
        enrolled_at: now_us(),
    };
    // The enrolling organisation owns the chip: its operators, and those who oversee chips,
    // see it (`policy::decide_on(ReadChip)`).
    let owner = caller.as_ref().map(|Extension(p)| p.org.as_str());
    svc.store()
        .enrol_chip_for(&record, owner)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => svc.reject(Rejection::AlreadyEnrolled, m),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, axum::Json(record.into())))
}

/// Another organisation's chip is answered exactly as an unknown one. Without a principal
/// (the module's routes served on their own, as its tests and benchmarks do, without the
/// server's auth layer) there is no organisation to check.
async fn visible_chip(
    svc: &LocateService,
    caller: Option<&Extension<Principal>>,
    id: &str,
) -> Result<(), ApiError> {
    let missing = || ApiError::new("not_found", format!("chip {id:?} is not enrolled"));
    let owner = svc.store().chip_owner_org(id).await?.ok_or_else(missing)?;
    match caller {
        Some(Extension(p)) if !decide_on(p, Action::ReadChip, owner.as_deref()).allowed() => {
            Err(missing())
        }
        _ => Ok(()),
    }
}

#[utoipa::path(get, path = "/v1/locate/chips/{id}", tag = "locate",
    responses((status = 200, description = "The chip, its latest verdict and open alerts", body = ChipStatus), (status = 404, description = "not_found")))]
async fn chip_status(
    State(svc): Svc,
    caller: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<axum::Json<ChipStatus>, ApiError> {
    visible_chip(&svc, caller.as_ref(), &id).await?;
    let chip = svc
        .store()
        .chip(&id)
        .await?
        .ok_or_else(|| ApiError::new("not_found", format!("chip {id:?} is not enrolled")))?;
    let latest = svc
        .store()
        .latest_verdict(&id)
        .await?
        .map(VerdictView::from);
    let open = svc
        .store()
        .chip_alerts(&id)
        .await?
        .into_iter()
        .filter(|a| a.resolved_at.is_none())
        .map(AlertView::from)
        .collect();
    Ok(axum::Json(ChipStatus {
        chip: chip.into(),
        latest_verdict: latest,
        open_alerts: open,
    }))
}

#[utoipa::path(get, path = "/v1/locate/chips/{id}/verdicts", tag = "locate",
    responses((status = 200, description = "Verdict history, newest first (at most 1,000)", body = [VerdictView]), (status = 404, description = "not_found")))]
async fn chip_verdicts(
    State(svc): Svc,
    caller: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<VerdictView>>, ApiError> {
    visible_chip(&svc, caller.as_ref(), &id).await?;
    svc.store()
        .chip(&id)
        .await?
        .ok_or_else(|| ApiError::new("not_found", format!("chip {id:?} is not enrolled")))?;
    Ok(axum::Json(
        svc.store()
            .verdict_history(&id, 1000)
            .await?
            .into_iter()
            .map(VerdictView::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/locate/chips/{id}/map.svg", tag = "locate",
    responses((status = 200, description = "SVG world map of the chip's current region", content_type = "image/svg+xml"), (status = 404, description = "not_found")))]
async fn chip_map(
    State(svc): Svc,
    caller: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    visible_chip(&svc, caller.as_ref(), &id).await?;
    let chip = svc
        .store()
        .chip(&id)
        .await?
        .ok_or_else(|| ApiError::new("not_found", format!("chip {id:?} is not enrolled")))?;
    let (set, obs, _) = svc.observations(&chip, now_us()).await?;
    let view = stackport_locate::map::MapView {
        atlas: atlas()?,
        zone: svc.zone(),
        landmarks: &set,
        observations: &obs,
        site: LocateService::site(&chip)?,
        tau_min_ms: 0.0,
        title: &chip.id,
    };
    let svg = stackport_locate::map::render_svg(&view);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[utoipa::path(post, path = "/v1/locate/landmarks", tag = "locate", request_body = EnrolLandmark,
    responses((status = 201, description = "Enrolled", body = EnrolLandmark),
              (status = 400, description = "invalid_json, invalid_request, invalid_public_key, invalid_coordinates"),
              (status = 409, description = "already_enrolled")))]
async fn enrol_landmark(
    State(svc): Svc,
    Json(body): Json<EnrolLandmark>,
) -> Result<(StatusCode, axum::Json<EnrolLandmark>), ApiError> {
    LandmarkId::new(&body.id)
        .map_err(|e| svc.reject(Rejection::InvalidRequest, format!("id: {e}")))?;
    let key = PublicKey::parse(&body.public_key)
        .map_err(|e| svc.reject(Rejection::InvalidPublicKey, e.to_string()))?;
    parse_site(&svc, body.lat, body.lon)?;
    let record = LandmarkRecord {
        id: body.id,
        public_key: key.to_string(),
        lat: body.lat,
        lon: body.lon,
        enrolled_at: now_us(),
    };
    svc.store()
        .enrol_landmark(&record)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => svc.reject(Rejection::AlreadyEnrolled, m),
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(EnrolLandmark {
            id: record.id,
            public_key: record.public_key,
            lat: record.lat,
            lon: record.lon,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/locate/landmarks", tag = "locate",
    responses((status = 200, description = "Enrolled landmarks", body = [EnrolLandmark])))]
async fn list_landmarks(State(svc): Svc) -> Result<axum::Json<Vec<EnrolLandmark>>, ApiError> {
    let all = svc.store().landmarks().await?;
    Ok(axum::Json(
        all.into_iter()
            .map(|l| EnrolLandmark {
                id: l.id,
                public_key: l.public_key,
                lat: l.lat,
                lon: l.lon,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/v1/locate/measurements", tag = "locate", request_body = MeasurementBody,
    description = "A landmark-signed measurement: JSON `{\"measurement\": base64}` or the raw bytes with `Content-Type: application/octet-stream`. Idempotent by measurement id.",
    responses((status = 200, description = "Stored (and the chip re-verified) or a duplicate", body = IngestOutcome),
              (status = 400, description = "invalid_json, malformed_measurement"),
              (status = 409, description = "measurement_conflict"),
              (status = 422, description = "unknown_chip, unknown_landmark, invalid_signature, invalid_rtt, stale_measurement")))]
async fn post_measurement(
    State(svc): Svc,
    headers: HeaderMap,
    Bytes(body): Bytes,
) -> Result<axum::Json<IngestOutcome>, ApiError> {
    let raw = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    let bytes = if raw {
        body.to_vec()
    } else {
        let parsed: MeasurementBody = serde_json::from_slice(&body)
            .map_err(|e| svc.reject(Rejection::InvalidJson, format!("body: {e}")))?;
        base64::engine::general_purpose::STANDARD
            .decode(parsed.measurement.trim())
            .map_err(|e| {
                svc.reject(
                    Rejection::MalformedMeasurement,
                    format!("measurement: not base64: {e}"),
                )
            })?
    };
    Ok(axum::Json(svc.ingest(&bytes).await?))
}

const CSV_HEADER: &str =
    "id,chip_id,category,detail,measurement_id,raised_at,last_seen_at,occurrences";

use crate::reports::csv_field;

#[utoipa::path(get, path = "/v1/locate/alerts", tag = "locate", params(ReportQuery),
    description = "Open alerts, oldest first. Reading changes nothing: missed check-ins are raised by the server's scheduled sweep (every `check_in_sweep_s`, 300 s by default). CSV columns: id,chip_id,category,detail,measurement_id,raised_at,last_seen_at,occurrences.",
    responses((status = 200, description = "The report: JSON (`format=json`, the default) or CSV (`format=csv`)", content(
        ([AlertView] = "application/json"),
        (String = "text/csv"),
    )), (status = 400, description = "invalid_request")))]
async fn alerts_report(
    State(svc): Svc,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.unwrap_or(ReportFormat::Json);
    let alerts: Vec<AlertView> = svc
        .store()
        .open_alerts()
        .await?
        .into_iter()
        .map(AlertView::from)
        .collect();
    if format == ReportFormat::Json {
        return Ok(axum::Json(alerts).into_response());
    }
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for a in &alerts {
        let row = [
            a.id.to_string(),
            csv_field(&a.chip_id),
            csv_field(&a.category),
            csv_field(&a.detail),
            csv_field(a.measurement_id.as_deref().unwrap_or("")),
            a.raised_at.clone(),
            a.last_seen_at.clone(),
            a.occurrences.to_string(),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}

#[utoipa::path(post, path = "/v1/locate/alerts/{id}/resolve", tag = "locate",
    params(("id" = i64, Path, description = "The alert's id")),
    responses((status = 200, description = "Resolved; the resolution is in the ledger", body = ResolvedAlert), (status = 404, description = "not_found: no open alert with this id", body = crate::screening::ErrorBody)))]
async fn resolve_alert(
    State(svc): Svc,
    caller: Option<Extension<Principal>>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ResolvedAlert>, ApiError> {
    // The resolution is a decision: its ledger entry names who made it.
    let actor = caller.map(
        |Extension(p)| serde_json::json!({ "user": p.user, "organisation": p.org, "role": p.role }),
    );
    let ledger = svc.resolve_alert_by(id, actor).await?;
    Ok(axum::Json(ResolvedAlert {
        id,
        resolved: true,
        ledger,
    }))
}

/// An open alert on a landmark.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LandmarkAlertView {
    pub id: i64,
    pub landmark_id: String,
    /// `landmark_contradiction`.
    pub category: String,
    pub detail: String,
    pub raised_at: String,
    pub last_seen_at: String,
    pub occurrences: i64,
}

/// `POST /v1/locate/alerts/{id}/resolve`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolvedAlert {
    pub id: i64,
    pub resolved: bool,
    /// The resolution's ledger entry.
    pub ledger: crate::ledger::LedgerReceipt,
}

#[utoipa::path(get, path = "/v1/locate/landmarks/alerts", tag = "locate",
    description = "Open landmark alerts, oldest first: landmarks whose stated places contradict their round trips to other landmarks, left out of every verdict while flagged.",
    responses((status = 200, description = "The alerts", body = [LandmarkAlertView])))]
async fn landmark_alerts(State(svc): Svc) -> Result<axum::Json<Vec<LandmarkAlertView>>, ApiError> {
    let alerts = svc.store().open_landmark_alerts().await?;
    Ok(axum::Json(
        alerts
            .into_iter()
            .map(|a| LandmarkAlertView {
                id: a.id,
                landmark_id: a.landmark_id,
                category: a.category,
                detail: a.detail,
                raised_at: rfc3339(a.raised_at),
                last_seen_at: rfc3339(a.last_seen_at),
                occurrences: a.occurrences,
            })
            .collect(),
    ))
}

#[derive(OpenApi)]
#[openapi(components(schemas(
    EnrolChip,
    Site,
    ChipView,
    EnrolLandmark,
    VerdictView,
    AlertView,
    ChipStatus,
    MeasurementBody,
    LandmarkAlertView,
    ResolvedAlert,
    IngestOutcome
)))]
pub struct LocateApi;

/// The routes over an existing service.
pub fn routes(svc: Arc<LocateService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(enrol_chip))
        .routes(routes!(chip_status))
        .routes(routes!(chip_verdicts))
        .routes(routes!(chip_map))
        .routes(routes!(enrol_landmark, list_landmarks))
        .routes(routes!(post_measurement))
        .routes(routes!(alerts_report))
        .routes(routes!(resolve_alert))
        .routes(routes!(landmark_alerts))
        .with_state(svc)
}

/// Builds the module's router; starts the NATS consumer when `STACKPORT_NATS_URL` is set and
/// a check-in sweep every 5 minutes.
pub async fn router(ctx: &ServerContext) -> anyhow::Result<OpenApiRouter> {
    let mut config = LocateConfig::default();
    // Prohibited countries: default CN, HK, MO; `STACKPORT_LOCATE_PROHIBITED=CN,HK,MO,...` overrides.
    if let Some(list) = std::env::var(PROHIBITED_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        config.prohibited = list
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
    }
    let svc = LocateService::new(ctx.store.clone(), ctx.metrics.as_ref(), config)
        .map_err(|e| anyhow::anyhow!("{PROHIBITED_ENV} or country shapes: {e}"))?;
    // Measurements a previous process stored but did not get to verify.
    let recovered = svc
        .recover_unverified()
        .await
        .map_err(|e| anyhow::anyhow!("verifying measurements left unverified: {e}"))?;
    if recovered > 0 {
        tracing::info!(
            recovered,
            "verified measurements left unverified by an earlier run"
        );
    }
    if let Some(url) = std::env::var(NATS_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        let stream = std::env::var(NATS_STREAM_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_STREAM.into());
        start_nats_consumer(
            svc.clone(),
            &url,
            &stream,
            &format!("{SUBJECT_PREFIX}.>"),
            DURABLE,
        )
        .await?;
    }
    let sweeper = svc.clone();
    let every = Duration::from_secs(svc.config().check_in_sweep_s.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.sweep_checkins().await {
                tracing::warn!(error = %e, "check-in sweep failed");
            }
        }
    });
    Ok(routes(svc))
}
