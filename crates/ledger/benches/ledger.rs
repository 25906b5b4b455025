//! Ledger hot paths: SHA-256 (the physical bound), inclusion and consistency proofs at one
//! million entries, produced from the stored complete-subtree nodes and verified.
//!
//! `cargo bench -p stackport-ledger --bench ledger`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stackport_ledger::merkle::{self, MemoryTree};

const MILLION: u64 = 1_000_000;

fn sha256(c: &mut Criterion) {
    let mut g = c.benchmark_group("sha256");
    let block = vec![0xabu8; 1 << 20];
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("1MiB", |b| b.iter(|| merkle::leaf_hash(black_box(&block))));
    // One interior node: SHA-256 over 65 bytes (two 64-byte compression blocks).
    let (l, r) = (merkle::leaf_hash(b"l"), merkle::leaf_hash(b"r"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("node_hash", |b| {
        b.iter(|| merkle::node_hash(black_box(&l), black_box(&r)))
    });
    g.finish();
}

/// A tree of one million leaves, each a typical canonical decision of ~200 bytes.
fn million() -> MemoryTree {
    let mut t = MemoryTree::new();
    let mut entry = String::with_capacity(256);
    for i in 0..MILLION {
        entry.clear();
        use std::fmt::Write;
        let _ = write!(
            entry,
            "{{\"inputs\":{{\"name\":\"party {i}\"}},\"outputs\":{{\"hits\":[]}},\"time\":\"2026-11-21T12:00:00Z\",\"type\":\"screening\",\"versions\":{{\"lists\":\"2025-11-20\"}}}}"
        );
        t.push(entry.as_bytes());
    }
    t
}

fn proofs(c: &mut Criterion) {
    let tree = million();
    let size = tree.size();
    let root = tree.root();
    // Indices spread over the tree, including the right edge where proof elements are
    // assembled from several stored subtrees.
    let indices: Vec<u64> = (0..1024u64)
        .map(|i| (i * 7_919_993) % size)
        .chain([size - 1, size - 2, size / 2])
        .collect();
    let mut g = c.benchmark_group("proof_1M");
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function("inclusion_generate", |b| {
        b.iter(|| {
            k = (k + 1) % indices.len();
            tree.inclusion_proof(black_box(indices[k]), size)
                .expect("index in range")
        })
    });
    let prepared: Vec<_> = indices
        .iter()
        .map(|&i| {
            (
                i,
                tree.node(merkle::NodeId::new(0, i)).unwrap(),
                tree.inclusion_proof(i, size).unwrap(),
            )
        })
        .collect();
    let mut k = 0usize;
    g.bench_function("inclusion_verify", |b| {
        b.iter(|| {
            k = (k + 1) % prepared.len();
            let (i, leaf, proof) = &prepared[k];
            merkle::verify_inclusion(*i, size, leaf, proof, &root).expect("valid proof")
        })
    });
    let olds: Vec<u64> = (1..512u64).map(|i| (i * 1_953) % size + 1).collect();
    let mut k = 0usize;
    g.bench_function("consistency_generate", |b| {
        b.iter(|| {
            k = (k + 1) % olds.len();
            tree.consistency_proof(black_box(olds[k]), size)
                .expect("in range")
        })
    });
    let prepared: Vec<_> = olds
        .iter()
        .map(|&m| {
            (
                m,
                tree.root_at(m).unwrap(),
                tree.consistency_proof(m, size).unwrap(),
            )
        })
        .collect();
    g.bench_function("consistency_verify", |b| {
        b.iter_batched(
            || prepared[fastrand_index(prepared.len())].clone(),
            |(m, old, proof)| {
                merkle::verify_consistency(m, size, &old, &root, &proof).expect("valid proof")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn fastrand_index(n: usize) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(7, Ordering::Relaxed) % n
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = sha256, proofs
}
criterion_main!(benches);
