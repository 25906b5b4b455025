//! Crash safety of `stackport serve` itself (issue 10, item 7): SIGKILL in the middle of a
//! stream of screenings, determinations and chip measurements, then a restart. Every request
//! answered 2xx has its row and its ledger entry, the ledger verifies, and service continues;
//! on SQLite and PostgreSQL.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stackport_locate::protocol::{
    ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, MeasurementId, SecretKey,
    SessionConfig, SignatureAlgorithm,
};
use stackport_store::testing::{for_each_backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_stackport");

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

/// `stackport admin bootstrap --db URL`: the admin's token.
fn bootstrap(url: &str) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["admin", "bootstrap", "--db", url])
        .env_remove("DATABASE_URL");
    common::bootstrap(cmd).expect("admin bootstrap")
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &TestDb, data: &Path) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("STACKPORT_LISTS", lists_dir())
            .env_remove("STACKPORT_NATS_URL")
            .env_remove("DATABASE_URL");
        if db.label() == "postgres" {
            cmd.env("DATABASE_URL", &db.url);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start stackport serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(180))
            .expect("the server announces its address");
        Server { child, base }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

/// What the server acknowledged before it died.
#[derive(Default)]
struct Acked {
    /// (party, screening id, ledger index, leaf hash)
    screenings: Vec<(String, i64, u64, String)>,
    /// (ledger index, leaf hash)
    determinations: Vec<(u64, String)>,
    /// (measurement id, verdict id)
    measurements: Vec<(String, Option<i64>)>,
}

struct Landmark {
    id: &'static str,
    key: LandmarkKey,
}

fn measurement(lm: &Landmark, chip: &ChipKey, rtt_ms: f64) -> Vec<u8> {
    let mut s = LandmarkSession::new(
        LandmarkId::new(lm.id).expect("id"),
        ChipId::new("GPU-CRASH").expect("id"),
        chip.0.public_key(),
        now_us(),
        SessionConfig {
            rounds: 1,
            timeout_ns: 1_000_000_000,
        },
    );
    let c = s
        .issue(&lm.key, rand::random(), now_us())
        .expect("round")
        .clone();
    s.mark_sent(0).expect("sent");
    let r = c.respond(chip).expect("sign");
    s.on_response(r.encoded(), (rtt_ms * 1e6) as u64);
    s.finish(&lm.key, MeasurementId::random(), now_us())
        .expect("answered")
        .encoded()
        .to_vec()
}

async fn client_loop(
    base: String,
    token: String,
    who: usize,
    lm: Arc<Landmark>,
    chip: Arc<ChipKey>,
    acked: Arc<Mutex<Acked>>,
) {
    let http = common::authed(&token, Duration::from_secs(10));
    for i in 0.. {
        let r = match i % 3 {
            0 => {
                let body =
                    json!({"name": format!("Crash Test Trading {who}-{i} LLC"), "country": "AE"});
                http.post(format!("{base}/v1/screen"))
                    .json(&body)
                    .send()
                    .await
            }
            1 => {
                let body = json!({"id": format!("{who}-{i}"), "date": "2026-03-01", "item": {"catalog": "nvidia-h200"},
                    "destination": "AE", "end_user": {"name": "Buyer", "hq_country": "AE"}});
                http.post(format!("{base}/v1/determine"))
                    .json(&body)
                    .send()
                    .await
            }
            _ => {
                let bytes = measurement(&lm, &chip, 1.2);
                http.post(format!("{base}/v1/locate/measurements"))
                    .header("content-type", "application/octet-stream")
                    .body(bytes)
                    .send()
                    .await
            }
        };
        // The server is gone: stop. Anything not answered 2xx was not acknowledged.
        let Ok(r) = r else { return };
        if !r.status().is_success() {
            continue;
        }
        let Ok(v) = r.json::<Value>().await else {
            return;
        };
        let mut a = acked.lock().expect("lock");
        match i % 3 {
            0 => a.screenings.push((
                v["party"].as_str().expect("party").to_string(),
                v["screening"].as_i64().expect("screening"),
                v["ledger"]["index"].as_u64().expect("index"),
                v["ledger"]["leaf_hash"].as_str().expect("hash").to_string(),
            )),
            1 => a.determinations.push((
                v["ledger"]["index"].as_u64().expect("index"),
                v["ledger"]["leaf_hash"].as_str().expect("hash").to_string(),
            )),
            _ => a.measurements.push((
                v["measurement_id"].as_str().expect("id").to_string(),
                v["verdict"]["id"].as_i64(),
            )),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_serve_loses_no_acknowledged_write() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let db_url = if db.label() == "postgres" {
            db.url.clone()
        } else {
            std::fs::create_dir_all(&data).expect("data dir");
            format!("sqlite://{}", data.join("stackport.sqlite").display())
        };
        let token = bootstrap(&db_url);
        let server = Server::start(&db, &data);
        let http = common::authed(&token, Duration::from_secs(30));
        let lm = Arc::new(Landmark {
            id: "lm-sin",
            key: LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519)),
        });
        let chip = Arc::new(ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519)));
        for (path, body) in [
            ("/v1/locate/landmarks", json!({"id": lm.id, "public_key": lm.key.0.public_key().to_string(), "lat": 1.29, "lon": 103.85})),
            ("/v1/locate/chips", json!({"id": "GPU-CRASH", "public_key": chip.0.public_key().to_string(), "model": "H100", "owner": "o",
                "site": {"lat": 1.3521, "lon": 103.8198, "country": "SG"}})),
        ] {
            let r = http.post(format!("{}{path}", server.base)).json(&body).send().await.expect("enrol");
            assert_eq!(r.status().as_u16(), 201);
        }
        let acked = Arc::new(Mutex::new(Acked::default()));
        let clients: Vec<_> = (0..12)
            .map(|who| tokio::spawn(client_loop(server.base.clone(), token.clone(), who, lm.clone(), chip.clone(), acked.clone())))
            .collect();
        // Let the stream run, then kill the server mid-stream.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let a = acked.lock().expect("lock");
            if a.screenings.len() >= 20 && a.determinations.len() >= 20 && a.measurements.len() >= 20 {
                break;
            }
        }
        server.kill();
        for c in clients {
            c.await.expect("client");
        }
        let acked = std::mem::take(&mut *acked.lock().expect("lock"));
        assert!(
            acked.screenings.len() >= 20 && acked.determinations.len() >= 20 && acked.measurements.len() >= 20,
            "too few requests before the kill: {} {} {}",
            acked.screenings.len(),
            acked.determinations.len(),
            acked.measurements.len()
        );

        eprintln!(
            "{}: acknowledged before SIGKILL: {} screenings, {} determinations, {} measurements",
            db.label(),
            acked.screenings.len(),
            acked.determinations.len(),
            acked.measurements.len()
        );
        // Restart on the same database; service continues.
        let server = Server::start(&db, &data);
        let base = server.base.clone();
        let url = if db.label() == "postgres" {
            db.url.clone()
        } else {
            format!("sqlite://{}", data.join("stackport.sqlite").display())
        };
        let store = stackport_store::open(&url).await.expect("store");
        for (party, screening, index, hash) in &acked.screenings {
            assert!(
                store.screenings(party).await.expect("read").iter().any(|s| s.id == *screening),
                "screening {screening} of {party} was acknowledged and is gone"
            );
            let e: Value = http.get(format!("{base}/v1/ledger/entries/{index}")).send().await.expect("entry").json().await.expect("json");
            assert_eq!(e["leaf_hash"].as_str(), Some(hash.as_str()), "ledger entry {index}");
        }
        for (index, hash) in &acked.determinations {
            let e: Value = http.get(format!("{base}/v1/ledger/entries/{index}")).send().await.expect("entry").json().await.expect("json");
            assert_eq!(e["leaf_hash"].as_str(), Some(hash.as_str()), "ledger entry {index}");
        }
        let stored = store.chip_measurements("GPU-CRASH", 0).await.expect("read");
        let verdicts = store.verdict_history("GPU-CRASH", 1_000_000).await.expect("read");
        for (id, verdict) in &acked.measurements {
            assert!(stored.iter().any(|m| &m.id == id), "measurement {id} was acknowledged and is gone");
            if let Some(v) = verdict {
                assert!(verdicts.iter().any(|r| r.id == *v && r.ledger_index.is_some()), "verdict {v} of {id}");
            }
        }
        // Measurements stored before the kill but not verified were verified at start-up.
        assert!(store.unverified_measurements(10).await.expect("read").is_empty());
        let r = http
            .post(format!("{base}/v1/screen"))
            .json(&json!({"name": "After The Crash Ltd"}))
            .send()
            .await
            .expect("screen after restart");
        assert_eq!(r.status().as_u16(), 200);
        server.kill();
        // The ledger verifies, end to end, from another process.
        let out = Command::new(BIN)
            .args(["ledger", "verify", "--db", &url, "--data-dir"])
            .arg(&data)
            .output()
            .expect("ledger verify");
        assert!(
            out.status.success(),
            "ledger verify: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    })
    .await;
}
