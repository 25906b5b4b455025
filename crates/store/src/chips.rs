//! Chip registry for location verification (issue 5): enrolled chips and landmarks,
//! landmark-signed measurements (stored once by measurement id, so at-least-once delivery from
//! NATS or retried HTTP posts are no-ops), each chip's verdict history, and alerts.
//!
//! The store keeps plain values; the server parses and verifies with `stackport-locate`
//! before anything reaches it. Times are microseconds since the Unix epoch.
//!
//! One SQL text serves both backends: statements are written with PostgreSQL's `$N`
//! placeholders, which SQLite also accepts in its explicit `?N` form (see [`sqlite_sql`]).

use sqlx::Row;

use crate::ledger::{pg_begin, sqlite_begin};
use crate::{AppendReceipt, PgStore, SqliteStore, StoreError};

/// An enrolled chip.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChipRecord {
    pub id: String,
    /// Textual public key (`ed25519:<hex>` / `p384:<hex>`).
    pub public_key: String,
    pub model: String,
    pub owner: String,
    pub site_lat: f64,
    pub site_lon: f64,
    pub site_country: String,
    pub export_ref: Option<String>,
    pub checkin_interval_s: i64,
    pub enrolled_at: i64,
}

/// An enrolled landmark.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LandmarkRecord {
    pub id: String,
    pub public_key: String,
    pub lat: f64,
    pub lon: f64,
    pub enrolled_at: i64,
}

/// A verified measurement as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeasurementRecord {
    /// 32 hex digits.
    pub id: String,
    pub chip_id: String,
    pub landmark_id: String,
    pub min_rtt_ns: i64,
    pub rounds: i64,
    pub count: i64,
    pub spoofing: i64,
    pub measured_at: i64,
    pub received_at: i64,
    /// The signed encoding.
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// What storing a measurement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasurementInsert {
    /// New: the caller re-verifies the chip.
    Inserted,
    /// The same bytes were stored before (a redelivery) and verified: nothing to do.
    Duplicate,
    /// The same bytes were stored before but no verdict covers them yet (the process stopped
    /// between storing and verifying): the caller verifies now.
    Unverified,
}

/// A landmark's measurement of another landmark, for the cross-check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LandmarkMeasurementRecord {
    pub id: String,
    /// The measuring landmark.
    pub landmark_id: String,
    /// The measured landmark.
    pub target_id: String,
    pub min_rtt_ns: i64,
    pub measured_at: i64,
    pub received_at: i64,
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// A stored landmark alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LandmarkAlertRecord {
    pub id: i64,
    pub landmark_id: String,
    pub category: String,
    pub detail: String,
    pub raised_at: i64,
    pub last_seen_at: i64,
    pub occurrences: i64,
    pub resolved_at: Option<i64>,
}

/// A verdict as committed: with its id and ledger index, the alerts raised with it and the
/// ledger receipt of its entry.
#[derive(Debug, Clone)]
pub struct RecordedVerdict {
    pub verdict: VerdictRecord,
    pub alerts: Vec<AlertRecord>,
    pub receipt: AppendReceipt,
}

/// A verdict to record in a batch ([`ChipStore::record_verdicts`]): the verdict, the alerts it
/// raises and the measurements it covers (marked verified with it).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingVerdict {
    pub verdict: VerdictRecord,
    pub alerts: Vec<NewAlert>,
    /// Ids of the measurements this verdict covers (the verdict's own among them).
    pub covers: Vec<String>,
}

/// What [`ChipStore::record_verdicts`] committed.
#[derive(Debug, Clone, Default)]
pub struct RecordedBatch {
    /// The verdicts recorded, in the order given (those that claimed nothing left out).
    pub verdicts: Vec<RecordedVerdict>,
    /// Ids of the measurements of `new` this transaction inserted (the others were stored
    /// before, by a redelivery or another instance).
    pub inserted: std::collections::HashSet<String>,
    /// Ids of the measurements a verdict of this transaction covers.
    pub claimed: std::collections::HashSet<String>,
}

/// What the store holds of a measurement id: its content digest and whether a verdict covers
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasurementState {
    pub id: String,
    /// SHA-256 of the signed encoding, lower-case hex.
    pub sha256: String,
    pub verified: bool,
}

/// Builds the canonical ledger entry of a verdict (with its id) and the alerts raised with it.
pub type VerdictEntryFn<'a> =
    &'a (dyn Fn(&VerdictRecord, &[AlertRecord]) -> Result<String, StoreError> + Send + Sync);

/// Builds the canonical ledger entry of an alert resolution.
pub type ResolutionEntryFn<'a> =
    &'a (dyn Fn(&AlertRecord) -> Result<String, StoreError> + Send + Sync);

/// One verdict of a chip.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VerdictRecord {
    /// Assigned by the store; ignored on insert.
    pub id: i64,
    pub chip_id: String,
    pub measurement_id: String,
    /// `verified`, `inconclusive` or `violation`.
    pub verdict: String,
    pub outside_prohibited: bool,
    pub claim_consistent: bool,
    pub max_radius_km: Option<f64>,
    pub centroid_lat: Option<f64>,
    pub centroid_lon: Option<f64>,
    pub landmarks_used: i64,
    pub reason: Option<String>,
    pub decided_at: i64,
    /// Index of the verdict's ledger entry (set by the store).
    #[serde(default)]
    pub ledger_index: Option<i64>,
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewAlert {
    pub chip_id: String,
    /// One of the categories the server defines (Chip Security Act §4(a)(2) (A)–(C) plus
    /// missed check-ins).
    pub category: String,
    pub detail: String,
    pub measurement_id: Option<String>,
    pub at: i64,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertRecord {
    pub id: i64,
    pub chip_id: String,
    pub category: String,
    pub detail: String,
    pub measurement_id: Option<String>,
    pub raised_at: i64,
    pub last_seen_at: i64,
    pub occurrences: i64,
    pub resolved_at: Option<i64>,
}

/// A chip that has not checked in within its interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverdueChip {
    pub chip_id: String,
    /// Time of its newest measurement, or of its enrolment if it never checked in.
    pub last_seen: i64,
    pub checkin_interval_s: i64,
}

#[async_trait::async_trait]
pub trait ChipStore {
    /// Enrols a chip. A chip id or public key already enrolled is a conflict.
    async fn enrol_chip(&self, chip: &ChipRecord) -> Result<(), StoreError> {
        self.enrol_chip_for(chip, None).await
    }
    /// Enrols a chip owned by `owner_org` (the operator that enrolled it; `None`: the
    /// platform's).
    async fn enrol_chip_for(
        &self,
        chip: &ChipRecord,
        owner_org: Option<&str>,
    ) -> Result<(), StoreError>;
    /// The organisation owning an enrolled chip (`Some(None)`: the platform's); `None` if no
    /// chip has this id.
    async fn chip_owner_org(&self, id: &str) -> Result<Option<Option<String>>, StoreError>;
    async fn chip(&self, id: &str) -> Result<Option<ChipRecord>, StoreError>;
    async fn chips(&self) -> Result<Vec<ChipRecord>, StoreError>;
    /// Enrols a landmark; an id already enrolled is a conflict.
    async fn enrol_landmark(&self, landmark: &LandmarkRecord) -> Result<(), StoreError>;
    async fn landmark(&self, id: &str) -> Result<Option<LandmarkRecord>, StoreError>;
    async fn landmarks(&self) -> Result<Vec<LandmarkRecord>, StoreError>;
    /// Stores a measurement once. The same id with other bytes is a conflict.
    async fn record_measurement(
        &self,
        m: &MeasurementRecord,
    ) -> Result<MeasurementInsert, StoreError>;
    /// A chip's measurements with `measured_at >= since`, oldest first.
    async fn chip_measurements(
        &self,
        chip_id: &str,
        since: i64,
    ) -> Result<Vec<MeasurementRecord>, StoreError>;
    /// Appends a verdict, raises (or bumps) `alerts`, marks the verdict's measurement verified
    /// and appends the ledger entry `entry` builds, all in one transaction.
    /// The registry's group commit: in one transaction, stores the measurements `new` (by id,
    /// idempotently: one stored before with the same bytes is left as it is, one with other
    /// bytes is a [`StoreError::Conflict`] and nothing is stored), and for each verdict claims
    /// the measurements it covers that no verdict covers yet (marks them verified) and, if it
    /// claimed any, appends the verdict, raises (or bumps) its alerts and appends its ledger
    /// entry, built by `entry`. A verdict that claims nothing (another instance verified its
    /// measurements first) is not recorded, so two instances never both record the same work.
    /// Each verdict's `measurement_id` must differ.
    async fn record_verdicts(
        &self,
        new: &[MeasurementRecord],
        verdicts: &[PendingVerdict],
        entry: VerdictEntryFn<'_>,
    ) -> Result<RecordedBatch, StoreError>;
    /// The stored state of each of `ids` that is stored (others are left out).
    async fn measurement_states(&self, ids: &[String])
        -> Result<Vec<MeasurementState>, StoreError>;
    /// The enrolled chips among `ids`.
    async fn chips_by_ids(&self, ids: &[String]) -> Result<Vec<ChipRecord>, StoreError>;
    /// The measurements of the chips `chip_ids` with `measured_at >= since`, oldest first.
    async fn chips_measurements(
        &self,
        chip_ids: &[String],
        since: i64,
    ) -> Result<Vec<MeasurementRecord>, StoreError>;
    /// Measurements stored but not covered by a verdict (a crash between the two), oldest
    /// first, at most `limit`.
    async fn unverified_measurements(
        &self,
        limit: i64,
    ) -> Result<Vec<MeasurementRecord>, StoreError>;
    /// Stores a landmark-to-landmark measurement once (as [`ChipStore::record_measurement`]).
    async fn record_landmark_measurement(
        &self,
        m: &LandmarkMeasurementRecord,
    ) -> Result<MeasurementInsert, StoreError>;
    /// The smallest round trip (ns) of each pair of landmarks measured since `since`, either
    /// direction: `(a, b, min_rtt_ns)` with `a < b`.
    async fn landmark_rtts(&self, since: i64) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// Raises an alert on a landmark, or bumps the open one of the same category.
    async fn raise_landmark_alert(
        &self,
        landmark_id: &str,
        category: &str,
        detail: &str,
        at: i64,
    ) -> Result<LandmarkAlertRecord, StoreError>;
    /// Open landmark alerts, oldest first.
    async fn open_landmark_alerts(&self) -> Result<Vec<LandmarkAlertRecord>, StoreError>;
    async fn latest_verdict(&self, chip_id: &str) -> Result<Option<VerdictRecord>, StoreError>;
    /// Newest first, at most `limit`.
    async fn verdict_history(
        &self,
        chip_id: &str,
        limit: i64,
    ) -> Result<Vec<VerdictRecord>, StoreError>;
    /// Raises an alert, or bumps the open one of the same chip and category.
    async fn raise_alert(&self, a: &NewAlert) -> Result<AlertRecord, StoreError>;
    /// Open alerts, oldest first.
    async fn open_alerts(&self) -> Result<Vec<AlertRecord>, StoreError>;
    async fn chip_alerts(&self, chip_id: &str) -> Result<Vec<AlertRecord>, StoreError>;
    /// Marks an alert resolved and appends the ledger entry `entry` builds, in one
    /// transaction; `None` if it was not open.
    async fn resolve_alert(
        &self,
        id: i64,
        at: i64,
        entry: ResolutionEntryFn<'_>,
    ) -> Result<Option<(AlertRecord, AppendReceipt)>, StoreError>;
    /// Chips whose newest measurement (or enrolment) is older than their check-in interval.
    async fn overdue_chips(&self, now: i64) -> Result<Vec<OverdueChip>, StoreError>;
}

/// PostgreSQL's `$N` placeholders in SQLite's numbered `?N` form.
pub fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn pg_sql(sql: &str) -> String {
    sql.to_string()
}

const CHIP_COLS: &str = "id, public_key, model, owner, site_lat, site_lon, site_country, export_ref, checkin_interval_s, enrolled_at";
const MEAS_COLS: &str =
    "id, chip_id, landmark_id, min_rtt_ns, rounds, count, spoofing, measured_at, received_at, body";
const VERDICT_COLS: &str = "id, chip_id, measurement_id, verdict, outside_prohibited, claim_consistent, max_radius_km, centroid_lat, centroid_lon, landmarks_used, reason, decided_at, ledger_index";
const LANDMARK_ALERT_COLS: &str =
    "id, landmark_id, category, detail, raised_at, last_seen_at, occurrences, resolved_at";
/// Raises a chip alert, or bumps the open one of the same chip and category: the partial
/// unique index keeps one open alert per chip and category, so an operator sees one line with
/// a count, not a flood.
const RAISE_ALERT_SQL: &str = "INSERT INTO chip_alerts (chip_id, category, detail, measurement_id, raised_at, last_seen_at, occurrences) \
     VALUES ($1, $2, $3, $4, $5, $5, 1) \
     ON CONFLICT (chip_id, category) WHERE resolved_at IS NULL DO UPDATE SET \
     detail = excluded.detail, measurement_id = excluded.measurement_id, last_seen_at = excluded.last_seen_at, \
     occurrences = chip_alerts.occurrences + 1 RETURNING ";
const ALERT_COLS: &str = "id, chip_id, category, detail, measurement_id, raised_at, last_seen_at, occurrences, resolved_at";

/// Rows per multi-row statement: 11 binds each, far under SQLite's 32,766 and PostgreSQL's
/// 65,535 bound parameters.
const MEASUREMENTS_PER_INSERT: usize = 500;
const VERDICTS_PER_INSERT: usize = 500;

/// The content digest the registry stores beside a measurement (SHA-256 of its signed
/// encoding, lower-case hex; [`MeasurementState::sha256`]).
pub fn measurement_digest(body: &[u8]) -> String {
    sha256_hex(body)
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

macro_rules! chip_store_impl {
    ($store:ty, $db:ty, $row:ty, $sql:path, $begin:path, $ledger:path) => {
        use $ledger as ledger_impl;

        async fn raise_on(conn: &mut <$db as sqlx::Database>::Connection, a: &NewAlert) -> Result<AlertRecord, StoreError> {
            let sql = $sql(&format!("{RAISE_ALERT_SQL}{ALERT_COLS}"));
            let row = sqlx::query(&sql)
                .bind(&a.chip_id)
                .bind(&a.category)
                .bind(&a.detail)
                .bind(&a.measurement_id)
                .bind(a.at)
                .fetch_one(&mut *conn)
                .await?;
            Ok(alert_from(&row)?)
        }

        /// Appends one ledger entry inside the caller's transaction: its receipt, and its index
        /// as the store's integer.
        async fn append_one(conn: &mut <$db as sqlx::Database>::Connection, text: &str) -> Result<(AppendReceipt, i64), StoreError> {
            let receipt = ledger_impl::append_in_tx(conn, &[text.to_string()])
                .await?
                .pop()
                .ok_or_else(|| StoreError::Corrupt("ledger append returned no receipt".into()))?;
            let index = i64::try_from(receipt.index).map_err(|_| StoreError::Corrupt(format!("ledger index {}", receipt.index)))?;
            Ok((receipt, index))
        }

        fn landmark_alert_from(r: &$row) -> Result<LandmarkAlertRecord, sqlx::Error> {
            Ok(LandmarkAlertRecord {
                id: r.try_get("id")?,
                landmark_id: r.try_get("landmark_id")?,
                category: r.try_get("category")?,
                detail: r.try_get("detail")?,
                raised_at: r.try_get("raised_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                occurrences: r.try_get("occurrences")?,
                resolved_at: r.try_get("resolved_at")?,
            })
        }

        fn chip_from(r: &$row) -> Result<ChipRecord, sqlx::Error> {
            Ok(ChipRecord {
                id: r.try_get("id")?,
                public_key: r.try_get("public_key")?,
                model: r.try_get("model")?,
                owner: r.try_get("owner")?,
                site_lat: r.try_get("site_lat")?,
                site_lon: r.try_get("site_lon")?,
                site_country: r.try_get("site_country")?,
                export_ref: r.try_get("export_ref")?,
                checkin_interval_s: r.try_get("checkin_interval_s")?,
                enrolled_at: r.try_get("enrolled_at")?,
            })
        }
        fn landmark_from(r: &$row) -> Result<LandmarkRecord, sqlx::Error> {
            Ok(LandmarkRecord {
                id: r.try_get("id")?,
                public_key: r.try_get("public_key")?,
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
                enrolled_at: r.try_get("enrolled_at")?,
            })
        }
        fn measurement_from(r: &$row) -> Result<MeasurementRecord, sqlx::Error> {
            Ok(MeasurementRecord {
                id: r.try_get("id")?,
                chip_id: r.try_get("chip_id")?,
                landmark_id: r.try_get("landmark_id")?,
                min_rtt_ns: r.try_get("min_rtt_ns")?,
                rounds: r.try_get("rounds")?,
                count: r.try_get("count")?,
                spoofing: r.try_get("spoofing")?,
                measured_at: r.try_get("measured_at")?,
                received_at: r.try_get("received_at")?,
                body: r.try_get("body")?,
            })
        }
        fn verdict_from(r: &$row) -> Result<VerdictRecord, sqlx::Error> {
            Ok(VerdictRecord {
                id: r.try_get("id")?,
                chip_id: r.try_get("chip_id")?,
                measurement_id: r.try_get("measurement_id")?,
                verdict: r.try_get("verdict")?,
                outside_prohibited: r.try_get("outside_prohibited")?,
                claim_consistent: r.try_get("claim_consistent")?,
                max_radius_km: r.try_get("max_radius_km")?,
                centroid_lat: r.try_get("centroid_lat")?,
                centroid_lon: r.try_get("centroid_lon")?,
                landmarks_used: r.try_get("landmarks_used")?,
                reason: r.try_get("reason")?,
                decided_at: r.try_get("decided_at")?,
                ledger_index: r.try_get("ledger_index")?,
            })
        }
        fn alert_from(r: &$row) -> Result<AlertRecord, sqlx::Error> {
            Ok(AlertRecord {
                id: r.try_get("id")?,
                chip_id: r.try_get("chip_id")?,
                category: r.try_get("category")?,
                detail: r.try_get("detail")?,
                measurement_id: r.try_get("measurement_id")?,
                raised_at: r.try_get("raised_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                occurrences: r.try_get("occurrences")?,
                resolved_at: r.try_get("resolved_at")?,
            })
        }

        #[async_trait::async_trait]
        impl ChipStore for $store {
            async fn chip_owner_org(&self, id: &str) -> Result<Option<Option<String>>, StoreError> {
                let sql = $sql("SELECT owner_org FROM chips WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(match row {
                    Some(r) => Some(r.try_get("owner_org")?),
                    None => None,
                })
            }

            async fn enrol_chip_for(&self, c: &ChipRecord, owner_org: Option<&str>) -> Result<(), StoreError> {
                let sql = $sql(&format!("INSERT INTO chips ({CHIP_COLS}, owner_org) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"));
                let res = sqlx::query(&sql)
                    .bind(&c.id)
                    .bind(&c.public_key)
                    .bind(&c.model)
                    .bind(&c.owner)
                    .bind(c.site_lat)
                    .bind(c.site_lon)
                    .bind(&c.site_country)
                    .bind(&c.export_ref)
                    .bind(c.checkin_interval_s)
                    .bind(c.enrolled_at)
                    .bind(owner_org)
                    .execute(&self.pool)
                    .await;
                match res {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => {
                        Err(StoreError::Conflict(format!("chip {:?} or its public key is already enrolled", c.id)))
                    }
                    Err(e) => Err(e.into()),
                }
            }

            async fn chip(&self, id: &str) -> Result<Option<ChipRecord>, StoreError> {
                let sql = $sql(&format!("SELECT {CHIP_COLS} FROM chips WHERE id = $1"));
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(chip_from).transpose()?)
            }

            async fn chips(&self) -> Result<Vec<ChipRecord>, StoreError> {
                let sql = format!("SELECT {CHIP_COLS} FROM chips ORDER BY id");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(chip_from).collect::<Result<_, _>>()?)
            }

            async fn enrol_landmark(&self, l: &LandmarkRecord) -> Result<(), StoreError> {
                let sql = $sql("INSERT INTO landmarks (id, public_key, lat, lon, enrolled_at) VALUES ($1, $2, $3, $4, $5)");
                let res = sqlx::query(&sql).bind(&l.id).bind(&l.public_key).bind(l.lat).bind(l.lon).bind(l.enrolled_at).execute(&self.pool).await;
                match res {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!("landmark {:?} is already enrolled", l.id))),
                    Err(e) => Err(e.into()),
                }
            }

            async fn landmark(&self, id: &str) -> Result<Option<LandmarkRecord>, StoreError> {
                let sql = $sql("SELECT id, public_key, lat, lon, enrolled_at FROM landmarks WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(landmark_from).transpose()?)
            }

            async fn landmarks(&self) -> Result<Vec<LandmarkRecord>, StoreError> {
                let rows = sqlx::query("SELECT id, public_key, lat, lon, enrolled_at FROM landmarks ORDER BY id").fetch_all(&self.pool).await?;
                Ok(rows.iter().map(landmark_from).collect::<Result<_, _>>()?)
            }

            async fn record_measurement(&self, m: &MeasurementRecord) -> Result<MeasurementInsert, StoreError> {
                let digest = sha256_hex(&m.body);
                // ON CONFLICT DO NOTHING makes concurrent deliveries to several server
                // instances safe: exactly one insert wins, the others see zero rows affected.
                let sql = $sql(&format!(
                    "INSERT INTO chip_measurements ({MEAS_COLS}, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING"
                ));
                let res = sqlx::query(&sql)
                    .bind(&m.id)
                    .bind(&m.chip_id)
                    .bind(&m.landmark_id)
                    .bind(m.min_rtt_ns)
                    .bind(m.rounds)
                    .bind(m.count)
                    .bind(m.spoofing)
                    .bind(m.measured_at)
                    .bind(m.received_at)
                    .bind(&m.body)
                    .bind(&digest)
                    .execute(&self.pool)
                    .await?;
                if res.rows_affected() == 1 {
                    return Ok(MeasurementInsert::Inserted);
                }
                let sql = $sql("SELECT sha256, verified_at FROM chip_measurements WHERE id = $1");
                let row = sqlx::query(&sql).bind(&m.id).fetch_one(&self.pool).await?;
                let stored: String = row.try_get("sha256")?;
                let verified: Option<i64> = row.try_get("verified_at")?;
                if stored == digest {
                    Ok(if verified.is_some() { MeasurementInsert::Duplicate } else { MeasurementInsert::Unverified })
                } else {
                    Err(StoreError::Conflict(format!("measurement {} was stored before with different content", m.id)))
                }
            }

            async fn chip_measurements(&self, chip_id: &str, since: i64) -> Result<Vec<MeasurementRecord>, StoreError> {
                let sql = $sql(&format!(
                    "SELECT {MEAS_COLS} FROM chip_measurements WHERE chip_id = $1 AND measured_at >= $2 ORDER BY measured_at, id"
                ));
                let rows = sqlx::query(&sql).bind(chip_id).bind(since).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(measurement_from).collect::<Result<_, _>>()?)
            }

            async fn record_verdicts(&self, new: &[MeasurementRecord], verdicts: &[PendingVerdict], entry: VerdictEntryFn<'_>) -> Result<RecordedBatch, StoreError> {
                {
                    let mut seen = std::collections::HashSet::new();
                    if let Some(v) = verdicts.iter().find(|p| !seen.insert(p.verdict.measurement_id.as_str())) {
                        return Err(StoreError::Config(format!("two verdicts name measurement {}", v.verdict.measurement_id)));
                    }
                }
                let mut batch = RecordedBatch::default();
                let mut tx = $begin(&self.pool).await?;
                // The measurements, many rows per statement. A row stored before (or by another
                // instance meanwhile) is skipped by ON CONFLICT; its bytes must be these bytes.
                for chunk in new.chunks(MEASUREMENTS_PER_INSERT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO chip_measurements ({MEAS_COLS}, sha256) "));
                    qb.push_values(chunk, |mut b, m| {
                        b.push_bind(&m.id)
                            .push_bind(&m.chip_id)
                            .push_bind(&m.landmark_id)
                            .push_bind(m.min_rtt_ns)
                            .push_bind(m.rounds)
                            .push_bind(m.count)
                            .push_bind(m.spoofing)
                            .push_bind(m.measured_at)
                            .push_bind(m.received_at)
                            .push_bind(&m.body)
                            .push_bind(sha256_hex(&m.body));
                    });
                    qb.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
                    let before = batch.inserted.len();
                    for r in qb.build().fetch_all(&mut *tx).await? {
                        batch.inserted.insert(r.try_get("id")?);
                    }
                    if batch.inserted.len() - before < chunk.len() {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT id, sha256 FROM chip_measurements WHERE id IN (");
                        let mut ids = qb.separated(", ");
                        for m in chunk.iter().filter(|m| !batch.inserted.contains(&m.id)) {
                            ids.push_bind(&m.id);
                        }
                        qb.push(")");
                        let stored: std::collections::HashMap<String, String> = qb
                            .build()
                            .fetch_all(&mut *tx)
                            .await?
                            .iter()
                            .map(|r| Ok((r.try_get("id")?, r.try_get("sha256")?)))
                            .collect::<Result<_, sqlx::Error>>()?;
                        if let Some(m) = chunk.iter().find(|m| !batch.inserted.contains(&m.id) && stored.get(&m.id) != Some(&sha256_hex(&m.body))) {
                            return Err(StoreError::Conflict(format!("measurement {} was stored before with different content", m.id)));
                        }
                    }
                }
                // Each verdict claims the measurements no verdict covers yet; the row lock the
                // UPDATE takes makes a second instance's claim on them wait and then find none.
                let mut kept: Vec<&PendingVerdict> = Vec::with_capacity(verdicts.len());
                for p in verdicts {
                    let mut claimed = false;
                    for chunk in p.covers.chunks(MEASUREMENTS_PER_INSERT) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE chip_measurements SET verified_at = ");
                        qb.push_bind(p.verdict.decided_at).push(" WHERE verified_at IS NULL AND id IN (");
                        let mut ids = qb.separated(", ");
                        for id in chunk {
                            ids.push_bind(id);
                        }
                        qb.push(") RETURNING id");
                        for r in qb.build().fetch_all(&mut *tx).await? {
                            batch.claimed.insert(r.try_get("id")?);
                            claimed = true;
                        }
                    }
                    if claimed {
                        kept.push(p);
                    }
                }
                let mut staged: Vec<(VerdictRecord, Vec<AlertRecord>)> = Vec::with_capacity(kept.len());
                for chunk in kept.chunks(VERDICTS_PER_INSERT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO chip_verdicts (chip_id, measurement_id, verdict, outside_prohibited, claim_consistent, max_radius_km, centroid_lat, centroid_lon, landmarks_used, reason, decided_at) ",
                    );
                    qb.push_values(chunk, |mut b, p| {
                        let v = &p.verdict;
                        b.push_bind(&v.chip_id)
                            .push_bind(&v.measurement_id)
                            .push_bind(&v.verdict)
                            .push_bind(v.outside_prohibited)
                            .push_bind(v.claim_consistent)
                            .push_bind(v.max_radius_km)
                            .push_bind(v.centroid_lat)
                            .push_bind(v.centroid_lon)
                            .push_bind(v.landmarks_used)
                            .push_bind(&v.reason)
                            .push_bind(v.decided_at);
                    });
                    qb.push(" RETURNING id, measurement_id");
                    // Matched by measurement id, not by row order (which neither database
                    // promises for RETURNING).
                    let ids: std::collections::HashMap<String, i64> = qb
                        .build()
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| Ok((r.try_get("measurement_id")?, r.try_get("id")?)))
                        .collect::<Result<_, sqlx::Error>>()?;
                    for p in chunk {
                        let id = *ids.get(&p.verdict.measurement_id).ok_or_else(|| StoreError::Corrupt(format!("verdict for {} was not returned", p.verdict.measurement_id)))?;
                        let mut alerts = Vec::with_capacity(p.alerts.len());
                        for a in &p.alerts {
                            alerts.push(raise_on(&mut *tx, a).await?);
                        }
                        staged.push((VerdictRecord { id, ..p.verdict.clone() }, alerts));
                    }
                }
                let texts = staged.iter().map(|(v, a)| entry(v, a)).collect::<Result<Vec<_>, _>>()?;
                let receipts = ledger_impl::append_in_tx(&mut *tx, &texts).await?;
                if receipts.len() != staged.len() {
                    return Err(StoreError::Corrupt(format!("{} ledger receipts for {} verdicts", receipts.len(), staged.len())));
                }
                for ((mut verdict, alerts), receipt) in staged.into_iter().zip(receipts) {
                    let index = i64::try_from(receipt.index).map_err(|_| StoreError::Corrupt(format!("ledger index {}", receipt.index)))?;
                    verdict.ledger_index = Some(index);
                    batch.verdicts.push(RecordedVerdict { verdict, alerts, receipt });
                }
                for chunk in batch.verdicts.chunks(VERDICTS_PER_INSERT) {
                    // One statement sets every verdict's ledger index (`column1`/`column2` are
                    // the names both databases give the columns of a VALUES list).
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE chip_verdicts SET ledger_index = v.column2 FROM (");
                    qb.push_values(chunk, |mut b, r: &RecordedVerdict| {
                        b.push_bind(r.verdict.id).push_bind(r.verdict.ledger_index);
                    });
                    qb.push(") AS v WHERE chip_verdicts.id = v.column1");
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(batch)
            }

            async fn measurement_states(&self, ids: &[String]) -> Result<Vec<MeasurementState>, StoreError> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(MEASUREMENTS_PER_INSERT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT id, sha256, verified_at FROM chip_measurements WHERE id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    for r in qb.build().fetch_all(&self.pool).await? {
                        out.push(MeasurementState {
                            id: r.try_get("id")?,
                            sha256: r.try_get("sha256")?,
                            verified: r.try_get::<Option<i64>, _>("verified_at")?.is_some(),
                        });
                    }
                }
                Ok(out)
            }

            async fn chips_by_ids(&self, ids: &[String]) -> Result<Vec<ChipRecord>, StoreError> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(MEASUREMENTS_PER_INSERT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {CHIP_COLS} FROM chips WHERE id IN ("));
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    for r in qb.build().fetch_all(&self.pool).await? {
                        out.push(chip_from(&r)?);
                    }
                }
                Ok(out)
            }

            async fn chips_measurements(&self, chip_ids: &[String], since: i64) -> Result<Vec<MeasurementRecord>, StoreError> {
                let mut out = Vec::new();
                for chunk in chip_ids.chunks(MEASUREMENTS_PER_INSERT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {MEAS_COLS} FROM chip_measurements WHERE measured_at >= "));
                    qb.push_bind(since).push(" AND chip_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    for r in qb.build().fetch_all(&self.pool).await? {
                        out.push(measurement_from(&r)?);
                    }
                }
                out.sort_by(|a, b| (a.measured_at, &a.id).cmp(&(b.measured_at, &b.id)));
                Ok(out)
            }

            async fn unverified_measurements(&self, limit: i64) -> Result<Vec<MeasurementRecord>, StoreError> {
                let sql = $sql(&format!(
                    "SELECT {MEAS_COLS} FROM chip_measurements WHERE verified_at IS NULL ORDER BY received_at, id LIMIT $1"
                ));
                let rows = sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(measurement_from).collect::<Result<_, _>>()?)
            }

            async fn record_landmark_measurement(&self, m: &LandmarkMeasurementRecord) -> Result<MeasurementInsert, StoreError> {
                let digest = sha256_hex(&m.body);
                let sql = $sql(
                    "INSERT INTO landmark_measurements (id, landmark_id, target_id, min_rtt_ns, measured_at, received_at, body, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                );
                let res = sqlx::query(&sql)
                    .bind(&m.id)
                    .bind(&m.landmark_id)
                    .bind(&m.target_id)
                    .bind(m.min_rtt_ns)
                    .bind(m.measured_at)
                    .bind(m.received_at)
                    .bind(&m.body)
                    .bind(&digest)
                    .execute(&self.pool)
                    .await?;
                if res.rows_affected() == 1 {
                    return Ok(MeasurementInsert::Inserted);
                }
                let sql = $sql("SELECT sha256 FROM landmark_measurements WHERE id = $1");
                let stored: String = sqlx::query(&sql).bind(&m.id).fetch_one(&self.pool).await?.try_get("sha256")?;
                if stored == digest {
                    Ok(MeasurementInsert::Duplicate)
                } else {
                    Err(StoreError::Conflict(format!("measurement {} was stored before with different content", m.id)))
                }
            }

            async fn landmark_rtts(&self, since: i64) -> Result<Vec<(String, String, i64)>, StoreError> {
                let sql = $sql(
                    "SELECT CASE WHEN landmark_id < target_id THEN landmark_id ELSE target_id END AS a, \
                     CASE WHEN landmark_id < target_id THEN target_id ELSE landmark_id END AS b, MIN(min_rtt_ns) AS rtt \
                     FROM landmark_measurements WHERE measured_at >= $1 GROUP BY 1, 2 ORDER BY 1, 2",
                );
                let rows = sqlx::query(&sql).bind(since).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("a")?, r.try_get("b")?, r.try_get("rtt")?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(StoreError::from)
            }

            async fn raise_landmark_alert(&self, landmark_id: &str, category: &str, detail: &str, at: i64) -> Result<LandmarkAlertRecord, StoreError> {
                let sql = $sql(&format!(
                    "INSERT INTO landmark_alerts (landmark_id, category, detail, raised_at, last_seen_at, occurrences) \
                     VALUES ($1, $2, $3, $4, $4, 1) \
                     ON CONFLICT (landmark_id, category) WHERE resolved_at IS NULL DO UPDATE SET \
                     detail = excluded.detail, last_seen_at = excluded.last_seen_at, \
                     occurrences = landmark_alerts.occurrences + 1 RETURNING {LANDMARK_ALERT_COLS}"
                ));
                let row = sqlx::query(&sql).bind(landmark_id).bind(category).bind(detail).bind(at).fetch_one(&self.pool).await?;
                Ok(landmark_alert_from(&row)?)
            }

            async fn open_landmark_alerts(&self) -> Result<Vec<LandmarkAlertRecord>, StoreError> {
                let sql = format!("SELECT {LANDMARK_ALERT_COLS} FROM landmark_alerts WHERE resolved_at IS NULL ORDER BY raised_at, id");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(landmark_alert_from).collect::<Result<_, _>>()?)
            }

            async fn latest_verdict(&self, chip_id: &str) -> Result<Option<VerdictRecord>, StoreError> {
                Ok(self.verdict_history(chip_id, 1).await?.into_iter().next())
            }

            async fn verdict_history(&self, chip_id: &str, limit: i64) -> Result<Vec<VerdictRecord>, StoreError> {
                let sql = $sql(&format!("SELECT {VERDICT_COLS} FROM chip_verdicts WHERE chip_id = $1 ORDER BY id DESC LIMIT $2"));
                let rows = sqlx::query(&sql).bind(chip_id).bind(limit).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(verdict_from).collect::<Result<_, _>>()?)
            }

            async fn raise_alert(&self, a: &NewAlert) -> Result<AlertRecord, StoreError> {
                let mut conn = self.pool.acquire().await?;
                raise_on(&mut conn, a).await
            }

            async fn open_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
                let sql = format!("SELECT {ALERT_COLS} FROM chip_alerts WHERE resolved_at IS NULL ORDER BY raised_at, id");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(alert_from).collect::<Result<_, _>>()?)
            }

            async fn chip_alerts(&self, chip_id: &str) -> Result<Vec<AlertRecord>, StoreError> {
                let sql = $sql(&format!("SELECT {ALERT_COLS} FROM chip_alerts WHERE chip_id = $1 ORDER BY id"));
                let rows = sqlx::query(&sql).bind(chip_id).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(alert_from).collect::<Result<_, _>>()?)
            }

            async fn resolve_alert(&self, id: i64, at: i64, entry: ResolutionEntryFn<'_>) -> Result<Option<(AlertRecord, AppendReceipt)>, StoreError> {
                let mut tx = $begin(&self.pool).await?;
                let sql = $sql(&format!("UPDATE chip_alerts SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL RETURNING {ALERT_COLS}"));
                let Some(row) = sqlx::query(&sql).bind(at).bind(id).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let alert = alert_from(&row)?;
                let text = entry(&alert)?;
                let (receipt, index) = append_one(&mut *tx, &text).await?;
                let sql = $sql("UPDATE chip_alerts SET resolved_ledger_index = $1 WHERE id = $2");
                sqlx::query(&sql).bind(index).bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some((alert, receipt)))
            }

            async fn overdue_chips(&self, now: i64) -> Result<Vec<OverdueChip>, StoreError> {
                let sql = $sql(
                    "SELECT c.id AS chip_id, c.checkin_interval_s AS checkin_interval_s, \
                     COALESCE((SELECT MAX(m.measured_at) FROM chip_measurements m WHERE m.chip_id = c.id), c.enrolled_at) AS last_seen \
                     FROM chips c ORDER BY c.id",
                );
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                let mut out = Vec::new();
                for r in &rows {
                    let o = OverdueChip {
                        chip_id: r.try_get("chip_id")?,
                        last_seen: r.try_get("last_seen")?,
                        checkin_interval_s: r.try_get("checkin_interval_s")?,
                    };
                    if now.saturating_sub(o.last_seen) > o.checkin_interval_s.saturating_mul(1_000_000) {
                        out.push(o);
                    }
                }
                Ok(out)
            }
        }
    };
}

mod sqlite_impl {
    use super::*;
    chip_store_impl!(
        SqliteStore,
        sqlx::Sqlite,
        sqlx::sqlite::SqliteRow,
        sqlite_sql,
        sqlite_begin,
        crate::ledger::sqlite_impl
    );
}

mod pg_impl {
    use super::*;
    chip_store_impl!(
        PgStore,
        sqlx::Postgres,
        sqlx::postgres::PgRow,
        pg_sql,
        pg_begin,
        crate::ledger::pg_impl
    );
}
