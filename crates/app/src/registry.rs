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
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use serde::Serialize;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_locate::countries::{Atlas, CountryCode, Relation, Zone};
use stackport_locate::crosscheck::cross_check;
use stackport_locate::protocol::{PublicKey, SignedMeasurement};
use stackport_locate::verdict::{Assessment, LandmarkSet, Observation, Reason, Verifier};
use stackport_locate::{bounds, GeoPoint};
use stackport_store::{
    AlertRecord, ChipRecord, LandmarkRecord, MeasurementInsert, MeasurementRecord,
    MeasurementState, NewAlert, PendingVerdict, Storage, StoreError, VerdictRecord,
};

use crate::ledger::LedgerReceipt;
use crate::{AppError, Rejection};

/// The JetStream stream measurements are published to, unless configured otherwise.
pub const DEFAULT_STREAM: &str = "STACKPORT_LOCATE";
/// Subjects landmarks publish to: `stackport.locate.measurements.<landmark id>`.
pub const SUBJECT_PREFIX: &str = "stackport.locate.measurements";
/// Most measurements ingested in one batch (one transaction) from JetStream.
pub const INGEST_BATCH: usize = 500;
/// Batches one consumer ingests at once.
pub const BATCHES_IN_FLIGHT: usize = 2;
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
    accepted: metrics::Counter,
    duplicate: metrics::Counter,
    nats_acked: metrics::Counter,
    nats_retried: metrics::Counter,
    alerts: metrics::Counter,
    rejected: HashMap<Rejection, metrics::Counter>,
}

/// The module's state: store, prohibited zone, settings and counters.
pub struct LocateService {
    store: Arc<dyn Storage>,
    zone: Zone,
    config: LocateConfig,
    counters: RegistryCounters,
    /// Enrolled landmarks read so far, with their parsed keys.
    landmarks: RwLock<HashMap<String, Arc<KnownLandmark>>>,
}

/// An enrolled landmark with its key and place parsed once.
struct KnownLandmark {
    record: LandmarkRecord,
    key: PublicKey,
    place: GeoPoint,
}

/// What one group commit of the registry decided: each chip's verdict and alerts, and which
/// measurements it inserted and covered.
#[derive(Default)]
struct Decided {
    verdicts: HashMap<String, (VerdictView, Vec<AlertView>)>,
    inserted: std::collections::HashSet<String>,
    claimed: std::collections::HashSet<String>,
}

/// A chip measurement of a batch that passed every check.
struct Checked {
    /// Positions in the batch of the messages that carry it (delivered twice in one batch,
    /// it is one measurement).
    slots: Vec<usize>,
    record: MeasurementRecord,
    /// Not stored yet (else stored before, without a verdict).
    fresh: bool,
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

impl IngestOutcome {
    fn duplicate(id: &str) -> Self {
        Self {
            measurement_id: id.to_string(),
            status: "duplicate".into(),
            verdict: None,
            alerts: vec![],
        }
    }
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
            landmarks: RwLock::new(HashMap::new()),
        }))
    }

    /// Counts a rejection and returns it: every refusal of a measurement or an enrolment goes
    /// through here, so that each is counted under its code.
    pub fn reject(&self, reason: Rejection, message: impl Into<String>) -> AppError {
        if let Some(c) = self.counters.rejected.get(&reason) {
            c.increment(1);
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

    /// Verifies and stores one landmark-signed measurement, then re-verifies its chip: a batch
    /// of one ([`LocateService::ingest_batch`]).
    pub async fn ingest(&self, bytes: &[u8]) -> Result<IngestOutcome, AppError> {
        self.ingest_batch(&[bytes])
            .await?
            .pop()
            .unwrap_or_else(|| Err(AppError::internal("a batch of one gave no outcome")))
    }

    /// Verifies a batch of landmark-signed measurements and stores the accepted ones with one
    /// verdict per chip they name, in one transaction (group commit: the registry's cost is the
    /// commit, not the check, so a JetStream batch of 500 costs about one commit instead of 500).
    ///
    /// Each message gets its own outcome, in order: a message the registry refuses is an
    /// `Err` in its slot and does not affect the others. The outer `Err` is a failure on this
    /// side (the database, the ledger): nothing of the batch is stored and every message may be
    /// delivered again. A verdict covers every new measurement of its chip in the batch and is
    /// judged over the chip's whole window, as one verdict per measurement would be after the
    /// last of them.
    pub async fn ingest_batch(
        &self,
        msgs: &[&[u8]],
    ) -> Result<Vec<Result<IngestOutcome, AppError>>, AppError> {
        let mut out: Vec<Option<Result<IngestOutcome, AppError>>> =
            (0..msgs.len()).map(|_| None).collect();
        let mut decoded = Vec::with_capacity(msgs.len());
        for (slot, bytes) in msgs.iter().enumerate() {
            match SignedMeasurement::decode(bytes) {
                Ok(s) => decoded.push((slot, s)),
                Err(e) => {
                    out[slot] = Some(Err(
                        self.reject(Rejection::MalformedMeasurement, format!("measurement: {e}"))
                    ))
                }
            }
        }
        // Who the measurements name: chips in one query, landmarks from the cache.
        let chips = self
            .chips_named(decoded.iter().map(|(_, s)| s.measurement.chip.as_str()))
            .await?;
        let named = decoded.iter().flat_map(|(_, s)| {
            let m = &s.measurement;
            let target = (!chips.contains_key(m.chip.as_str())).then(|| m.chip.as_str());
            std::iter::once(m.landmark.as_str()).chain(target)
        });
        let landmarks = self.landmarks_named(named.collect()).await?;
        // The checks that need no database, the three signatures among them, on every core.
        enum Subject<'a> {
            Chip(&'a ChipRecord, PublicKey),
            Landmark(&'a KnownLandmark),
        }
        let mut jobs = Vec::with_capacity(decoded.len());
        for (slot, s) in &decoded {
            let m = &s.measurement;
            let Some(lm) = landmarks.get(m.landmark.as_str()) else {
                out[*slot] = Some(Err(self.reject(
                    Rejection::UnknownLandmark,
                    format!("landmark {:?} is not enrolled", m.landmark.as_str()),
                )));
                continue;
            };
            let subject = if let Some(chip) = chips.get(m.chip.as_str()) {
                match PublicKey::parse(&chip.public_key) {
                    Ok(k) => Subject::Chip(chip, k),
                    Err(e) => {
                        out[*slot] = Some(Err(AppError::internal(format!("stored chip key: {e}"))));
                        continue;
                    }
                }
            } else if let Some(target) = landmarks.get(m.chip.as_str()) {
                // A landmark measured by another landmark, for the cross-check.
                if target.record.id == lm.record.id {
                    out[*slot] = Some(Err(self.reject(
                        Rejection::InvalidRtt,
                        format!("measurement {}: a landmark cannot measure itself", m.id),
                    )));
                    continue;
                }
                Subject::Landmark(target)
            } else {
                out[*slot] = Some(Err(self.reject(
                    Rejection::UnknownChip,
                    format!("chip {:?} is not enrolled", m.chip.as_str()),
                )));
                continue;
            };
            jobs.push((*slot, s, lm, subject));
        }
        let now = now_us().max(0) as u64;
        let check =
            |(_, s, lm, subject): &(usize, &SignedMeasurement, &Arc<KnownLandmark>, Subject)| {
                let key = match subject {
                    Subject::Chip(_, k) => k,
                    Subject::Landmark(t) => &t.key,
                };
                s.verify(&lm.key, key).map_err(|e| {
                    (
                        Rejection::InvalidSignature,
                        format!("measurement {}: {e}", s.measurement.id),
                    )
                })?;
                self.plausible(&s.measurement, now)
            };
        // Small batches (an HTTP post) are checked here; a pool's hand-off would cost more than
        // the check. A large one blocks this task for its share of the checks (≈ 120 µs each
        // with Ed25519), spread over every core.
        let verdicts: Vec<Result<(), (Rejection, String)>> = if jobs.len() >= 16 {
            use rayon::prelude::*;
            jobs.par_iter().map(check).collect()
        } else {
            jobs.iter().map(check).collect()
        };
        let received = now_us();
        let mut pending: Vec<Checked> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for (job, verdict) in jobs.iter().zip(verdicts) {
            let (slot, s, lm, subject) = job;
            if let Err((code, msg)) = verdict {
                out[*slot] = Some(Err(self.reject(code, msg)));
                continue;
            }
            let m = &s.measurement;
            let body = msgs[*slot];
            match subject {
                Subject::Landmark(target) => {
                    out[*slot] = Some(
                        self.store_landmark_pair(s, body, lm, target, received)
                            .await,
                    );
                }
                Subject::Chip(chip, _) => {
                    let id = m.id.to_string();
                    if let Some(&k) = by_id.get(&id) {
                        // Delivered twice in one batch: one measurement, unless the bytes differ.
                        let first: &mut Checked = &mut pending[k];
                        if first.record.body == body {
                            first.slots.push(*slot);
                        } else {
                            out[*slot] = Some(Err(self.reject(
                                Rejection::MeasurementConflict,
                                format!(
                                    "measurement {id} was delivered twice with different content"
                                ),
                            )));
                        }
                        continue;
                    }
                    by_id.insert(id.clone(), pending.len());
                    pending.push(Checked {
                        slots: vec![*slot],
                        fresh: true,
                        record: MeasurementRecord {
                            id,
                            chip_id: chip.id.clone(),
                            landmark_id: lm.record.id.clone(),
                            min_rtt_ns: m.min_rtt_ns.min(i64::MAX as u64) as i64,
                            rounds: m.rounds as i64,
                            count: m.count as i64,
                            spoofing: m.rejections.spoofing() as i64,
                            measured_at: m.measured_at_us.min(i64::MAX as u64) as i64,
                            received_at: received,
                            body: body.to_vec(),
                        },
                    });
                }
            }
        }
        // What is stored already: a redelivery of a verified measurement is a no-op; one stored
        // but not yet verified (a crash between the two, or another instance still at it) is
        // verified again; one stored with other bytes is a conflict.
        let ids: Vec<String> = pending.iter().map(|c| c.record.id.clone()).collect();
        let stored: HashMap<String, MeasurementState> = self
            .store
            .measurement_states(&ids)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let mut to_verify = Vec::with_capacity(pending.len());
        for mut c in pending {
            if let Some(state) = stored.get(&c.record.id) {
                if state.sha256 != stackport_store::measurement_digest(&c.record.body) {
                    let err = || {
                        self.reject(
                            Rejection::MeasurementConflict,
                            format!(
                                "measurement {} was stored before with different content",
                                c.record.id
                            ),
                        )
                    };
                    for &slot in &c.slots {
                        out[slot] = Some(Err(err()));
                    }
                    continue;
                }
                if state.verified {
                    for &slot in &c.slots {
                        self.counters.duplicate.increment(1);
                        out[slot] = Some(Ok(IngestOutcome::duplicate(&c.record.id)));
                    }
                    continue;
                }
                c.fresh = false;
            }
            to_verify.push(c);
        }
        let mut groups: HashMap<String, (ChipRecord, Vec<MeasurementRecord>)> = HashMap::new();
        let mut fresh = Vec::new();
        for c in &to_verify {
            let chip = &chips[&c.record.chip_id];
            groups
                .entry(chip.id.clone())
                .or_insert_with(|| (chip.clone(), Vec::new()))
                .1
                .push(c.record.clone());
            if c.fresh {
                fresh.push(c.record.clone());
            }
        }
        // (A conflict found at the commit, another instance having stored one of these ids with
        // other bytes since the read above, fails the batch as retryable: nothing is stored,
        // and the redelivery is sorted out by the read.)
        let decided = self
            .verify_chips(groups.into_values().collect(), &fresh)
            .await?;
        for c in to_verify {
            // Claimed by a verdict of this batch: stored (new, or verified at last). Otherwise
            // another instance stored and verified it since the read above: a duplicate.
            let verdict = decided
                .claimed
                .contains(&c.record.id)
                .then(|| decided.verdicts.get(&c.record.chip_id))
                .flatten();
            for (k, &slot) in c.slots.iter().enumerate() {
                let counter = if k == 0 && decided.inserted.contains(&c.record.id) {
                    &self.counters.accepted
                } else {
                    &self.counters.duplicate
                };
                counter.increment(1);
                out[slot] = Some(Ok(match verdict {
                    Some((verdict, alerts)) if k == 0 => IngestOutcome {
                        measurement_id: c.record.id.clone(),
                        status: "stored".into(),
                        verdict: Some(verdict.clone()),
                        alerts: alerts.clone(),
                    },
                    _ => IngestOutcome::duplicate(&c.record.id),
                }));
            }
        }
        Ok(out
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(AppError::internal("a message of the batch got no outcome"))
                })
            })
            .collect())
    }

    /// The plausibility rules every measurement must pass (time, RTT), at `now` (µs).
    fn plausible(
        &self,
        m: &stackport_locate::protocol::Measurement,
        now: u64,
    ) -> Result<(), (Rejection, String)> {
        m.check_plausible(now, self.config.skew_s, self.config.max_age_s)
            .map_err(|e| {
                use stackport_locate::protocol::PlausibilityError as P;
                let code = match e {
                    P::FromFuture { .. } | P::TooOld { .. } => Rejection::StaleMeasurement,
                    _ => Rejection::InvalidRtt,
                };
                (code, format!("measurement {}: {e}", m.id))
            })?;
        bounds::validate_rtt_ms(m.min_rtt_ms())
            .map(|_| ())
            .map_err(|e| (Rejection::InvalidRtt, format!("measurement {}: {e}", m.id)))
    }

    /// The enrolled chips among `ids` (repeats allowed), by id, in one query.
    async fn chips_named(
        &self,
        ids: impl Iterator<Item = &str>,
    ) -> Result<HashMap<String, ChipRecord>, AppError> {
        let mut ids: Vec<String> = ids.map(str::to_string).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self
            .store
            .chips_by_ids(&ids)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect())
    }

    /// Enrolled landmarks among `ids`, with their parsed keys. Landmarks are never changed
    /// once enrolled (a new place is a new enrolment), so a cached one stays right; one not
    /// cached is read from the store (another instance may have enrolled it).
    async fn landmarks_named(
        &self,
        mut ids: Vec<&str>,
    ) -> Result<HashMap<String, Arc<KnownLandmark>>, AppError> {
        ids.sort_unstable();
        ids.dedup();
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let cache = self.landmarks.read().unwrap_or_else(|e| e.into_inner());
            for id in ids {
                match cache.get(id) {
                    Some(l) => {
                        found.insert(id.to_string(), l.clone());
                    }
                    None => missing.push(id),
                }
            }
        }
        for id in missing {
            let Some(record) = self.store.landmark(id).await? else {
                continue;
            };
            let key = PublicKey::parse(&record.public_key)
                .map_err(|e| AppError::internal(format!("stored landmark key of {id}: {e}")))?;
            let place = GeoPoint::new(record.lat, record.lon)
                .map_err(|e| AppError::internal(format!("stored landmark {id}: {e}")))?;
            let l = Arc::new(KnownLandmark { record, key, place });
            self.landmarks
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.to_string(), l.clone());
            found.insert(id.to_string(), l);
        }
        Ok(found)
    }

    /// Stores a landmark's measurement of another landmark (both signatures verified).
    async fn store_landmark_pair(
        &self,
        signed: &SignedMeasurement,
        bytes: &[u8],
        landmark: &KnownLandmark,
        target: &KnownLandmark,
        received: i64,
    ) -> Result<IngestOutcome, AppError> {
        let m = &signed.measurement;
        let record = stackport_store::LandmarkMeasurementRecord {
            id: m.id.to_string(),
            landmark_id: landmark.record.id.clone(),
            target_id: target.record.id.clone(),
            min_rtt_ns: m.min_rtt_ns.min(i64::MAX as u64) as i64,
            measured_at: m.measured_at_us.min(i64::MAX as u64) as i64,
            received_at: received,
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
            self.counters.accepted.increment(1);
            "stored"
        } else {
            self.counters.duplicate.increment(1);
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
    /// and verifying); run at start-up. Returns how many measurements were verified.
    pub async fn recover_unverified(&self) -> Result<usize, AppError> {
        let mut done = 0;
        loop {
            let batch = self.store.unverified_measurements(500).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            let chips = self
                .chips_named(batch.iter().map(|m| m.chip_id.as_str()))
                .await?;
            let mut groups: HashMap<String, (ChipRecord, Vec<MeasurementRecord>)> = HashMap::new();
            for m in batch {
                let chip = chips.get(&m.chip_id).ok_or_else(|| {
                    AppError::internal(format!(
                        "measurement {} names chip {} that vanished",
                        m.id, m.chip_id
                    ))
                })?;
                done += 1;
                groups
                    .entry(m.chip_id.clone())
                    .or_insert_with(|| (chip.clone(), Vec::new()))
                    .1
                    .push(m);
            }
            self.verify_chips(groups.into_values().collect(), &[])
                .await?;
        }
    }

    /// The landmark cross-check over the travel window (location.md §2.5): the landmarks whose
    /// stated places contradict their round trips to other landmarks, each with the landmarks
    /// it contradicts. `also` are landmarks to include even without pair data.
    async fn cross_checked(
        &self,
        now: i64,
        also: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, AppError> {
        let since = now.saturating_sub(self.config.travel_window_s.saturating_mul(1_000_000));
        let pairs = self.store.landmark_rtts(since).await?;
        if pairs.is_empty() {
            return Ok(HashMap::new());
        }
        // A liar is found by contradicting several honest landmarks, so the check runs over
        // every landmark with pair data, not just a chip's.
        let ids: Vec<&str> = pairs
            .iter()
            .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
            .chain(also.iter().copied())
            .collect();
        let known = self.landmarks_named(ids).await?;
        let mut named: Vec<&Arc<KnownLandmark>> = known.values().collect();
        named.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        let all = LandmarkSet::new(named.iter().map(|l| (l.record.id.clone(), l.place)))
            .map_err(|e| AppError::internal(e.to_string()))?;
        let rtts: Vec<(usize, usize, f64)> = pairs
            .iter()
            .filter_map(|(a, b, ns)| Some((all.index(a)?, all.index(b)?, *ns as f64 / 1e6)))
            .collect();
        let check = cross_check(&all, &rtts);
        Ok((0..all.len())
            .filter(|&j| check.flagged[j])
            .map(|j| {
                let others = check.conflicts[j]
                    .iter()
                    .map(|&k| all.id(k).to_string())
                    .collect();
                (all.id(j).to_string(), others)
            })
            .collect())
    }

    /// The observations of a chip's current window, and the landmarks they name.
    pub async fn observations(
        &self,
        chip: &ChipRecord,
        now: i64,
    ) -> Result<(LandmarkSet, Vec<Observation>, Vec<MeasurementRecord>), AppError> {
        let since = now.saturating_sub(self.config.window_s.saturating_mul(1_000_000));
        let ms = self.store.chip_measurements(&chip.id, since).await?;
        let landmarks = self
            .landmarks_named(ms.iter().map(|m| m.landmark_id.as_str()).collect())
            .await?;
        let (set, obs) = Self::window(&ms.iter().collect::<Vec<_>>(), &landmarks)?;
        Ok((set, obs, ms))
    }

    /// The landmark set and observations of measurements `ms`.
    fn window(
        ms: &[&MeasurementRecord],
        landmarks: &HashMap<String, Arc<KnownLandmark>>,
    ) -> Result<(LandmarkSet, Vec<Observation>), AppError> {
        let mut ids: Vec<&str> = ms.iter().map(|m| m.landmark_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let lms = ids
            .iter()
            .map(|id| {
                landmarks
                    .get(*id)
                    .map(|l| (l.record.id.clone(), l.place))
                    .ok_or_else(|| AppError::internal(format!("landmark {id} vanished")))
            })
            .collect::<Result<Vec<_>, _>>()?;
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
        Ok((set, obs))
    }

    /// The licensed site of a chip.
    pub fn site(chip: &ChipRecord) -> Result<GeoPoint, AppError> {
        GeoPoint::new(chip.site_lat, chip.site_lon)
            .map_err(|e| AppError::internal(format!("stored site of chip {}: {e}", chip.id)))
    }

    /// Re-verifies each chip over its window with its new (or unverified) measurements `new`,
    /// and commits, in one transaction, the measurements `fresh`, one verdict per chip with
    /// its alerts and ledger entry, and every measurement of `new` marked verified. A crash
    /// leaves all of it or none of it (the measurements then come again by redelivery, or
    /// were stored before and are verified by [`LocateService::recover_unverified`]).
    async fn verify_chips(
        &self,
        chips: Vec<(ChipRecord, Vec<MeasurementRecord>)>,
        fresh: &[MeasurementRecord],
    ) -> Result<Decided, AppError> {
        if chips.is_empty() {
            return Ok(Decided::default());
        }
        let now = now_us();
        let window_since = now.saturating_sub(self.config.window_s.saturating_mul(1_000_000));
        let travel_since =
            now.saturating_sub(self.config.travel_window_s.saturating_mul(1_000_000));
        let ids: Vec<String> = chips.iter().map(|(c, _)| c.id.clone()).collect();
        let mut stored: HashMap<String, Vec<MeasurementRecord>> = HashMap::new();
        for m in self
            .store
            .chips_measurements(&ids, window_since.min(travel_since))
            .await?
        {
            stored.entry(m.chip_id.clone()).or_default().push(m);
        }
        let mut named: Vec<&str> = stored
            .values()
            .flatten()
            .chain(chips.iter().flat_map(|(_, n)| n))
            .map(|m| m.landmark_id.as_str())
            .collect();
        named.sort_unstable();
        named.dedup();
        let flagged = self.cross_checked(now, &named).await?;
        let landmarks = self.landmarks_named(named.clone()).await?;
        let verifier =
            Verifier::new(&self.zone, 0.0).map_err(|e| AppError::internal(e.to_string()))?;
        let mut verdicts = Vec::with_capacity(chips.len());
        let mut contexts: HashMap<String, serde_json::Value> = HashMap::new();
        let mut alerted_landmarks: Vec<String> = Vec::new();
        for (chip, new) in &chips {
            // The chip's measurements: those stored and the new ones, each once.
            let mut all: Vec<&MeasurementRecord> = stored
                .get(&chip.id)
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            for m in new {
                if !all.iter().any(|o| o.id == m.id) {
                    all.push(m);
                }
            }
            let in_window: Vec<&MeasurementRecord> = all
                .iter()
                .copied()
                .filter(|m| m.measured_at >= window_since)
                .collect();
            let (set, obs) = Self::window(&in_window, &landmarks)?;
            let excluded: Vec<String> = (0..set.len())
                .map(|i| set.id(i))
                .filter(|id| flagged.contains_key(*id))
                .map(str::to_string)
                .collect();
            alerted_landmarks.extend(excluded.iter().cloned());
            let obs: Vec<Observation> = obs
                .into_iter()
                .filter(|o| !flagged.contains_key(set.id(o.landmark)))
                .collect();
            let region = verifier.region(&set, &obs);
            let a: Assessment = verifier.assess(&region, Self::site(chip)?);
            // Diversion is judged on the region alone: wholly inside a prohibited country,
            // wherever the licence says the chip should be.
            let inside_prohibited =
                a.region.is_some() && self.zone.relation(&region) == Relation::Inside;
            let newest = new
                .iter()
                .max_by(|x, y| (x.measured_at, &x.id).cmp(&(y.measured_at, &y.id)))
                .ok_or_else(|| AppError::internal("a chip to verify without a measurement"))?;
            let record = VerdictRecord {
                id: 0,
                chip_id: chip.id.clone(),
                measurement_id: newest.id.clone(),
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
                measurement_id: Some(newest.id.clone()),
                at: now,
            };
            let mut alerts = Vec::new();
            if a.reason == Reason::Contradictory {
                alerts.push(alert(
                    TAMPERING,
                    format!("measurements from {} landmarks contradict each other: no place satisfies every 2/3 c bound", set.len()),
                ));
            }
            if a.reason == Reason::SiteOutsideRegion {
                alerts.push(alert(
                    LOCATED_ELSEWHERE,
                    format!(
                        "licensed site ({}, {}) {} lies outside the region the landmarks prove",
                        chip.site_lat, chip.site_lon, chip.site_country
                    ),
                ));
            }
            if inside_prohibited {
                alerts.push(alert(
                    DIVERTED,
                    format!(
                        "the region lies wholly inside the prohibited zone ({})",
                        self.config.prohibited.join(", ")
                    ),
                ));
            }
            let spoofed: Vec<String> = new
                .iter()
                .filter(|m| m.spoofing > 0)
                .map(|m| format!("landmark {} rejected {}", m.landmark_id, m.spoofing))
                .collect();
            if !spoofed.is_empty() {
                alerts.push(alert(
                    TAMPERING,
                    format!(
                        "forged, replayed or misaddressed responses for this chip: {}",
                        spoofed.join("; ")
                    ),
                ));
            }
            let travel: Vec<&MeasurementRecord> = all
                .iter()
                .copied()
                .filter(|m| m.measured_at >= travel_since)
                .collect();
            if let Some(detail) = new
                .iter()
                .find_map(|m| self.impossible_travel(m, &travel, &landmarks))
            {
                alerts.push(alert(TAMPERING, detail));
            }
            let mut covers: Vec<String> = new.iter().map(|m| m.id.clone()).collect();
            covers.sort_unstable();
            contexts.insert(
                newest.id.clone(),
                serde_json::json!({
                    "chip": chip.id,
                    "measurement": newest.id,
                    "measurements": covers,
                    "site": {"lat": chip.site_lat, "lon": chip.site_lon, "country": chip.site_country},
                    "landmarks_excluded": excluded,
                }),
            );
            verdicts.push(PendingVerdict {
                verdict: record,
                alerts,
                covers,
            });
        }
        alerted_landmarks.sort_unstable();
        alerted_landmarks.dedup();
        for id in alerted_landmarks {
            self.store
                .raise_landmark_alert(
                    &id,
                    LANDMARK_CONTRADICTION,
                    &format!(
                        "stated place contradicts the round trips to {} (faster than 2/3 c allows for the stated distance); its measurements are left out of verdicts",
                        flagged[&id].join(", ")
                    ),
                    now,
                )
                .await?;
        }
        let entry = |v: &VerdictRecord, alerts: &[AlertRecord]| {
            let input = contexts.get(&v.measurement_id).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "no context for the verdict on {}",
                    v.measurement_id
                ))
            })?;
            Decision::now(
                DecisionKind::LocationProof,
                input,
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
        let recorded = self.store.record_verdicts(fresh, &verdicts, &entry).await?;
        let mut out = Decided {
            verdicts: HashMap::with_capacity(recorded.verdicts.len()),
            inserted: recorded.inserted,
            claimed: recorded.claimed,
        };
        for r in recorded.verdicts {
            self.counters.alerts.increment(r.alerts.len() as u64);
            let alerts = r.alerts.into_iter().map(AlertView::from).collect();
            out.verdicts.insert(
                r.verdict.chip_id.clone(),
                (VerdictView::from(r.verdict), alerts),
            );
        }
        Ok(out)
    }

    /// One key seen in two places faster than travel allows: the new measurement's disk and
    /// an earlier one's disk are farther apart than a chip can be carried in the time between.
    fn impossible_travel(
        &self,
        new: &MeasurementRecord,
        earlier: &[&MeasurementRecord],
        landmarks: &HashMap<String, Arc<KnownLandmark>>,
    ) -> Option<String> {
        let new_p = landmarks.get(&new.landmark_id)?.place;
        let r_new = bounds::max_distance_km(new.min_rtt_ns as f64 / 1e6, 0.0);
        for old in earlier.iter().filter(|o| o.id != new.id) {
            let Some(old_p) = landmarks.get(&old.landmark_id).map(|l| l.place) else {
                continue;
            };
            let r_old = bounds::max_distance_km(old.min_rtt_ns as f64 / 1e6, 0.0);
            let hours = (new.measured_at - old.measured_at).unsigned_abs() as f64 / 3.6e9;
            let gap = new_p.distance_km(&old_p) - r_new - r_old;
            if gap > self.config.max_travel_kmh * hours {
                return Some(format!(
                    "seen within {r_old:.0} km of landmark {} and, {hours:.2} h apart, within {r_new:.0} km of landmark {}: {gap:.0} km apart, faster than {} km/h",
                    old.landmark_id, new.landmark_id, self.config.max_travel_kmh
                ));
            }
        }
        None
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
            self.counters.alerts.increment(1);
        }
        Ok(overdue.len())
    }

    /// Resolves an open alert; the resolution is appended to the ledger in the transaction
    /// that stores it. [`AppError::NotFound`] when no open alert has this id.
    pub async fn resolve_alert(&self, id: i64) -> Result<LedgerReceipt, AppError> {
        self.resolve_alert_by(id, None).await
    }

    /// Resolves an open alert, naming in its ledger entry who resolved it (`actor`: user,
    /// organisation and role; `None` for a resolution made by the platform itself).
    pub async fn resolve_alert_by(
        &self,
        id: i64,
        actor: Option<serde_json::Value>,
    ) -> Result<LedgerReceipt, AppError> {
        let entry = |a: &AlertRecord| {
            let mut inputs =
                serde_json::json!({"alert": a.id, "chip": a.chip_id, "category": a.category});
            if let Some(actor) = &actor {
                inputs["actor"] = actor.clone();
            }
            Decision::now(
                DecisionKind::AlertResolution,
                inputs,
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
    use async_nats::jetstream::{self, consumer::pull};
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
    // Pull up to a batch at a time and ingest whatever has arrived as one batch: under load a
    // group commit of up to `INGEST_BATCH` measurements, when idle one message at once.
    let messages = consumer
        .stream()
        .max_messages_per_batch(INGEST_BATCH)
        .messages()
        .await
        .map_err(|e| AppError::Unavailable(format!("JetStream messages: {e}")))?;
    // Two batches in flight: one's signatures are checked (on every core) while the other
    // commits, so neither the CPU nor the database waits for the other. Two batches holding
    // measurements of one chip each record a verdict over what they claim; the later one,
    // judged on a window read before the earlier committed, can only see fewer measurements,
    // which widens its region (never a false `verified`).
    let batches = messages.ready_chunks(INGEST_BATCH);
    Ok(tokio::spawn(async move {
        batches
            .for_each_concurrent(BATCHES_IN_FLIGHT, |next| {
                let svc = svc.clone();
                async move { ingest_delivered(&svc, next).await }
            })
            .await;
    }))
}

/// Ingests one pulled batch and acknowledges each message by its outcome.
async fn ingest_delivered(
    svc: &LocateService,
    next: Vec<
        Result<
            async_nats::jetstream::Message,
            async_nats::jetstream::consumer::pull::MessagesError,
        >,
    >,
) {
    use async_nats::jetstream::AckKind;
    let mut msgs = Vec::with_capacity(next.len());
    for m in next {
        match m {
            Ok(m) => msgs.push(m),
            Err(e) => tracing::warn!(error = %e, "JetStream delivery error"),
        }
    }
    let payloads: Vec<&[u8]> = msgs.iter().map(|m| m.payload.as_ref()).collect();
    let results = match svc.ingest_batch(&payloads).await {
        Ok(r) => r,
        // Nothing of the batch was stored: every message comes again.
        Err(e) => {
            tracing::warn!(code = e.code(), message = %e, messages = msgs.len(), "JetStream batch failed; redelivering");
            let shared = Arc::new(e);
            msgs.iter()
                .map(|_| Err(AppError::Shared(shared.clone())))
                .collect()
        }
    };
    for (msg, result) in msgs.iter().zip(results) {
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
            svc.counters.nats_retried.increment(1);
        } else {
            svc.counters.nats_acked.increment(1);
        }
        if let Err(e) = &result {
            if !retry {
                tracing::info!(code = e.code(), message = %e, "JetStream measurement rejected");
            }
        }
        if let Err(e) = ack {
            tracing::warn!(error = %e, "JetStream ack failed; the message will be redelivered");
        }
    }
}
