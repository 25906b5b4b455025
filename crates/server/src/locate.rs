//! Chip registry and location verification (issue 5).
//!
//! Routes (all under `/v1/locate`): enrol chips and landmarks, accept landmark-signed
//! measurements, read a chip's status, verdict history and SVG map, and the open-alerts report
//! (CSV or JSON). Measurements also arrive from NATS JetStream ([`start_nats_consumer`],
//! started by [`router`] when `STACKPORT_NATS_URL` is set): a durable pull consumer with
//! explicit acks, so delivery is at-least-once; storage is idempotent by measurement id, so
//! several server instances can share one consumer and one database.
//!
//! Every measurement is checked before anything is stored: it decodes; its landmark and chip
//! are enrolled; the landmark's signatures (over the measurement and the embedded challenge)
//! and the chip's (over the embedded response) verify under the registered keys; the RTT,
//! count and time are plausible. A rejection is a 4xx with a stable code, counted on
//! `/metrics` (`stackport_locate_rejected_<code>_total`). After a new measurement the chip is
//! re-verified with `stackport-locate`'s [`Verifier`] over the measurements of the last
//! window, and alerts are raised in the Chip Security Act's categories (S.1705 §4(a)(2)):
//!
//! | category | when |
//! |---|---|
//! | `located_elsewhere` (A) | verdict `violation`: the licensed site lies outside the region |
//! | `diverted` (B) | verdict `violation`: the region lies wholly inside a prohibited country |
//! | `tampering` (C) | the measurements contradict each other (empty region), one key was seen in two places faster than travel allows, or a landmark rejected forged/replayed responses for the chip |
//! | `missed_checkin` | no measurement within the chip's check-in interval (IAPS FAQ Q7; CNAS) |
//!
//! Landmarks measure each other with the same protocol (the measured landmark answers with its
//! own key, its id in the chip field). Before any verdict the landmarks of the chip's window are
//! cross-checked on those round trips (`stackport_locate::crosscheck`, location.md §2.5): a
//! landmark whose stated place contradicts physics is left out of the verdict and gets a
//! `landmark_contradiction` alert (`GET /v1/locate/landmarks/alerts`), so one lying landmark
//! cannot prove a chip somewhere it is not. Every verdict and alert resolution is appended to
//! the ledger in the transaction that stores it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;

use crate::error::{Bytes, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_locate::countries::{Atlas, CountryCode, Relation, Zone};
use stackport_locate::crosscheck::cross_check;
use stackport_locate::protocol::{ChipId, LandmarkId, PublicKey, SignedMeasurement};
use stackport_locate::verdict::{Assessment, LandmarkSet, Observation, Reason, Verifier};
use stackport_locate::{bounds, GeoPoint};
use stackport_store::{
    AlertRecord, ChipRecord, LandmarkRecord, MeasurementInsert, MeasurementRecord, NewAlert,
    Storage, StoreError, VerdictRecord,
};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, Json};
use crate::ServerContext;

/// Environment: NATS server URL; when set, the server consumes measurements from JetStream.
pub const NATS_URL_ENV: &str = "STACKPORT_NATS_URL";
/// Environment: prohibited countries for verdicts, comma-separated ISO 3166-1 alpha-2.
pub const PROHIBITED_ENV: &str = "STACKPORT_LOCATE_PROHIBITED";
/// Environment: JetStream stream name (default [`DEFAULT_STREAM`]).
pub const NATS_STREAM_ENV: &str = "STACKPORT_NATS_STREAM";
pub const DEFAULT_STREAM: &str = "STACKPORT_LOCATE";
/// Subjects landmarks publish to: `stackport.locate.measurements.<landmark id>`.
pub const SUBJECT_PREFIX: &str = "stackport.locate.measurements";
/// Durable consumer name shared by every server instance (they split the stream's load).
pub const DURABLE: &str = "stackport-registry";

/// The alert categories.
pub const LOCATED_ELSEWHERE: &str = "located_elsewhere";
pub const DIVERTED: &str = "diverted";
pub const TAMPERING: &str = "tampering";
pub const MISSED_CHECKIN: &str = "missed_checkin";
/// A landmark whose stated place contradicts its round trips to other landmarks.
pub const LANDMARK_CONTRADICTION: &str = "landmark_contradiction";

/// Tunables of re-verification.
#[derive(Debug, Clone)]
pub struct LocateConfig {
    /// Measurements newer than this form a chip's region (seconds).
    pub window_s: i64,
    /// Measurements this far back are compared pairwise for impossible travel (seconds).
    pub travel_window_s: i64,
    /// Fastest a chip can be carried between two places (km/h): an airliner's cruise with
    /// margin. Higher is more lenient (fewer alerts), never unsound.
    pub max_travel_kmh: f64,
    /// Clock skew allowed for a landmark's measurement time (seconds).
    pub skew_s: u64,
    /// Oldest measurement accepted (seconds).
    pub max_age_s: u64,
    /// Check-in interval for chips enrolled without one (seconds).
    pub default_checkin_s: i64,
    /// Prohibited countries (ISO 3166-1 alpha-2).
    pub prohibited: Vec<String>,
    /// Seconds between the scheduled sweeps that raise `missed_checkin` alerts.
    pub check_in_sweep_s: u64,
}

impl Default for LocateConfig {
    fn default() -> Self {
        Self {
            window_s: 24 * 3600,
            travel_window_s: 7 * 24 * 3600,
            max_travel_kmh: 1_200.0,
            skew_s: 300,
            max_age_s: 7 * 24 * 3600,
            // Daily checks (location.md §4.2: faster than a chip can be de-installed and shipped).
            default_checkin_s: 24 * 3600,
            prohibited: stackport_locate::countries::DEFAULT_PROHIBITED
                .iter()
                .map(|s| s.to_string())
                .collect(),
            check_in_sweep_s: 300,
        }
    }
}

/// The Natural Earth atlas, parsed once per process.
fn atlas() -> Result<&'static Atlas, ApiError> {
    static ATLAS: OnceLock<Result<Atlas, String>> = OnceLock::new();
    ATLAS
        .get_or_init(|| Atlas::natural_earth_50m().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ApiError::internal(format!("country shapes: {e}")))
}

/// Counters on `/metrics`.
struct Counters {
    accepted: Arc<AtomicU64>,
    duplicate: Arc<AtomicU64>,
    nats_acked: Arc<AtomicU64>,
    nats_retried: Arc<AtomicU64>,
    alerts: Arc<AtomicU64>,
    rejected: HashMap<&'static str, Arc<AtomicU64>>,
}

/// Codes a measurement or enrolment can be rejected with (each has a counter).
const REJECTION_CODES: &[&str] = &[
    "invalid_json",
    "invalid_request",
    "malformed_measurement",
    "unknown_chip",
    "unknown_landmark",
    "invalid_signature",
    "invalid_rtt",
    "stale_measurement",
    "measurement_conflict",
    "invalid_coordinates",
    "invalid_public_key",
    "invalid_country",
    "already_enrolled",
];

/// The module's state: store, prohibited zone, settings and counters.
pub struct LocateService {
    store: Arc<dyn Storage>,
    zone: Zone,
    config: LocateConfig,
    counters: Counters,
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// What one accepted measurement did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestOutcome {
    pub measurement_id: String,
    /// `stored` or `duplicate` (already stored: nothing re-done).
    pub status: String,
    /// The chip's new verdict (absent for a duplicate).
    pub verdict: Option<VerdictView>,
    /// Alerts raised or bumped by this measurement.
    pub alerts: Vec<AlertView>,
}

impl LocateService {
    /// Builds the service over a store, registering its counters in `metrics`.
    pub fn new(
        store: Arc<dyn Storage>,
        metrics: &crate::metrics::Metrics,
        config: LocateConfig,
    ) -> anyhow::Result<Arc<Self>> {
        let atlas = atlas().map_err(|e| anyhow::anyhow!(e.message))?;
        let codes = config
            .prohibited
            .iter()
            .map(|c| CountryCode::parse(c))
            .collect::<Result<Vec<_>, _>>()?;
        let zone = atlas.zone(&codes)?;
        let m = metrics;
        let rejected = REJECTION_CODES
            .iter()
            .map(|c| {
                (
                    *c,
                    m.counter(
                        &format!("stackport_locate_rejected_{c}_total"),
                        &format!("Locate requests or messages rejected with code {c}."),
                    ),
                )
            })
            .collect();
        let counters = Counters {
            accepted: m.counter(
                "stackport_locate_measurements_accepted_total",
                "Landmark measurements verified and stored.",
            ),
            duplicate: m.counter(
                "stackport_locate_measurements_duplicate_total",
                "Measurements delivered again (already stored; no-op).",
            ),
            nats_acked: m.counter(
                "stackport_locate_nats_acked_total",
                "JetStream messages acknowledged (stored, duplicate or permanently rejected).",
            ),
            nats_retried: m.counter(
                "stackport_locate_nats_retried_total",
                "JetStream messages negatively acknowledged for redelivery (storage failure).",
            ),
            alerts: m.counter(
                "stackport_locate_alerts_raised_total",
                "Alerts raised or bumped.",
            ),
            rejected,
        };
        Ok(Arc::new(Self {
            store,
            zone,
            config,
            counters,
        }))
    }

    fn reject(&self, code: &'static str, message: impl Into<String>) -> ApiError {
        if let Some(c) = self.counters.rejected.get(code) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        ApiError::new(code, message)
    }

    /// Verifies and stores one landmark-signed measurement, then re-verifies its chip.
    pub async fn ingest(&self, bytes: &[u8]) -> Result<IngestOutcome, ApiError> {
        let signed = SignedMeasurement::decode(bytes)
            .map_err(|e| self.reject("malformed_measurement", format!("measurement: {e}")))?;
        let m = &signed.measurement;
        let landmark = self
            .store
            .landmark(m.landmark.as_str())
            .await?
            .ok_or_else(|| {
                self.reject(
                    "unknown_landmark",
                    format!("landmark {:?} is not enrolled", m.landmark.as_str()),
                )
            })?;
        let Some(chip) = self.store.chip(m.chip.as_str()).await? else {
            // A landmark measured by another landmark, for the cross-check.
            if let Some(target) = self.store.landmark(m.chip.as_str()).await? {
                return self
                    .ingest_landmark_pair(&signed, bytes, &landmark, &target)
                    .await;
            }
            return Err(self.reject(
                "unknown_chip",
                format!("chip {:?} is not enrolled", m.chip.as_str()),
            ));
        };
        let lm_key = PublicKey::parse(&landmark.public_key)
            .map_err(|e| ApiError::internal(format!("stored landmark key: {e}")))?;
        let chip_key = PublicKey::parse(&chip.public_key)
            .map_err(|e| ApiError::internal(format!("stored chip key: {e}")))?;
        signed
            .verify(&lm_key, &chip_key)
            .map_err(|e| self.reject("invalid_signature", format!("measurement {}: {e}", m.id)))?;
        self.check_plausible(m)?;
        let now = now_us();
        let record = MeasurementRecord {
            id: m.id.to_string(),
            chip_id: chip.id.clone(),
            landmark_id: landmark.id.clone(),
            min_rtt_ns: m.min_rtt_ns.min(i64::MAX as u64) as i64,
            rounds: m.rounds as i64,
            count: m.count as i64,
            spoofing: m.rejections.spoofing() as i64,
            measured_at: m.measured_at_us.min(i64::MAX as u64) as i64,
            received_at: now,
            body: bytes.to_vec(),
        };
        let inserted = self
            .store
            .record_measurement(&record)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(msg) => self.reject("measurement_conflict", msg),
                other => ApiError::from(other),
            })?;
        // `Unverified`: stored by an earlier delivery that stopped before its verdict; verify
        // now, so that no measurement is left without one.
        if inserted == MeasurementInsert::Duplicate {
            self.counters.duplicate.fetch_add(1, Ordering::Relaxed);
            return Ok(IngestOutcome {
                measurement_id: record.id,
                status: "duplicate".into(),
                verdict: None,
                alerts: vec![],
            });
        }
        // A redelivery of one stored but not yet verified (here after a crash, or by another
        // instance still verifying it) counts as a duplicate; it is verified again all the same.
        if inserted == MeasurementInsert::Inserted {
            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.duplicate.fetch_add(1, Ordering::Relaxed);
        }
        let (verdict, alerts) = self.reverify(&chip, &record).await?;
        Ok(IngestOutcome {
            measurement_id: record.id,
            status: "stored".into(),
            verdict: Some(verdict),
            alerts,
        })
    }

    /// Checks the plausibility rules every measurement must pass (time, RTT).
    fn check_plausible(&self, m: &stackport_locate::protocol::Measurement) -> Result<(), ApiError> {
        m.check_plausible(
            now_us().max(0) as u64,
            self.config.skew_s,
            self.config.max_age_s,
        )
        .map_err(|e| {
            use stackport_locate::protocol::PlausibilityError as P;
            let code = match e {
                P::FromFuture { .. } | P::TooOld { .. } => "stale_measurement",
                _ => "invalid_rtt",
            };
            self.reject(code, format!("measurement {}: {e}", m.id))
        })?;
        bounds::validate_rtt_ms(m.min_rtt_ms())
            .map(|_| ())
            .map_err(|e| self.reject("invalid_rtt", format!("measurement {}: {e}", m.id)))
    }

    /// Stores a landmark's measurement of another landmark (both signatures verified).
    async fn ingest_landmark_pair(
        &self,
        signed: &SignedMeasurement,
        bytes: &[u8],
        landmark: &stackport_store::LandmarkRecord,
        target: &stackport_store::LandmarkRecord,
    ) -> Result<IngestOutcome, ApiError> {
        let m = &signed.measurement;
        if landmark.id == target.id {
            return Err(self.reject(
                "invalid_rtt",
                format!("measurement {}: a landmark cannot measure itself", m.id),
            ));
        }
        let lm_key = PublicKey::parse(&landmark.public_key)
            .map_err(|e| ApiError::internal(format!("stored landmark key: {e}")))?;
        let target_key = PublicKey::parse(&target.public_key)
            .map_err(|e| ApiError::internal(format!("stored landmark key: {e}")))?;
        signed
            .verify(&lm_key, &target_key)
            .map_err(|e| self.reject("invalid_signature", format!("measurement {}: {e}", m.id)))?;
        self.check_plausible(m)?;
        let record = stackport_store::LandmarkMeasurementRecord {
            id: m.id.to_string(),
            landmark_id: landmark.id.clone(),
            target_id: target.id.clone(),
            min_rtt_ns: m.min_rtt_ns.min(i64::MAX as u64) as i64,
            measured_at: m.measured_at_us.min(i64::MAX as u64) as i64,
            received_at: now_us(),
            body: bytes.to_vec(),
        };
        let inserted = self
            .store
            .record_landmark_measurement(&record)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(msg) => self.reject("measurement_conflict", msg),
                other => ApiError::from(other),
            })?;
        let status = if inserted == MeasurementInsert::Inserted {
            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            "stored"
        } else {
            self.counters.duplicate.fetch_add(1, Ordering::Relaxed);
            "duplicate"
        };
        Ok(IngestOutcome {
            measurement_id: record.id,
            status: status.into(),
            verdict: None,
            alerts: vec![],
        })
    }

    /// Verifies the chips of measurements stored without a verdict (a crash between storing
    /// and verifying); run at start-up. Returns how many were verified.
    pub async fn recover_unverified(&self) -> Result<usize, ApiError> {
        let mut done = 0;
        loop {
            let batch = self.store.unverified_measurements(500).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            for m in &batch {
                let chip = self.store.chip(&m.chip_id).await?.ok_or_else(|| {
                    ApiError::internal(format!(
                        "measurement {} names chip {} that vanished",
                        m.id, m.chip_id
                    ))
                })?;
                self.reverify(&chip, m).await?;
                done += 1;
            }
        }
    }

    /// The landmarks of `set` whose stated places contradict their round trips to others
    /// (over the travel window), with the evidence for each; alerts are raised for them.
    async fn flagged_landmarks(&self, set: &LandmarkSet, now: i64) -> Result<Vec<bool>, ApiError> {
        let since = now.saturating_sub(self.config.travel_window_s.saturating_mul(1_000_000));
        let pairs = self.store.landmark_rtts(since).await?;
        if pairs.is_empty() {
            return Ok(vec![false; set.len()]);
        }
        // The cross-check needs every landmark with pair data, not just the chip's: a liar is
        // found by contradicting several honest landmarks.
        let mut ids: Vec<&str> = pairs
            .iter()
            .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
            .collect();
        for i in 0..set.len() {
            ids.push(set.id(i));
        }
        ids.sort_unstable();
        ids.dedup();
        let mut lms = Vec::with_capacity(ids.len());
        for id in &ids {
            let Some(l) = self.store.landmark(id).await? else {
                continue;
            };
            let p = GeoPoint::new(l.lat, l.lon)
                .map_err(|e| ApiError::internal(format!("stored landmark {id}: {e}")))?;
            lms.push((l.id, p));
        }
        let all = LandmarkSet::new(lms).map_err(|e| ApiError::internal(e.to_string()))?;
        let rtts: Vec<(usize, usize, f64)> = pairs
            .iter()
            .filter_map(|(a, b, ns)| Some((all.index(a)?, all.index(b)?, *ns as f64 / 1e6)))
            .collect();
        let check = cross_check(&all, &rtts);
        let mut flagged = vec![false; set.len()];
        for (i, f) in flagged.iter_mut().enumerate() {
            let Some(j) = all.index(set.id(i)) else {
                continue;
            };
            if !check.flagged[j] {
                continue;
            }
            *f = true;
            let others: Vec<&str> = check.conflicts[j].iter().map(|&k| all.id(k)).collect();
            self.store
                .raise_landmark_alert(
                    set.id(i),
                    LANDMARK_CONTRADICTION,
                    &format!(
                        "stated place contradicts the round trips to {} (faster than 2/3 c allows for the stated distance); its measurements are left out of verdicts",
                        others.join(", ")
                    ),
                    now,
                )
                .await?;
        }
        Ok(flagged)
    }

    /// The observations of a chip's current window, and the landmarks they name.
    async fn observations(
        &self,
        chip: &ChipRecord,
        now: i64,
    ) -> Result<(LandmarkSet, Vec<Observation>, Vec<MeasurementRecord>), ApiError> {
        let since = now.saturating_sub(self.config.window_s.saturating_mul(1_000_000));
        let ms = self.store.chip_measurements(&chip.id, since).await?;
        let mut ids: Vec<&str> = ms.iter().map(|m| m.landmark_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut lms = Vec::with_capacity(ids.len());
        for id in ids {
            let l = self
                .store
                .landmark(id)
                .await?
                .ok_or_else(|| ApiError::internal(format!("landmark {id} vanished")))?;
            let p = GeoPoint::new(l.lat, l.lon)
                .map_err(|e| ApiError::internal(format!("stored landmark {id}: {e}")))?;
            lms.push((l.id, p));
        }
        let set = LandmarkSet::new(lms).map_err(|e| ApiError::internal(e.to_string()))?;
        let obs = ms
            .iter()
            .filter_map(|m| {
                set.index(&m.landmark_id).map(|i| Observation {
                    landmark: i,
                    rtt_ms: m.min_rtt_ns as f64 / 1e6,
                })
            })
            .collect();
        Ok((set, obs, ms))
    }

    fn site(chip: &ChipRecord) -> Result<GeoPoint, ApiError> {
        GeoPoint::new(chip.site_lat, chip.site_lon)
            .map_err(|e| ApiError::internal(format!("stored site of chip {}: {e}", chip.id)))
    }

    async fn reverify(
        &self,
        chip: &ChipRecord,
        new: &MeasurementRecord,
    ) -> Result<(VerdictView, Vec<AlertView>), ApiError> {
        let now = now_us();
        let (set, obs, _) = self.observations(chip, now).await?;
        let flagged = self.flagged_landmarks(&set, now).await?;
        let excluded: Vec<&str> = (0..set.len())
            .filter(|&i| flagged[i])
            .map(|i| set.id(i))
            .collect();
        let obs: Vec<Observation> = obs.into_iter().filter(|o| !flagged[o.landmark]).collect();
        let verifier =
            Verifier::new(&self.zone, 0.0).map_err(|e| ApiError::internal(e.to_string()))?;
        let region = verifier.region(&set, &obs);
        let a: Assessment = verifier.assess(&region, Self::site(chip)?);
        // Diversion is judged on the region alone: wholly inside a prohibited country, wherever
        // the licence says the chip should be.
        let inside_prohibited =
            a.region.is_some() && self.zone.relation(&region) == Relation::Inside;
        let record = VerdictRecord {
            id: 0,
            chip_id: chip.id.clone(),
            measurement_id: new.id.clone(),
            verdict: a.verdict.as_str().into(),
            outside_prohibited: a.outside_prohibited,
            claim_consistent: a.claim_consistent,
            max_radius_km: a.region.map(|r| r.max_radius_km),
            centroid_lat: a.region.map(|r| r.centroid[0]),
            centroid_lon: a.region.map(|r| r.centroid[1]),
            landmarks_used: (set.len() - excluded.len()) as i64,
            reason: Some(reason_str(a.reason).into()),
            decided_at: now,
            ledger_index: None,
        };
        let alert = |category: &'static str, detail: String| NewAlert {
            chip_id: chip.id.clone(),
            category: category.into(),
            detail,
            measurement_id: Some(new.id.clone()),
            at: now,
        };
        let mut pending = Vec::new();
        if a.reason == Reason::Contradictory {
            pending.push(alert(
                TAMPERING,
                format!("measurements from {} landmarks contradict each other: no place satisfies every 2/3 c bound", set.len()),
            ));
        }
        if a.reason == Reason::SiteOutsideRegion {
            pending.push(alert(
                LOCATED_ELSEWHERE,
                format!(
                    "licensed site ({}, {}) {} lies outside the region the landmarks prove",
                    chip.site_lat, chip.site_lon, chip.site_country
                ),
            ));
        }
        if inside_prohibited {
            pending.push(alert(
                DIVERTED,
                format!(
                    "the region lies wholly inside the prohibited zone ({})",
                    self.config.prohibited.join(", ")
                ),
            ));
        }
        if new.spoofing > 0 {
            pending.push(alert(TAMPERING, format!("landmark {} rejected {} forged, replayed or misaddressed responses for this chip", new.landmark_id, new.spoofing)));
        }
        if let Some(detail) = self.impossible_travel(chip, new, now).await? {
            pending.push(alert(TAMPERING, detail));
        }
        // The verdict, its alerts, the measurement marked verified and the ledger entry commit
        // together: a crash leaves either all of them or the measurement unverified, which
        // redelivery or start-up recovery verifies again.
        let entry = |v: &VerdictRecord, alerts: &[AlertRecord]| {
            Decision::now(
                DecisionKind::LocationProof,
                serde_json::json!({
                    "chip": v.chip_id,
                    "measurement": v.measurement_id,
                    "site": {"lat": chip.site_lat, "lon": chip.site_lon, "country": chip.site_country},
                    "landmarks_excluded": excluded,
                }),
                serde_json::json!({
                    "verdict_id": v.id,
                    "verdict": v.verdict,
                    "reason": v.reason,
                    "outside_prohibited": v.outside_prohibited,
                    "claim_consistent": v.claim_consistent,
                    "max_radius_km": v.max_radius_km,
                    "landmarks_used": v.landmarks_used,
                    "alerts": alerts.iter().map(|a| serde_json::json!({"id": a.id, "category": a.category})).collect::<Vec<_>>(),
                }),
                DecisionVersions {
                    rules: Some(format!("stackport-locate {}", env!("CARGO_PKG_VERSION"))),
                    lists: None,
                },
            )
            .canonical_json()
            .map_err(|e| StoreError::Corrupt(format!("verdict decision: {e}")))
        };
        let recorded = self.store.record_verdict(&record, &pending, &entry).await?;
        self.counters
            .alerts
            .fetch_add(recorded.alerts.len() as u64, Ordering::Relaxed);
        let raised = recorded.alerts.into_iter().map(AlertView::from).collect();
        Ok((VerdictView::from(recorded.verdict), raised))
    }

    /// One key seen in two places faster than travel allows: the new measurement's disk and
    /// an earlier one's disk are farther apart than a chip can be carried in the time between.
    async fn impossible_travel(
        &self,
        chip: &ChipRecord,
        new: &MeasurementRecord,
        now: i64,
    ) -> Result<Option<String>, ApiError> {
        let since = now.saturating_sub(self.config.travel_window_s.saturating_mul(1_000_000));
        let earlier = self.store.chip_measurements(&chip.id, since).await?;
        let Some(new_lm) = self.store.landmark(&new.landmark_id).await? else {
            return Ok(None);
        };
        let new_p =
            GeoPoint::new(new_lm.lat, new_lm.lon).map_err(|e| ApiError::internal(e.to_string()))?;
        let r_new = bounds::max_distance_km(new.min_rtt_ns as f64 / 1e6, 0.0);
        let mut cache: HashMap<String, Option<GeoPoint>> = HashMap::new();
        for old in earlier.iter().filter(|o| o.id != new.id) {
            if !cache.contains_key(&old.landmark_id) {
                let p = self
                    .store
                    .landmark(&old.landmark_id)
                    .await?
                    .and_then(|l| GeoPoint::new(l.lat, l.lon).ok());
                cache.insert(old.landmark_id.clone(), p);
            }
            let Some(old_p) = cache[&old.landmark_id] else {
                continue;
            };
            let r_old = bounds::max_distance_km(old.min_rtt_ns as f64 / 1e6, 0.0);
            let hours = (new.measured_at - old.measured_at).unsigned_abs() as f64 / 3.6e9;
            let gap = new_p.distance_km(&old_p) - r_new - r_old;
            if gap > self.config.max_travel_kmh * hours {
                return Ok(Some(format!(
                    "seen within {r_old:.0} km of landmark {} and, {hours:.2} h apart, within {r_new:.0} km of landmark {}: {gap:.0} km apart, faster than {} km/h",
                    old.landmark_id, new.landmark_id, self.config.max_travel_kmh
                )));
            }
        }
        Ok(None)
    }

    /// Raises `missed_checkin` for every chip silent for longer than its interval.
    pub async fn sweep_checkins(&self) -> Result<usize, ApiError> {
        let now = now_us();
        let overdue = self.store.overdue_chips(now).await?;
        for o in &overdue {
            let silent_h = (now - o.last_seen) as f64 / 3.6e9;
            self.store
                .raise_alert(&NewAlert {
                    chip_id: o.chip_id.clone(),
                    category: MISSED_CHECKIN.into(),
                    detail: format!(
                        "no check-in for {silent_h:.1} h (required every {} h)",
                        o.checkin_interval_s as f64 / 3600.0
                    ),
                    measurement_id: None,
                    at: now,
                })
                .await?;
            self.counters.alerts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(overdue.len())
    }
}

fn reason_str(r: Reason) -> &'static str {
    match r {
        Reason::Proven => "proven",
        Reason::NoMeasurements => "no_measurements",
        Reason::MayBeProhibited => "may_be_prohibited",
        Reason::Contradictory => "contradictory",
        Reason::SiteOutsideRegion => "site_outside_region",
        Reason::InsideProhibited => "inside_prohibited",
    }
}

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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerdictView {
    pub id: i64,
    pub measurement_id: String,
    /// `verified`, `inconclusive` or `violation`.
    pub verdict: String,
    pub outside_prohibited: bool,
    pub claim_consistent: bool,
    pub max_radius_km: Option<f64>,
    /// `[lat, lon]`.
    pub centroid: Option<[f64; 2]>,
    pub landmarks_used: i64,
    pub reason: Option<String>,
    pub decided_at_us: i64,
    /// Index of the verdict's ledger entry.
    pub ledger_index: Option<i64>,
}

impl From<VerdictRecord> for VerdictView {
    fn from(v: VerdictRecord) -> Self {
        Self {
            id: v.id,
            measurement_id: v.measurement_id,
            verdict: v.verdict,
            outside_prohibited: v.outside_prohibited,
            claim_consistent: v.claim_consistent,
            max_radius_km: v.max_radius_km,
            centroid: v.centroid_lat.zip(v.centroid_lon).map(|(a, b)| [a, b]),
            landmarks_used: v.landmarks_used,
            reason: v.reason,
            decided_at_us: v.decided_at,
            ledger_index: v.ledger_index,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub chip_id: String,
    /// `located_elsewhere`, `diverted`, `tampering` or `missed_checkin`.
    pub category: String,
    pub detail: String,
    pub measurement_id: Option<String>,
    pub raised_at: String,
    pub last_seen_at: String,
    pub occurrences: i64,
    pub resolved_at: Option<String>,
}

fn rfc3339(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| us.to_string())
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        Self {
            id: a.id,
            chip_id: a.chip_id,
            category: a.category,
            detail: a.detail,
            measurement_id: a.measurement_id,
            raised_at: rfc3339(a.raised_at),
            last_seen_at: rfc3339(a.last_seen_at),
            occurrences: a.occurrences,
            resolved_at: a.resolved_at.map(rfc3339),
        }
    }
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
    GeoPoint::new(lat, lon).map_err(|e| svc.reject("invalid_coordinates", e.to_string()))
}

#[utoipa::path(post, path = "/v1/locate/chips", tag = "locate", request_body = EnrolChip,
    responses((status = 201, description = "Enrolled", body = ChipView),
              (status = 400, description = "invalid_json, invalid_request, invalid_public_key, invalid_coordinates, invalid_country"),
              (status = 409, description = "already_enrolled")))]
async fn enrol_chip(
    State(svc): Svc,
    Json(body): Json<EnrolChip>,
) -> Result<(StatusCode, axum::Json<ChipView>), ApiError> {
    ChipId::new(&body.id).map_err(|e| svc.reject("invalid_request", format!("id: {e}")))?;
    let key = PublicKey::parse(&body.public_key)
        .map_err(|e| svc.reject("invalid_public_key", e.to_string()))?;
    parse_site(&svc, body.site.lat, body.site.lon)?;
    let country = CountryCode::parse(&body.site.country)
        .map_err(|e| svc.reject("invalid_country", format!("site.country: {e}")))?;
    // The code must name a country the atlas knows (Natural Earth 50m), not merely be two letters.
    atlas()?
        .zone(std::slice::from_ref(&country))
        .map_err(|e| svc.reject("invalid_country", format!("site.country: {e}")))?;
    for (field, v) in [("model", &body.model), ("owner", &body.owner)] {
        if v.trim().is_empty() || v.chars().count() > 200 {
            return Err(svc.reject(
                "invalid_request",
                format!("{field}: must be 1 to 200 characters, not only spaces"),
            ));
        }
    }
    let interval = body
        .checkin_interval_s
        .unwrap_or(svc.config.default_checkin_s);
    if !(60..=366 * 24 * 3600).contains(&interval) {
        return Err(svc.reject(
            "invalid_request",
            format!("checkin_interval_s: {interval} is outside 60..=31622400"),
        ));
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
    svc.store.enrol_chip(&record).await.map_err(|e| match e {
        StoreError::Conflict(m) => svc.reject("already_enrolled", m),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, axum::Json(record.into())))
}

#[utoipa::path(get, path = "/v1/locate/chips/{id}", tag = "locate",
    responses((status = 200, description = "The chip, its latest verdict and open alerts", body = ChipStatus), (status = 404, description = "not_found")))]
async fn chip_status(
    State(svc): Svc,
    Path(id): Path<String>,
) -> Result<axum::Json<ChipStatus>, ApiError> {
    let chip = svc
        .store
        .chip(&id)
        .await?
        .ok_or_else(|| ApiError::new("not_found", format!("chip {id:?} is not enrolled")))?;
    let latest = svc.store.latest_verdict(&id).await?.map(VerdictView::from);
    let open = svc
        .store
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
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<VerdictView>>, ApiError> {
    svc.store
        .chip(&id)
        .await?
        .ok_or_else(|| ApiError::new("not_found", format!("chip {id:?} is not enrolled")))?;
    Ok(axum::Json(
        svc.store
            .verdict_history(&id, 1000)
            .await?
            .into_iter()
            .map(VerdictView::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/locate/chips/{id}/map.svg", tag = "locate",
    responses((status = 200, description = "SVG world map of the chip's current region", content_type = "image/svg+xml"), (status = 404, description = "not_found")))]
async fn chip_map(State(svc): Svc, Path(id): Path<String>) -> Result<Response, ApiError> {
    let chip = svc
        .store
        .chip(&id)
        .await?
        .ok_or_else(|| ApiError::new("not_found", format!("chip {id:?} is not enrolled")))?;
    let (set, obs, _) = svc.observations(&chip, now_us()).await?;
    let view = stackport_locate::map::MapView {
        atlas: atlas()?,
        zone: &svc.zone,
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
    LandmarkId::new(&body.id).map_err(|e| svc.reject("invalid_request", format!("id: {e}")))?;
    let key = PublicKey::parse(&body.public_key)
        .map_err(|e| svc.reject("invalid_public_key", e.to_string()))?;
    parse_site(&svc, body.lat, body.lon)?;
    let record = LandmarkRecord {
        id: body.id,
        public_key: key.to_string(),
        lat: body.lat,
        lon: body.lon,
        enrolled_at: now_us(),
    };
    svc.store
        .enrol_landmark(&record)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => svc.reject("already_enrolled", m),
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
    let all = svc.store.landmarks().await?;
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
            .map_err(|e| svc.reject("invalid_json", format!("body: {e}")))?;
        base64::engine::general_purpose::STANDARD
            .decode(parsed.measurement.trim())
            .map_err(|e| {
                svc.reject(
                    "malformed_measurement",
                    format!("measurement: not base64: {e}"),
                )
            })?
    };
    Ok(axum::Json(svc.ingest(&bytes).await?))
}

const CSV_HEADER: &str =
    "id,chip_id,category,detail,measurement_id,raised_at,last_seen_at,occurrences";

fn csv_field(s: &str) -> String {
    // RFC 4180 §2: quote fields with commas, quotes or line breaks; double inner quotes.
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

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
        .store
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
    Path(id): Path<i64>,
) -> Result<axum::Json<ResolvedAlert>, ApiError> {
    let entry = |a: &AlertRecord| {
        Decision::now(
            DecisionKind::AlertResolution,
            serde_json::json!({"alert": a.id, "chip": a.chip_id, "category": a.category}),
            serde_json::json!({"resolved": true, "detail": a.detail, "occurrences": a.occurrences}),
            DecisionVersions::default(),
        )
        .canonical_json()
        .map_err(|e| StoreError::Corrupt(format!("alert resolution decision: {e}")))
    };
    let Some((_, receipt)) = svc.store.resolve_alert(id, now_us(), &entry).await? else {
        return Err(ApiError::new("not_found", format!("no open alert {id}")));
    };
    Ok(axum::Json(ResolvedAlert {
        id,
        resolved: true,
        ledger: crate::ledger::LedgerReceipt {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        },
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
    let alerts = svc.store.open_landmark_alerts().await?;
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
    let svc = LocateService::new(ctx.store.clone(), &ctx.metrics, config)
        .map_err(|e| anyhow::anyhow!("{PROHIBITED_ENV} or country shapes: {e}"))?;
    // Measurements a previous process stored but did not get to verify.
    let recovered = svc
        .recover_unverified()
        .await
        .map_err(|e| anyhow::anyhow!("verifying measurements left unverified: {}", e.message))?;
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
    let every = Duration::from_secs(svc.config.check_in_sweep_s.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.sweep_checkins().await {
                tracing::warn!(error = %e.message, "check-in sweep failed");
            }
        }
    });
    Ok(routes(svc))
}

/// Connects to NATS, creates (or binds to) stream `stream` on `subject` (in production
/// `stackport.locate.measurements.>`)
/// and the durable pull consumer `durable` with explicit acks, and spawns the loop that feeds
/// each message to [`LocateService::ingest`]. Stored, duplicate and permanently rejected
/// messages are acked (a bad message will not get better by redelivery; it is counted);
/// a storage failure is nacked so JetStream redelivers it (at-least-once).
pub async fn start_nats_consumer(
    svc: Arc<LocateService>,
    url: &str,
    stream: &str,
    subject: &str,
    durable: &str,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use async_nats::jetstream::{self, consumer::pull, AckKind};
    use futures_util::StreamExt;
    let client = async_nats::connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("NATS {url}: {e}"))?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: stream.to_string(),
            subjects: vec![subject.to_string()],
            // Two minutes of publish-side deduplication by Nats-Msg-Id (the measurement id).
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("JetStream stream {stream}: {e}"))?;
    let consumer = stream
        .get_or_create_consumer(
            durable,
            pull::Config {
                durable_name: Some(durable.to_string()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("JetStream consumer {durable}: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("JetStream messages: {e}"))?;
    Ok(tokio::spawn(async move {
        while let Some(next) = messages.next().await {
            let msg = match next {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "JetStream delivery error");
                    continue;
                }
            };
            let result = svc.ingest(&msg.payload).await;
            let retry = matches!(&result, Err(e) if e.status.is_server_error());
            let ack = if retry {
                msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await
            } else {
                msg.ack().await
            };
            if retry {
                svc.counters.nats_retried.fetch_add(1, Ordering::Relaxed);
            } else {
                svc.counters.nats_acked.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = &result {
                tracing::info!(code = e.code, message = %e.message, "JetStream measurement rejected");
            }
            if let Err(e) = ack {
                tracing::warn!(error = %e, "JetStream ack failed; the message will be redelivered");
            }
        }
    }))
}
