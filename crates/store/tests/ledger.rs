//! The ledger's persistence on both backends: stored nodes give the same roots and proofs as
//! the in-memory reference tree, and concurrent appends (one process or several) stay
//! contiguous and consistent.

use std::sync::Arc;

use stackport_ledger::merkle::{self, LeafRange, MemoryTree};
use stackport_store::testing::for_each_backend;
use stackport_store::{GroupCommit, StoredCheckpoint};

fn entry(i: u64) -> String {
    format!("{{\"n\":{i}}}")
}

#[tokio::test]
async fn stored_nodes_give_the_reference_roots_and_proofs() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let mut reference = MemoryTree::new();
        // Uneven batches, so batch edges fall everywhere in the tree.
        let mut next = 0u64;
        for batch in [1usize, 2, 3, 7, 16, 1, 33, 64, 5, 100] {
            let entries: Vec<String> = (next..next + batch as u64).map(entry).collect();
            let receipts = store.ledger_append(&entries).await.unwrap();
            for (r, e) in receipts.iter().zip(&entries) {
                assert_eq!(r.index, next);
                assert_eq!(r.leaf_hash, reference.push(e.as_bytes()));
                next += 1;
            }
        }
        let size = store.ledger_size().await.unwrap();
        assert_eq!(size, reference.size());
        for s in [1, 2, 3, 5, 8, 13, 64, 100, 200, size] {
            let ids = merkle::nodes_for(&[LeafRange { start: 0, end: s }]);
            let map = store.ledger_nodes(&ids).await.unwrap();
            assert_eq!(
                merkle::root_from_nodes(s, |id| map.get(&id).copied()).unwrap(),
                reference.root_at(s).unwrap(),
                "root at {s}"
            );
            for index in [0, s / 2, s - 1] {
                let ranges = merkle::inclusion_ranges(index, s).unwrap();
                let map = store
                    .ledger_nodes(&merkle::nodes_for(&ranges))
                    .await
                    .unwrap();
                let proof = merkle::assemble(&ranges, |id| map.get(&id).copied()).unwrap();
                assert_eq!(
                    proof,
                    reference.inclusion_proof(index, s).unwrap(),
                    "inclusion {index} in {s}"
                );
            }
            let ranges = merkle::consistency_ranges(s / 3, s).unwrap();
            let map = store
                .ledger_nodes(&merkle::nodes_for(&ranges))
                .await
                .unwrap();
            let proof = merkle::assemble(&ranges, |id| map.get(&id).copied()).unwrap();
            assert_eq!(
                proof,
                reference.consistency_proof(s / 3, s).unwrap(),
                "consistency {} -> {s}",
                s / 3
            );
        }
        let stored = store.ledger_entries(10, 5).await.unwrap();
        assert_eq!(
            stored.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![10, 11, 12, 13, 14]
        );
        assert_eq!(stored[0].entry, entry(10));
    })
    .await;
}

#[tokio::test]
async fn group_commit_keeps_concurrent_appends_contiguous() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let commit = GroupCommit::start(store.clone(), 256);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..3000u64 {
            let commit = commit.clone();
            tasks.spawn(async move { (i, commit.append(entry(i)).await.unwrap()) });
        }
        let mut receipts = Vec::new();
        while let Some(r) = tasks.join_next().await {
            receipts.push(r.unwrap());
        }
        receipts.sort_by_key(|(_, r)| r.index);
        assert_eq!(
            receipts.iter().map(|(_, r)| r.index).collect::<Vec<_>>(),
            (0..3000).collect::<Vec<_>>()
        );
        // Every acknowledged entry is stored at its index with its hash.
        let stored = store.ledger_entries(0, 5000).await.unwrap();
        assert_eq!(stored.len(), 3000);
        let mut reference = MemoryTree::new();
        for ((i, r), s) in receipts.iter().zip(&stored) {
            assert_eq!(s.entry, entry(*i));
            assert_eq!(s.leaf_hash, r.leaf_hash);
            reference.push(s.entry.as_bytes());
        }
        let ids = merkle::nodes_for(&[LeafRange {
            start: 0,
            end: 3000,
        }]);
        let map = store.ledger_nodes(&ids).await.unwrap();
        assert_eq!(
            merkle::root_from_nodes(3000, |id| map.get(&id).copied()).unwrap(),
            reference.root()
        );
    })
    .await;
}

#[tokio::test]
async fn two_instances_on_one_database_append_in_turn() {
    for_each_backend(|db| async move {
        // Two independent pools = two server instances sharing the database.
        let (a, b) = (db.open().await, db.open().await);
        let (ca, cb) = (
            GroupCommit::start(a.clone(), 64),
            GroupCommit::start(b.clone(), 64),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..600u64 {
            let c = if i % 2 == 0 { ca.clone() } else { cb.clone() };
            tasks.spawn(async move { c.append(entry(i)).await.unwrap() });
        }
        let mut indexes = Vec::new();
        while let Some(r) = tasks.join_next().await {
            indexes.push(r.unwrap().index);
        }
        indexes.sort();
        assert_eq!(indexes, (0..600).collect::<Vec<_>>());
        let stored = a.ledger_entries(0, 1000).await.unwrap();
        let mut reference = MemoryTree::new();
        for s in &stored {
            reference.push(s.entry.as_bytes());
        }
        let size = Arc::clone(&b).ledger_size().await.unwrap();
        let ids = merkle::nodes_for(&[LeafRange {
            start: 0,
            end: size,
        }]);
        let map = b.ledger_nodes(&ids).await.unwrap();
        assert_eq!(
            merkle::root_from_nodes(size, |id| map.get(&id).copied()).unwrap(),
            reference.root()
        );
    })
    .await;
}

#[tokio::test]
async fn checkpoints_are_kept_once_per_size() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        assert!(store.ledger_latest_checkpoint().await.unwrap().is_none());
        let cp = |size: u64, note: &str| StoredCheckpoint {
            size,
            root: merkle::Hash([size as u8; 32]),
            note: note.into(),
        };
        store.ledger_save_checkpoint(&cp(3, "three")).await.unwrap();
        store.ledger_save_checkpoint(&cp(3, "again")).await.unwrap();
        store.ledger_save_checkpoint(&cp(9, "nine")).await.unwrap();
        assert_eq!(
            store.ledger_latest_checkpoint().await.unwrap(),
            Some(cp(9, "nine"))
        );
        assert_eq!(
            store.ledger_checkpoints().await.unwrap(),
            vec![cp(3, "three"), cp(9, "nine")]
        );
    })
    .await;
}
