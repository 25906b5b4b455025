//! The tamper-evident ledger's persistence: leaves, complete-subtree hashes and signed
//! checkpoints (schema: `migrations/*/0002_ledger.sql`).
//!
//! An append runs in one transaction that takes the ledger's write lock (SQLite
//! `BEGIN IMMEDIATE`; PostgreSQL a transaction-scoped advisory lock, so that several server
//! instances sharing one database append one after another), reads the right edge of the tree
//! (at most 64 stored nodes, [`Frontier::node_ids`]), hashes the new leaves and inserts them
//! with every subtree node they complete. A proof then reads `O(log² n)` stored nodes at worst
//! and never rehashes the tree.
//!
//! [`GroupCommit`] batches concurrent appends into one such transaction (group commit): each
//! caller is answered only after the transaction holding its entry has committed, so an
//! acknowledged entry is durable (SQLite runs WAL with `synchronous=FULL`), while the cost of
//! the commit (one fsync) is shared by the whole batch.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Row;
use stackport_ledger::merkle::{self, Frontier, Hash, NodeId};
use tokio::sync::{mpsc, oneshot};

use crate::{PgStore, SqliteStore, Storage, StoreError};

/// Where an appended entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppendReceipt {
    pub index: u64,
    pub leaf_hash: Hash,
}

/// A stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub index: u64,
    /// The canonical JSON exactly as stored.
    pub entry: String,
    /// The leaf hash stored beside it at append time.
    pub leaf_hash: Hash,
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note text.
    pub note: String,
}

/// Persistence of the ledger. Every method is one statement or one transaction.
#[async_trait::async_trait]
pub trait LedgerStore {
    /// Appends canonical entries as consecutive leaves in one transaction.
    async fn ledger_append(&self, entries: &[String]) -> Result<Vec<AppendReceipt>, StoreError>;
    /// The number of leaves.
    async fn ledger_size(&self) -> Result<u64, StoreError>;
    /// Leaves `[start, start + limit)` that exist, in index order.
    async fn ledger_entries(&self, start: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError>;
    /// The stored hashes of the given nodes (level 0: leaf hashes); absent ones are left out.
    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>;
    /// Stored nodes of one level (≥ 1) with index in `[start, end)`, in index order.
    async fn ledger_level(
        &self,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError>;
    /// Records a signed checkpoint; a second one for the same size is ignored.
    async fn ledger_save_checkpoint(&self, checkpoint: &StoredCheckpoint)
        -> Result<(), StoreError>;
    /// The checkpoint of the largest size, if any.
    async fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Every stored checkpoint, by size.
    async fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
}

fn hash_col(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))
}

fn u64_col(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative ({v})")))
}

/// Rows of an append: the leaves and the interior nodes they complete.
struct AppendRows {
    receipts: Vec<AppendReceipt>,
    nodes: Vec<(NodeId, Hash)>,
}

fn plan_append(
    size: u64,
    frontier_hashes: &[Hash],
    entries: &[String],
) -> Result<AppendRows, StoreError> {
    let mut frontier = Frontier::from_nodes(size, frontier_hashes)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut receipts = Vec::with_capacity(entries.len());
    let mut nodes = Vec::with_capacity(entries.len() + 64);
    for (i, e) in entries.iter().enumerate() {
        let leaf_hash = merkle::leaf_hash(e.as_bytes());
        frontier.push(leaf_hash, &mut |id, h| nodes.push((id, h)));
        receipts.push(AppendReceipt {
            index: size + i as u64,
            leaf_hash,
        });
    }
    Ok(AppendRows { receipts, nodes })
}

/// SQLite allows 32766 bound parameters per statement; stay well below with 3 per row.
const ROWS_PER_INSERT: usize = 2000;
/// SQLite allows 500 terms in a compound SELECT.
const NODES_PER_SELECT: usize = 200;

/// One implementation for both backends, expanded once per backend into its own module: the
/// SQL is the same; `QueryBuilder` writes each backend's placeholders, and only the way the
/// write lock is taken differs.
macro_rules! ledger_store_impl {
    ($module:ident, $store:ty, $db:ty, $conn:ty, $begin:path, $lock:path) => {
        pub(crate) mod $module {
            use super::*;

            /// Appends canonical entries as consecutive leaves inside the caller's transaction,
            /// so that a decision and its ledger entry commit together or not at all. Takes the
            /// ledger's lock first (a no-op on SQLite, whose caller must have begun the
            /// transaction with `BEGIN IMMEDIATE`, see [`super::sqlite_begin`]).
            pub(crate) async fn append_in_tx(conn: &mut $conn, entries: &[String]) -> Result<Vec<AppendReceipt>, StoreError> {
                if entries.is_empty() {
                    return Ok(Vec::new());
                }
                $lock(&mut *conn).await?;
                let size: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries").fetch_one(&mut *conn).await?.try_get(0)?;
                let size = u64_col(size, "ledger size")?;
                let ids = Frontier::node_ids(size);
                let found = fetch_nodes(&mut *conn, &ids).await?;
                let hashes = ids
                    .iter()
                    .map(|id| found.get(id).copied().ok_or_else(|| StoreError::Corrupt(format!("ledger node {id} of the tree's right edge is missing"))))
                    .collect::<Result<Vec<_>, _>>()?;
                let rows = plan_append(size, &hashes, entries)?;
                for (chunk, receipts) in entries.chunks(ROWS_PER_INSERT).zip(rows.receipts.chunks(ROWS_PER_INSERT)) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_entries (idx, entry, leaf_hash) ");
                    qb.push_values(chunk.iter().zip(receipts), |mut b, (e, r)| {
                        b.push_bind(r.index as i64).push_bind(e.as_str()).push_bind(r.leaf_hash.0.to_vec());
                    });
                    qb.build().execute(&mut *conn).await?;
                }
                for chunk in rows.nodes.chunks(ROWS_PER_INSERT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
                    qb.push_values(chunk, |mut b, (id, h)| {
                        b.push_bind(id.level as i32).push_bind(id.index as i64).push_bind(h.0.to_vec());
                    });
                    qb.build().execute(&mut *conn).await?;
                }
                Ok(rows.receipts)
            }

            /// Fetches stored nodes by id with point lookups (`UNION ALL`), in chunks.
            pub(super) async fn fetch_nodes(conn: &mut $conn, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(NODES_PER_SELECT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("");
                    for (i, id) in chunk.iter().enumerate() {
                        if i > 0 {
                            qb.push(" UNION ALL ");
                        }
                        if id.level == 0 {
                            qb.push("SELECT 0, idx, leaf_hash FROM ledger_entries WHERE idx = ").push_bind(id.index as i64);
                        } else {
                            qb.push("SELECT level, idx, hash FROM ledger_nodes WHERE level = ")
                                .push_bind(id.level as i32)
                                .push(" AND idx = ")
                                .push_bind(id.index as i64);
                        }
                    }
                    let rows = qb.build().fetch_all(&mut *conn).await?;
                    for r in &rows {
                        let level: i32 = r.try_get(0)?;
                        let index = u64_col(r.try_get::<i64, _>(1)?, "ledger node index")?;
                        let level = u8::try_from(level).map_err(|_| StoreError::Corrupt(format!("ledger node level {level}")))?;
                        let id = NodeId::new(level, index);
                        let h: Vec<u8> = r.try_get(2)?;
                        out.insert(id, hash_col(&h, || format!("ledger node {id}"))?);
                    }
                }
                Ok(out)
            }

            fn checkpoint_row(r: &<$db as sqlx::Database>::Row) -> Result<StoredCheckpoint, StoreError> {
                let size = u64_col(r.try_get::<i64, _>(0)?, "checkpoint size")?;
                let root: Vec<u8> = r.try_get(1)?;
                Ok(StoredCheckpoint { size, root: hash_col(&root, || format!("root of checkpoint {size}"))?, note: r.try_get(2)? })
            }

            #[async_trait::async_trait]
            impl LedgerStore for $store {
                async fn ledger_append(&self, entries: &[String]) -> Result<Vec<AppendReceipt>, StoreError> {
                    if entries.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut tx = $begin(&self.pool).await?;
                    let receipts = append_in_tx(&mut *tx, entries).await?;
                    tx.commit().await?;
                    Ok(receipts)
                }

                async fn ledger_size(&self) -> Result<u64, StoreError> {
                    let size: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries").fetch_one(&self.pool).await?.try_get(0)?;
                    u64_col(size, "ledger size")
                }

                async fn ledger_entries(&self, start: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError> {
                    let end = start.saturating_add(limit).min(i64::MAX as u64);
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT idx, entry, leaf_hash FROM ledger_entries WHERE idx >= ");
                    qb.push_bind(start.min(i64::MAX as u64) as i64).push(" AND idx < ").push_bind(end as i64).push(" ORDER BY idx");
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| {
                            let index = u64_col(r.try_get::<i64, _>(0)?, "ledger entry index")?;
                            let leaf: Vec<u8> = r.try_get(2)?;
                            Ok(StoredEntry { index, entry: r.try_get(1)?, leaf_hash: hash_col(&leaf, || format!("leaf hash of entry {index}"))? })
                        })
                        .collect()
                }

                async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
                    let mut conn = self.pool.acquire().await?;
                    fetch_nodes(&mut *conn, ids).await
                }

                async fn ledger_level(&self, level: u8, start: u64, end: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT idx, hash FROM ledger_nodes WHERE level = ");
                    qb.push_bind(level as i32)
                        .push(" AND idx >= ")
                        .push_bind(start.min(i64::MAX as u64) as i64)
                        .push(" AND idx < ")
                        .push_bind(end.min(i64::MAX as u64) as i64)
                        .push(" ORDER BY idx");
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| {
                            let index = u64_col(r.try_get::<i64, _>(0)?, "ledger node index")?;
                            let h: Vec<u8> = r.try_get(1)?;
                            Ok((index, hash_col(&h, || format!("ledger node {}", NodeId::new(level, index)))?))
                        })
                        .collect()
                }

                async fn ledger_save_checkpoint(&self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_checkpoints (size, root, note, signed_at) VALUES (");
                    qb.push_bind(cp.size as i64)
                        .push(", ")
                        .push_bind(cp.root.0.to_vec())
                        .push(", ")
                        .push_bind(cp.note.as_str())
                        .push(", ")
                        .push_bind(crate::timestamp::now_micros())
                        .push(") ON CONFLICT (size) DO NOTHING");
                    qb.build().execute(&self.pool).await?;
                    Ok(())
                }

                async fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
                    let row = sqlx::query("SELECT size, root, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(&self.pool).await?;
                    row.as_ref().map(checkpoint_row).transpose()
                }

                async fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
                    let rows = sqlx::query("SELECT size, root, note FROM ledger_checkpoints ORDER BY size").fetch_all(&self.pool).await?;
                    rows.iter().map(checkpoint_row).collect()
                }
            }
        }
    };
}

/// Begins a transaction that may append to the ledger.
pub(crate) async fn sqlite_begin(
    pool: &sqlx::SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    // IMMEDIATE takes the write lock now, so two appenders never both read the same size.
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// SQLite: the write lock is already held since `BEGIN IMMEDIATE` ([`sqlite_begin`]).
async fn sqlite_lock(_: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    Ok(())
}

/// Key of the advisory lock that serialises ledger appends on PostgreSQL ("6962" for RFC 6962).
const PG_LEDGER_LOCK: i64 = 6962;

/// Begins a transaction that may append to the ledger (the lock is taken by the append).
pub(crate) async fn pg_begin(
    pool: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    Ok(pool.begin().await?)
}

/// PostgreSQL: the ledger's transaction-scoped advisory lock, held until commit or rollback.
async fn pg_lock(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PG_LEDGER_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

ledger_store_impl!(
    sqlite_impl,
    SqliteStore,
    sqlx::Sqlite,
    sqlx::SqliteConnection,
    sqlite_begin,
    sqlite_lock
);
ledger_store_impl!(
    pg_impl,
    PgStore,
    sqlx::Postgres,
    sqlx::PgConnection,
    pg_begin,
    pg_lock
);

/// Copies an error for every member of a failed batch (`StoreError` is not `Clone`).
fn replicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::Config(s) => StoreError::Config(s.clone()),
        StoreError::NotFound(s) => StoreError::NotFound(s.clone()),
        StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        other => StoreError::Database(sqlx::Error::Protocol(format!(
            "ledger append failed, nothing was stored: {other}"
        ))),
    }
}

struct Pending {
    entry: String,
    reply: oneshot::Sender<Result<AppendReceipt, StoreError>>,
}

/// Group commit of ledger appends: one task takes every append waiting in the queue (up to
/// `max_batch`) and stores them in one transaction, then answers each caller. While one batch
/// commits, the next one gathers, so the batch size adapts to the load by itself.
/// Least pause between batches on SQLite (see the loop of [`GroupCommit`]).
const SQLITE_WRITER_GAP: std::time::Duration = std::time::Duration::from_millis(2);

#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Largest batch per transaction.
    pub const DEFAULT_MAX_BATCH: usize = 8192;

    /// Starts the committing task on the current tokio runtime.
    pub fn start(store: Arc<dyn Storage>, max_batch: usize) -> Self {
        let (queue, rx) = mpsc::channel(max_batch.max(1) * 4);
        tokio::spawn(Self::run(store, rx, max_batch.max(1)));
        Self { queue }
    }

    async fn run(store: Arc<dyn Storage>, mut rx: mpsc::Receiver<Pending>, max_batch: usize) {
        let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
        let sqlite = store.backend() == crate::Backend::Sqlite;
        while rx.recv_many(&mut batch, max_batch).await > 0 {
            let entries: Vec<String> = batch
                .iter_mut()
                .map(|p| std::mem::take(&mut p.entry))
                .collect();
            let started = std::time::Instant::now();
            match store.ledger_append(&entries).await {
                Ok(receipts) => {
                    for (p, r) in batch.drain(..).zip(receipts) {
                        let _ = p.reply.send(Ok(r));
                    }
                }
                Err(e) => {
                    for p in batch.drain(..) {
                        let _ = p.reply.send(Err(replicate(&e)));
                    }
                }
            }
            // SQLite has no queue for its write lock: a waiter polls with growing sleeps
            // (1 ms … 100 ms, https://www.sqlite.org/c3ref/busy_timeout.html), and a committer
            // that begins its next transaction at once starves every other writer (another
            // process's checkpoint, other tables). Leave the lock free for a quarter of the
            // time it was held (at least 2 ms), so each poll of a waiter has a fair chance;
            // under load the next batch just grows by what arrives meanwhile.
            if sqlite {
                tokio::time::sleep((started.elapsed() / 4).max(SQLITE_WRITER_GAP)).await;
            }
        }
    }

    /// Appends one canonical entry; returns once the transaction holding it has committed.
    pub async fn append(&self, entry: String) -> Result<AppendReceipt, StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Config("the ledger's commit task has stopped".into());
        self.queue
            .send(Pending { entry, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}
