//! End to end over loopback, every party a separate process: two `stackport landmark`s, an
//! honest `stackport agent` (P-384 key), a chip behind a relay that adds real delay, an agent
//! with the wrong key (forger) and one that replays its previous answers. The registry runs
//! in-process on a fresh SQLite file. The honest chip is verified; the relayed one is not;
//! forged and replayed responses are rejected and counted; the agent refuses replayed and
//! forged challenges.

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use stackport_locate::protocol::{Challenge, ChipId, LandmarkId, LandmarkKey, SecretKey};
use stackport_server::locate::{routes, start_nats_consumer, LocateConfig, LocateService};
use stackport_server::metrics::Metrics;

const BIN: &str = env!("CARGO_BIN_EXE_stackport");

/// Site and landmarks a few hundred metres apart: on loopback every party is co-located.
const SITE: (f64, f64) = (1.3521, 103.8198);
const LM_A: (f64, f64) = (1.3521, 103.8228);
const LM_B: (f64, f64) = (1.3551, 103.8198);

fn keygen(dir: &Path, name: &str, alg: &str, program: &str) -> (String, String) {
    let path = dir.join(format!("{name}.pem"));
    let out = Command::new(BIN)
        .args([program, "--keygen", alg, "--key"])
        .arg(&path)
        .output()
        .expect("run keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        path.display().to_string(),
        String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_string(),
    )
}

struct Agent {
    child: Child,
    addr: String,
}

impl Agent {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("agent")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn agent");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read listening line");
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self { child, addr }
    }
    /// Stops the agent and returns what it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        let _ = self
            .child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
        err
    }
}

fn run_landmark(args: Vec<String>) -> (i32, Vec<Value>, String) {
    let out = Command::new(BIN)
        .arg("landmark")
        .args(&args)
        .output()
        .expect("run landmark");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line<'a>(lines: &'a [Value], chip: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["chip"] == chip)
        .unwrap_or_else(|| panic!("no line for {chip}: {lines:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landmark_agent_and_relay_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let store = stackport_store::open(&format!("sqlite://{}", d.join("registry.sqlite").display()))
        .await
        .expect("store");
    let metrics = Arc::new(Metrics::default());
    let svc =
        LocateService::new(store.clone(), &metrics, LocateConfig::default()).expect("service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::from(routes(svc.clone())))
            .await
            .expect("serve")
    });
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{base}{path}")).json(&body);
        async move {
            let r = req.send().await.expect("request");
            assert_eq!(
                r.status().as_u16(),
                201,
                "{}",
                r.text().await.unwrap_or_default()
            );
        }
    };

    let (lm_a_key, lm_a_pub) = keygen(d, "lm-a", "ed25519", "landmark");
    let (lm_b_key, lm_b_pub) = keygen(d, "lm-b", "ed25519", "landmark");
    let (chip_h_key, chip_h_pub) = keygen(d, "chip-h", "p384", "agent");
    let (chip_r_key, chip_r_pub) = keygen(d, "chip-r", "ed25519", "agent");
    let (_, chip_f_pub) = keygen(d, "chip-f", "ed25519", "agent");
    let (chip_f_wrong, _) = keygen(d, "chip-f-wrong", "ed25519", "agent");
    let (chip_p_key, chip_p_pub) = keygen(d, "chip-p", "ed25519", "agent");
    assert!(chip_h_pub.starts_with("p384:"));

    post(
        "/v1/locate/landmarks",
        json!({"id": "lm-a", "public_key": lm_a_pub, "lat": LM_A.0, "lon": LM_A.1}),
    )
    .await;
    post(
        "/v1/locate/landmarks",
        json!({"id": "lm-b", "public_key": lm_b_pub, "lat": LM_B.0, "lon": LM_B.1}),
    )
    .await;
    for (id, key) in [
        ("GPU-H", &chip_h_pub),
        ("GPU-R", &chip_r_pub),
        ("GPU-F", &chip_f_pub),
        ("GPU-P", &chip_p_pub),
    ] {
        post(
            "/v1/locate/chips",
            json!({"id": id, "public_key": key, "model": "H100-SXM5-80GB", "owner": "Example Cloud Pte Ltd",
                   "site": {"lat": SITE.0, "lon": SITE.1, "country": "SG"}}),
        )
        .await;
    }

    let pin_a = format!("lm-a={lm_a_pub}");
    let pin_b = format!("lm-b={lm_b_pub}");
    let honest = Agent::spawn(&[
        "--chip-id",
        "GPU-H",
        "--key",
        &chip_h_key,
        "--landmark-key",
        &pin_a,
        "--landmark-key",
        &pin_b,
        "--require-known",
    ]);
    let far = Agent::spawn(&["--chip-id", "GPU-R", "--key", &chip_r_key]);
    let relay = Agent::spawn(&["--relay-to", &far.addr, "--relay-delay-ms", "25"]);
    let forger = Agent::spawn(&["--chip-id", "GPU-F", "--key", &chip_f_wrong]);
    let replayer = Agent::spawn(&[
        "--chip-id",
        "GPU-P",
        "--key",
        &chip_p_key,
        "--replay-previous",
    ]);

    let args = |id: &str, key: &str, targets: &[(&str, &str, &str)]| {
        let mut v: Vec<String> = [
            "--id",
            id,
            "--key",
            key,
            "--rounds",
            "10",
            "--timeout-ms",
            "300",
            "--post",
            &base,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (chip, addr, pubkey) in targets {
            v.extend([
                "--target".into(),
                format!("{chip}={addr}"),
                "--chip-key".into(),
                format!("{chip}={pubkey}"),
            ]);
        }
        v
    };
    let a_targets = [
        ("GPU-H", honest.addr.as_str(), chip_h_pub.as_str()),
        ("GPU-R", relay.addr.as_str(), chip_r_pub.as_str()),
        ("GPU-F", forger.addr.as_str(), chip_f_pub.as_str()),
        ("GPU-P", replayer.addr.as_str(), chip_p_pub.as_str()),
    ];
    let b_targets = [
        ("GPU-H", honest.addr.as_str(), chip_h_pub.as_str()),
        ("GPU-R", relay.addr.as_str(), chip_r_pub.as_str()),
    ];
    let (code_a, lines_a, err_a) = tokio::task::spawn_blocking({
        let a = args("lm-a", &lm_a_key, &a_targets);
        move || run_landmark(a)
    })
    .await
    .expect("landmark a");
    let (code_b, lines_b, err_b) = tokio::task::spawn_blocking({
        let a = args("lm-b", &lm_b_key, &b_targets);
        move || run_landmark(a)
    })
    .await
    .expect("landmark b");
    assert_eq!(
        code_a, 1,
        "lm-a fails for the forger's chip: {lines_a:?} {err_a}"
    );
    assert_eq!(code_b, 0, "{lines_b:?} {err_b}");

    // Honest chip: fast, every round accepted, verified once both landmarks have reported.
    for lines in [&lines_a, &lines_b] {
        let h = line(lines, "GPU-H");
        assert_eq!(h["count"], 10, "{h}");
        assert_eq!(h["posted"]["status"], 200, "{h}");
        assert!(h["min_rtt_ms"].as_f64().expect("rtt") < 20.0, "{h}");
    }
    assert_eq!(
        line(&lines_b, "GPU-H")["posted"]["response"]["verdict"]["verdict"],
        "verified",
        "{lines_b:?}"
    );

    // Relayed chip: its signatures are genuine but the relay's delay shows; never verified.
    for lines in [&lines_a, &lines_b] {
        let r = line(lines, "GPU-R");
        assert!(r["min_rtt_ms"].as_f64().expect("rtt") >= 50.0, "{r}");
        assert_eq!(r["posted"]["status"], 200, "{r}");
        assert_ne!(
            r["posted"]["response"]["verdict"]["verdict"], "verified",
            "{r}"
        );
    }

    // Forger: every response rejected as forged, nothing measured.
    let f = line(&lines_a, "GPU-F");
    assert_eq!(f["error"], "no valid response", "{f}");
    assert_eq!(f["rejections"]["forged"], 10, "{f}");

    // Replayer: its own answers count, each re-sent old answer is a counted replay, and the
    // registry raises a tampering alert.
    let p = line(&lines_a, "GPU-P");
    assert_eq!(p["count"], 10, "{p}");
    assert_eq!(p["rejections"]["replayed"], 9, "{p}");
    assert_eq!(p["posted"]["status"], 200, "{p}");
    let alerts = p["posted"]["response"]["alerts"]
        .as_array()
        .expect("alerts");
    assert!(alerts.iter().any(|a| a["category"] == "tampering"), "{p}");

    let status = |id: &str| {
        let url = format!("{base}/v1/locate/chips/{id}");
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(
        status("GPU-H").await["latest_verdict"]["verdict"],
        "verified"
    );
    assert_eq!(
        status("GPU-R").await["latest_verdict"]["verdict"],
        "inconclusive"
    );
    assert!(status("GPU-F").await["latest_verdict"].is_null());

    // The agent's own rules: a challenge sent twice is answered once; a challenge claiming
    // lm-a but signed by another key is refused.
    let lm_a = LandmarkKey(
        SecretKey::from_pkcs8_pem(&std::fs::read_to_string(&lm_a_key).expect("read")).expect("pem"),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64;
    let challenge = |key: &LandmarkKey, seq: u64| {
        Challenge {
            landmark: LandmarkId::new("lm-a").expect("id"),
            chip: ChipId::new("GPU-H").expect("id"),
            nonce: rand::random(),
            issued_at_us: now,
            seq,
        }
        .sign(key)
    };
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 1024];
    let fresh = challenge(&lm_a, u64::MAX - 1);
    sock.send_to(fresh.encoded(), &honest.addr).expect("send");
    assert!(sock.recv(&mut buf).is_ok(), "fresh challenge answered");
    sock.send_to(fresh.encoded(), &honest.addr).expect("send");
    assert!(
        sock.recv(&mut buf).is_err(),
        "replayed challenge must not be answered"
    );
    let impostor = LandmarkKey(SecretKey::generate(
        stackport_locate::protocol::SignatureAlgorithm::Ed25519,
    ));
    sock.send_to(challenge(&impostor, u64::MAX).encoded(), &honest.addr)
        .expect("send");
    assert!(
        sock.recv(&mut buf).is_err(),
        "forged challenge must not be answered"
    );
    let honest_log = honest.stop();
    assert!(honest_log.contains("refused replayed"), "{honest_log}");
    assert!(honest_log.contains("refused forged"), "{honest_log}");

    // Landmark → NATS JetStream → registry, when the test NATS server is configured.
    if let Ok(nats) = std::env::var("STACKPORT_TEST_NATS") {
        let unique = format!("{}_{}", std::process::id(), now);
        let subject = format!("test.{unique}.m");
        let consumer_metrics = Metrics::default();
        let consumer_svc =
            LocateService::new(store.clone(), &consumer_metrics, LocateConfig::default())
                .expect("service");
        let task = start_nats_consumer(
            consumer_svc,
            &nats,
            &format!("STACKPORT_E2E_{unique}"),
            &format!("{subject}.>"),
            "registry",
        )
        .await
        .expect("consumer");
        let before = store
            .chip_measurements("GPU-R", 0)
            .await
            .expect("read")
            .len();
        let mut a = args(
            "lm-b",
            &lm_b_key,
            &[("GPU-R", relay.addr.as_str(), chip_r_pub.as_str())],
        );
        let at = a.iter().position(|s| s == "--post").expect("post flag");
        a.drain(at..at + 2);
        a.extend([
            "--nats".into(),
            nats.clone(),
            "--nats-subject".into(),
            subject.clone(),
        ]);
        let (code, lines, err) = tokio::task::spawn_blocking(move || run_landmark(a))
            .await
            .expect("landmark");
        assert_eq!(code, 0, "{lines:?} {err}");
        assert_eq!(
            line(&lines, "GPU-R")["published"]["subject"],
            format!("{subject}.lm-b")
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while store
            .chip_measurements("GPU-R", 0)
            .await
            .expect("read")
            .len()
            == before
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            store
                .chip_measurements("GPU-R", 0)
                .await
                .expect("read")
                .len(),
            before + 1
        );
        task.abort();
        // Leave the shared NATS server as it was.
        let js = async_nats::jetstream::new(async_nats::connect(&nats).await.expect("connect"));
        js.delete_stream(format!("STACKPORT_E2E_{unique}"))
            .await
            .expect("delete test stream");
    } else {
        eprintln!("note: STACKPORT_TEST_NATS is not set; skipping the landmark → JetStream leg");
    }
    for a in [far, relay, forger, replayer] {
        a.stop();
    }
}
