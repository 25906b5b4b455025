//! Registry throughput: one landmark-signed measurement through `LocateService::ingest`
//! (decode, three signature checks, plausibility, idempotent insert, re-verification over the
//! chip's window, verdict row) on SQLite, and the redelivery (duplicate) path.
//!
//! `cargo bench -p stackport-server --bench locate`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use stackport_locate::protocol::{
    ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, MeasurementId, SecretKey,
    SessionConfig, SignatureAlgorithm,
};
use stackport_server::locate::{LocateConfig, LocateService};
use stackport_server::metrics::Metrics;

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    let store = rt.block_on(stackport_store::open(&url)).expect("store");
    let metrics = Arc::new(Metrics::default());
    let svc =
        LocateService::new(store.clone(), &metrics, LocateConfig::default()).expect("service");
    let lm = LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
    rt.block_on(store.enrol_landmark(&stackport_store::LandmarkRecord {
        id: "lm-sin".into(),
        public_key: lm.0.public_key().to_string(),
        lat: 1.29,
        lon: 103.85,
        enrolled_at: 0,
    }))
    .expect("landmark");
    for (name, alg) in [
        ("ed25519", SignatureAlgorithm::Ed25519),
        ("p384", SignatureAlgorithm::EcdsaP384Sha384),
    ] {
        let chip = ChipKey(SecretKey::generate(alg));
        let chip_id = format!("GPU-{name}");
        rt.block_on(store.enrol_chip(&stackport_store::ChipRecord {
            id: chip_id.clone(),
            public_key: chip.0.public_key().to_string(),
            model: "H100".into(),
            owner: "o".into(),
            site_lat: 1.3521,
            site_lon: 103.8198,
            site_country: "SG".into(),
            export_ref: None,
            checkin_interval_s: 86_400,
            enrolled_at: 0,
        }))
        .expect("chip");
        let make = || {
            let mut s = LandmarkSession::new(
                LandmarkId::new("lm-sin").expect("id"),
                ChipId::new(&chip_id).expect("id"),
                chip.0.public_key(),
                now_us(),
                SessionConfig {
                    rounds: 1,
                    timeout_ns: u64::MAX,
                },
            );
            let ch = s
                .issue(&lm, rand::random(), now_us())
                .expect("round")
                .clone();
            s.mark_sent(0).expect("sent");
            s.on_response(ch.respond(&chip).expect("sign").encoded(), 1_500_000);
            s.finish(&lm, MeasurementId::random(), now_us())
                .expect("measured")
                .encoded()
                .to_vec()
        };
        // The window holds every measurement of the run; cap the run so the window stays small
        // and comparable (re-verification cost grows with the measurements in the window).
        let mut group = c.benchmark_group("registry_ingest");
        group.sample_size(20);
        group.bench_function(format!("new_measurement/{name}/sqlite"), |b| {
            b.iter_batched(
                make,
                |m| rt.block_on(svc.ingest(&m)).expect("ingest"),
                criterion::BatchSize::SmallInput,
            )
        });
        let dup = make();
        rt.block_on(svc.ingest(&dup)).expect("first");
        group.bench_function(format!("duplicate/{name}/sqlite"), |b| {
            b.iter(|| rt.block_on(svc.ingest(&dup)).expect("dup"))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
