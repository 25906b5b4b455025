//! Registry ingest throughput (issue 10 item 4, bar: ≥ 5,000 new measurements per second per
//! instance on SQLite and on PostgreSQL), measured end to end through the real services:
//! decode, three signature checks, plausibility, the landmark cross-check, the idempotent
//! store, re-verification over each chip's window, verdict, alerts and ledger entry.
//!
//! ```sh
//! STACKPORT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//! STACKPORT_TEST_NATS=127.0.0.1:4222 \
//!     cargo bench -p stackport-app --bench registry_ingest
//! ```
//!
//! Per backend (a fresh SQLite file; a fresh PostgreSQL database when `STACKPORT_TEST_POSTGRES`
//! is set), on fresh chips for each scenario so that every chip's window holds the same:
//!
//! - `one_at_a_time`: `LocateService::ingest` per message, one transaction each (the path
//!   before batching, and today's HTTP path);
//! - `batch_fleet`: `ingest_batch` in batches of 500, two in flight, as the JetStream consumer
//!   runs them, messages in check-in order (each chip's landmarks one after another, as a chip's agent
//!   asks its landmarks to measure it);
//! - `batch_scattered`: the same messages round-robin over chips, so that a batch holds up to
//!   500 chips and needs a verdict and a ledger entry for almost every message (the worst case);
//! - `jetstream_1` / `jetstream_2`: published to a fresh JetStream stream first, then consumed
//!   by one / two registry instances sharing the durable consumer and the database, timed from
//!   the consumers' start until every message is acknowledged; checks that no measurement was
//!   stored twice or verified twice (no double work).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use stackport_app::registry::{
    start_nats_consumer, LocateConfig, LocateService, BATCHES_IN_FLIGHT,
};
use stackport_app::Counters;
use stackport_locate::protocol::{
    ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, MeasurementId, SecretKey,
    SessionConfig, SignatureAlgorithm,
};
use stackport_store::testing::TestDb;
use stackport_store::{ChipRecord, LandmarkRecord, Storage};

const LANDMARKS: usize = 25;
const BATCH: usize = 500;

#[derive(Default)]
struct Named(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl Counters for Named {
    fn counter(&self, name: &str, _help: &str) -> metrics::Counter {
        metrics::Counter::from_arc(
            self.0
                .lock()
                .expect("counters")
                .entry(name.to_string())
                .or_default()
                .clone(),
        )
    }
}

impl Named {
    fn get(&self, name: &str) -> u64 {
        self.0
            .lock()
            .expect("counters")
            .get(name)
            .map(|c| c.load(Ordering::Relaxed))
            .unwrap_or(0)
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64
}

struct Landmark {
    id: String,
    key: LandmarkKey,
    lat: f64,
    lon: f64,
}

/// Landmarks on a ring of about 40–120 km around Singapore (chips sit at the city's centre):
/// every honest verdict is `verified`.
fn landmarks() -> Vec<Landmark> {
    (0..LANDMARKS)
        .map(|i| {
            let angle = i as f64 / LANDMARKS as f64 * std::f64::consts::TAU;
            let r = 0.4 + 0.7 * (i % 3) as f64 / 2.0;
            Landmark {
                id: format!("lm-{i:02}"),
                key: LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519)),
                lat: 1.3521 + r * angle.sin() * 0.5,
                lon: 103.8198 + r * angle.cos(),
            }
        })
        .collect()
}

/// A one-round measurement of `chip` by `lm` with an honest RTT for their distance.
fn measure(lm: &Landmark, chip_id: &str, chip: &ChipKey) -> Vec<u8> {
    let d_km = stackport_locate::GeoPoint::new(lm.lat, lm.lon)
        .expect("landmark")
        .distance_km(&stackport_locate::GeoPoint::new(1.3521, 103.8198).expect("site"));
    // 2/3 c is ≈ 100 km per millisecond of round trip; add the last mile.
    let rtt_ns = ((d_km / 100.0 + 0.4) * 1e6) as u64;
    let mut s = LandmarkSession::new(
        LandmarkId::new(&lm.id).expect("id"),
        ChipId::new(chip_id).expect("id"),
        chip.0.public_key(),
        now_us(),
        SessionConfig {
            rounds: 1,
            timeout_ns: u64::MAX,
        },
    );
    let c = s
        .issue(&lm.key, rand::random(), now_us())
        .expect("round")
        .clone();
    s.mark_sent(0).expect("sent");
    s.on_response(c.respond(chip).expect("sign").encoded(), rtt_ns);
    s.finish(&lm.key, MeasurementId::random(), now_us())
        .expect("measured")
        .encoded()
        .to_vec()
}

/// Enrols `n` new chips named `<prefix>-<i>` and returns each chip's measurements by every
/// landmark, in check-in order (chip by chip).
async fn fleet(
    store: &Arc<dyn Storage>,
    lms: &[Landmark],
    prefix: &str,
    n: usize,
) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("{prefix}-{i:05}");
        let key = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        store
            .enrol_chip(&ChipRecord {
                id: id.clone(),
                public_key: key.0.public_key().to_string(),
                model: "H100".into(),
                owner: "bench".into(),
                site_lat: 1.3521,
                site_lon: 103.8198,
                site_country: "SG".into(),
                export_ref: None,
                checkin_interval_s: 86_400,
                enrolled_at: 0,
            })
            .await
            .expect("enrol chip");
        out.push(lms.iter().map(|l| measure(l, &id, &key)).collect());
    }
    out
}

fn in_checkin_order(f: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    f.iter().flatten().cloned().collect()
}

fn round_robin(f: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    (0..LANDMARKS)
        .flat_map(|k| f.iter().map(move |c| c[k].clone()))
        .collect()
}

fn report(backend: &str, scenario: &str, n: usize, took: Duration, extra: &str) {
    println!(
        "registry_ingest/{backend}/{scenario}: {n} measurements in {:.3} s = {:.0} new measurements/s{extra}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

async fn run(db: TestDb, nats: Option<&str>, direct: bool) {
    let label = db.label();
    let store = db.open().await;
    let lms = landmarks();
    for l in &lms {
        store
            .enrol_landmark(&LandmarkRecord {
                id: l.id.clone(),
                public_key: l.key.0.public_key().to_string(),
                lat: l.lat,
                lon: l.lon,
                enrolled_at: 0,
            })
            .await
            .expect("enrol landmark");
    }
    let counters = Arc::new(Named::default());
    let svc =
        LocateService::new(store.clone(), &counters, LocateConfig::default()).expect("service");

    if direct {
        // One at a time.
        let msgs = in_checkin_order(&fleet(&store, &lms, "ONE", 40).await);
        let t = Instant::now();
        for m in &msgs {
            svc.ingest(m).await.expect("ingest");
        }
        report(label, "one_at_a_time", msgs.len(), t.elapsed(), "");

        for (scenario, order) in [
            (
                "batch_fleet",
                in_checkin_order as fn(&[Vec<Vec<u8>>]) -> Vec<Vec<u8>>,
            ),
            ("batch_scattered", round_robin),
        ] {
            let msgs = order(&fleet(&store, &lms, scenario, 800).await);
            let before = store.ledger_size().await.expect("size");
            let t = Instant::now();
            // Two batches in flight, as the JetStream consumer runs them.
            futures_util::stream::iter(msgs.chunks(BATCH))
                .for_each_concurrent(BATCHES_IN_FLIGHT, |chunk| {
                    let svc = svc.clone();
                    async move {
                        let refs: Vec<&[u8]> = chunk.iter().map(|m| m.as_slice()).collect();
                        for r in svc.ingest_batch(&refs).await.expect("batch") {
                            assert_eq!(r.expect("accepted").status, "stored");
                        }
                    }
                })
                .await;
            let took = t.elapsed();
            let verdicts = store.ledger_size().await.expect("size") - before;
            report(
                label,
                scenario,
                msgs.len(),
                took,
                &format!(" ({verdicts} verdicts and ledger entries)"),
            );
        }
    }
    if let Some(nats) = nats.filter(|_| !direct) {
        for instances in [1usize, 2] {
            let scenario = format!("jetstream_{instances}");
            let msgs = in_checkin_order(&fleet(&store, &lms, &scenario, 800).await);
            let unique = format!("{}_{}", std::process::id(), now_us());
            let stream = format!("STACKPORT_BENCH_{unique}");
            let subject = format!("bench.{unique}.measurements");
            let client = async_nats::connect(nats).await.expect("NATS");
            let js = async_nats::jetstream::new(client);
            js.create_stream(async_nats::jetstream::stream::Config {
                name: stream.clone(),
                subjects: vec![format!("{subject}.>")],
                ..Default::default()
            })
            .await
            .expect("stream");
            // Published in windows of 256 awaiting their acks, so that no ack is dropped by a
            // full inbox.
            for window in msgs.chunks(256) {
                let mut acks = Vec::with_capacity(window.len());
                for m in window {
                    acks.push(
                        js.publish(format!("{subject}.lm"), m.clone().into())
                            .await
                            .expect("publish"),
                    );
                }
                for a in acks {
                    tokio::time::timeout(Duration::from_secs(30), a)
                        .await
                        .expect("publish ack within 30 s")
                        .expect("publish ack");
                }
            }
            eprintln!(
                "registry_ingest/{label}/{scenario}: {} published",
                msgs.len()
            );
            let mut running = Vec::new();
            let t = Instant::now();
            for _ in 0..instances {
                let c = Arc::new(Named::default());
                let svc = LocateService::new(store.clone(), &c, LocateConfig::default())
                    .expect("service");
                let task = tokio::time::timeout(
                    Duration::from_secs(30),
                    start_nats_consumer(svc, nats, &stream, &format!("{subject}.>"), "bench"),
                )
                .await
                .expect("consumer within 30 s")
                .expect("consumer");
                running.push((c, task));
            }
            let total = |name: &str| running.iter().map(|(c, _)| c.get(name)).sum::<u64>();
            while total("stackport_locate_nats_acked_total") < msgs.len() as u64 {
                assert!(
                    t.elapsed() < Duration::from_secs(300),
                    "JetStream ingest stalled at {} of {}",
                    total("stackport_locate_nats_acked_total"),
                    msgs.len()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let took = t.elapsed();
            let accepted = total("stackport_locate_measurements_accepted_total");
            let duplicate = total("stackport_locate_measurements_duplicate_total");
            let shares: Vec<String> = running
                .iter()
                .map(|(c, _)| {
                    c.get("stackport_locate_measurements_accepted_total")
                        .to_string()
                })
                .collect();
            assert_eq!(accepted, msgs.len() as u64, "every measurement stored once");
            assert_eq!(duplicate, 0, "no measurement stored or verified twice");
            report(
                label,
                &scenario,
                msgs.len(),
                took,
                &format!(
                    " (per instance {}; {duplicate} redelivered)",
                    shares.join(" + ")
                ),
            );
            for (_, task) in running {
                task.abort();
            }
            let _ = js.delete_stream(&stream).await;
        }
    }
    assert!(store
        .unverified_measurements(1)
        .await
        .expect("read")
        .is_empty());
    drop((svc, store));
    db.cleanup().await;
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run only when
    // benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let nats = std::env::var("STACKPORT_TEST_NATS").ok();
    rt.block_on(async {
        // Every direct scenario on both backends first, then JetStream on both.
        for direct in [true, false] {
            run(TestDb::sqlite(), nats.as_deref(), direct).await;
            match TestDb::postgres().await {
                Some(pg) => run(pg, nats.as_deref(), direct).await,
                None => println!(
                    "registry_ingest/postgres: skipped (STACKPORT_TEST_POSTGRES is not set)"
                ),
            }
        }
    });
}
