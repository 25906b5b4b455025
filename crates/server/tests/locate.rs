//! Chip registry over real HTTP on loopback, on SQLite and PostgreSQL, and the JetStream
//! consumer against the real NATS server (`STACKPORT_TEST_NATS`).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};
use stackport_locate::protocol::{
    ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, MeasurementId, SecretKey,
    SessionConfig, SignatureAlgorithm, SignedMeasurement,
};
use stackport_server::locate::{routes, start_nats_consumer, LocateConfig, LocateService};
use stackport_server::metrics::Metrics;
use stackport_store::testing::for_each_backend;
use stackport_store::{ChipRecord, Storage};

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64
}

struct Landmark {
    id: &'static str,
    key: LandmarkKey,
    lat: f64,
    lon: f64,
}

fn landmark(id: &'static str, lat: f64, lon: f64) -> Landmark {
    Landmark {
        id,
        key: LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519)),
        lat,
        lon,
    }
}

/// A measurement by `lm` of `chip` with minimum RTT `rtt_ms`, taken `age_s` seconds ago: a real
/// session (the state machine, real signatures) with the clock readings given.
fn measure(
    lm: &Landmark,
    chip_id: &str,
    chip: &ChipKey,
    rtt_ms: f64,
    age_s: u64,
) -> SignedMeasurement {
    let mut s = LandmarkSession::new(
        LandmarkId::new(lm.id).expect("id"),
        ChipId::new(chip_id).expect("id"),
        chip.0.public_key(),
        now_us(),
        SessionConfig {
            rounds: 3,
            timeout_ns: 1_000_000_000,
        },
    );
    let at = now_us() - age_s * 1_000_000;
    for i in 0..3u64 {
        let c = s.issue(&lm.key, rand::random(), at).expect("round").clone();
        s.mark_sent(i * 1_000_000_000).expect("sent");
        let r = c.respond(chip).expect("sign");
        let rtt = (rtt_ms * 1e6) as u64 + i * 100_000;
        s.on_response(r.encoded(), i * 1_000_000_000 + rtt);
    }
    s.finish(&lm.key, MeasurementId::random(), at)
        .expect("answered")
}

struct Server {
    base: String,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    svc: Arc<LocateService>,
}

impl Server {
    async fn start(store: Arc<dyn Storage>) -> Self {
        let metrics = Arc::new(Metrics::default());
        let svc = LocateService::new(store, &metrics, LocateConfig::default()).expect("service");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let served = svc.clone();
        tokio::spawn(async move {
            // As the server's auth layer would: the caller is the platform's operator.
            let caller = stackport_identity::Principal {
                user: "usr_platform_operator".into(),
                org: "org_platform".into(),
                org_kind: stackport_identity::OrgKind::Platform,
                role: stackport_identity::Role::Operator,
            };
            axum::serve(
                listener,
                axum::Router::from(routes(served)).layer(axum::Extension(caller)),
            )
            .await
            .expect("serve")
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            metrics,
            svc,
        }
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.expect("body"))
    }
    async fn post_measurement(&self, m: &SignedMeasurement) -> (u16, Value) {
        self.post(
            "/v1/locate/measurements",
            json!({ "measurement": base64::engine::general_purpose::STANDARD.encode(m.encoded()) }),
        )
        .await
    }
    async fn enrol_landmark(&self, l: &Landmark) {
        let (st, body) =
            self.post("/v1/locate/landmarks", json!({"id": l.id, "public_key": l.key.0.public_key().to_string(), "lat": l.lat, "lon": l.lon})).await;
        assert_eq!(st, 201, "{body}");
    }
    async fn enrol_chip(&self, id: &str, key: &ChipKey) {
        let (st, body) = self
            .post(
                "/v1/locate/chips",
                json!({"id": id, "public_key": key.0.public_key().to_string(), "model": "H100-SXM5-80GB", "owner": "Example Cloud Pte Ltd",
                       "site": {"lat": 1.3521, "lon": 103.8198, "country": "SG"}, "export_ref": "licence D123456"}),
            )
            .await;
        assert_eq!(st, 201, "{body}");
    }
    fn counter(&self, name: &str) -> u64 {
        let text = self.metrics.render_text();
        text.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{name} "))
                    .map(|v| v.trim().parse().expect("number"))
            })
            .unwrap_or(0)
    }
}

fn categories(alerts: &Value) -> Vec<String> {
    let mut c: Vec<String> = alerts
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["category"].as_str().expect("str").to_string())
        .collect();
    c.sort();
    c
}

#[tokio::test]
async fn honest_chip_is_verified_and_measurements_are_idempotent() {
    for_each_backend(|db| async move {
        let srv = Server::start(db.open().await).await;
        let (a, b) = (
            landmark("lm-sin-a", 1.29, 103.85),
            landmark("lm-sin-b", 1.35, 103.99),
        );
        srv.enrol_landmark(&a).await;
        srv.enrol_landmark(&b).await;
        for alg in [
            SignatureAlgorithm::Ed25519,
            SignatureAlgorithm::EcdsaP384Sha384,
        ] {
            let chip = ChipKey(SecretKey::generate(alg));
            let id = format!("GPU-{alg:?}");
            srv.enrol_chip(&id, &chip).await;
            let m1 = measure(&a, &id, &chip, 1.2, 0);
            let (st, out) = srv.post_measurement(&m1).await;
            assert_eq!(st, 200, "{out}");
            assert_eq!(out["status"], "stored");
            let (st, out) = srv.post_measurement(&measure(&b, &id, &chip, 1.5, 0)).await;
            assert_eq!(st, 200, "{out}");
            assert_eq!(out["verdict"]["verdict"], "verified", "{out}");
            assert_eq!(out["verdict"]["landmarks_used"], 2);
            assert!(out["verdict"]["max_radius_km"].as_f64().expect("radius") < 160.0);
            assert_eq!(out["alerts"], json!([]));
            // Redelivery of the same bytes: a no-op, over JSON and as raw bytes.
            let (st, out) = srv.post_measurement(&m1).await;
            assert_eq!((st, out["status"].as_str()), (200, Some("duplicate")));
            let raw = srv
                .http
                .post(format!("{}/v1/locate/measurements", srv.base))
                .header("content-type", "application/octet-stream")
                .body(m1.encoded().to_vec())
                .send()
                .await
                .expect("request");
            assert_eq!(raw.status().as_u16(), 200);
            let (_, hist) = srv.get(&format!("/v1/locate/chips/{id}/verdicts")).await;
            assert_eq!(
                serde_json::from_str::<Value>(&hist)
                    .expect("json")
                    .as_array()
                    .expect("array")
                    .len(),
                2
            );
            let (st, status) = srv.get(&format!("/v1/locate/chips/{id}")).await;
            assert_eq!(st, 200);
            let status: Value = serde_json::from_str(&status).expect("json");
            assert_eq!(status["latest_verdict"]["verdict"], "verified");
            assert_eq!(status["open_alerts"], json!([]));
            let (st, svg) = srv.get(&format!("/v1/locate/chips/{id}/map.svg")).await;
            assert_eq!(st, 200);
            assert!(svg.contains("<svg") && svg.contains("</svg>"));
        }
        assert_eq!(
            srv.counter("stackport_locate_measurements_accepted_total"),
            4
        );
        assert_eq!(
            srv.counter("stackport_locate_measurements_duplicate_total"),
            4
        );
    })
    .await;
}

#[tokio::test]
async fn bad_measurements_are_rejected_counted_and_not_stored() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let srv = Server::start(store.clone()).await;
        let a = landmark("lm-sin-a", 1.29, 103.85);
        srv.enrol_landmark(&a).await;
        let chip = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        srv.enrol_chip("GPU-1", &chip).await;
        let expect = |(st, body): (u16, Value), status: u16, code: &str| {
            assert_eq!(st, status, "{body}");
            assert_eq!(body["error"]["code"], code, "{body}");
        };
        expect(srv.post("/v1/locate/measurements", json!({"measurement": "AAAA"})).await, 400, "malformed_measurement");
        expect(srv.post("/v1/locate/measurements", json!({"measurement": "not base64!"})).await, 400, "malformed_measurement");
        expect(srv.post("/v1/locate/measurements", json!({"nothing": 1})).await, 400, "invalid_json");
        // Unknown chip, unknown landmark.
        expect(srv.post_measurement(&measure(&a, "GPU-404", &chip, 1.0, 0)).await, 422, "unknown_chip");
        let stranger = landmark("lm-x", 0.0, 0.0);
        expect(srv.post_measurement(&measure(&stranger, "GPU-1", &chip, 1.0, 0)).await, 422, "unknown_landmark");
        // A landmark impersonated with another key; a chip impersonated with another key.
        let impostor = Landmark { key: LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519)), ..landmark("lm-sin-a", 1.29, 103.85) };
        expect(srv.post_measurement(&measure(&impostor, "GPU-1", &chip, 1.0, 0)).await, 422, "invalid_signature");
        let clone = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        expect(srv.post_measurement(&measure(&a, "GPU-1", &clone, 1.0, 0)).await, 422, "invalid_signature");
        // Signed by the real landmark, but zero or absurd RTT, or too old.
        for rtt_ns in [0u64, 60_000_000_000] {
            let mut m = measure(&a, "GPU-1", &chip, 1.0, 0).measurement;
            m.min_rtt_ns = rtt_ns;
            expect(srv.post_measurement(&m.sign(&a.key)).await, 422, "invalid_rtt");
        }
        expect(srv.post_measurement(&measure(&a, "GPU-1", &chip, 1.0, 8 * 24 * 3600)).await, 422, "stale_measurement");
        // Nothing was stored.
        assert!(store.chip_measurements("GPU-1", 0).await.expect("read").is_empty());
        assert!(store.latest_verdict("GPU-1").await.expect("read").is_none());
        assert_eq!(srv.counter("stackport_locate_rejected_invalid_signature_total"), 2);
        assert_eq!(srv.counter("stackport_locate_rejected_malformed_measurement_total"), 2);
        assert_eq!(srv.counter("stackport_locate_rejected_invalid_rtt_total"), 2);
        assert_eq!(srv.counter("stackport_locate_rejected_unknown_chip_total"), 1);
        assert_eq!(srv.counter("stackport_locate_measurements_accepted_total"), 0);
        // Bad enrolments.
        let key = chip.0.public_key().to_string();
        let site = json!({"lat": 1.3, "lon": 103.8, "country": "SG"});
        let enrol = |id: &str, key: &str, site: Value| json!({"id": id, "public_key": key, "model": "H100", "owner": "o", "site": site});
        expect(srv.post("/v1/locate/chips", enrol("GPU-1", &key, site.clone())).await, 409, "already_enrolled");
        expect(srv.post("/v1/locate/chips", enrol("GPU-2", "ed25519:00", site.clone())).await, 400, "invalid_public_key");
        let other = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519)).0.public_key().to_string();
        expect(srv.post("/v1/locate/chips", enrol("GPU-2", &other, json!({"lat": 91.0, "lon": 0.0, "country": "SG"}))).await, 400, "invalid_coordinates");
        expect(srv.post("/v1/locate/chips", enrol("GPU-2", &other, json!({"lat": 1.0, "lon": 0.0, "country": "XX"}))).await, 400, "invalid_country");
        expect(srv.post("/v1/locate/chips", enrol("GPU 2", &other, site)).await, 400, "invalid_request");
        expect(
            srv.post("/v1/locate/landmarks", json!({"id": "lm-y", "public_key": key, "lat": 0.0, "lon": 181.0})).await,
            400,
            "invalid_coordinates",
        );
        assert_eq!(store.chips().await.expect("read").len(), 1);
        assert_eq!(store.landmarks().await.expect("read").len(), 1);
        let (st, _) = srv.get("/v1/locate/chips/GPU-404").await;
        assert_eq!(st, 404);
    })
    .await;
}

#[tokio::test]
async fn alerts_in_each_category_and_the_report() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let srv = Server::start(store.clone()).await;
        let sin = landmark("lm-sin-a", 1.29, 103.85);
        let tyo = landmark("lm-tyo", 35.68, 139.69);
        let pek = landmark("lm-pek", 39.90, 116.40);
        for l in [&sin, &tyo, &pek] {
            srv.enrol_landmark(l).await;
        }
        // Licensed in Singapore, answering 1 ms from Beijing: elsewhere and diverted.
        let diverted = ChipKey(SecretKey::generate(SignatureAlgorithm::EcdsaP384Sha384));
        srv.enrol_chip("GPU-PEK", &diverted).await;
        let (st, out) = srv
            .post_measurement(&measure(&pek, "GPU-PEK", &diverted, 1.0, 0))
            .await;
        assert_eq!(st, 200, "{out}");
        assert_eq!(out["verdict"]["verdict"], "violation");
        assert_eq!(
            categories(&out["alerts"]),
            ["diverted", "located_elsewhere"]
        );
        // Licensed in Singapore, 1 ms from Tokyo: elsewhere, not in a prohibited country.
        let tokyo = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        srv.enrol_chip("GPU-TYO", &tokyo).await;
        let (_, out) = srv
            .post_measurement(&measure(&tyo, "GPU-TYO", &tokyo, 1.0, 0))
            .await;
        assert_eq!(categories(&out["alerts"]), ["located_elsewhere"]);
        // One key 1 ms from Singapore, then 1 ms from Tokyo a minute later: a clone.
        let cloned = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        srv.enrol_chip("GPU-CLONE", &cloned).await;
        let (_, out) = srv
            .post_measurement(&measure(&sin, "GPU-CLONE", &cloned, 1.0, 60))
            .await;
        assert_eq!(out["verdict"]["verdict"], "verified", "{out}");
        let (_, out) = srv
            .post_measurement(&measure(&tyo, "GPU-CLONE", &cloned, 1.0, 0))
            .await;
        assert_eq!(out["verdict"]["reason"], "contradictory", "{out}");
        let alerts = out["alerts"].as_array().expect("array");
        assert!(alerts.iter().all(|a| a["category"] == "tampering"), "{out}");
        assert!(
            alerts
                .iter()
                .any(|a| a["detail"].as_str().expect("str").contains("faster than")),
            "{out}"
        );
        // A landmark that saw forged responses for a chip reports them: tampering.
        let spoofed = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        srv.enrol_chip("GPU-SPOOF", &spoofed).await;
        let mut m = measure(&sin, "GPU-SPOOF", &spoofed, 1.0, 0).measurement;
        m.rejections.forged = 3;
        let (_, out) = srv.post_measurement(&m.sign(&sin.key)).await;
        assert_eq!(out["verdict"]["verdict"], "verified");
        assert_eq!(categories(&out["alerts"]), ["tampering"]);
        // A chip enrolled two days ago that never checked in.
        store
            .enrol_chip(&ChipRecord {
                id: "GPU-SILENT".into(),
                public_key: ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519))
                    .0
                    .public_key()
                    .to_string(),
                model: "H100".into(),
                owner: "o".into(),
                site_lat: 1.3,
                site_lon: 103.8,
                site_country: "SG".into(),
                export_ref: None,
                checkin_interval_s: 86_400,
                enrolled_at: now_us() as i64 - 2 * 86_400_000_000,
            })
            .await
            .expect("enrol");
        // Reading the report changes nothing; the scheduled sweep raises the missed check-in.
        let (_, before) = srv.get("/v1/locate/alerts").await;
        let (_, again) = srv.get("/v1/locate/alerts").await;
        assert_eq!(before, again, "GET changed state");
        assert!(!before.contains("GPU-SILENT"), "{before}");
        assert_eq!(srv.svc.sweep_checkins().await.expect("sweep"), 1);
        let (st, report) = srv.get("/v1/locate/alerts").await;
        assert_eq!(st, 200);
        let report: Value = serde_json::from_str(&report).expect("json");
        let mut seen: Vec<(String, String)> = report
            .as_array()
            .expect("array")
            .iter()
            .map(|a| {
                (
                    a["chip_id"].as_str().expect("s").to_string(),
                    a["category"].as_str().expect("s").to_string(),
                )
            })
            .collect();
        seen.sort();
        let want = [
            ("GPU-CLONE", "tampering"),
            ("GPU-PEK", "diverted"),
            ("GPU-PEK", "located_elsewhere"),
            ("GPU-SILENT", "missed_checkin"),
            ("GPU-SPOOF", "tampering"),
            ("GPU-TYO", "located_elsewhere"),
        ];
        assert_eq!(seen, want.map(|(a, b)| (a.to_string(), b.to_string())));
        let (st, csv) = srv.get("/v1/locate/alerts?format=csv").await;
        assert_eq!(st, 200);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,chip_id,category,detail,measurement_id,raised_at,last_seen_at,occurrences"
        );
        assert_eq!(lines.len(), 7);
        assert!(csv.contains(",GPU-SILENT,missed_checkin,"));
        let (st, _) = srv.get("/v1/locate/alerts?format=xml").await;
        assert_eq!(st, 400);
        // Resolving removes an alert from the report.
        let first = report[0]["id"].as_i64().expect("id");
        let (st, resolved) = srv
            .post(&format!("/v1/locate/alerts/{first}/resolve"), json!({}))
            .await;
        assert_eq!(st, 200);
        // The resolution is a decision in the ledger.
        let index = resolved["ledger"]["index"].as_u64().expect("ledger index");
        let e = &store.ledger_entries(index, 1).await.expect("entry")[0];
        let e: Value = serde_json::from_str(&e.entry).expect("entry JSON");
        assert_eq!(
            (e["type"].as_str(), &e["inputs"]["alert"]),
            (Some("alert_resolution"), &json!(first))
        );
        // With the acting user and organisation.
        assert_eq!(e["inputs"]["actor"]["user"], "usr_platform_operator");
        assert_eq!(e["inputs"]["actor"]["organisation"], "org_platform");
        let (st, _) = srv
            .post(&format!("/v1/locate/alerts/{first}/resolve"), json!({}))
            .await;
        assert_eq!(st, 404);
        let (_, after) = srv.get("/v1/locate/alerts").await;
        assert_eq!(
            serde_json::from_str::<Value>(&after)
                .expect("json")
                .as_array()
                .expect("array")
                .len(),
            5
        );
    })
    .await;
}

/// Two server instances share one durable JetStream consumer and one database; every
/// measurement is stored once although some are published twice, and garbage is acked and
/// counted, not redelivered forever.
#[tokio::test]
async fn jetstream_consumers_share_a_fleet_idempotently() {
    let Ok(nats) = std::env::var("STACKPORT_TEST_NATS") else {
        eprintln!("note: STACKPORT_TEST_NATS is not set; skipping the JetStream test");
        return;
    };
    for_each_backend(|db| {
        let nats = nats.clone();
        async move {
            let store = db.open().await;
            let unique = format!("{}_{}", std::process::id(), now_us());
            let stream = format!("STACKPORT_TEST_{unique}");
            let subject = format!("test.{unique}.measurements");
            let lm = landmark("lm-sin-a", 1.29, 103.85);
            let chip = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
            let first = Server::start(store.clone()).await;
            first.enrol_landmark(&lm).await;
            first.enrol_chip("GPU-1", &chip).await;
            let mut instances = Vec::new();
            for _ in 0..2 {
                let metrics = Arc::new(Metrics::default());
                let svc = LocateService::new(store.clone(), &metrics, LocateConfig::default())
                    .expect("service");
                let task =
                    start_nats_consumer(svc, &nats, &stream, &format!("{subject}.>"), "registry")
                        .await
                        .expect("consumer");
                instances.push((metrics, task));
            }
            let client = async_nats::connect(&nats).await.expect("connect");
            let js = async_nats::jetstream::new(client);
            let mut ids = Vec::new();
            for i in 0..20 {
                let m = measure(&lm, "GPU-1", &chip, 1.0 + i as f64 * 0.01, 0);
                ids.push(m.measurement.id.to_string());
                let copies = if i % 4 == 0 { 2 } else { 1 };
                for _ in 0..copies {
                    js.publish(format!("{subject}.lm-sin-a"), m.encoded().to_vec().into())
                        .await
                        .expect("publish")
                        .await
                        .expect("ack");
                }
            }
            js.publish(format!("{subject}.lm-sin-a"), b"garbage".to_vec().into())
                .await
                .expect("publish")
                .await
                .expect("ack");
            let total = |name: &str| -> u64 {
                instances
                    .iter()
                    .map(|(m, _)| {
                        m.render_text()
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix(&format!("{name} "))
                                    .map(|v| v.trim().parse::<u64>().expect("n"))
                            })
                            .unwrap_or(0)
                    })
                    .sum()
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while total("stackport_locate_nats_acked_total") < 26
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(total("stackport_locate_nats_acked_total"), 26);
            assert_eq!(total("stackport_locate_measurements_accepted_total"), 20);
            assert_eq!(total("stackport_locate_measurements_duplicate_total"), 5);
            assert_eq!(
                total("stackport_locate_rejected_malformed_measurement_total"),
                1
            );
            let stored = store.chip_measurements("GPU-1", 0).await.expect("read");
            let mut got: Vec<String> = stored.into_iter().map(|m| m.id).collect();
            got.sort();
            ids.sort();
            assert_eq!(got, ids);
            for (_, t) in instances {
                t.abort();
            }
            let _ = js.delete_stream(&stream).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_lying_landmark_never_makes_a_chip_verified_and_is_alerted() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let srv = Server::start(store.clone()).await;
        // Honest landmarks in Tokyo, Seoul and Beijing; a liar that says it is in Singapore but
        // sits in Beijing, next to a chip licensed for Singapore that was diverted there.
        let tyo = landmark("lm-tyo", 35.68, 139.69);
        let sel = landmark("lm-sel", 37.57, 126.98);
        let pek = landmark("lm-pek", 39.90, 116.40);
        let liar = landmark("lm-liar", 1.30, 103.80);
        for l in [&tyo, &sel, &pek, &liar] {
            srv.enrol_landmark(l).await;
        }
        let chip = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        srv.enrol_chip("GPU-DIVERTED", &chip).await;
        // The attack: the liar's 1 ms round trip "proves" the chip within 100 km of Singapore.
        let (st, out) = srv
            .post_measurement(&measure(&liar, "GPU-DIVERTED", &chip, 1.0, 0))
            .await;
        assert_eq!(st, 200, "{out}");
        assert_eq!(
            out["verdict"]["verdict"], "verified",
            "without landmark round trips: {out}"
        );
        // Landmarks measure each other (the measured one answers with its own key). Round trips
        // as the real places give them: the liar is as close to Beijing, Seoul and Tokyo as
        // Beijing is, far faster than 2/3 c allows from Singapore.
        let answer = |l: &Landmark| ChipKey(l.key.0.clone());
        for (by, of, rtt) in [
            (&tyo, &liar, 25.0),
            (&sel, &liar, 12.0),
            (&pek, &liar, 1.0),
            (&tyo, &sel, 14.0),
            (&tyo, &pek, 25.0),
            (&sel, &pek, 12.0),
        ] {
            let (st, out) = srv
                .post_measurement(&measure(by, of.id, &answer(of), rtt, 0))
                .await;
            assert_eq!((st, out["status"].as_str()), (200, Some("stored")), "{out}");
            assert!(
                out["verdict"].is_null(),
                "a landmark pair has no verdict: {out}"
            );
        }
        // The liar's next measurement proves nothing: it is left out, and the chip is not
        // verified; the honest Beijing landmark then shows the chip is in China.
        let (st, out) = srv
            .post_measurement(&measure(&liar, "GPU-DIVERTED", &chip, 1.0, 0))
            .await;
        assert_eq!(st, 200, "{out}");
        assert_ne!(out["verdict"]["verdict"], "verified", "{out}");
        let (_, out) = srv
            .post_measurement(&measure(&pek, "GPU-DIVERTED", &chip, 1.0, 0))
            .await;
        assert_eq!(out["verdict"]["verdict"], "violation", "{out}");
        assert_eq!(
            out["verdict"]["landmarks_used"], 1,
            "the liar is not used: {out}"
        );
        assert!(
            categories(&out["alerts"]).contains(&"diverted".to_string()),
            "{out}"
        );
        let (st, alerts) = srv.get("/v1/locate/landmarks/alerts").await;
        assert_eq!(st, 200);
        let alerts: Value = serde_json::from_str(&alerts).expect("json");
        let flagged: Vec<&str> = alerts
            .as_array()
            .expect("array")
            .iter()
            .map(|a| a["landmark_id"].as_str().expect("id"))
            .collect();
        assert_eq!(flagged, ["lm-liar"], "{alerts}");
        assert_eq!(alerts[0]["category"], "landmark_contradiction");
        // Every verdict is in the ledger.
        let hist: Value =
            serde_json::from_str(&srv.get("/v1/locate/chips/GPU-DIVERTED/verdicts").await.1)
                .expect("json");
        for v in hist.as_array().expect("array") {
            let index = v["ledger_index"].as_u64().expect("ledger index");
            let e = &store.ledger_entries(index, 1).await.expect("entry")[0];
            let e: Value = serde_json::from_str(&e.entry).expect("entry JSON");
            assert_eq!(e["type"], "location_proof");
            assert_eq!(e["outputs"]["verdict_id"], v["id"]);
        }
    })
    .await;
}

#[tokio::test]
async fn a_crash_between_storing_and_verifying_loses_no_verdict() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let srv = Server::start(store.clone()).await;
        let (a, b) = (
            landmark("lm-sin-a", 1.29, 103.85),
            landmark("lm-sin-b", 1.35, 103.99),
        );
        srv.enrol_landmark(&a).await;
        srv.enrol_landmark(&b).await;
        let chip = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        srv.enrol_chip("GPU-1", &chip).await;
        // What a process killed after the measurement's commit and before the verdict's leaves.
        let stored_only = |m: &SignedMeasurement| stackport_store::MeasurementRecord {
            id: m.measurement.id.to_string(),
            chip_id: "GPU-1".into(),
            landmark_id: m.measurement.landmark.as_str().into(),
            min_rtt_ns: m.measurement.min_rtt_ns as i64,
            rounds: m.measurement.rounds as i64,
            count: m.measurement.count as i64,
            spoofing: 0,
            measured_at: m.measurement.measured_at_us as i64,
            received_at: now_us() as i64,
            body: m.encoded().to_vec(),
        };
        let m1 = measure(&a, "GPU-1", &chip, 1.2, 0);
        store
            .record_measurement(&stored_only(&m1))
            .await
            .expect("store");
        // Redelivery verifies it instead of calling it a duplicate.
        let (st, out) = srv.post_measurement(&m1).await;
        assert_eq!((st, out["status"].as_str()), (200, Some("stored")), "{out}");
        assert!(out["verdict"]["id"].as_i64().is_some(), "{out}");
        let (_, out) = srv.post_measurement(&m1).await;
        assert_eq!(out["status"], "duplicate", "verified now: {out}");
        // One never redelivered is verified by the start-up recovery.
        let m2 = measure(&b, "GPU-1", &chip, 1.5, 0);
        store
            .record_measurement(&stored_only(&m2))
            .await
            .expect("store");
        assert_eq!(srv.svc.recover_unverified().await.expect("recover"), 1);
        let latest = store
            .latest_verdict("GPU-1")
            .await
            .expect("read")
            .expect("verdict");
        assert_eq!(latest.measurement_id, m2.measurement.id.to_string());
        assert_eq!(latest.verdict, "verified");
        assert!(latest.ledger_index.is_some());
        assert_eq!(srv.svc.recover_unverified().await.expect("recover"), 0);
    })
    .await;
}

/// A JetStream-sized batch: every message gets its own answer in its slot, each chip one
/// verdict over all of its new measurements, committed with one ledger entry per chip that
/// names every measurement it covers; refusals do not disturb the rest.
#[tokio::test]
async fn a_batch_answers_every_message_and_commits_one_verdict_per_chip() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let srv = Server::start(store.clone()).await;
        let lms = [
            landmark("lm-sin-a", 1.29, 103.85),
            landmark("lm-sin-b", 1.35, 103.99),
            landmark("lm-sin-c", 1.44, 103.79),
        ];
        for l in &lms {
            srv.enrol_landmark(l).await;
        }
        let chips: Vec<(String, ChipKey)> = (0..4)
            .map(|i| {
                let alg = if i % 2 == 0 {
                    SignatureAlgorithm::Ed25519
                } else {
                    SignatureAlgorithm::EcdsaP384Sha384
                };
                (format!("GPU-B{i}"), ChipKey(SecretKey::generate(alg)))
            })
            .collect();
        for (id, key) in &chips {
            srv.enrol_chip(id, key).await;
        }
        // One measurement stored and verified before the batch: delivered again inside it.
        let earlier = measure(&lms[0], &chips[0].0, &chips[0].1, 1.1, 60);
        assert_eq!(srv.post_measurement(&earlier).await.0, 200);
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        let mut expect_stored = Vec::new();
        for (id, key) in &chips {
            for (k, l) in lms.iter().enumerate() {
                let m = measure(l, id, key, 1.0 + k as f64 * 0.2, 0);
                expect_stored.push((msgs.len(), id.clone(), m.measurement.id.to_string()));
                msgs.push(m.encoded().to_vec());
            }
        }
        let twice = msgs.len();
        msgs.push(msgs[0].clone());
        let again = msgs.len();
        msgs.push(earlier.encoded().to_vec());
        let garbage = msgs.len();
        msgs.push(b"not a measurement".to_vec());
        let stranger = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
        let unknown = msgs.len();
        msgs.push(
            measure(&lms[1], "GPU-404", &stranger, 1.0, 0)
                .encoded()
                .to_vec(),
        );
        // A chip's measurement signed by the wrong chip key.
        let forged = msgs.len();
        msgs.push(
            measure(&lms[2], &chips[1].0, &stranger, 1.0, 0)
                .encoded()
                .to_vec(),
        );
        let size_before = store.ledger_size().await.expect("size");
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let out = srv.svc.ingest_batch(&refs).await.expect("batch");
        assert_eq!(out.len(), msgs.len());
        let code = |i: usize| out[i].as_ref().err().map(|e| e.code());
        assert_eq!(code(garbage), Some("malformed_measurement"));
        assert_eq!(code(unknown), Some("unknown_chip"));
        assert_eq!(code(forged), Some("invalid_signature"));
        for i in [twice, again] {
            let o = out[i].as_ref().expect("duplicate is fine");
            assert_eq!(o.status, "duplicate");
            assert!(o.verdict.is_none());
        }
        let mut verdict_of = std::collections::HashMap::new();
        for (slot, chip, mid) in &expect_stored {
            let o = out[*slot].as_ref().expect("stored");
            assert_eq!((o.status.as_str(), &o.measurement_id), ("stored", mid));
            let v = o.verdict.as_ref().expect("verdict");
            assert_eq!(v.verdict, "verified", "{chip}: {v:?}");
            // The batch's three measurements and, for GPU-B0, the earlier one.
            assert_eq!(v.landmarks_used, 3);
            let first = verdict_of.entry(chip.clone()).or_insert(v.id);
            assert_eq!(*first, v.id, "one verdict per chip");
        }
        assert_eq!(verdict_of.len(), chips.len());
        // One ledger entry per chip, each naming every measurement its verdict covers.
        let size_after = store.ledger_size().await.expect("size");
        assert_eq!(size_after - size_before, chips.len() as u64);
        let entries = store
            .ledger_entries(size_before, chips.len() as u64)
            .await
            .expect("entries");
        for e in entries {
            let e: Value = serde_json::from_str(&e.entry).expect("json");
            assert_eq!(e["type"], "location_proof");
            let chip = e["inputs"]["chip"].as_str().expect("chip").to_string();
            let mut want: Vec<String> = expect_stored
                .iter()
                .filter(|(_, c, _)| *c == chip)
                .map(|(_, _, m)| m.clone())
                .collect();
            want.sort();
            assert_eq!(e["inputs"]["measurements"], json!(want), "{e}");
            assert_eq!(e["outputs"]["verdict_id"], json!(verdict_of[&chip]));
        }
        for (id, _) in &chips {
            assert!(store
                .chip_measurements(id, 0)
                .await
                .expect("read")
                .iter()
                .all(|m| !m.body.is_empty()));
            assert_eq!(
                store.verdict_history(id, 10).await.expect("read").len(),
                if id == "GPU-B0" { 2 } else { 1 }
            );
        }
        assert!(store
            .unverified_measurements(10)
            .await
            .expect("read")
            .is_empty());
        // The whole batch again: every message a no-op or the same refusal.
        let out = srv.svc.ingest_batch(&refs).await.expect("batch");
        for (slot, _, _) in &expect_stored {
            assert_eq!(out[*slot].as_ref().expect("dup").status, "duplicate");
        }
        assert_eq!(
            out[unknown].as_ref().err().map(|e| e.code()),
            Some("unknown_chip")
        );
        assert_eq!(store.ledger_size().await.expect("size"), size_after);
    })
    .await;
}
