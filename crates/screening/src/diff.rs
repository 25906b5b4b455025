//! Entry-by-entry comparison of two snapshots, for re-screening only what changed.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::model::{Entity, Snapshot};

/// What changed between two snapshots, by entity id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl SnapshotDiff {
    /// Ids of entries that are new or changed: the ones earlier screenings could not have hit.
    pub fn added_or_changed(&self) -> impl Iterator<Item = &str> {
        self.added
            .iter()
            .chain(self.changed.iter())
            .map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares `old` and `new` by entity id and fingerprint. Output ids are sorted.
pub fn diff(old: &[Entity], new: &[Entity]) -> SnapshotDiff {
    let old_map: HashMap<&str, String> = old
        .iter()
        .map(|e| (e.id.as_str(), e.fingerprint()))
        .collect();
    let new_map: HashMap<&str, String> = new
        .iter()
        .map(|e| (e.id.as_str(), e.fingerprint()))
        .collect();
    let mut d = SnapshotDiff::default();
    for (id, fp) in &new_map {
        match old_map.get(id) {
            None => d.added.push(id.to_string()),
            Some(ofp) if ofp != fp => d.changed.push(id.to_string()),
            _ => {}
        }
    }
    for id in old_map.keys() {
        if !new_map.contains_key(id) {
            d.removed.push(id.to_string());
        }
    }
    d.added.sort();
    d.removed.sort();
    d.changed.sort();
    d
}

/// Convenience: diff two whole snapshots.
pub fn diff_snapshots(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    diff(&old.entities, &new.entities)
}
