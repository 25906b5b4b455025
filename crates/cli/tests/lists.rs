//! End-to-end tests of `stackport serve`, `lists load|diff|fetch` and `rescreen`: the real
//! binary, the real list files, real sockets on loopback, SQLite and PostgreSQL
//! (`STACKPORT_TEST_POSTGRES`).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stackport_store::testing::{for_each_backend, TestDb};
use stackport_store::ScreeningRecord;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stackport"));
    // The tests choose the database themselves.
    c.env_remove("DATABASE_URL")
        .env_remove("STACKPORT_LISTS")
        .env("RUST_LOG", "warn");
    c
}

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

/// Copies the named files of data/lists into `dir`, keeping the layout.
fn copy_lists(dir: &Path, files: &[&str]) {
    for f in files {
        let to = dir.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(lists_dir().join(f), to).unwrap();
    }
}

const CONS: &[&str] = &[
    "ofac/cons_2025-12-19/cons_prim.csv",
    "ofac/cons_2025-12-19/cons_add.csv",
    "ofac/cons_2025-12-19/cons_alt.csv",
    "ofac/cons_2025-12-19/cons_comments.csv",
];
const DPL: &str = "bis/dpl_2023-11.txt";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run stackport");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_file_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_lists(dir.path(), CONS);
    let prim = dir.path().join(CONS[0]);
    let bytes = std::fs::read(&prim).unwrap();
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    lines[5] = b"XYZ,\"BROKEN ROW\",\"individual\"\r";
    std::fs::write(&prim, lines.join(&b'\n')).unwrap();
    // A good DPL file beside it: it must not be stored either.
    copy_lists(dir.path(), &[DPL]);
    let dir = Arc::new(dir);
    for_each_backend(|db| {
        let dir = dir.clone();
        async move {
            let out = run(bin()
                .args(["lists", "load"])
                .arg(dir.path())
                .args(["--db", &db.url]));
            assert_ne!(out.code, 0, "{}", out.stdout);
            assert!(
                out.stderr.contains("cons_prim.csv:6:"),
                "names the file and the line: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains("expected 12 fields"),
                "names the reason: {}",
                out.stderr
            );
            let store = db.open().await;
            assert!(
                store.snapshots().await.unwrap().is_empty(),
                "nothing was stored"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_diff_and_rescreen() {
    let a = tempfile::tempdir().unwrap();
    copy_lists(a.path(), CONS);
    let b = tempfile::tempdir().unwrap();
    copy_lists(b.path(), CONS);
    copy_lists(b.path(), &[DPL]);
    let (a, b) = (Arc::new(a), Arc::new(b));
    for_each_backend(|db| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let out = run(bin()
                .args(["lists", "load"])
                .arg(a.path())
                .args(["--db", &db.url]));
            assert_eq!(out.code, 0, "{}", out.stderr);
            assert!(out.stdout.contains("stored snapshot #"), "{}", out.stdout);
            assert!(out.stdout.contains("cons_prim.csv"), "{}", out.stdout);

            // Loading the same files again stores nothing.
            let again = run(bin()
                .args(["lists", "load"])
                .arg(a.path())
                .args(["--db", &db.url]));
            assert_eq!(again.code, 0);
            assert!(again.stdout.contains("already stored"), "{}", again.stdout);

            // Two parties screened on snapshot A (stored as the server stores them).
            let store = db.open().await;
            assert_eq!(store.snapshots().await.unwrap().len(), 1);
            let snap_a = store.active_snapshot().await.unwrap().unwrap();
            let screener =
                stackport_screening::Screener::new(&store.load_snapshot(snap_a.id).await.unwrap());
            let mut records = vec![];
            for name in ["ABDUL MAJID SAIDI", "Zzyzx Quietly Unlisted Widgets"] {
                let q = stackport_screening::Query {
                    name: name.into(),
                    ..Default::default()
                };
                let result = screener
                    .screen(&q, 10, stackport_screening::DEFAULT_THRESHOLD)
                    .unwrap();
                records.push(ScreeningRecord {
                    party: q,
                    snapshot_id: snap_a.id,
                    result,
                });
            }
            let entry = |_: usize, s: &stackport_store::StoredScreening| {
                Ok(format!("{{\"screening\":{}}}", s.id))
            };
            store.record_screenings(&records, &entry).await.unwrap();

            let out = run(bin()
                .args(["lists", "load"])
                .arg(b.path())
                .args(["--db", &db.url]));
            assert_eq!(out.code, 0, "{}", out.stderr);

            // diff: every DPL entry is added, nothing else moved.
            let out = run(bin().args(["lists", "diff", "--db", &db.url]));
            assert_eq!(out.code, 0, "{}", out.stderr);
            let first = out.stdout.lines().next().unwrap();
            assert!(
                first.contains("665 added, 0 removed, 0 changed")
                    || first.contains(" added, 0 removed, 0 changed"),
                "{first}"
            );
            let added: Vec<&str> = out
                .stdout
                .lines()
                .skip(1)
                .filter(|l| l.starts_with("+ bis-dpl:"))
                .collect();
            assert!(added.len() > 600, "{}", out.stdout);
            assert!(out.stdout.lines().skip(1).all(|l| l.starts_with('+')));
            assert!(out.stdout.contains("ABDUL MAJID SAIDI"));
            let json_out = run(bin().args(["lists", "diff", "--json", "--db", &db.url]));
            let rows: Vec<Value> = json_out
                .stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(rows.len(), added.len());
            assert!(rows.iter().all(|r| r["change"] == "added"));

            // rescreen: the denied person now hits the DPL; the unlisted name does not.
            let out = run(bin().args(["rescreen", "--db", &db.url]));
            assert_eq!(out.code, 0, "{}", out.stderr);
            let hits: Vec<Value> = out
                .stdout
                .lines()
                .map(|l| serde_json::from_str(l).expect("JSONL"))
                .collect();
            assert!(!hits.is_empty(), "{}", out.stderr);
            assert!(
                hits.iter().all(|h| h["party_name"] == "ABDUL MAJID SAIDI"),
                "{}",
                out.stdout
            );
            assert!(hits
                .iter()
                .all(|h| h["entity"].as_str().unwrap().starts_with("bis-dpl:")
                    && h["change"] == "added"));
            assert!(
                out.stderr.contains("re-screened 2 stored parties"),
                "{}",
                out.stderr
            );
            // Idempotent: the same hits, none recorded twice.
            let again = run(bin().args(["rescreen", "--db", &db.url]));
            assert_eq!(again.stdout, out.stdout);
            assert!(
                again.stderr.contains("0 new hits recorded now"),
                "{}",
                again.stderr
            );
            let to = store.active_snapshot().await.unwrap().unwrap();
            assert_eq!(store.new_hits(to.id).await.unwrap().len(), hits.len());
        }
    })
    .await;
}

// ---- serve ----------------------------------------------------------------------------------

/// `stackport admin bootstrap` on the database `serve` opens from `workdir`.
fn bootstrap(db: &TestDb, workdir: &Path) -> Result<String, String> {
    let mut cmd = bin();
    cmd.args(["admin", "bootstrap"]).current_dir(workdir);
    if db.label() == "postgres" {
        cmd.env("DATABASE_URL", &db.url);
    }
    common::bootstrap(cmd)
}

struct Server {
    child: std::process::Child,
    base: String,
    /// Everything the server wrote to standard error.
    log: Arc<std::sync::Mutex<String>>,
}

impl Server {
    fn start(db: &TestDb, workdir: &Path) -> Self {
        let mut cmd = bin();
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .current_dir(workdir)
            .env("STACKPORT_LISTS", lists_dir())
            // The access log and the server's own debug events, to check that no secret is in them.
            .env(
                "RUST_LOG",
                "info,stackport=debug,stackport_server=debug,stackport_app=debug",
            );
        if db.label() == "postgres" {
            cmd.env("DATABASE_URL", &db.url);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start stackport serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server announces its address");
        Server { child, base, log }
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_end_to_end() {
    for_each_backend(|db| async move {
        let work = tempfile::tempdir().unwrap();
        let token = bootstrap(&db, work.path()).expect("first bootstrap");
        let again = bootstrap(&db, work.path()).expect_err("a second bootstrap is refused");
        assert!(again.contains("bootstrapped before"), "{again}");
        let server = Server::start(&db, work.path());
        if db.label() == "sqlite" {
            assert!(work.path().join("stackport-data/stackport.sqlite").is_file(), "the SQLite file is created on first start");
        }
        let c = common::authed(&token, Duration::from_secs(60));
        let base = server.base.clone();

        // Every route but health and the document needs the credential.
        let anonymous = reqwest::Client::new();
        let r = anonymous.get(format!("{base}/v1/lists")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let r = anonymous.post(format!("{base}/v1/screen")).json(&json!({"name": "x"})).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(anonymous.get(format!("{base}/v1/health")).send().await.unwrap().status(), 200);
        let me: Value = c.get(format!("{base}/v1/me")).send().await.unwrap().json().await.unwrap();
        // A user with a password and a token of its own: neither secret is in any later
        // response nor in the server's log.
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        let password = "correct horse battery staple";
        let r = c.post(format!("{base}/v1/orgs/{org}/users")).json(&json!({"email": "Officer@Example.org", "name": "An Officer", "role": "compliance officer", "password": password})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let user: Value = r.json().await.unwrap();
        assert_eq!((user["email"].as_str(), user["role"].as_str(), user["has_password"].as_bool()), (Some("officer@example.org"), Some("compliance_officer"), Some(true)), "{user}");
        let r = c.post(format!("{base}/v1/tokens")).json(&json!({"label": "officer script", "user_id": user["id"]})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let issued: Value = r.json().await.unwrap();
        let officer_token = issued["token"].as_str().unwrap().to_string();
        let officer = common::authed(&officer_token, Duration::from_secs(60));
        let me2: Value = officer.get(format!("{base}/v1/me")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me2["user"]["email"], "officer@example.org");
        let mut later = String::new();
        for url in [format!("{base}/v1/tokens"), format!("{base}/v1/orgs/{org}/users"), format!("{base}/v1/me")] {
            for client in [&c, &officer] {
                later.push_str(&client.get(&url).send().await.unwrap().text().await.unwrap());
            }
        }
        assert!(later.contains(issued["id"].as_str().unwrap()), "the token is listed by id: {later}");
        for secret in [token.as_str(), officer_token.as_str(), password, "$argon2id$"] {
            assert!(!later.contains(secret), "a secret in a response: {secret}");
        }
        let secrets = [token.clone(), officer_token.clone(), password.to_string()];
        assert_eq!((me["role"].as_str(), me["organisation"]["kind"].as_str()), (Some("admin"), Some("platform")), "{me}");

        let r: Value = c.get(format!("{base}/v1/lists")).send().await.unwrap().json().await.unwrap();
        let snaps = r["snapshots"].as_array().unwrap();
        assert_eq!(snaps.len(), 1, "the bundled snapshot is stored on first start: {r}");
        assert_eq!(snaps[0]["sources"].as_array().unwrap().len(), 11);

        let resp = c.post(format!("{base}/v1/screen")).json(&json!({"name": "HANIYA, Ismail Abdul Salah", "type": "individual"})).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let r: Value = resp.json().await.unwrap();
        assert!(r["hits"].as_array().unwrap().iter().any(|h| h["entity"] == "ofac-cons:9639"), "{r}");

        for (body, code) in [
            (json!({"name": ""}), "empty_name"),
            (json!({"name": "X".repeat(10_000)}), "name_too_long"),
            (json!({"name": "ACME", "country": "ZZZ"}), "invalid_country"),
            (json!({"name": "ACME", "type": "robot"}), "invalid_party_type"),
        ] {
            let resp = c.post(format!("{base}/v1/screen")).json(&body).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 400);
            let e: Value = resp.json().await.unwrap();
            assert_eq!(e["error"]["code"], code);
        }
        let resp = c.post(format!("{base}/v1/screen")).header("content-type", "application/json").body("not json").send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "invalid_json");

        let metrics = c.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("stackport_http_requests_total{method=\"POST\",route=\"/v1/screen\",status=\"400\"} 5"), "{metrics}");
        let doc: Value = c.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
        assert!(doc["paths"]["/v1/screen"]["post"].is_object() && doc["paths"]["/v1/lists"]["get"].is_object());

        let server_log = server.log.clone();
        let status = server.stop();
        assert!(status.success(), "graceful shutdown exits 0: {status:?}");
        // The reader thread sees the end of the stream once the process has exited.
        std::thread::sleep(Duration::from_millis(200));
        let log = server_log.lock().unwrap().clone();
        assert!(log.contains("stackport::access"), "the access log is on: {log}");
        assert!(log.contains(me["user"]["id"].as_str().unwrap()), "the access log names the user");
        for secret in &secrets {
            assert!(!log.contains(secret.as_str()), "a secret in the server's log");
        }

        // A second start finds the snapshot already stored and the results kept.
        let server = Server::start(&db, work.path());
        let r: Value = c.get(format!("{}/v1/lists", server.base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(r["snapshots"].as_array().unwrap().len(), 1, "{r}");
        assert!(server.stop().success());
        let store = if db.label() == "postgres" {
            db.open().await
        } else {
            stackport_store::open(&format!("sqlite://{}", work.path().join("stackport-data/stackport.sqlite").display())).await.unwrap()
        };
        assert_eq!(store.parties().await.unwrap().len(), 1, "one screened party stored");
    })
    .await;
}

// ---- fetch ----------------------------------------------------------------------------------

/// A minimal HTTP/1.1 file server on loopback: GET /NAME answers the mapped file, anything else 404.
fn serve_files(files: HashMap<String, PathBuf>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let path = text
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            let (status, body) = match files.get(&path) {
                Some(p) => ("200 OK", std::fs::read(p).unwrap()),
                None => ("404 Not Found", b"not here".to_vec()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

fn fixture_files() -> HashMap<String, PathBuf> {
    let l = lists_dir();
    [
        ("SDN.CSV", "ofac/sdn_2021-07-07/sdn.csv"),
        ("ADD.CSV", "ofac/sdn_2021-07-07/add.csv"),
        ("ALT.CSV", "ofac/sdn_2021-07-07/alt.csv"),
        ("SDN_COMMENTS.CSV", "ofac/sdn_2021-07-07/sdn_comments.csv"),
        ("CONS_PRIM.CSV", "ofac/cons_2025-12-19/cons_prim.csv"),
        ("CONS_ADD.CSV", "ofac/cons_2025-12-19/cons_add.csv"),
        ("CONS_ALT.CSV", "ofac/cons_2025-12-19/cons_alt.csv"),
        (
            "CONS_COMMENTS.CSV",
            "ofac/cons_2025-12-19/cons_comments.csv",
        ),
        ("consolidated.csv", "csl/consolidated_2023-11_partial.csv"),
        ("dpl.txt", DPL),
        ("consolidated.xml", "un/un_consolidated_2026-02-27.xml"),
    ]
    .into_iter()
    .map(|(name, path)| (name.to_string(), l.join(path)))
    .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn fetch_downloads_every_file_and_replaces_the_destination_only_when_all_parse() {
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("lists-current");

    // Every file served: all eleven arrive byte for byte and parse into the same entities.
    let base = serve_files(fixture_files());
    let out = run(bin()
        .args(["lists", "fetch", "--dest"])
        .arg(&dest)
        .args(["--base-url", &base]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("fetched 11 files"), "{}", out.stdout);
    let fetched = files_under(&dest);
    assert_eq!(fetched.len(), 11, "{fetched:?}");
    let sizes: Vec<u64> = fetched
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let mut want: Vec<u64> = fixture_files()
        .values()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let mut got = sizes.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let a = stackport_screening::parse::load_dir(&dest).unwrap();
    let b = stackport_screening::parse::load_dir(&lists_dir()).unwrap();
    assert_eq!(a.entities.len(), b.entities.len());
    assert!(
        stackport_screening::diff::diff(&b.entities, &a.entities).is_empty(),
        "the same entries"
    );
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no staging directory left: {leftovers:?}"
    );

    // One file missing (HTTP 404): the command fails and the previous lists stay as they were.
    let mut missing = fixture_files();
    missing.remove("dpl.txt");
    let base = serve_files(missing);
    let out = run(bin()
        .args(["lists", "fetch", "--dest"])
        .arg(&dest)
        .args(["--base-url", &base]));
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("dpl.txt") && out.stderr.contains("404"),
        "{}",
        out.stderr
    );
    assert_eq!(
        files_under(&dest),
        fetched,
        "the previous lists are untouched"
    );

    // One file arrives but does not parse: the same.
    let mut broken = fixture_files();
    let bad = work.path().join("bad_sdn.csv");
    std::fs::write(&bad, b"1,\"ONLY THREE\",\"individual\"\r\n").unwrap();
    broken.insert("SDN.CSV".into(), bad);
    let base = serve_files(broken);
    let out = run(bin()
        .args(["lists", "fetch", "--dest"])
        .arg(&dest)
        .args(["--base-url", &base]));
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("sdn.csv:1:"), "{}", out.stderr);
    assert_eq!(files_under(&dest), fetched);
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "bad_sdn.csv")
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no staging directory left: {leftovers:?}"
    );
}
