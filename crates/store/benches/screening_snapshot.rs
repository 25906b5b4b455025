//! Storing and reading back the whole bundled list snapshot (data/lists: ~14,300 entities),
//! on SQLite and, when `STACKPORT_TEST_POSTGRES` is set, on PostgreSQL.
//!
//! `cargo bench -p stackport-store --bench screening_snapshot`

use criterion::{criterion_group, criterion_main, Criterion};
use stackport_store::testing::TestDb;

fn bench(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists");
    let snapshot = stackport_screening::parse::load_dir(&dir).expect("bundled lists load");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut dbs = vec![TestDb::sqlite()];
    if let Some(pg) = rt.block_on(TestDb::postgres()) {
        dbs.push(pg);
    }
    let mut group = c.benchmark_group("screening_snapshot");
    group.sample_size(10);
    for db in dbs {
        let store = rt.block_on(db.open());
        let first = rt.block_on(store.store_snapshot(&snapshot)).expect("store");
        group.bench_function(
            format!("store/{}/{}_entities", db.label(), snapshot.entities.len()),
            |b| b.iter(|| rt.block_on(store.store_snapshot(&snapshot)).expect("store")),
        );
        group.bench_function(
            format!("load/{}/{}_entities", db.label(), snapshot.entities.len()),
            |b| {
                b.iter(|| {
                    rt.block_on(store.snapshot_entities(first.id))
                        .expect("load")
                })
            },
        );
        drop(store);
        rt.block_on(db.cleanup());
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
