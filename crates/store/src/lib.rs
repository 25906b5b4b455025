//! Persistence for Stackport behind one storage trait, with two implementations:
//! an embedded SQLite file (the default: created on first start, migrations embedded in the
//! binary) and PostgreSQL (for several server instances sharing one state).
//!
//! The trait [`Storage`] is the union of one sub-trait per domain
//! ([`ScreeningStore`], [`LedgerStore`], [`ChipStore`], [`ProposalStore`]), each implemented for both
//! [`SqliteStore`] and [`PgStore`] in that domain's module. The server and the CLI hold an
//! `Arc<dyn Storage>` and never know which database is behind it; one test suite
//! (`tests/`) runs against both.
//!
//! Every time in the database is one integer: microseconds since the Unix epoch, UTC
//! ([`timestamp`] holds the conversions).

use std::sync::Arc;

pub mod chips;
mod error;
pub mod holds;
pub mod identity;
pub mod ledger;
pub mod licences;
pub mod proposals;
pub mod screening;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timestamp;
pub mod webhooks;

pub use chips::{
    measurement_digest, AlertRecord, ChipRecord, ChipStore, LandmarkAlertRecord,
    LandmarkMeasurementRecord, LandmarkRecord, MeasurementInsert, MeasurementRecord,
    MeasurementState, NewAlert, OverdueChip, PendingVerdict, RecordedBatch, RecordedVerdict,
    ResolutionEntryFn, VerdictEntryFn, VerdictRecord,
};
pub use error::StoreError;
pub use holds::{HoldRecord, ItemDecision, ReviewItem, ReviewStore};
pub use identity::{
    CredentialRecord, IdentityStore, Organisation, SessionCredential, SessionRecord, TokenRecord,
    User,
};
pub use ledger::{AppendReceipt, GroupCommit, LedgerStore, StoredCheckpoint, StoredEntry};
pub use licences::{
    FinancingRecord, FinancingStore, LicenceRecord, LicenceStore, NewShipment, StoredShipment,
};
pub use proposals::{
    sha256_hex, Consultation, ProposalKeys, ProposalRecord, ProposalStore, ProposalSummary,
    ReReview, Reevaluation, ReevaluationTrigger, ReviewedProposal, StoredEvent, StoredProposal,
    StoredReReview, StoredReevaluation, WorkflowState, WorkflowStep,
};
pub use screening::{
    party_id, EntryChange, NewHit, ScreeningRecord, ScreeningStore, SnapshotInfo, StoredNewHit,
    StoredParty, StoredScreening,
};
pub use webhooks::{DeliveryRecord, WebhookRecord, WebhookStore};

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;

/// Everything the server and the CLI persist. One object, whichever database is behind it.
pub trait Storage:
    ScreeningStore
    + LedgerStore
    + ChipStore
    + ProposalStore
    + IdentityStore
    + LicenceStore
    + FinancingStore
    + ReviewStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is, for logs and `/v1/health`.
    fn backend(&self) -> Backend;
}

/// The database behind a [`Storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The embedded SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl Storage for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

impl Storage for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite file at `path` and runs the embedded migrations.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(path)
            .map_err(|e| StoreError::Config(format!("bad SQLite path {path:?}: {e}")))?
            .create_if_missing(true)
            // WAL with synchronous=FULL: every acknowledged commit survives power loss
            // (https://www.sqlite.org/pragma.html#pragma_synchronous).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(30))
            .foreign_keys(true);
        let file = opts.get_filename().to_path_buf();
        // sqlx takes no lock around SQLite migrations (PostgreSQL's take an advisory lock), so
        // two processes opening a new file at once would both apply them. Serialise on an OS
        // file lock beside the database; the second opener then finds them applied. The lock
        // is taken before the first connection: that connection creates the file and switches
        // it to WAL, and a switch racing another opener's answers SQLITE_BUSY at once, without
        // waiting out the busy timeout (https://www.sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode).
        let lock = migration_lock(&file).await?;
        let opened = async {
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Ok::<_, StoreError>(pool)
        }
        .await;
        drop(lock);
        Ok(Self { pool: opened? })
    }

    /// The underlying pool, for modules of this crate and for tests that tamper on purpose.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl PgStore {
    /// Connects to PostgreSQL and runs the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool, for modules of this crate and for tests that tamper on purpose.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Ids per `IN (...)` list: far below SQLite's 32,766 bound parameters.
pub(crate) const IDS_PER_LIST: usize = 500;

/// Appends `IN (…)` with one bound parameter per id (at most [`IDS_PER_LIST`] of them).
pub(crate) fn push_id_list<'a, DB>(qb: &mut sqlx::QueryBuilder<'a, DB>, ids: &'a [String])
where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push("IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    list.push_unseparated(")");
}

/// Takes the exclusive lock of `DATABASE-migrate.lock` beside a SQLite file (`None` for an
/// in-memory database); released when dropped.
async fn migration_lock(db: &std::path::Path) -> Result<Option<std::fs::File>, StoreError> {
    let name = db.as_os_str().to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file::memory:") {
        return Ok(None);
    }
    let mut lock_path = db.as_os_str().to_owned();
    lock_path.push("-migrate.lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    tokio::task::spawn_blocking(move || {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| {
                StoreError::Config(format!(
                    "locking {} for the migrations: {e}",
                    lock_path.display()
                ))
            })?;
        Ok(Some(f))
    })
    .await
    .map_err(|e| StoreError::Config(format!("migration lock task: {e}")))?
}

/// Opens the store named by a URL: `postgres://…` or `postgresql://…` for PostgreSQL,
/// `sqlite://PATH` or a plain file path for SQLite.
pub async fn open(url: &str) -> Result<Arc<dyn Storage>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        let path = if url.starts_with("sqlite:") {
            url.to_string()
        } else {
            format!("sqlite://{url}")
        };
        Ok(Arc::new(SqliteStore::open(&path).await?))
    }
}
