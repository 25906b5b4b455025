//! Program proposals end to end: the real server on a loopback socket, the bundled list
//! snapshot and rulebook, the sample proposals of `../shared/eval/proposals`, on SQLite and on
//! PostgreSQL (`STACKPORT_TEST_POSTGRES`). Each review is stored and in the ledger (its leaf
//! proves into a signed checkpoint); bad input is a 400 with the failing path and stores
//! nothing; a new list snapshot re-reviews only the proposals whose parties it hits, and a new
//! rule version re-decides stored reviews at start-up.

mod common;

use stackport_identity::{OrgKind, Role};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use stackport_ledger::checkpoint::Checkpoint;
use stackport_ledger::merkle::{self, Hash};
use stackport_ledger::note::VerifierKey;
use stackport_server::error::PROBLEM_CODES;
use stackport_server::{app, ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;
use stackport_store::{sha256_hex, ReviewedProposal, Storage};

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/proposals")
}

/// The sample proposals, by file name order, with their expected lines.
fn samples() -> Vec<(String, Value)> {
    let expected: Vec<Value> = std::fs::read_to_string(samples_dir().join("expected.jsonl"))
        .expect("expected.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with('S') && n.ends_with(".json")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the sample set is there");
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            let exp = expected
                .iter()
                .find(|e| e["id"] == id.as_str())
                .unwrap_or_else(|| panic!("{id} in expected.jsonl"))
                .clone();
            (text, exp)
        })
        .collect()
}

fn sample(id: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(samples_dir().join(format!("{id}.json"))).unwrap(),
    )
    .unwrap()
}

/// A running server: its base URL and its data directory (the ledger's keys).
struct Running {
    /// A consortium's compliance officer (submits proposals).
    token: String,
    /// The platform's admin (reads the ledger, refreshes the lists).
    admin: String,
    base: String,
    data: Arc<tempfile::TempDir>,
}

async fn start(
    store: Arc<dyn Storage>,
    lists: Option<PathBuf>,
    data: Option<Arc<tempfile::TempDir>>,
) -> Running {
    let data = data.unwrap_or_else(|| Arc::new(tempfile::tempdir().unwrap()));
    let config = ServerConfig {
        data_dir: data.path().to_path_buf(),
        bundled_lists: lists,
        rulebook_dir: None,
    };
    let ctx = ServerContext::new(store, config)
        .await
        .expect("server context");
    let token = common::token_for(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await;
    let admin = common::admin_token(&ctx).await;
    let router = app(ctx).await.expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Running {
        token,
        admin,
        base: format!("http://{addr}"),
        data,
    }
}

async fn post_text(c: &reqwest::Client, url: String, body: String) -> (u16, Value) {
    let r = c
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// GET with an Accept header: status, content type, body text.
async fn get_as(c: &reqwest::Client, url: String, accept: &str) -> (u16, String, String) {
    let r = c.get(url).header("accept", accept).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

/// Checks that the ledger entry at `index` is this proposal's review and that its leaf proves
/// into the signed checkpoint, trusting only the log's public key.
async fn check_ledger(
    c: &reqwest::Client,
    server: &Running,
    index: u64,
    id: &str,
    review_text: &str,
) -> Value {
    let base = &server.base;
    let _ = c;
    let (s, entry) = get(
        &common::client(&server.admin),
        format!("{base}/v1/ledger/entries/{index}"),
    )
    .await;
    assert_eq!(s, 200, "{entry}");
    let canonical = entry["canonical"].as_str().unwrap();
    let leaf = merkle::leaf_hash(canonical.as_bytes());
    assert_eq!(
        leaf,
        Hash::from_hex(entry["leaf_hash"].as_str().unwrap()).unwrap()
    );
    let recorded = &entry["entry"];
    assert_eq!(recorded["type"], "proposal_review");
    assert_eq!(recorded["inputs"]["proposal"], id);
    let out = &recorded["outputs"]["proposal_review"];
    assert_eq!(out["review_sha256"], sha256_hex(review_text).as_str());
    let review: Value = serde_json::from_str(review_text).unwrap();
    assert_eq!(out["verdict"], review["verdict"]);
    assert_eq!(out["rulebook"], review["versions"]["rulebook"]);
    assert_eq!(out["program_rules"], review["versions"]["program_rules"]);
    assert!(recorded["versions"]["rules"]
        .as_str()
        .unwrap()
        .contains(review["versions"]["rulebook"].as_str().unwrap()));
    assert_eq!(recorded["versions"]["lists"].as_str().unwrap().len(), 64);

    let key = VerifierKey::parse(
        std::fs::read_to_string(server.data.path().join("ledger-verifier.pub"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let note = c
        .get(format!("{base}/v1/ledger/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cp = Checkpoint::open(&note, &key).unwrap();
    let (s, proof) = get(
        c,
        format!(
            "{base}/v1/ledger/proof/inclusion?index={index}&size={}",
            cp.size
        ),
    )
    .await;
    assert_eq!(s, 200, "{proof}");
    merkle::verify_inclusion(index, cp.size, &leaf, &hashes(&proof["proof"]), &cp.root).unwrap();
    recorded.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_proposals_are_reviewed_stored_recorded_and_served() {
    let samples = Arc::new(samples());
    for_each_backend(|db| {
        let samples = samples.clone();
        async move {
            let store = db.open().await;
            let server = start(store.clone(), Some(lists_dir()), None).await;
            let c = common::client(&server.token);
            let base = server.base.clone();

            let mut receipts = Vec::new();
            for (text, exp) in samples.iter() {
                let id = exp["id"].as_str().unwrap();
                let r = c
                    .post(format!("{base}/v1/proposals"))
                    .header("content-type", "application/json")
                    .body(text.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201, "{id}");
                assert_eq!(
                    r.headers()["location"].to_str().unwrap(),
                    format!("/v1/proposals/{id}")
                );
                let review: Value = r.json().await.unwrap();
                assert_eq!(review["id"], id);
                assert_eq!(
                    review["verdict"], exp["verdict"],
                    "{id}: {}",
                    review["summary"]
                );
                let mut failed: Vec<&str> = review["eligibility"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["passed"] == false)
                    .map(|c| c["check"].as_str().unwrap())
                    .collect();
                failed.sort();
                let mut want: Vec<&str> = exp["failed_checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap())
                    .collect();
                want.sort();
                assert_eq!(failed, want, "{id}");
                for (party, status) in exp["parties"].as_object().unwrap() {
                    let got = review["parties"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| p["party"] == party.as_str())
                        .unwrap_or_else(|| panic!("{id}: party {party}"));
                    assert_eq!(&got["status"], status, "{id} {party}");
                }
                let index = review["ledger"]["index"].as_u64().expect("ledger receipt");
                assert_eq!(review["ledger"]["leaf_hash"].as_str().unwrap().len(), 64);
                receipts.push((id.to_string(), index, review));
            }

            // The list, by id, a page at a time.
            let (s, all) = get(&c, format!("{base}/v1/proposals")).await;
            assert_eq!(s, 200, "{all}");
            let lines = all["proposals"].as_array().unwrap();
            assert_eq!(lines.len(), samples.len());
            assert!(all["next_after"].is_null());
            let mut ids: Vec<&str> = receipts.iter().map(|(id, _, _)| id.as_str()).collect();
            ids.sort();
            assert_eq!(
                lines
                    .iter()
                    .map(|l| l["id"].as_str().unwrap())
                    .collect::<Vec<_>>(),
                ids
            );
            for l in lines {
                let (_, _, rv) = receipts
                    .iter()
                    .find(|(id, _, _)| l["id"] == id.as_str())
                    .unwrap();
                assert_eq!(l["verdict"], rv["verdict"]);
                assert_eq!(l["ledger_index"], rv["ledger"]["index"]);
                assert!(l["updated_at"].as_str().unwrap().ends_with('Z'));
            }
            let (_, p1) = get(&c, format!("{base}/v1/proposals?limit=4")).await;
            assert_eq!(p1["proposals"].as_array().unwrap().len(), 4);
            let after = p1["next_after"].as_str().unwrap();
            assert_eq!(after, ids[3]);
            let (_, p2) = get(&c, format!("{base}/v1/proposals?limit=4&after={after}")).await;
            assert_eq!(p2["proposals"][0]["id"], ids[4]);
            let (s, e) = get(&c, format!("{base}/v1/proposals?limit=0")).await;
            assert_eq!((s, code(&e)), (400, "invalid_request"));

            // Each review: in JSON exactly as the ledger's digest says, in the ledger, and in
            // the other forms.
            for (id, index, posted) in &receipts {
                let (s, ct, text) = get_as(
                    &c,
                    format!("{base}/v1/proposals/{id}/review"),
                    "application/json",
                )
                .await;
                assert_eq!(s, 200);
                assert!(ct.starts_with("application/json"), "{ct}");
                let mut without_receipt = posted.clone();
                without_receipt.as_object_mut().unwrap().remove("ledger");
                assert_eq!(
                    serde_json::from_str::<Value>(&text).unwrap(),
                    without_receipt
                );
                let recorded = check_ledger(&c, &server, *index, id, &text).await;
                assert_eq!(recorded["inputs"]["trigger"], "submitted");

                let (s, one) = get(&c, format!("{base}/v1/proposals/{id}")).await;
                assert_eq!(s, 200, "{one}");
                assert_eq!(one["input"]["id"], id.as_str());
                assert_eq!(one["review"], without_receipt);
                assert_eq!(one["ledger"], posted["ledger"]);
                assert_eq!(one["review_sha256"], sha256_hex(&text).as_str());
                assert_eq!(one["list_snapshot"], one["checked_snapshot"]);
            }
            let (id, _, posted) = &receipts[0];
            let (s, ct, html) =
                get_as(&c, format!("{base}/v1/proposals/{id}/review"), "text/html").await;
            assert_eq!(s, 200);
            assert!(ct.starts_with("text/html"), "{ct}");
            assert!(
                html.contains(id.as_str()) && html.contains(posted["verdict"].as_str().unwrap()),
                "{html}"
            );
            let (s, ct, md) = get_as(
                &c,
                format!("{base}/v1/proposals/{id}/review"),
                "text/markdown, text/html;q=0.5",
            )
            .await;
            assert_eq!(s, 200);
            assert!(ct.starts_with("text/markdown"), "{ct}");
            assert!(
                md.contains(id.as_str()) && md.contains(posted["verdict"].as_str().unwrap()),
                "{md}"
            );
            let (s, ct, bom) = get_as(
                &c,
                format!("{base}/v1/proposals/{id}/review"),
                "application/vnd.cyclonedx+json",
            )
            .await;
            assert_eq!(s, 200);
            assert!(ct.starts_with("application/vnd.cyclonedx+json"), "{ct}");
            let bom: Value = serde_json::from_str(&bom).unwrap();
            assert_eq!(bom["bomFormat"], "CycloneDX");
            assert_eq!(bom["specVersion"], "1.6");
            let meta = bom["metadata"]["properties"].as_array().unwrap();
            let prop = |n: &str| {
                meta.iter()
                    .find(|p| p["name"] == n)
                    .map(|p| p["value"].clone())
            };
            assert_eq!(
                prop("stackport:review:verdict"),
                Some(posted["verdict"].clone())
            );
            assert_eq!(
                prop("stackport:review:rulebook"),
                Some(posted["versions"]["rulebook"].clone())
            );
            assert!(bom["components"][0]["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "stackport:review:eccn"));
            let (s, _, body) =
                get_as(&c, format!("{base}/v1/proposals/{id}/review"), "image/png").await;
            assert_eq!(s, 406, "{body}");
            assert_eq!(
                code(&serde_json::from_str(&body).unwrap()),
                "not_acceptable"
            );
            let (s, r) = get(&c, format!("{base}/v1/proposals/{id}/reevaluations")).await;
            assert_eq!(s, 200);
            assert_eq!(r["reevaluations"], json!([]));
            for path in ["", "/review", "/reevaluations"] {
                let (s, e) = get(&c, format!("{base}/v1/proposals/NOPE{path}")).await;
                assert_eq!((s, code(&e)), (404, "not_found"), "{path}");
            }

            // Bad input: a 400 with the stable code and the failing path; nothing stored.
            let size = store.ledger_size().await.unwrap();
            // (what, body, problem code, path; for a body that is not JSON, where it stops)
            let mut bad: Vec<(&str, String, &str, &str)> = vec![(
                "not JSON",
                "{\"id\": \"BAD0\", ".to_string(),
                "invalid_json",
                "line 1 column 15",
            )];
            let mut unknown_member = sample("S01");
            unknown_member["id"] = json!("BAD1");
            unknown_member["sites"][0]["operator"] = json!("m99");
            bad.push((
                "unknown member",
                unknown_member.to_string(),
                "unknown_member",
                "sites[0].operator",
            ));
            let mut share = sample("S01");
            share["id"] = json!("BAD2");
            share["consortium"]["members"][1]["owners"] =
                json!([{"name": "Big Holder", "country": "US", "percent": 150}]);
            bad.push((
                "share above 100",
                share.to_string(),
                "invalid_share",
                "consortium.members[1].owners[0].percent",
            ));
            let mut country = sample("S01");
            country["id"] = json!("BAD3");
            country["consortium"]["members"][0]["country"] = json!("XX");
            bad.push((
                "unknown country",
                country.to_string(),
                "unknown_country",
                "consortium.members[0].country",
            ));
            for (what, body, problem, path) in &bad {
                let (s, e) = post_text(&c, format!("{base}/v1/proposals"), body.clone()).await;
                assert_eq!((s, code(&e)), (400, "invalid_proposal"), "{what}: {e}");
                let problems = e["error"]["problems"].as_array().unwrap();
                assert!(
                    problems.iter().any(|p| p["code"] == *problem
                        && (p["path"] == *path
                            || (*problem == "invalid_json"
                                && p["message"].as_str().unwrap().contains(path)))),
                    "{what}: {e}"
                );
                for p in problems {
                    let c = p["code"].as_str().unwrap();
                    assert!(
                        PROBLEM_CODES.iter().any(|(k, _)| *k == c),
                        "{c} is in the table"
                    );
                }
            }
            for id in ["BAD0", "BAD1", "BAD2", "BAD3"] {
                let (s, _) = get(&c, format!("{base}/v1/proposals/{id}")).await;
                assert_eq!(s, 404, "{id} was not stored");
            }
            let (_, after_bad) = get(&c, format!("{base}/v1/proposals")).await;
            assert_eq!(after_bad["proposals"], all["proposals"]);
            assert_eq!(store.ledger_size().await.unwrap(), size, "nothing appended");

            // Submitted again under the same id: replaced, created time kept.
            let (_, before) = get(&c, format!("{base}/v1/proposals/{id}")).await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let text = samples
                .iter()
                .find(|(_, e)| e["id"] == id.as_str())
                .unwrap()
                .0
                .clone();
            let (s, again) = post_text(&c, format!("{base}/v1/proposals"), text).await;
            assert_eq!(s, 201);
            let (_, now) = get(&c, format!("{base}/v1/proposals/{id}")).await;
            assert_eq!(now["created_at"], before["created_at"]);
            assert_ne!(now["updated_at"], before["updated_at"]);
            assert_eq!(now["ledger"], again["ledger"]);
            assert!(again["ledger"]["index"].as_u64() > before["ledger"]["index"].as_u64());

            // Packages on their own.
            let package = sample("S01")["package"].clone();
            let (s, v) = post_text(
                &c,
                format!("{base}/v1/packages/validate"),
                package.to_string(),
            )
            .await;
            assert_eq!((s, v.clone()), (200, json!({"valid": true})));
            let mut no_layer = package.clone();
            no_layer["components"][1]["properties"] =
                json!([{"name": "stackport:supplier", "value": "m2"}]);
            let (s, e) = post_text(
                &c,
                format!("{base}/v1/packages/validate"),
                no_layer.to_string(),
            )
            .await;
            assert_eq!((s, code(&e)), (422, "invalid_package"), "{e}");
            let p = &e["error"]["problems"][0];
            assert_eq!(p["code"], "missing_layer", "{e}");
            assert_eq!(p["bom_ref"], "data-1");
            assert_eq!(p["path"], "$.components[1]");
            let (s, e) = post_text(
                &c,
                format!("{base}/v1/packages/validate"),
                "not json".into(),
            )
            .await;
            assert_eq!((s, code(&e)), (400, "invalid_json"), "{e}");

            // The OpenAPI document declares every route.
            let (_, doc) = get(&c, format!("{base}/openapi.json")).await;
            for path in [
                "/v1/proposals",
                "/v1/proposals/{id}",
                "/v1/proposals/{id}/review",
                "/v1/proposals/{id}/reevaluations",
                "/v1/packages/validate",
            ] {
                assert!(
                    doc["paths"][path].is_object(),
                    "{path} in the OpenAPI document"
                );
            }
            assert!(doc["paths"]["/v1/proposals"]["post"]["responses"]["400"].is_object());
            assert!(doc["paths"]["/v1/packages/validate"]["post"]["responses"]["422"].is_object());
            assert!(doc["components"]["schemas"]["ProblemDto"].is_object());
        }
    })
    .await;
}

/// An OFAC SDN legacy CSV with one entity (ent_num, name, type `-0- ` = entity, program).
fn sdn_csv(ent_num: u32, name: &str) -> String {
    format!("{ent_num},\"{name}\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_snapshot_reevaluates_only_the_proposals_it_hits() {
    // Snapshot B: the bundled lists and one new SDN entry named after a member of R1.
    let b = Arc::new(tempfile::tempdir().unwrap());
    std::os::unix::fs::symlink(lists_dir(), b.path().join("bundled")).unwrap();
    let extra = b.path().join("extra/sdn_2026-01-15");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("sdn.csv"),
        sdn_csv(990001, "ZEPHYRINE QUANTUM HOLDINGS LTD"),
    )
    .unwrap();
    for_each_backend(|db| {
        let b = b.clone();
        async move {
            let store = db.open().await;
            let server = start(store.clone(), Some(lists_dir()), None).await;
            let c = common::client(&server.token);
            let base = server.base.clone();

            let mut r1 = sample("S01");
            r1["id"] = json!("R1");
            r1["consortium"]["members"][1]["name"] = json!("Zephyrine Quantum Holdings Ltd");
            let mut posted = Vec::new();
            for body in [sample("S01"), sample("S02"), r1] {
                let (s, r) = post_text(&c, format!("{base}/v1/proposals"), body.to_string()).await;
                assert_eq!(s, 201, "{r}");
                posted.push(r);
            }
            assert_eq!(posted[2]["verdict"], "clear", "R1's members are clear on A");
            let (_, before) = get(&c, format!("{base}/v1/proposals")).await;
            let snapshot_a = before["proposals"][0]["list_snapshot"].as_i64().unwrap();

            let snap_b = stackport_screening::parse::load_dir(b.path()).unwrap();
            let info_b = store.store_snapshot(&snap_b).await.unwrap();
            let (s, refresh) = post_text(
                &common::client(&server.admin),
                format!("{base}/v1/lists/refresh"),
                "{}".into(),
            )
            .await;
            assert_eq!(s, 200, "{refresh}");
            assert_eq!(refresh["switched"], true);
            let summary = &refresh["proposals"];
            assert_eq!(summary["trigger"], "list_snapshot", "{refresh}");
            assert_eq!(summary["to"], info_b.id.to_string());
            assert_eq!(summary["proposals_checked"], 3);
            assert_eq!(summary["reevaluated"], 1, "{summary}");
            assert_eq!(summary["changed"], 1);
            assert_eq!(summary["verdicts_changed"], 1);
            assert_eq!(summary["failed"], 0);
            let record = &summary["records"][0];
            assert_eq!(record["proposal"], "R1");
            assert_eq!(record["verdict_before"], "clear");
            assert_eq!(record["verdict_after"], "held");

            // R1: held, on B, with a record naming the new hit, in the ledger.
            let (_, r1) = get(&c, format!("{base}/v1/proposals/R1")).await;
            assert_eq!(r1["verdict"], "held");
            assert_eq!(r1["list_snapshot"], info_b.id);
            let m2 = r1["review"]["parties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["party"] == "m2")
                .unwrap();
            assert_eq!(m2["status"], "potential_match");
            assert!(m2["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["entity"] == "ofac-sdn:990001"));
            let (_, re) = get(&c, format!("{base}/v1/proposals/R1/reevaluations")).await;
            let re = re["reevaluations"].as_array().unwrap();
            assert_eq!(re.len(), 1);
            assert_eq!(re[0]["trigger"], "list_snapshot");
            assert_eq!(re[0]["from"], snapshot_a.to_string());
            assert_eq!(re[0]["to"], info_b.id.to_string());
            assert_eq!(re[0]["verdict_after"], "held");
            let new_hits = re[0]["changes"]["new_hits"].as_array().unwrap();
            assert!(
                new_hits
                    .iter()
                    .any(|h| h["party"] == "m2" && h["entity"] == "ofac-sdn:990001"),
                "{}",
                re[0]
            );
            assert_eq!(re[0]["ledger_index"], r1["ledger"]["index"]);
            let (_, _, text) = get_as(
                &c,
                format!("{base}/v1/proposals/R1/review"),
                "application/json",
            )
            .await;
            let recorded = check_ledger(
                &c,
                &server,
                r1["ledger"]["index"].as_u64().unwrap(),
                "R1",
                &text,
            )
            .await;
            assert_eq!(recorded["inputs"]["trigger"], "list_snapshot");
            assert_eq!(recorded["versions"]["lists"], info_b.hash.as_str());
            assert_eq!(
                recorded["outputs"]["proposal_review"]["changes"]["verdict_after"],
                "held"
            );

            // S01 and S02: compared on B, not reviewed again.
            for (i, id) in ["S01", "S02"].iter().enumerate() {
                let (_, p) = get(&c, format!("{base}/v1/proposals/{id}")).await;
                let line = before["proposals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|l| l["id"] == *id)
                    .unwrap();
                assert_eq!(p["updated_at"], line["updated_at"], "{id}");
                assert_eq!(p["ledger"], posted[i]["ledger"], "{id}");
                assert_eq!(p["list_snapshot"], snapshot_a);
                assert_eq!(p["checked_snapshot"], info_b.id);
                let (_, re) = get(&c, format!("{base}/v1/proposals/{id}/reevaluations")).await;
                assert_eq!(re["reevaluations"], json!([]));
            }

            // Nothing left to compare: the next refresh does no proposal work.
            let size = store.ledger_size().await.unwrap();
            let (_, again) = post_text(
                &common::client(&server.admin),
                format!("{base}/v1/lists/refresh"),
                "{}".into(),
            )
            .await;
            assert_eq!(again["switched"], false);
            assert!(again["proposals"].is_null(), "{again}");
            assert_eq!(store.ledger_size().await.unwrap(), size);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_made_under_other_rules_are_decided_again_at_start_up() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let data = Arc::new(tempfile::tempdir().unwrap());
        let server = start(store.clone(), Some(lists_dir()), Some(data.clone())).await;
        let c = common::client(&server.token);
        for id in ["S01", "S02"] {
            let (s, r) = post_text(
                &c,
                format!("{}/v1/proposals", server.base),
                sample(id).to_string(),
            )
            .await;
            assert_eq!(s, 201, "{r}");
        }
        // S02 as if reviewed under an older rulebook that found no licence needed.
        let s02 = store.proposal("S02").await.unwrap();
        let mut old: Value = serde_json::from_str(&s02.record.review).unwrap();
        old["verdict"] = json!("clear");
        old["versions"]["rulebook"] = json!("2000-01-01");
        let mut record = s02.record.clone();
        record.review = old.to_string();
        record.verdict = "clear".into();
        record.rulebook_version = "2000-01-01".into();
        store
            .store_proposal(&ReviewedProposal {
                record,
                ledger_entry: "{\"test\":\"older rules\"}".into(),
                status: stackport_program::workflow::Status::Submitted,
            })
            .await
            .unwrap();
        let s01 = store.proposal("S01").await.unwrap();
        let s02_old = store.proposal("S02").await.unwrap();

        // A server starting on the same store re-decides S02 only.
        let server = start(store.clone(), Some(lists_dir()), Some(data)).await;
        let base = &server.base;
        let (_, p) = get(&c, format!("{base}/v1/proposals/S02")).await;
        assert_eq!(p["verdict"], "licences_required");
        assert_eq!(p["rulebook_version"], s01.record.rulebook_version.as_str());
        assert_eq!(
            p["list_snapshot"], s02_old.record.list_snapshot_id,
            "no re-screening"
        );
        assert!(p["ledger"]["index"].as_u64().unwrap() > s02_old.ledger_index);
        let (_, re) = get(&c, format!("{base}/v1/proposals/S02/reevaluations")).await;
        let re = re["reevaluations"].as_array().unwrap();
        assert_eq!(re.len(), 1, "{re:?}");
        assert_eq!(re[0]["trigger"], "rulebook");
        assert!(re[0]["from"].as_str().unwrap().contains("2000-01-01"));
        assert_eq!(re[0]["verdict_before"], "clear");
        assert_eq!(re[0]["verdict_after"], "licences_required");
        let (_, _, text) = get_as(
            &c,
            format!("{base}/v1/proposals/S02/review"),
            "application/json",
        )
        .await;
        let recorded = check_ledger(
            &c,
            &server,
            p["ledger"]["index"].as_u64().unwrap(),
            "S02",
            &text,
        )
        .await;
        assert_eq!(recorded["inputs"]["trigger"], "rulebook");

        let now = store.proposal("S01").await.unwrap();
        assert_eq!(
            now, s01,
            "S01 was reviewed under the rules in use: untouched"
        );
    })
    .await;
}
