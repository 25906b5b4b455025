//! The chip registry (issue 5): enrolled chips and landmarks, landmark-signed measurements,
//! verdicts, alerts, and the JetStream consumer that feeds measurements in.
//!
//! Measurements arrive over HTTP (the server's `POST /v1/locate/measurements`) and from NATS
//! JetStream ([`start_nats_consumer`]): a durable pull consumer with explicit acks, so delivery
//! is at-least-once; storage is idempotent by measurement id, so several server instances can
//! share one consumer and one database. A message whose ingest fails on this side
//! ([`AppError::is_retryable`]) is redelivered; one the registry refuses is not.
//!
//! Every measurement is checked before anything is stored: it decodes; its landmark and chip
//! are enrolled; the landmark's signatures (over the measurement and the embedded challenge)
//! and the chip's (over the embedded response) verify under the registered keys; the RTT,
//! count and time are plausible. A rejection is an [`AppError::Rejected`] with a stable code,
//! counted (`stackport_locate_rejected_<code>_total`). After a new measurement the chip is
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
//! `landmark_contradiction` alert, so one lying landmark cannot prove a chip somewhere it is
//! not. Every verdict and alert resolution is appended to the ledger in the transaction that
//! stores it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_locate::countries::{Atlas, CountryCode, Relation, Zone};
use stackport_locate::crosscheck::cross_check;
use stackport_locate::protocol::{PublicKey, SignedMeasurement};
use stackport_locate::verdict::{Assessment, LandmarkSet, Observation, Reason, Verifier};
use stackport_locate::{bounds, GeoPoint};
use stackport_store::{
    AlertRecord, ChipRecord, MeasurementInsert, MeasurementRecord, NewAlert, Storage, StoreError,
    VerdictRecord,
};

use crate::ledger::LedgerReceipt;
use crate::{AppError, Rejection};

/// The JetStream stream measurements are published to, unless configured otherwise.
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
pub fn atlas() -> Result<&'static Atlas, AppError> {
    static ATLAS: OnceLock<Result<Atlas, String>> = OnceLock::new();
    ATLAS
        .get_or_init(|| Atlas::natural_earth_50m().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppError::internal(format!("country shapes: {e}")))
}

/// The registry's counters (on the server's `/metrics`).
struct RegistryCounters {
    accepted: Arc<AtomicU64>,
    duplicate: Arc<AtomicU64>,
    nats_acked: Arc<AtomicU64>,
    nats_retried: Arc<AtomicU64>,
    alerts: Arc<AtomicU64>,
    rejected: HashMap<Rejection, Arc<AtomicU64>>,
}

/// The module's state: store, prohibited zone, settings and counters.
pub struct LocateService {
    store: Arc<dyn Storage>,
    zone: Zone,
    config: LocateConfig,
    counters: RegistryCounters,
}

/// Now, in microseconds since the Unix epoch (the registry's stored times).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// What one accepted measurement did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        metrics: &dyn crate::Counters,
        config: LocateConfig,
    ) -> Result<Arc<Self>, AppError> {
        let atlas = atlas()?;
        let codes = config
            .prohibited
            .iter()
            .map(|c| CountryCode::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AppError::Config(format!("prohibited countries: {e}")))?;
        let zone = atlas
            .zone(&codes)
            .map_err(|e| AppError::Config(format!("prohibited zone: {e}")))?;
        let m = metrics;
        let rejected = Rejection::ALL
            .iter()
            .map(|r| {
                let c = r.code();
                (
                    *r,
                    m.counter(
                        &format!("stackport_locate_rejected_{c}_total"),
                        &format!("Locate requests or messages rejected with code {c}."),
                    ),
                )
            })
            .collect();
        let counters = RegistryCounters {
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

    /// Counts a rejection and returns it: every refusal of a measurement or an enrolment goes
    /// through here, so that each is counted under its code.
    pub fn reject(&self, reason: Rejection, message: impl Into<String>) -> AppError {
        if let Some(c) = self.counters.rejected.get(&reason) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        AppError::rejected(reason, message)
    }

    /// The store chips, landmarks, verdicts and alerts are kept in (for reading them back).
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// The settings the service runs with.
    pub fn config(&self) -> &LocateConfig {
        &self.config
    }

    /// The prohibited zone verdicts are judged against.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Verifies and stores one landmark-signed measurement, then re-verifies its chip.
    pub async fn ingest(&self, bytes: &[u8]) -> Result<IngestOutcome, AppError> {
        let signed = SignedMeasurement::decode(bytes).map_err(|e| {
            self.reject(Rejection::MalformedMeasurement, format!("measurement: {e}"))
        })?;
        let m = &signed.measurement;
        let landmark = self
            .store
            .landmark(m.landmark.as_str())
            .await?
            .ok_or_else(|| {
                self.reject(
                    Rejection::UnknownLandmark,
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
                Rejection::UnknownChip,
                format!("chip {:?} is not enrolled", m.chip.as_str()),
            ));
        };
        let lm_key = PublicKey::parse(&landmark.public_key)
            .map_err(|e| AppError::internal(format!("stored landmark key: {e}")))?;
        let chip_key = PublicKey::parse(&chip.public_key)
            .map_err(|e| AppError::internal(format!("stored chip key: {e}")))?;
        signed.verify(&lm_key, &chip_key).map_err(|e| {
            self.reject(
                Rejection::InvalidSignature,
                format!("measurement {}: {e}", m.id),
            )
        })?;
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
                StoreError::Conflict(msg) => self.reject(Rejection::MeasurementConflict, msg),
                other => AppError::from(other),
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
    fn check_plausible(&self, m: &stackport_locate::protocol::Measurement) -> Result<(), AppError> {
        m.check_plausible(
            now_us().max(0) as u64,
            self.config.skew_s,
            self.config.max_age_s,
        )
        .map_err(|e| {
            use stackport_locate::protocol::PlausibilityError as P;
            let code = match e {
                P::FromFuture { .. } | P::TooOld { .. } => Rejection::StaleMeasurement,
                _ => Rejection::InvalidRtt,
            };
            self.reject(code, format!("measurement {}: {e}", m.id))
        })?;
        bounds::validate_rtt_ms(m.min_rtt_ms())
            .map(|_| ())
            .map_err(|e| self.reject(Rejection::InvalidRtt, format!("measurement {}: {e}", m.id)))
    }

    /// Stores a landmark's measurement of another landmark (both signatures verified).
    async fn ingest_landmark_pair(
        &self,
        signed: &SignedMeasurement,
        bytes: &[u8],
        landmark: &stackport_store::LandmarkRecord,
        target: &stackport_store::LandmarkRecord,
    ) -> Result<IngestOutcome, AppError> {
        let m = &signed.measurement;
        if landmark.id == target.id {
            return Err(self.reject(
                Rejection::InvalidRtt,
                format!("measurement {}: a landmark cannot measure itself", m.id),
            ));
        }
        let lm_key = PublicKey::parse(&landmark.public_key)
            .map_err(|e| AppError::internal(format!("stored landmark key: {e}")))?;
        let target_key = PublicKey::parse(&target.public_key)
            .map_err(|e| AppError::internal(format!("stored landmark key: {e}")))?;
        signed.verify(&lm_key, &target_key).map_err(|e| {
            self.reject(
                Rejection::InvalidSignature,
                format!("measurement {}: {e}", m.id),
            )
        })?;
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
                StoreError::Conflict(msg) => self.reject(Rejection::MeasurementConflict, msg),
                other => AppError::from(other),
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
    pub async fn recover_unverified(&self) -> Result<usize, AppError> {
        let mut done = 0;
        loop {
            let batch = self.store.unverified_measurements(500).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            for m in &batch {
                let chip = self.store.chip(&m.chip_id).await?.ok_or_else(|| {
                    AppError::internal(format!(
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
    async fn flagged_landmarks(&self, set: &LandmarkSet, now: i64) -> Result<Vec<bool>, AppError> {
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
                .map_err(|e| AppError::internal(format!("stored landmark {id}: {e}")))?;
            lms.push((l.id, p));
        }
        let all = LandmarkSet::new(lms).map_err(|e| AppError::internal(e.to_string()))?;
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
    pub async fn observations(
        &self,
        chip: &ChipRecord,
        now: i64,
    ) -> Result<(LandmarkSet, Vec<Observation>, Vec<MeasurementRecord>), AppError> {
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
                .ok_or_else(|| AppError::internal(format!("landmark {id} vanished")))?;
            let p = GeoPoint::new(l.lat, l.lon)
                .map_err(|e| AppError::internal(format!("stored landmark {id}: {e}")))?;
            lms.push((l.id, p));
        }
        let set = LandmarkSet::new(lms).map_err(|e| AppError::internal(e.to_string()))?;
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

    /// The licensed site of a chip.
    pub fn site(chip: &ChipRecord) -> Result<GeoPoint, AppError> {
        GeoPoint::new(chip.site_lat, chip.site_lon)
            .map_err(|e| AppError::internal(format!("stored site of chip {}: {e}", chip.id)))
    }

    async fn reverify(
        &self,
        chip: &ChipRecord,
        new: &MeasurementRecord,
    ) -> Result<(VerdictView, Vec<AlertView>), AppError> {
        let now = now_us();
        let (set, obs, _) = self.observations(chip, now).await?;
        let flagged = self.flagged_landmarks(&set, now).await?;
        let excluded: Vec<&str> = (0..set.len())
            .filter(|&i| flagged[i])
            .map(|i| set.id(i))
            .collect();
        let obs: Vec<Observation> = obs.into_iter().filter(|o| !flagged[o.landmark]).collect();
        let verifier =
            Verifier::new(&self.zone, 0.0).map_err(|e| AppError::internal(e.to_string()))?;
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
    ) -> Result<Option<String>, AppError> {
        let since = now.saturating_sub(self.config.travel_window_s.saturating_mul(1_000_000));
        let earlier = self.store.chip_measurements(&chip.id, since).await?;
        let Some(new_lm) = self.store.landmark(&new.landmark_id).await? else {
            return Ok(None);
        };
        let new_p =
            GeoPoint::new(new_lm.lat, new_lm.lon).map_err(|e| AppError::internal(e.to_string()))?;
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
    pub async fn sweep_checkins(&self) -> Result<usize, AppError> {
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

    /// Resolves an open alert; the resolution is appended to the ledger in the transaction
    /// that stores it. [`AppError::NotFound`] when no open alert has this id.
    pub async fn resolve_alert(&self, id: i64) -> Result<LedgerReceipt, AppError> {
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
        let Some((_, receipt)) = self.store.resolve_alert(id, now_us(), &entry).await? else {
            return Err(AppError::NotFound(format!("no open alert {id}")));
        };
        Ok(LedgerReceipt {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        })
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

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A stored time (microseconds since the Unix epoch) in RFC 3339.
pub fn rfc3339(us: i64) -> String {
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

/// Connects to NATS, creates (or binds to) stream `stream` on `subject` (in production
/// `stackport.locate.measurements.>`)
/// and the durable pull consumer `durable` with explicit acks, and spawns the loop that feeds
/// each message to [`LocateService::ingest`]. What happens to a message is decided by the
/// outcome's kind, never by how the API would answer it: stored and duplicate messages are
/// acked; a message the registry refuses ([`AppError::is_retryable`] false: it does not decode,
/// names no enrolled chip, its signature fails) is terminated, since it will not get better by
/// redelivery (it is counted); a failure on this side (the database, the ledger) is nacked so
/// that JetStream redelivers it (at-least-once).
pub async fn start_nats_consumer(
    svc: Arc<LocateService>,
    url: &str,
    stream: &str,
    subject: &str,
    durable: &str,
) -> Result<tokio::task::JoinHandle<()>, AppError> {
    use async_nats::jetstream::{self, consumer::pull, AckKind};
    use futures_util::StreamExt;
    let client = async_nats::connect(url)
        .await
        .map_err(|e| AppError::Unavailable(format!("NATS {url}: {e}")))?;
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
        .map_err(|e| AppError::Unavailable(format!("JetStream stream {stream}: {e}")))?;
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
        .map_err(|e| AppError::Unavailable(format!("JetStream consumer {durable}: {e}")))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| AppError::Unavailable(format!("JetStream messages: {e}")))?;
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
            let retry = matches!(&result, Err(e) if e.is_retryable());
            let ack = match &result {
                Ok(_) => msg.ack().await,
                Err(e) if e.is_retryable() => {
                    msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await
                }
                Err(_) => msg.ack_with(AckKind::Term).await,
            };
            if retry {
                svc.counters.nats_retried.fetch_add(1, Ordering::Relaxed);
            } else {
                svc.counters.nats_acked.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = &result {
                tracing::info!(code = e.code(), message = %e, retry, "JetStream measurement rejected");
            }
            if let Err(e) = ack {
                tracing::warn!(error = %e, "JetStream ack failed; the message will be redelivered");
            }
        }
    }))
}
