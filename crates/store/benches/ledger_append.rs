//! Durable ledger appends per second with group commit, on a SQLite file (WAL,
//! `synchronous=FULL`: every acknowledged append survived an fsync).
//!
//! Each iteration submits `CONCURRENT` appends at once through [`GroupCommit`] and waits until
//! every one is acknowledged, i.e. committed.
//!
//! `proof_sqlite_1M`: inclusion proofs of a one-million-entry log read from the SQLite file
//! (one round trip of point lookups of stored subtree hashes, then assembly).
//!
//! `cargo bench -p stackport-store --bench ledger_append`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stackport_ledger::merkle;
use stackport_store::{GroupCommit, SqliteStore, Storage};

const CONCURRENT: u64 = 20_000;

fn entry(i: u64) -> String {
    format!("{{\"inputs\":{{\"name\":\"party {i}\"}},\"outputs\":{{\"hits\":[]}},\"time\":\"2026-11-21T12:00:00Z\",\"type\":\"screening\",\"versions\":{{\"lists\":\"2025-11-20\"}}}}")
}

fn appends(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    let store: Arc<dyn Storage> =
        Arc::new(rt.block_on(SqliteStore::open(&url)).expect("open SQLite"));
    let commit =
        rt.block_on(async { GroupCommit::start(store.clone(), GroupCommit::DEFAULT_MAX_BATCH) });
    let mut g = c.benchmark_group("ledger_append_sqlite");
    g.throughput(Throughput::Elements(CONCURRENT));
    let mut next = 0u64;
    g.bench_function("group_commit_20k_concurrent", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let entries: Vec<String> = (next..next + CONCURRENT).map(entry).collect();
                next += CONCURRENT;
                let start = Instant::now();
                rt.block_on(async {
                    let mut tasks = tokio::task::JoinSet::new();
                    for e in entries {
                        let c = commit.clone();
                        tasks.spawn(async move { c.append(e).await });
                    }
                    while let Some(r) = tasks.join_next().await {
                        r.expect("task").expect("append");
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn proofs_from_sqlite(c: &mut Criterion) {
    const MILLION: u64 = 1_000_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("proofs.sqlite").display());
    let store = rt.block_on(SqliteStore::open(&url)).expect("open SQLite");
    rt.block_on(async {
        use stackport_store::LedgerStore;
        for start in (0..MILLION).step_by(50_000) {
            let batch: Vec<String> = (start..start + 50_000).map(entry).collect();
            store.ledger_append(&batch).await.expect("append");
        }
    });
    let size = MILLION;
    let mut g = c.benchmark_group("proof_sqlite_1M");
    g.throughput(Throughput::Elements(1));
    let mut k = 0u64;
    g.bench_function("inclusion_generate", |b| {
        b.iter(|| {
            k = (k + 7_919_993) % size;
            rt.block_on(async {
                use stackport_store::LedgerStore;
                let ranges = merkle::inclusion_ranges(k, size).expect("in range");
                let map = store
                    .ledger_nodes(&merkle::nodes_for(&ranges))
                    .await
                    .expect("nodes");
                merkle::assemble(&ranges, |id| map.get(&id).copied()).expect("stored nodes")
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(2));
    targets = appends, proofs_from_sqlite
}
criterion_main!(benches);
