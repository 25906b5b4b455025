//! Restricted-party list snapshots, screened parties, screening results and the new hits found
//! by re-screening after a list update.
//!
//! A snapshot is stored whole, in one transaction: its row, its source files and every entity
//! (as JSON, with the entity's fingerprint so that two snapshots can be compared without
//! parsing). Storing a snapshot makes it the active one (the one screening uses); at most one
//! snapshot is active, enforced by a partial unique index.
//!
//! Parties are keyed by a hash of what describes them ([`party_id`]), so screening the same
//! party again updates it rather than adding a row; every result is kept.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use stackport_screening::{Entity, PartyType, Query, ScreeningResult, Snapshot, SourceFile};
use time::OffsetDateTime;

use crate::ledger::{pg_impl, sqlite_impl, AppendReceipt};
use crate::{PgStore, SqliteStore, StoreError};

/// A stored list snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub id: i64,
    /// [`Snapshot::hash`] of the stored snapshot.
    pub hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub loaded_at: OffsetDateTime,
    pub entity_count: i64,
    /// Whether this is the snapshot screening uses.
    pub active: bool,
    /// When stored parties were re-screened against the entries this snapshot added or changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub rescreened_at: Option<OffsetDateTime>,
    /// The files it was read from, in load order.
    pub sources: Vec<SourceFile>,
}

/// A party screened before, kept for re-screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredParty {
    /// [`party_id`] of the party.
    pub id: String,
    pub name: String,
    pub party_type: Option<PartyType>,
    pub country: Option<String>,
    pub dob: Option<String>,
    pub identifiers: Vec<String>,
    /// Threshold of the party's latest screening; re-screening uses it again.
    pub threshold: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_screened: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_screened: OffsetDateTime,
}

impl StoredParty {
    /// The party as a screening query.
    pub fn query(&self) -> Query {
        Query {
            name: self.name.clone(),
            party_type: self.party_type,
            country: self.country.clone(),
            dob: self.dob.clone(),
            identifiers: self.identifiers.clone(),
        }
    }
}

/// One screening to store: the party, the snapshot it was screened against and the result.
#[derive(Debug, Clone)]
pub struct ScreeningRecord {
    pub party: Query,
    pub snapshot_id: i64,
    pub result: ScreeningResult,
}

/// A stored screening result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredScreening {
    pub id: i64,
    pub party_id: String,
    pub snapshot_id: i64,
    pub threshold: f64,
    pub algorithm: String,
    pub hit_count: i64,
    /// The hits as returned, with their explanations. Kept as JSON rather than typed so that
    /// results of earlier algorithm versions stay readable when the hit model grows.
    pub hits: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub screened_at: OffsetDateTime,
    /// Index of the ledger entry recording this result (appended in the same transaction).
    /// `None` only for rows stored before the ledger recorded screenings.
    pub ledger_index: Option<u64>,
}

/// Why an entity could produce a new hit: it is new in the snapshot or it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryChange {
    Added,
    Changed,
}

impl EntryChange {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryChange::Added => "added",
            EntryChange::Changed => "changed",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "added" => Ok(EntryChange::Added),
            "changed" => Ok(EntryChange::Changed),
            other => Err(StoreError::Corrupt(format!(
                "screening_new_hits.change = {other:?}"
            ))),
        }
    }
}

/// A hit found by re-screening a stored party against the entries a new snapshot added or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewHit {
    pub party_id: String,
    pub from_snapshot_id: i64,
    pub to_snapshot_id: i64,
    pub entity_id: String,
    pub change: EntryChange,
    pub score: f64,
    /// The hit with its explanation, as JSON.
    pub hit: serde_json::Value,
}

/// A stored [`NewHit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredNewHit {
    pub id: i64,
    #[serde(flatten)]
    pub hit: NewHit,
    #[serde(with = "time::serde::rfc3339")]
    pub found_at: OffsetDateTime,
    /// Index of the ledger entry recording this hit (appended in the same transaction).
    pub ledger_index: Option<u64>,
}

/// The stable id of a party: SHA-256 over its name, type, country, date of birth and sorted
/// identifiers (trimmed; country upper-cased), first 24 hex digits.
pub fn party_id(party: &Query) -> String {
    use sha2::{Digest, Sha256};
    let mut ids: Vec<&str> = party.identifiers.iter().map(|s| s.trim()).collect();
    ids.sort_unstable();
    let canonical = serde_json::json!([
        party.name.trim(),
        party.party_type.map(PartyType::as_str),
        party
            .country
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase()),
        party.dob.as_deref().map(str::trim),
        ids,
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    hex::encode(&digest[..12])
}

/// Restricted-party screening data.
#[async_trait::async_trait]
pub trait ScreeningStore {
    /// Every stored snapshot, oldest first.
    async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError>;
    /// One snapshot; [`StoreError::NotFound`] if there is none with that id.
    async fn snapshot(&self, id: i64) -> Result<SnapshotInfo, StoreError>;
    /// The snapshot screening uses, if any is stored.
    async fn active_snapshot(&self) -> Result<Option<SnapshotInfo>, StoreError>;
    /// Stores a whole snapshot in one transaction and makes it the active one.
    async fn store_snapshot(&self, snapshot: &Snapshot) -> Result<SnapshotInfo, StoreError>;
    /// Makes a stored snapshot the active one (for instance to go back to an earlier one).
    async fn activate_snapshot(&self, id: i64) -> Result<(), StoreError>;
    /// The entities of a stored snapshot, in the order they were stored.
    async fn snapshot_entities(&self, id: i64) -> Result<Vec<Entity>, StoreError>;
    /// Records that stored parties were re-screened against this snapshot's changes.
    async fn mark_rescreened(&self, id: i64) -> Result<(), StoreError>;

    /// Stores screenings (upserting their parties) in one transaction; returns them as stored,
    /// in input order.
    ///
    /// Each stored result is recorded in the ledger in the same transaction: `ledger_entry`
    /// builds the canonical entry of the `i`-th result once it has its id, and the result and its
    /// entry commit together or not at all. Returns each result with its ledger receipt.
    async fn record_screenings(
        &self,
        records: &[ScreeningRecord],
        ledger_entry: LedgerEntryFn<'_, StoredScreening>,
    ) -> Result<Vec<(StoredScreening, AppendReceipt)>, StoreError>;
    /// Every party screened before, by id.
    async fn parties(&self) -> Result<Vec<StoredParty>, StoreError>;
    /// One party; [`StoreError::NotFound`] if unknown.
    async fn party(&self, id: &str) -> Result<StoredParty, StoreError>;
    /// Every screening of one party, oldest first.
    async fn screenings(&self, party_id: &str) -> Result<Vec<StoredScreening>, StoreError>;

    /// Stores new hits in one transaction, skipping any already recorded for the same
    /// (party, snapshot, entity); returns those that were new.
    /// Every new hit is recorded in the ledger in the same transaction (see
    /// [`ScreeningStore::record_screenings`]).
    async fn record_new_hits(
        &self,
        hits: &[NewHit],
        ledger_entry: LedgerEntryFn<'_, StoredNewHit>,
    ) -> Result<Vec<(StoredNewHit, AppendReceipt)>, StoreError>;
    /// New hits recorded for a snapshot, oldest first.
    async fn new_hits(&self, to_snapshot_id: i64) -> Result<Vec<StoredNewHit>, StoreError>;

    /// A stored snapshot read back whole (sources and entities).
    async fn load_snapshot(&self, id: i64) -> Result<Snapshot, StoreError> {
        let info = self.snapshot(id).await?;
        let entities = self.snapshot_entities(id).await?;
        Ok(Snapshot {
            sources: info.sources,
            entities,
        })
    }
}

/// Builds the ledger entry (RFC 8785 canonical JSON) recording the `i`-th item stored by one
/// call, once the item has its id. An error aborts the whole call: nothing is stored.
pub type LedgerEntryFn<'a, T> = &'a (dyn Fn(usize, &T) -> Result<String, StoreError> + Send + Sync);

/// The ledger entries of stored items, in order.
fn build_ledger_entries<T>(
    items: &[T],
    f: LedgerEntryFn<'_, T>,
) -> Result<Vec<String>, StoreError> {
    items.iter().enumerate().map(|(i, t)| f(i, t)).collect()
}

fn ledger_index_col(v: Option<i64>, column: &str) -> Result<Option<u64>, StoreError> {
    v.map(|i| {
        u64::try_from(i).map_err(|_| StoreError::Corrupt(format!("{column} is negative ({i})")))
    })
    .transpose()
}

/// Ends a `record_*` transaction: appends the ledger entry of every stored item in the same
/// transaction, notes each entry's index on its row, commits, and pairs items with receipts.
macro_rules! record_in_ledger {
    ($backend:ident, $tx:ident, $out:ident, $entry:ident, $update:literal) => {{
        let entries = build_ledger_entries(&$out, $entry)?;
        let receipts = $backend::append_in_tx(&mut *$tx, &entries).await?;
        for (item, r) in $out.iter_mut().zip(&receipts) {
            let index = i64::try_from(r.index)
                .map_err(|_| StoreError::Corrupt(format!("ledger index {}", r.index)))?;
            sqlx::query($update)
                .bind(index)
                .bind(item.id)
                .execute(&mut *$tx)
                .await?;
            item.ledger_index = Some(r.index);
        }
        $tx.commit().await?;
        Ok($out.into_iter().zip(receipts).collect())
    }};
}

// ---- shared helpers -------------------------------------------------------------------------

/// Entities per multi-row INSERT statement. SQLite allows 32,766 bound parameters per
/// statement (https://www.sqlite.org/limits.html#max_variable_number); 5 per row.
const SQLITE_ROWS_PER_INSERT: usize = 1000;
/// Entities per `UNNEST` insert on PostgreSQL: bounds one message's size.
const PG_ROWS_PER_INSERT: usize = 5000;

/// Now, to the microsecond (both databases keep microseconds).
fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .expect("microsecond-rounded nanosecond is valid")
}

/// SQLite text form of a timestamp: fixed width, so that text order is time order.
fn sqlite_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .expect("timestamp formats")
}

fn parse_sqlite_time(column: &str, s: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("{column} = {s:?} is not an RFC 3339 time: {e}")))
}

fn parse_party_type(s: Option<String>) -> Result<Option<PartyType>, StoreError> {
    match s {
        None => Ok(None),
        Some(s) => PartyType::parse(&s)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("party_type = {s:?}"))),
    }
}

fn to_json<T: Serialize + ?Sized>(what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| StoreError::Corrupt(format!("{what} does not serialise: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Corrupt(format!("{what} is not valid JSON: {e}")))
}

/// One entity ready to insert: id, fingerprint, JSON body.
struct EntityRow {
    id: String,
    fingerprint: String,
    body: String,
}

fn entity_rows(snapshot: &Snapshot) -> Result<Vec<EntityRow>, StoreError> {
    snapshot
        .entities
        .iter()
        .map(|e| {
            Ok(EntityRow {
                id: e.id.clone(),
                fingerprint: e.fingerprint(),
                body: to_json("entity", e)?,
            })
        })
        .collect()
}

fn usize_to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// ---- SQLite ---------------------------------------------------------------------------------

const SQLITE_SNAPSHOT_COLUMNS: &str = "id, hash, loaded_at, entity_count, active, rescreened_at";

impl SqliteStore {
    async fn sqlite_sources(&self, snapshot_id: i64) -> Result<Vec<SourceFile>, StoreError> {
        let rows = sqlx::query("SELECT path, format, sha256, data_date, records, warnings FROM screening_snapshot_sources WHERE snapshot_id = ? ORDER BY position")
            .bind(snapshot_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SourceFile {
                    path: r.try_get("path")?,
                    format: r.try_get("format")?,
                    sha256: r.try_get("sha256")?,
                    data_date: r.try_get("data_date")?,
                    records: usize::try_from(r.try_get::<i64, _>("records")?).unwrap_or(0),
                    warnings: from_json("source warnings", &r.try_get::<String, _>("warnings")?)?,
                })
            })
            .collect()
    }

    async fn sqlite_snapshot_info(
        &self,
        r: &sqlx::sqlite::SqliteRow,
    ) -> Result<SnapshotInfo, StoreError> {
        let id: i64 = r.try_get("id")?;
        let rescreened: Option<String> = r.try_get("rescreened_at")?;
        Ok(SnapshotInfo {
            id,
            hash: r.try_get("hash")?,
            loaded_at: parse_sqlite_time("loaded_at", &r.try_get::<String, _>("loaded_at")?)?,
            entity_count: r.try_get("entity_count")?,
            active: r.try_get::<i64, _>("active")? == 1,
            rescreened_at: rescreened
                .map(|s| parse_sqlite_time("rescreened_at", &s))
                .transpose()?,
            sources: self.sqlite_sources(id).await?,
        })
    }
}

fn sqlite_party(r: &sqlx::sqlite::SqliteRow) -> Result<StoredParty, StoreError> {
    Ok(StoredParty {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        party_type: parse_party_type(r.try_get("party_type")?)?,
        country: r.try_get("country")?,
        dob: r.try_get("dob")?,
        identifiers: from_json("party identifiers", &r.try_get::<String, _>("identifiers")?)?,
        threshold: r.try_get("threshold")?,
        first_screened: parse_sqlite_time(
            "first_screened",
            &r.try_get::<String, _>("first_screened")?,
        )?,
        last_screened: parse_sqlite_time(
            "last_screened",
            &r.try_get::<String, _>("last_screened")?,
        )?,
    })
}

fn sqlite_screening(r: &sqlx::sqlite::SqliteRow) -> Result<StoredScreening, StoreError> {
    Ok(StoredScreening {
        id: r.try_get("id")?,
        party_id: r.try_get("party_id")?,
        snapshot_id: r.try_get("snapshot_id")?,
        threshold: r.try_get("threshold")?,
        algorithm: r.try_get("algorithm")?,
        hit_count: r.try_get("hit_count")?,
        hits: from_json("screening hits", &r.try_get::<String, _>("hits")?)?,
        screened_at: parse_sqlite_time("screened_at", &r.try_get::<String, _>("screened_at")?)?,
        ledger_index: ledger_index_col(
            r.try_get("ledger_index")?,
            "screening_results.ledger_index",
        )?,
    })
}

fn sqlite_new_hit(r: &sqlx::sqlite::SqliteRow) -> Result<StoredNewHit, StoreError> {
    Ok(StoredNewHit {
        id: r.try_get("id")?,
        hit: NewHit {
            party_id: r.try_get("party_id")?,
            from_snapshot_id: r.try_get("from_snapshot_id")?,
            to_snapshot_id: r.try_get("to_snapshot_id")?,
            entity_id: r.try_get("entity_id")?,
            change: EntryChange::parse(&r.try_get::<String, _>("change")?)?,
            score: r.try_get("score")?,
            hit: from_json("new hit", &r.try_get::<String, _>("hit")?)?,
        },
        found_at: parse_sqlite_time("found_at", &r.try_get::<String, _>("found_at")?)?,
        ledger_index: ledger_index_col(
            r.try_get("ledger_index")?,
            "screening_new_hits.ledger_index",
        )?,
    })
}

#[async_trait::async_trait]
impl ScreeningStore for SqliteStore {
    async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SQLITE_SNAPSHOT_COLUMNS} FROM screening_snapshots ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.sqlite_snapshot_info(r).await?);
        }
        Ok(out)
    }

    async fn snapshot(&self, id: i64) -> Result<SnapshotInfo, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SQLITE_SNAPSHOT_COLUMNS} FROM screening_snapshots WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("list snapshot {id}")))?;
        self.sqlite_snapshot_info(&row).await
    }

    async fn active_snapshot(&self) -> Result<Option<SnapshotInfo>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SQLITE_SNAPSHOT_COLUMNS} FROM screening_snapshots WHERE active = 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.sqlite_snapshot_info(&r).await?)),
            None => Ok(None),
        }
    }

    async fn store_snapshot(&self, snapshot: &Snapshot) -> Result<SnapshotInfo, StoreError> {
        let rows = entity_rows(snapshot)?;
        let loaded_at = sqlite_time(now());
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE screening_snapshots SET active = 0 WHERE active = 1")
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO screening_snapshots (hash, loaded_at, entity_count, active) VALUES (?, ?, ?, 1) RETURNING id")
            .bind(snapshot.hash())
            .bind(&loaded_at)
            .bind(usize_to_i64(snapshot.entities.len()))
            .fetch_one(&mut *tx)
            .await?;
        for (position, s) in snapshot.sources.iter().enumerate() {
            sqlx::query("INSERT INTO screening_snapshot_sources (snapshot_id, position, path, format, sha256, data_date, records, warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(id)
                .bind(usize_to_i64(position))
                .bind(&s.path)
                .bind(&s.format)
                .bind(&s.sha256)
                .bind(&s.data_date)
                .bind(usize_to_i64(s.records))
                .bind(to_json("source warnings", &s.warnings)?)
                .execute(&mut *tx)
                .await?;
        }
        for (chunk_no, chunk) in rows.chunks(SQLITE_ROWS_PER_INSERT).enumerate() {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO screening_entities (snapshot_id, seq, entity_id, fingerprint, body) ",
            );
            qb.push_values(chunk.iter().enumerate(), |mut b, (i, row)| {
                b.push_bind(id)
                    .push_bind(usize_to_i64(chunk_no * SQLITE_ROWS_PER_INSERT + i))
                    .push_bind(&row.id)
                    .push_bind(&row.fingerprint)
                    .push_bind(&row.body);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.snapshot(id).await
    }

    async fn activate_snapshot(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE screening_snapshots SET active = 0 WHERE active = 1")
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("UPDATE screening_snapshots SET active = 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("list snapshot {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn snapshot_entities(&self, id: i64) -> Result<Vec<Entity>, StoreError> {
        // Existence first, so that an unknown id is an error rather than an empty list.
        self.snapshot(id).await?;
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM screening_entities WHERE snapshot_id = ? ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        bodies
            .iter()
            .map(|b| from_json("stored entity", b))
            .collect()
    }

    async fn mark_rescreened(&self, id: i64) -> Result<(), StoreError> {
        let n = sqlx::query("UPDATE screening_snapshots SET rescreened_at = ? WHERE id = ?")
            .bind(sqlite_time(now()))
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("list snapshot {id}")));
        }
        Ok(())
    }

    async fn record_screenings(
        &self,
        records: &[ScreeningRecord],
        ledger_entry: LedgerEntryFn<'_, StoredScreening>,
    ) -> Result<Vec<(StoredScreening, AppendReceipt)>, StoreError> {
        let at = now();
        let at_text = sqlite_time(at);
        // IMMEDIATE: this transaction appends to the ledger (crate::ledger).
        let mut tx = crate::ledger::sqlite_begin(&self.pool).await?;
        let mut out = Vec::with_capacity(records.len());
        for rec in records {
            let pid = party_id(&rec.party);
            let p = &rec.party;
            sqlx::query(
                "INSERT INTO screening_parties (id, name, party_type, country, dob, identifiers, threshold, first_screened, last_screened)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET last_screened = excluded.last_screened, threshold = excluded.threshold",
            )
            .bind(&pid)
            .bind(p.name.trim())
            .bind(p.party_type.map(PartyType::as_str))
            .bind(p.country.as_deref().map(|c| c.trim().to_ascii_uppercase()))
            .bind(p.dob.as_deref().map(str::trim))
            .bind(to_json("party identifiers", &p.identifiers)?)
            .bind(rec.result.threshold)
            .bind(&at_text)
            .bind(&at_text)
            .execute(&mut *tx)
            .await?;
            let hits = serde_json::to_value(&rec.result.hits)
                .map_err(|e| StoreError::Corrupt(format!("hits do not serialise: {e}")))?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO screening_results (party_id, snapshot_id, threshold, algorithm, hit_count, hits, screened_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&pid)
            .bind(rec.snapshot_id)
            .bind(rec.result.threshold)
            .bind(&rec.result.algorithm)
            .bind(usize_to_i64(rec.result.hits.len()))
            .bind(hits.to_string())
            .bind(&at_text)
            .fetch_one(&mut *tx)
            .await?;
            out.push(StoredScreening {
                id,
                party_id: pid,
                snapshot_id: rec.snapshot_id,
                threshold: rec.result.threshold,
                algorithm: rec.result.algorithm.clone(),
                hit_count: usize_to_i64(rec.result.hits.len()),
                hits,
                screened_at: at,
                ledger_index: None,
            });
        }
        record_in_ledger!(
            sqlite_impl,
            tx,
            out,
            ledger_entry,
            "UPDATE screening_results SET ledger_index = ? WHERE id = ?"
        )
    }

    async fn parties(&self) -> Result<Vec<StoredParty>, StoreError> {
        let rows = sqlx::query("SELECT * FROM screening_parties ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(sqlite_party).collect()
    }

    async fn party(&self, id: &str) -> Result<StoredParty, StoreError> {
        let row = sqlx::query("SELECT * FROM screening_parties WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("party {id}")))?;
        sqlite_party(&row)
    }

    async fn screenings(&self, party_id: &str) -> Result<Vec<StoredScreening>, StoreError> {
        let rows = sqlx::query("SELECT * FROM screening_results WHERE party_id = ? ORDER BY id")
            .bind(party_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(sqlite_screening).collect()
    }

    async fn record_new_hits(
        &self,
        hits: &[NewHit],
        ledger_entry: LedgerEntryFn<'_, StoredNewHit>,
    ) -> Result<Vec<(StoredNewHit, AppendReceipt)>, StoreError> {
        let at = now();
        let at_text = sqlite_time(at);
        // IMMEDIATE: this transaction appends to the ledger (crate::ledger).
        let mut tx = crate::ledger::sqlite_begin(&self.pool).await?;
        let mut out = Vec::new();
        for h in hits {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO screening_new_hits (party_id, from_snapshot_id, to_snapshot_id, entity_id, change, score, hit, found_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (party_id, to_snapshot_id, entity_id) DO NOTHING RETURNING id",
            )
            .bind(&h.party_id)
            .bind(h.from_snapshot_id)
            .bind(h.to_snapshot_id)
            .bind(&h.entity_id)
            .bind(h.change.as_str())
            .bind(h.score)
            .bind(h.hit.to_string())
            .bind(&at_text)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                out.push(StoredNewHit {
                    id,
                    hit: h.clone(),
                    found_at: at,
                    ledger_index: None,
                });
            }
        }
        record_in_ledger!(
            sqlite_impl,
            tx,
            out,
            ledger_entry,
            "UPDATE screening_new_hits SET ledger_index = ? WHERE id = ?"
        )
    }

    async fn new_hits(&self, to_snapshot_id: i64) -> Result<Vec<StoredNewHit>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM screening_new_hits WHERE to_snapshot_id = ? ORDER BY id")
                .bind(to_snapshot_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(sqlite_new_hit).collect()
    }
}

// ---- PostgreSQL -----------------------------------------------------------------------------

const PG_SNAPSHOT_COLUMNS: &str = "id, hash, loaded_at, entity_count, active, rescreened_at";

impl PgStore {
    async fn pg_sources(&self, snapshot_id: i64) -> Result<Vec<SourceFile>, StoreError> {
        let rows = sqlx::query("SELECT path, format, sha256, data_date, records, warnings::text AS warnings FROM screening_snapshot_sources WHERE snapshot_id = $1 ORDER BY position")
            .bind(snapshot_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SourceFile {
                    path: r.try_get("path")?,
                    format: r.try_get("format")?,
                    sha256: r.try_get("sha256")?,
                    data_date: r.try_get("data_date")?,
                    records: usize::try_from(r.try_get::<i64, _>("records")?).unwrap_or(0),
                    warnings: from_json("source warnings", &r.try_get::<String, _>("warnings")?)?,
                })
            })
            .collect()
    }

    async fn pg_snapshot_info(
        &self,
        r: &sqlx::postgres::PgRow,
    ) -> Result<SnapshotInfo, StoreError> {
        let id: i64 = r.try_get("id")?;
        Ok(SnapshotInfo {
            id,
            hash: r.try_get("hash")?,
            loaded_at: r.try_get("loaded_at")?,
            entity_count: r.try_get("entity_count")?,
            active: r.try_get("active")?,
            rescreened_at: r.try_get("rescreened_at")?,
            sources: self.pg_sources(id).await?,
        })
    }
}

fn pg_party(r: &sqlx::postgres::PgRow) -> Result<StoredParty, StoreError> {
    Ok(StoredParty {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        party_type: parse_party_type(r.try_get("party_type")?)?,
        country: r.try_get("country")?,
        dob: r.try_get("dob")?,
        identifiers: from_json("party identifiers", &r.try_get::<String, _>("identifiers")?)?,
        threshold: r.try_get("threshold")?,
        first_screened: r.try_get("first_screened")?,
        last_screened: r.try_get("last_screened")?,
    })
}

fn pg_screening(r: &sqlx::postgres::PgRow) -> Result<StoredScreening, StoreError> {
    Ok(StoredScreening {
        id: r.try_get("id")?,
        party_id: r.try_get("party_id")?,
        snapshot_id: r.try_get("snapshot_id")?,
        threshold: r.try_get("threshold")?,
        algorithm: r.try_get("algorithm")?,
        hit_count: i64::from(r.try_get::<i32, _>("hit_count")?),
        hits: from_json("screening hits", &r.try_get::<String, _>("hits")?)?,
        screened_at: r.try_get("screened_at")?,
        ledger_index: ledger_index_col(
            r.try_get("ledger_index")?,
            "screening_results.ledger_index",
        )?,
    })
}

fn pg_new_hit(r: &sqlx::postgres::PgRow) -> Result<StoredNewHit, StoreError> {
    Ok(StoredNewHit {
        id: r.try_get("id")?,
        hit: NewHit {
            party_id: r.try_get("party_id")?,
            from_snapshot_id: r.try_get("from_snapshot_id")?,
            to_snapshot_id: r.try_get("to_snapshot_id")?,
            entity_id: r.try_get("entity_id")?,
            change: EntryChange::parse(&r.try_get::<String, _>("change")?)?,
            score: r.try_get("score")?,
            hit: from_json("new hit", &r.try_get::<String, _>("hit")?)?,
        },
        found_at: r.try_get("found_at")?,
        ledger_index: ledger_index_col(
            r.try_get("ledger_index")?,
            "screening_new_hits.ledger_index",
        )?,
    })
}

/// JSONB columns are read as text (`::text`) and parsed with serde, like SQLite's.
const PG_PARTY_COLUMNS: &str = "id, name, party_type, country, dob, identifiers::text AS identifiers, threshold, first_screened, last_screened";
const PG_SCREENING_COLUMNS: &str = "id, party_id, snapshot_id, threshold, algorithm, hit_count, hits::text AS hits, screened_at, ledger_index";
const PG_NEW_HIT_COLUMNS: &str = "id, party_id, from_snapshot_id, to_snapshot_id, entity_id, change, score, hit::text AS hit, found_at, ledger_index";

#[async_trait::async_trait]
impl ScreeningStore for PgStore {
    async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PG_SNAPSHOT_COLUMNS} FROM screening_snapshots ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.pg_snapshot_info(r).await?);
        }
        Ok(out)
    }

    async fn snapshot(&self, id: i64) -> Result<SnapshotInfo, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PG_SNAPSHOT_COLUMNS} FROM screening_snapshots WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("list snapshot {id}")))?;
        self.pg_snapshot_info(&row).await
    }

    async fn active_snapshot(&self) -> Result<Option<SnapshotInfo>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PG_SNAPSHOT_COLUMNS} FROM screening_snapshots WHERE active"
        ))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.pg_snapshot_info(&r).await?)),
            None => Ok(None),
        }
    }

    async fn store_snapshot(&self, snapshot: &Snapshot) -> Result<SnapshotInfo, StoreError> {
        let rows = entity_rows(snapshot)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE screening_snapshots SET active = FALSE WHERE active")
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO screening_snapshots (hash, loaded_at, entity_count, active) VALUES ($1, $2, $3, TRUE) RETURNING id")
            .bind(snapshot.hash())
            .bind(now())
            .bind(usize_to_i64(snapshot.entities.len()))
            .fetch_one(&mut *tx)
            .await?;
        for (position, s) in snapshot.sources.iter().enumerate() {
            sqlx::query("INSERT INTO screening_snapshot_sources (snapshot_id, position, path, format, sha256, data_date, records, warnings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)")
                .bind(id)
                .bind(i32::try_from(position).map_err(|_| StoreError::Config("too many source files".into()))?)
                .bind(&s.path)
                .bind(&s.format)
                .bind(&s.sha256)
                .bind(&s.data_date)
                .bind(usize_to_i64(s.records))
                .bind(to_json("source warnings", &s.warnings)?)
                .execute(&mut *tx)
                .await?;
        }
        // One statement per chunk: the columns travel as arrays and UNNEST turns them into rows,
        // so 15,000 entities are three round trips rather than 15,000.
        for (chunk_no, chunk) in rows.chunks(PG_ROWS_PER_INSERT).enumerate() {
            let base = chunk_no * PG_ROWS_PER_INSERT;
            let seqs: Vec<i32> = (0..chunk.len())
                .map(|i| i32::try_from(base + i).unwrap_or(i32::MAX))
                .collect();
            let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
            let fps: Vec<&str> = chunk.iter().map(|r| r.fingerprint.as_str()).collect();
            let bodies: Vec<&str> = chunk.iter().map(|r| r.body.as_str()).collect();
            sqlx::query(
                "INSERT INTO screening_entities (snapshot_id, seq, entity_id, fingerprint, body)
                 SELECT $1, s, i, f, b::jsonb FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[]) AS t(s, i, f, b)",
            )
            .bind(id)
            .bind(&seqs)
            .bind(&ids)
            .bind(&fps)
            .bind(&bodies)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.snapshot(id).await
    }

    async fn activate_snapshot(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE screening_snapshots SET active = FALSE WHERE active")
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("UPDATE screening_snapshots SET active = TRUE WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("list snapshot {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn snapshot_entities(&self, id: i64) -> Result<Vec<Entity>, StoreError> {
        self.snapshot(id).await?;
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body::text FROM screening_entities WHERE snapshot_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        bodies
            .iter()
            .map(|b| from_json("stored entity", b))
            .collect()
    }

    async fn mark_rescreened(&self, id: i64) -> Result<(), StoreError> {
        let n = sqlx::query("UPDATE screening_snapshots SET rescreened_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("list snapshot {id}")));
        }
        Ok(())
    }

    async fn record_screenings(
        &self,
        records: &[ScreeningRecord],
        ledger_entry: LedgerEntryFn<'_, StoredScreening>,
    ) -> Result<Vec<(StoredScreening, AppendReceipt)>, StoreError> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(records.len());
        for rec in records {
            let pid = party_id(&rec.party);
            let p = &rec.party;
            sqlx::query(
                "INSERT INTO screening_parties (id, name, party_type, country, dob, identifiers, threshold, first_screened, last_screened)
                 VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $8)
                 ON CONFLICT (id) DO UPDATE SET last_screened = excluded.last_screened, threshold = excluded.threshold",
            )
            .bind(&pid)
            .bind(p.name.trim())
            .bind(p.party_type.map(PartyType::as_str))
            .bind(p.country.as_deref().map(|c| c.trim().to_ascii_uppercase()))
            .bind(p.dob.as_deref().map(str::trim))
            .bind(to_json("party identifiers", &p.identifiers)?)
            .bind(rec.result.threshold)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let hits = serde_json::to_value(&rec.result.hits)
                .map_err(|e| StoreError::Corrupt(format!("hits do not serialise: {e}")))?;
            let hit_count = i32::try_from(rec.result.hits.len()).unwrap_or(i32::MAX);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO screening_results (party_id, snapshot_id, threshold, algorithm, hit_count, hits, screened_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id",
            )
            .bind(&pid)
            .bind(rec.snapshot_id)
            .bind(rec.result.threshold)
            .bind(&rec.result.algorithm)
            .bind(hit_count)
            .bind(hits.to_string())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            out.push(StoredScreening {
                id,
                party_id: pid,
                snapshot_id: rec.snapshot_id,
                threshold: rec.result.threshold,
                algorithm: rec.result.algorithm.clone(),
                hit_count: i64::from(hit_count),
                hits,
                screened_at: at,
                ledger_index: None,
            });
        }
        record_in_ledger!(
            pg_impl,
            tx,
            out,
            ledger_entry,
            "UPDATE screening_results SET ledger_index = $1 WHERE id = $2"
        )
    }

    async fn parties(&self) -> Result<Vec<StoredParty>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PG_PARTY_COLUMNS} FROM screening_parties ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(pg_party).collect()
    }

    async fn party(&self, id: &str) -> Result<StoredParty, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PG_PARTY_COLUMNS} FROM screening_parties WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("party {id}")))?;
        pg_party(&row)
    }

    async fn screenings(&self, party_id: &str) -> Result<Vec<StoredScreening>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PG_SCREENING_COLUMNS} FROM screening_results WHERE party_id = $1 ORDER BY id"
        ))
        .bind(party_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(pg_screening).collect()
    }

    async fn record_new_hits(
        &self,
        hits: &[NewHit],
        ledger_entry: LedgerEntryFn<'_, StoredNewHit>,
    ) -> Result<Vec<(StoredNewHit, AppendReceipt)>, StoreError> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::new();
        for h in hits {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO screening_new_hits (party_id, from_snapshot_id, to_snapshot_id, entity_id, change, score, hit, found_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) ON CONFLICT (party_id, to_snapshot_id, entity_id) DO NOTHING RETURNING id",
            )
            .bind(&h.party_id)
            .bind(h.from_snapshot_id)
            .bind(h.to_snapshot_id)
            .bind(&h.entity_id)
            .bind(h.change.as_str())
            .bind(h.score)
            .bind(h.hit.to_string())
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                out.push(StoredNewHit {
                    id,
                    hit: h.clone(),
                    found_at: at,
                    ledger_index: None,
                });
            }
        }
        record_in_ledger!(
            pg_impl,
            tx,
            out,
            ledger_entry,
            "UPDATE screening_new_hits SET ledger_index = $1 WHERE id = $2"
        )
    }

    async fn new_hits(&self, to_snapshot_id: i64) -> Result<Vec<StoredNewHit>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {PG_NEW_HIT_COLUMNS} FROM screening_new_hits WHERE to_snapshot_id = $1 ORDER BY id"))
            .bind(to_snapshot_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(pg_new_hit).collect()
    }
}
