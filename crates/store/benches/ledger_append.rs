//! Durable ledger appends per second with group commit, on a SQLite file (WAL,
//! `synchronous=FULL`: every acknowledged append survived an fsync).
//!
//! Each iteration submits `CONCURRENT` appends at once through [`GroupCommit`] and waits until
//! every one is acknowledged, i.e. committed.
//!
//! `cargo bench -p stackport-store --bench ledger_append`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(2));
    targets = appends
}
criterion_main!(benches);
