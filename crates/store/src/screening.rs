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
//!
//! One implementation for both backends, expanded once per backend like the ledger's and the
//! proposals': the SQL is the same, written with PostgreSQL's `$N` placeholders that SQLite
//! takes in its `?N` form. What does differ is named in one dialect module per backend (JSON
//! columns, which PostgreSQL keeps as `JSONB`, and the bulk insert of a snapshot's entities).
//! Times are microseconds since the Unix epoch on both ([`crate::timestamp`]).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use stackport_screening::{Entity, PartyType, Query, ScreeningResult, Snapshot, SourceFile};
use time::OffsetDateTime;

use crate::ledger::{pg_begin, sqlite_begin, AppendReceipt};
use crate::timestamp::{from_micros, now, to_micros};
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
    /// The snapshot the party was last screened or re-screened against: what re-screening
    /// compares it from. `None` for parties stored before this was recorded.
    #[serde(default)]
    pub last_snapshot_id: Option<i64>,
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
    /// How many parties were last screened or re-screened against another snapshot than
    /// `snapshot_id` (parties with none recorded are not counted).
    async fn parties_behind(&self, snapshot_id: i64) -> Result<u64, StoreError>;
    /// Records that parties were compared on `snapshot_id`: sets the last snapshot of each
    /// party in `party_ids` whose last snapshot is still `compared_from` (`None`: none
    /// recorded), so that a party screened meanwhile on another snapshot keeps that one.
    /// Returns how many were set.
    async fn mark_parties_compared(
        &self,
        party_ids: &[String],
        compared_from: Option<i64>,
        snapshot_id: i64,
    ) -> Result<u64, StoreError>;

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
trait Recorded {
    /// The table whose `ledger_index` column records the entry.
    const TABLE: &'static str;
    fn id(&self) -> i64;
    fn set_ledger_index(&mut self, index: u64);
}

impl Recorded for StoredScreening {
    const TABLE: &'static str = "screening_results";
    fn id(&self) -> i64 {
        self.id
    }
    fn set_ledger_index(&mut self, index: u64) {
        self.ledger_index = Some(index);
    }
}

impl Recorded for StoredNewHit {
    const TABLE: &'static str = "screening_new_hits";
    fn id(&self) -> i64 {
        self.id
    }
    fn set_ledger_index(&mut self, index: u64) {
        self.ledger_index = Some(index);
    }
}

// ---- shared helpers -------------------------------------------------------------------------

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

fn usize_to_i32(n: usize, what: &str) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(|_| StoreError::Config(format!("too many {what} ({n})")))
}

const SNAPSHOT_COLUMNS: &str = "id, hash, loaded_at, entity_count, active, rescreened_at";

// ---- what differs between the backends ------------------------------------------------------

/// SQLite: JSON is text; entities go in as multi-row `INSERT … VALUES`.
mod sqlite_dialect {
    use super::*;

    /// PostgreSQL's `$N` placeholders in SQLite's numbered `?N` form.
    pub(super) fn sql(sql: &str) -> String {
        sql.replace('$', "?")
    }
    /// Cast of a bound JSON text to the JSON column type (none: the column is text).
    pub(super) const JSON_IN: &str = "";
    /// Cast of a JSON column to text (none).
    pub(super) const JSON_OUT: &str = "";

    /// Entities per multi-row INSERT statement. SQLite allows 32,766 bound parameters per
    /// statement (https://www.sqlite.org/limits.html#max_variable_number); 5 per row.
    const ROWS_PER_INSERT: usize = 1000;

    pub(super) async fn insert_entities(
        conn: &mut sqlx::SqliteConnection,
        snapshot_id: i64,
        rows: &[EntityRow],
    ) -> Result<(), StoreError> {
        for (chunk_no, chunk) in rows.chunks(ROWS_PER_INSERT).enumerate() {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO screening_entities (snapshot_id, seq, entity_id, fingerprint, body) ",
            );
            let base = chunk_no * ROWS_PER_INSERT;
            let mut seqs = Vec::with_capacity(chunk.len());
            for i in 0..chunk.len() {
                seqs.push(usize_to_i32(base + i, "entities")?);
            }
            qb.push_values(chunk.iter().zip(seqs), |mut b, (row, seq)| {
                b.push_bind(snapshot_id)
                    .push_bind(seq)
                    .push_bind(&row.id)
                    .push_bind(&row.fingerprint)
                    .push_bind(&row.body);
            });
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// PostgreSQL: JSON columns are `JSONB`, bound and read as text with a cast; entities go in as
/// arrays that `UNNEST` turns into rows.
mod pg_dialect {
    use super::*;

    pub(super) fn sql(sql: &str) -> String {
        sql.to_string()
    }
    pub(super) const JSON_IN: &str = "::jsonb";
    pub(super) const JSON_OUT: &str = "::text";

    /// Entities per `UNNEST` insert: bounds one message's size.
    const ROWS_PER_INSERT: usize = 5000;

    pub(super) async fn insert_entities(
        conn: &mut sqlx::PgConnection,
        snapshot_id: i64,
        rows: &[EntityRow],
    ) -> Result<(), StoreError> {
        // One statement per chunk, so 15,000 entities are three round trips rather than 15,000.
        for (chunk_no, chunk) in rows.chunks(ROWS_PER_INSERT).enumerate() {
            let base = chunk_no * ROWS_PER_INSERT;
            let seqs = (0..chunk.len())
                .map(|i| usize_to_i32(base + i, "entities"))
                .collect::<Result<Vec<i32>, _>>()?;
            let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
            let fps: Vec<&str> = chunk.iter().map(|r| r.fingerprint.as_str()).collect();
            let bodies: Vec<&str> = chunk.iter().map(|r| r.body.as_str()).collect();
            sqlx::query(
                "INSERT INTO screening_entities (snapshot_id, seq, entity_id, fingerprint, body)
                 SELECT $1, s, i, f, b::jsonb FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[]) AS t(s, i, f, b)",
            )
            .bind(snapshot_id)
            .bind(&seqs)
            .bind(&ids)
            .bind(&fps)
            .bind(&bodies)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

// ---- the implementation ---------------------------------------------------------------------

/// One implementation for both backends, expanded once per backend into its own module.
/// `$dialect` is the backend's dialect module above, `$begin` begins a transaction that may
/// append to the ledger and `$ledger` is the ledger module of the same backend.
macro_rules! screening_store_impl {
    ($module:ident, $store:ty, $db:ty, $dialect:ident, $begin:path, $ledger:ident) => {
        mod $module {
            use super::*;
            use $dialect::{sql, JSON_IN, JSON_OUT};

            type DbRow = <$db as sqlx::Database>::Row;

            fn party_columns() -> String {
                format!("id, name, party_type, country, dob, identifiers{JSON_OUT} AS identifiers, threshold, first_screened, last_screened, last_snapshot_id")
            }
            fn screening_columns() -> String {
                format!("id, party_id, snapshot_id, threshold, algorithm, hit_count, hits{JSON_OUT} AS hits, screened_at, ledger_index")
            }
            fn new_hit_columns() -> String {
                format!("id, party_id, from_snapshot_id, to_snapshot_id, entity_id, change, score, hit{JSON_OUT} AS hit, found_at, ledger_index")
            }

            fn time_col(r: &DbRow, column: &str) -> Result<OffsetDateTime, StoreError> {
                from_micros(column, r.try_get(column)?)
            }

            fn party_row(r: &DbRow) -> Result<StoredParty, StoreError> {
                Ok(StoredParty {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    party_type: parse_party_type(r.try_get("party_type")?)?,
                    country: r.try_get("country")?,
                    dob: r.try_get("dob")?,
                    identifiers: from_json("party identifiers", &r.try_get::<String, _>("identifiers")?)?,
                    threshold: r.try_get("threshold")?,
                    first_screened: time_col(r, "first_screened")?,
                    last_screened: time_col(r, "last_screened")?,
                    last_snapshot_id: r.try_get("last_snapshot_id")?,
                })
            }

            fn screening_row(r: &DbRow) -> Result<StoredScreening, StoreError> {
                Ok(StoredScreening {
                    id: r.try_get("id")?,
                    party_id: r.try_get("party_id")?,
                    snapshot_id: r.try_get("snapshot_id")?,
                    threshold: r.try_get("threshold")?,
                    algorithm: r.try_get("algorithm")?,
                    hit_count: r.try_get("hit_count")?,
                    hits: from_json("screening hits", &r.try_get::<String, _>("hits")?)?,
                    screened_at: time_col(r, "screened_at")?,
                    ledger_index: ledger_index_col(r.try_get("ledger_index")?, "screening_results.ledger_index")?,
                })
            }

            fn new_hit_row(r: &DbRow) -> Result<StoredNewHit, StoreError> {
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
                    found_at: time_col(r, "found_at")?,
                    ledger_index: ledger_index_col(r.try_get("ledger_index")?, "screening_new_hits.ledger_index")?,
                })
            }

            impl $store {
                async fn sources(&self, snapshot_id: i64) -> Result<Vec<SourceFile>, StoreError> {
                    let q = sql(&format!("SELECT path, format, sha256, data_date, records, warnings{JSON_OUT} AS warnings FROM screening_snapshot_sources WHERE snapshot_id = $1 ORDER BY position"));
                    let rows = sqlx::query(&q).bind(snapshot_id).fetch_all(&self.pool).await?;
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

                async fn snapshot_info(&self, r: &DbRow) -> Result<SnapshotInfo, StoreError> {
                    let id: i64 = r.try_get("id")?;
                    let rescreened: Option<i64> = r.try_get("rescreened_at")?;
                    Ok(SnapshotInfo {
                        id,
                        hash: r.try_get("hash")?,
                        loaded_at: time_col(r, "loaded_at")?,
                        entity_count: r.try_get("entity_count")?,
                        active: r.try_get("active")?,
                        rescreened_at: rescreened.map(|us| from_micros("rescreened_at", us)).transpose()?,
                        sources: self.sources(id).await?,
                    })
                }

                async fn snapshot_where(&self, condition: &str, id: Option<i64>) -> Result<Option<SnapshotInfo>, StoreError> {
                    let q = sql(&format!("SELECT {SNAPSHOT_COLUMNS} FROM screening_snapshots WHERE {condition}"));
                    let mut query = sqlx::query(&q);
                    if let Some(id) = id {
                        query = query.bind(id);
                    }
                    match query.fetch_optional(&self.pool).await? {
                        Some(r) => Ok(Some(self.snapshot_info(&r).await?)),
                        None => Ok(None),
                    }
                }
            }

            /// Appends the ledger entry of every stored item inside `tx`, notes each entry's
            /// index on its row, commits, and pairs the items with their receipts.
            async fn record_in_ledger<T: Recorded>(
                mut tx: sqlx::Transaction<'static, $db>,
                mut out: Vec<T>,
                ledger_entry: LedgerEntryFn<'_, T>,
            ) -> Result<Vec<(T, AppendReceipt)>, StoreError> {
                let entries = build_ledger_entries(&out, ledger_entry)?;
                let receipts = crate::ledger::$ledger::append_in_tx(&mut *tx, &entries).await?;
                let mut pairs = Vec::with_capacity(out.len());
                for (item, r) in out.iter_mut().zip(&receipts) {
                    let index = i64::try_from(r.index).map_err(|_| StoreError::Corrupt(format!("ledger index {}", r.index)))?;
                    pairs.push((item.id(), index));
                    item.set_ledger_index(r.index);
                }
                // One statement per 500 rows sets each row's ledger index (`column1`/`column2`
                // are the names both databases give the columns of a VALUES list).
                for chunk in pairs.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!("UPDATE {} SET ledger_index = v.column2 FROM (", T::TABLE));
                    qb.push_values(chunk, |mut b, (id, index)| {
                        b.push_bind(*id).push_bind(*index);
                    });
                    qb.push(format!(") AS v WHERE {}.id = v.column1", T::TABLE));
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(out.into_iter().zip(receipts).collect())
            }

            #[async_trait::async_trait]
            impl ScreeningStore for $store {
                async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError> {
                    let q = format!("SELECT {SNAPSHOT_COLUMNS} FROM screening_snapshots ORDER BY id");
                    let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for r in &rows {
                        out.push(self.snapshot_info(r).await?);
                    }
                    Ok(out)
                }

                async fn snapshot(&self, id: i64) -> Result<SnapshotInfo, StoreError> {
                    self.snapshot_where("id = $1", Some(id))
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("list snapshot {id}")))
                }

                async fn active_snapshot(&self) -> Result<Option<SnapshotInfo>, StoreError> {
                    self.snapshot_where("active", None).await
                }

                async fn store_snapshot(&self, snapshot: &Snapshot) -> Result<SnapshotInfo, StoreError> {
                    let rows = entity_rows(snapshot)?;
                    let mut tx = $begin(&self.pool).await?;
                    sqlx::query("UPDATE screening_snapshots SET active = FALSE WHERE active").execute(&mut *tx).await?;
                    let q = sql("INSERT INTO screening_snapshots (hash, loaded_at, entity_count, active) VALUES ($1, $2, $3, TRUE) RETURNING id");
                    let id: i64 = sqlx::query_scalar(&q)
                        .bind(snapshot.hash())
                        .bind(to_micros(now()))
                        .bind(usize_to_i64(snapshot.entities.len()))
                        .fetch_one(&mut *tx)
                        .await?;
                    let q = sql(&format!("INSERT INTO screening_snapshot_sources (snapshot_id, position, path, format, sha256, data_date, records, warnings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8{JSON_IN})"));
                    for (position, s) in snapshot.sources.iter().enumerate() {
                        sqlx::query(&q)
                            .bind(id)
                            .bind(usize_to_i32(position, "source files")?)
                            .bind(&s.path)
                            .bind(&s.format)
                            .bind(&s.sha256)
                            .bind(&s.data_date)
                            .bind(usize_to_i64(s.records))
                            .bind(to_json("source warnings", &s.warnings)?)
                            .execute(&mut *tx)
                            .await?;
                    }
                    $dialect::insert_entities(&mut *tx, id, &rows).await?;
                    tx.commit().await?;
                    self.snapshot(id).await
                }

                async fn activate_snapshot(&self, id: i64) -> Result<(), StoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    sqlx::query("UPDATE screening_snapshots SET active = FALSE WHERE active").execute(&mut *tx).await?;
                    let n = sqlx::query(&sql("UPDATE screening_snapshots SET active = TRUE WHERE id = $1"))
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
                    let q = sql(&format!("SELECT body{JSON_OUT} FROM screening_entities WHERE snapshot_id = $1 ORDER BY seq"));
                    let bodies: Vec<String> = sqlx::query_scalar(&q).bind(id).fetch_all(&self.pool).await?;
                    bodies.iter().map(|b| from_json("stored entity", b)).collect()
                }

                async fn mark_rescreened(&self, id: i64) -> Result<(), StoreError> {
                    let n = sqlx::query(&sql("UPDATE screening_snapshots SET rescreened_at = $1 WHERE id = $2"))
                        .bind(to_micros(now()))
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
                    let at_us = to_micros(at);
                    let upsert_party = sql(&format!(
                        "INSERT INTO screening_parties (id, name, party_type, country, dob, identifiers, threshold, first_screened, last_screened, last_snapshot_id)
                         VALUES ($1, $2, $3, $4, $5, $6{JSON_IN}, $7, $8, $8, $9)
                         ON CONFLICT (id) DO UPDATE SET last_screened = excluded.last_screened, threshold = excluded.threshold,
                         last_snapshot_id = excluded.last_snapshot_id"
                    ));
                    let insert_result = sql(&format!(
                        "INSERT INTO screening_results (party_id, snapshot_id, threshold, algorithm, hit_count, hits, screened_at)
                         VALUES ($1, $2, $3, $4, $5, $6{JSON_IN}, $7) RETURNING id"
                    ));
                    let mut tx = $begin(&self.pool).await?;
                    let mut out = Vec::with_capacity(records.len());
                    for rec in records {
                        let pid = party_id(&rec.party);
                        let p = &rec.party;
                        sqlx::query(&upsert_party)
                            .bind(&pid)
                            .bind(p.name.trim())
                            .bind(p.party_type.map(PartyType::as_str))
                            .bind(p.country.as_deref().map(|c| c.trim().to_ascii_uppercase()))
                            .bind(p.dob.as_deref().map(str::trim))
                            .bind(to_json("party identifiers", &p.identifiers)?)
                            .bind(rec.result.threshold)
                            .bind(at_us)
                            .bind(rec.snapshot_id)
                            .execute(&mut *tx)
                            .await?;
                        let hits = serde_json::to_value(&rec.result.hits)
                            .map_err(|e| StoreError::Corrupt(format!("hits do not serialise: {e}")))?;
                        let hit_count = usize_to_i64(rec.result.hits.len());
                        let id: i64 = sqlx::query_scalar(&insert_result)
                            .bind(&pid)
                            .bind(rec.snapshot_id)
                            .bind(rec.result.threshold)
                            .bind(&rec.result.algorithm)
                            .bind(hit_count)
                            .bind(hits.to_string())
                            .bind(at_us)
                            .fetch_one(&mut *tx)
                            .await?;
                        out.push(StoredScreening {
                            id,
                            party_id: pid,
                            snapshot_id: rec.snapshot_id,
                            threshold: rec.result.threshold,
                            algorithm: rec.result.algorithm.clone(),
                            hit_count,
                            hits,
                            screened_at: at,
                            ledger_index: None,
                        });
                    }
                    record_in_ledger(tx, out, ledger_entry).await
                }

                async fn parties(&self) -> Result<Vec<StoredParty>, StoreError> {
                    let q = format!("SELECT {} FROM screening_parties ORDER BY id", party_columns());
                    let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
                    rows.iter().map(party_row).collect()
                }

                async fn party(&self, id: &str) -> Result<StoredParty, StoreError> {
                    let q = sql(&format!("SELECT {} FROM screening_parties WHERE id = $1", party_columns()));
                    let row = sqlx::query(&q)
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("party {id}")))?;
                    party_row(&row)
                }

                async fn screenings(&self, party_id: &str) -> Result<Vec<StoredScreening>, StoreError> {
                    let q = sql(&format!("SELECT {} FROM screening_results WHERE party_id = $1 ORDER BY id", screening_columns()));
                    let rows = sqlx::query(&q).bind(party_id).fetch_all(&self.pool).await?;
                    rows.iter().map(screening_row).collect()
                }

                async fn parties_behind(&self, snapshot_id: i64) -> Result<u64, StoreError> {
                    let q = sql("SELECT COUNT(*) FROM screening_parties WHERE last_snapshot_id <> $1");
                    let n: i64 = sqlx::query_scalar(&q).bind(snapshot_id).fetch_one(&self.pool).await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn mark_parties_compared(&self, party_ids: &[String], compared_from: Option<i64>, snapshot_id: i64) -> Result<u64, StoreError> {
                    let mut marked = 0;
                    for chunk in party_ids.chunks(crate::IDS_PER_LIST) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE screening_parties SET last_snapshot_id = ");
                        qb.push_bind(snapshot_id);
                        match compared_from {
                            Some(from) => qb.push(" WHERE last_snapshot_id = ").push_bind(from),
                            None => qb.push(" WHERE last_snapshot_id IS NULL"),
                        };
                        qb.push(" AND id ");
                        crate::push_id_list(&mut qb, chunk);
                        marked += qb.build().execute(&self.pool).await?.rows_affected();
                    }
                    Ok(marked)
                }

                async fn record_new_hits(
                    &self,
                    hits: &[NewHit],
                    ledger_entry: LedgerEntryFn<'_, StoredNewHit>,
                ) -> Result<Vec<(StoredNewHit, AppendReceipt)>, StoreError> {
                    let at = now();
                    let insert = sql(&format!(
                        "INSERT INTO screening_new_hits (party_id, from_snapshot_id, to_snapshot_id, entity_id, change, score, hit, found_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7{JSON_IN}, $8) ON CONFLICT (party_id, to_snapshot_id, entity_id) DO NOTHING RETURNING id"
                    ));
                    let mut tx = $begin(&self.pool).await?;
                    let mut out = Vec::new();
                    for h in hits {
                        let id: Option<i64> = sqlx::query_scalar(&insert)
                            .bind(&h.party_id)
                            .bind(h.from_snapshot_id)
                            .bind(h.to_snapshot_id)
                            .bind(&h.entity_id)
                            .bind(h.change.as_str())
                            .bind(h.score)
                            .bind(h.hit.to_string())
                            .bind(to_micros(at))
                            .fetch_optional(&mut *tx)
                            .await?;
                        if let Some(id) = id {
                            out.push(StoredNewHit { id, hit: h.clone(), found_at: at, ledger_index: None });
                        }
                    }
                    record_in_ledger(tx, out, ledger_entry).await
                }

                async fn new_hits(&self, to_snapshot_id: i64) -> Result<Vec<StoredNewHit>, StoreError> {
                    let q = sql(&format!("SELECT {} FROM screening_new_hits WHERE to_snapshot_id = $1 ORDER BY id", new_hit_columns()));
                    let rows = sqlx::query(&q).bind(to_snapshot_id).fetch_all(&self.pool).await?;
                    rows.iter().map(new_hit_row).collect()
                }
            }
        }
    };
}

screening_store_impl!(
    sqlite_screening,
    SqliteStore,
    sqlx::Sqlite,
    sqlite_dialect,
    sqlite_begin,
    sqlite_impl
);
screening_store_impl!(
    pg_screening,
    PgStore,
    sqlx::Postgres,
    pg_dialect,
    pg_begin,
    pg_impl
);
