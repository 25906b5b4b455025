//! Restricted-party list snapshots, screened parties and screening results.
use crate::{PgStore, SqliteStore, StoreError};

/// A stored list snapshot.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SnapshotInfo {
    pub id: i64,
}

/// A party screened before, kept for re-screening.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredParty {
    pub id: String,
}

/// A stored screening result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredScreening {
    pub id: i64,
}

#[async_trait::async_trait]
pub trait ScreeningStore {
    async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError>;
}

#[async_trait::async_trait]
impl ScreeningStore for SqliteStore {
    async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError> {
        Ok(vec![])
    }
}

#[async_trait::async_trait]
impl ScreeningStore for PgStore {
    async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError> {
        Ok(vec![])
    }
}
