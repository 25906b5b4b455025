//! The screening API end to end: the real server on a loopback socket, the real list files, a
//! real store on SQLite and on PostgreSQL (`STACKPORT_TEST_POSTGRES`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use stackport_server::{app, ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;
use stackport_store::Storage;

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

/// A running server: its base URL and what must live as long as it.
struct Running {
    token: String,
    base: String,
    _data: tempfile::TempDir,
}

async fn start(store: Arc<dyn Storage>, lists: Option<PathBuf>) -> Running {
    let data = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        data_dir: data.path().to_path_buf(),
        bundled_lists: lists,
        rulebook_dir: None,
    };
    let ctx = ServerContext::new(store, config)
        .await
        .expect("server context");
    let token = common::admin_token(&ctx).await;
    let router = app(ctx).await.expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Running {
        token,
        base: format!("http://{addr}"),
        _data: data,
    }
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = client.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_api_on_the_bundled_snapshot() {
    let expected_hash = stackport_screening::parse::load_dir(&lists_dir())
        .expect("bundled lists load")
        .hash();
    for_each_backend(|db| {
        let expected_hash = expected_hash.clone();
        async move {
            let store = db.open().await;
            let server = start(store.clone(), Some(lists_dir())).await;
            let c = common::client(&server.token);
            let base = &server.base;

            // The bundled snapshot was stored on first start and is in use.
            let (s, lists) = get(&c, format!("{base}/v1/lists")).await;
            assert_eq!(s, 200);
            let snaps = lists["snapshots"].as_array().unwrap();
            assert_eq!(snaps.len(), 1);
            assert_eq!(snaps[0]["hash"], expected_hash.as_str());
            assert_eq!(snaps[0]["active"], true);
            assert_eq!(snaps[0]["in_use"], true);
            assert_eq!(lists["in_use"], snaps[0]["id"]);
            assert_eq!(
                snaps[0]["sources"].as_array().unwrap().len(),
                11,
                "eleven list files in data/lists"
            );
            assert!(snaps[0]["entity_count"].as_i64().unwrap() > 10_000);
            assert!(snaps[0]["sources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["data_date"] == "2021-07-07"));

            // One party, a real non-SDN entry (OFAC cons_prim.csv ent_num 9639).
            let (s, r) = post(
                &c,
                format!("{base}/v1/screen"),
                json!({"name": "Ismail Abdul Salah HANIYA", "type": "individual"}),
            )
            .await;
            assert_eq!(s, 200, "{r}");
            let hits = r["hits"].as_array().unwrap();
            assert!(hits.iter().any(|h| h["entity"] == "ofac-cons:9639"), "{r}");
            assert!(
                hits.windows(2)
                    .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()),
                "best first"
            );
            assert!(hits
                .iter()
                .all(|h| h["score"].as_f64().unwrap() >= stackport_screening::DEFAULT_THRESHOLD));
            assert_eq!(r["algorithm"], stackport_screening::ALGORITHM_VERSION);
            assert_eq!(r["threshold"], stackport_screening::DEFAULT_THRESHOLD);
            assert_eq!(r["snapshot_hashes"].as_array().unwrap().len(), 11);
            let party = r["party"].as_str().unwrap().to_string();

            // The result is in the ledger: the receipt's entry names this screening and its hits.
            let index = r["ledger"]["index"].as_u64().expect("ledger receipt");
            let leaf = r["ledger"]["leaf_hash"].as_str().unwrap();
            assert_eq!(leaf.len(), 64);
            let (s, entry) = get(&c, format!("{base}/v1/ledger/entries/{index}")).await;
            assert_eq!(s, 200, "{entry}");
            assert_eq!(entry["leaf_hash"], leaf);
            assert_eq!(entry["entry"]["type"], "screening");
            assert_eq!(entry["entry"]["outputs"]["screening"], r["screening"]);
            assert_eq!(
                entry["entry"]["outputs"]["hits"].as_array().unwrap().len(),
                hits.len()
            );
            assert_eq!(entry["entry"]["versions"]["lists"], expected_hash.as_str());

            // It was stored: the party and its result with the same hits.
            let stored = store.screenings(&party).await.unwrap();
            assert_eq!(stored.len(), 1);
            assert_eq!(stored[0].id, r["screening"].as_i64().unwrap());
            assert_eq!(
                stored[0].ledger_index,
                Some(index),
                "the row names its ledger entry"
            );
            assert_eq!(stored[0].hits.as_array().unwrap().len(), hits.len());
            assert_eq!(
                store.party(&party).await.unwrap().name,
                "Ismail Abdul Salah HANIYA"
            );

            // The same party again: same party id, a second stored result.
            let (_, r2) = post(
                &c,
                format!("{base}/v1/screen"),
                json!({"name": "Ismail Abdul Salah HANIYA", "type": "individual", "top": 1}),
            )
            .await;
            assert_eq!(r2["party"], party.as_str());
            assert_eq!(r2["hits"].as_array().unwrap().len(), 1);
            assert_eq!(store.screenings(&party).await.unwrap().len(), 2);

            // Bad input: HTTP 400 with stable codes, nothing stored.
            let parties_before = store.parties().await.unwrap().len();
            let long = "A".repeat(10_000);
            for (body, want) in [
                (json!({"name": "   "}), "empty_name"),
                (json!({"name": long}), "name_too_long"),
                (
                    json!({"name": "ACME", "country": "Iran"}),
                    "invalid_country",
                ),
                (
                    json!({"name": "ACME", "type": "spaceship"}),
                    "invalid_party_type",
                ),
                (json!({"name": "ACME", "dob": "not-a-date"}), "invalid_dob"),
                (json!({"name": "ACME", "dob": "1960-02-30"}), "invalid_dob"),
                (
                    json!({"name": "ACME", "identifiers": vec!["P123"; 21]}),
                    "invalid_request",
                ),
                (
                    json!({"name": "ACME", "identifiers": ["P".repeat(101)]}),
                    "invalid_request",
                ),
                (json!({"name": "ACME", "top": 0}), "invalid_request"),
                (json!({"name": "ACME", "threshold": 1.5}), "invalid_request"),
                (json!({"nome": "ACME"}), "invalid_json"),
                (json!({"name": 42}), "invalid_json"),
            ] {
                let (s, e) = post(&c, format!("{base}/v1/screen"), body.clone()).await;
                assert_eq!((s, code(&e)), (400, want), "{body} -> {e}");
                assert!(!e["error"]["message"].as_str().unwrap().is_empty());
            }
            let r = c
                .post(format!("{base}/v1/screen"))
                .header("content-type", "application/json")
                .body("{\"name\": ")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 400);
            assert_eq!(code(&r.json::<Value>().await.unwrap()), "invalid_json");
            // Invalid UTF-8 in the body is bad JSON too.
            let r = c
                .post(format!("{base}/v1/screen"))
                .header("content-type", "application/json")
                .body(vec![
                    b'{', b'"', b'n', b'a', b'm', b'e', b'"', b':', b'"', 0xff, 0xfe, b'"', b'}',
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 400);
            assert_eq!(code(&r.json::<Value>().await.unwrap()), "invalid_json");
            let (s, e) = get(&c, format!("{base}/v1/lists/abc/new-hits")).await;
            assert_eq!((s, code(&e)), (400, "invalid_request"));
            assert_eq!(
                store.parties().await.unwrap().len(),
                parties_before,
                "rejected requests store nothing"
            );

            // Batch: results in order with the caller's ids.
            let (s, b) = post(
                &c,
                format!("{base}/v1/screen/batch"),
                json!({"parties": [
                    {"id": "r1", "name": "Ismail Abdul Salah HANIYA", "type": "individual"},
                    {"id": "r2", "name": "Zzyzx Quietly Unlisted Widgets", "country": "us"},
                    {"id": "r3", "name": "AARON ABRAHAM VILLA", "type": "individual"}
                ], "top": 3}),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            let results = b["results"].as_array().unwrap();
            assert_eq!(
                results
                    .iter()
                    .map(|r| r["id"].as_str().unwrap())
                    .collect::<Vec<_>>(),
                vec!["r1", "r2", "r3"]
            );
            assert!(results[0]["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["entity"] == "ofac-cons:9639"));
            assert!(
                results[1]["hits"].as_array().unwrap().is_empty(),
                "{}",
                results[1]
            );
            assert!(
                results[2]["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["list"] == "DPL"),
                "{}",
                results[2]
            );
            assert!(results
                .iter()
                .all(|r| r["hits"].as_array().unwrap().len() <= 3));
            let mut indices: Vec<u64> = results
                .iter()
                .map(|r| r["ledger"]["index"].as_u64().unwrap())
                .collect();
            indices.sort_unstable();
            indices.dedup();
            assert_eq!(indices.len(), 3, "one ledger entry per party");
            let parties_after_batch = store.parties().await.unwrap().len();
            assert_eq!(
                parties_after_batch,
                parties_before + 2,
                "HANIYA was stored before; two new parties"
            );

            // A bad party rejects the whole batch, naming its index; nothing is stored.
            let (s, e) = post(
                &c,
                format!("{base}/v1/screen/batch"),
                json!({"parties": [{"name": "OK NAME"}, {"name": ""}]}),
            )
            .await;
            assert_eq!((s, code(&e)), (400, "empty_name"));
            assert!(
                e["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("parties[1]"),
                "{e}"
            );
            assert_eq!(store.parties().await.unwrap().len(), parties_after_batch);

            // Too many parties: 413.
            let many: Vec<Value> = (0..=stackport_server::screening::MAX_BATCH)
                .map(|i| json!({"name": format!("PARTY {i}")}))
                .collect();
            let (s, e) = post(
                &c,
                format!("{base}/v1/screen/batch"),
                json!({"parties": many}),
            )
            .await;
            assert_eq!((s, code(&e)), (413, "batch_too_large"));

            // Metrics count the screenings and the requests by route.
            let metrics = c
                .get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                metrics.contains("stackport_screening_parties_total 5"),
                "{metrics}"
            );
            assert!(
                metrics.contains("route=\"/v1/screen\",status=\"200\""),
                "{metrics}"
            );
            assert!(
                metrics.contains("route=\"/v1/screen/batch\",status=\"413\""),
                "{metrics}"
            );

            // The OpenAPI 3.1 document names the paths and schemas.
            let (s, doc) = get(&c, format!("{base}/openapi.json")).await;
            assert_eq!(s, 200);
            assert!(
                doc["openapi"].as_str().unwrap().starts_with("3.1"),
                "{}",
                doc["openapi"]
            );
            for p in [
                "/v1/screen",
                "/v1/screen/batch",
                "/v1/lists",
                "/v1/lists/refresh",
                "/v1/lists/{id}/new-hits",
            ] {
                assert!(doc["paths"][p].is_object(), "missing path {p}");
            }
            assert!(doc["paths"]["/v1/screen"]["post"]["requestBody"].is_object());
            for s in [
                "ScreenRequest",
                "ScreenResponse",
                "HitDto",
                "ListsResponse",
                "ErrorBody",
            ] {
                assert!(
                    doc["components"]["schemas"][s].is_object(),
                    "missing schema {s}"
                );
            }

            let (s, h) = get(&c, format!("{base}/v1/health")).await;
            assert_eq!(s, 200);
            assert_eq!(h["backend"], db.label());
        }
    })
    .await;
}

/// Copies the named files of data/lists into a new directory, keeping the layout.
fn partial_lists(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(lists_dir().join(f), to).unwrap();
    }
    dir
}

const CONS: &[&str] = &[
    "ofac/cons_2025-12-19/cons_prim.csv",
    "ofac/cons_2025-12-19/cons_add.csv",
    "ofac/cons_2025-12-19/cons_alt.csv",
    "ofac/cons_2025-12-19/cons_comments.csv",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_snapshot_is_swapped_in_and_stored_parties_are_rescreened() {
    // Snapshot A: the OFAC non-SDN files. Snapshot B: the same plus the BIS Denied Persons List.
    let a = partial_lists(CONS);
    let mut with_dpl: Vec<&str> = CONS.to_vec();
    with_dpl.push("bis/dpl_2023-11.txt");
    let b = partial_lists(&with_dpl);
    let a = Arc::new(a);
    let b = Arc::new(b);
    for_each_backend(|db| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let store = db.open().await;
            let server = start(store.clone(), Some(a.path().to_path_buf())).await;
            let c = common::client(&server.token);
            let base = &server.base;

            // A denied person screened while only snapshot A is loaded: no DPL hit possible.
            let (s, r) = post(
                &c,
                format!("{base}/v1/screen"),
                json!({"name": "ABDUL MAJID SAIDI", "type": "individual"}),
            )
            .await;
            assert_eq!(s, 200, "{r}");
            assert!(r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["list"] != "DPL"));
            let party = r["party"].as_str().unwrap().to_string();
            let first = r["snapshot"].as_i64().unwrap();

            // Snapshot B is loaded into the store (as `stackport lists load` does) ...
            let snap_b = stackport_screening::parse::load_dir(b.path()).unwrap();
            let info_b = store.store_snapshot(&snap_b).await.unwrap();
            // ... the server still screens on A until it refreshes.
            let (_, lists) = get(&c, format!("{base}/v1/lists")).await;
            assert_eq!(lists["in_use"], first);

            let (s, refresh) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            assert_eq!(s, 200, "{refresh}");
            assert_eq!(refresh["switched"], true);
            assert_eq!(refresh["in_use"], info_b.id);
            let summary = &refresh["rescreen"];
            assert_eq!(summary["from_snapshot"], first);
            assert_eq!(summary["to_snapshot"], info_b.id);
            assert!(
                summary["added"].as_u64().unwrap() > 600,
                "every DPL entry is new: {summary}"
            );
            assert_eq!(summary["removed"], 0);
            assert_eq!(summary["changed"], 0);
            let new_hits = summary["new_hits"].as_array().unwrap();
            let saidi: Vec<&Value> = new_hits
                .iter()
                .filter(|h| h["party"] == party.as_str())
                .collect();
            assert!(
                !saidi.is_empty(),
                "the stored party now hits the DPL: {summary}"
            );
            assert!(saidi
                .iter()
                .all(|h| h["entity"].as_str().unwrap().starts_with("bis-dpl:")
                    && h["change"] == "added"));
            assert_eq!(saidi[0]["party_name"], "ABDUL MAJID SAIDI");
            // Each new hit is a decision in the ledger, stored with its row.
            let index = saidi[0]["ledger_index"]
                .as_u64()
                .expect("new hit's ledger index");
            let (s, entry) = get(&c, format!("{base}/v1/ledger/entries/{index}")).await;
            assert_eq!(s, 200, "{entry}");
            let recorded = &entry["entry"];
            assert_eq!(recorded["type"], "screening", "{recorded}");
            assert_eq!(recorded["inputs"]["party"], party.as_str());
            assert_eq!(recorded["outputs"]["entity"], saidi[0]["entity"]);
            assert_eq!(recorded["versions"]["lists"], info_b.hash.as_str());

            // Recorded, readable again, and not recorded twice.
            let (s, nh) = get(&c, format!("{base}/v1/lists/{}/new-hits", info_b.id)).await;
            assert_eq!(s, 200);
            assert_eq!(nh["new_hits"].as_array().unwrap().len(), new_hits.len());
            let (_, again) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            assert_eq!(again["switched"], false);
            assert!(again["rescreen"].is_null(), "{again}");
            assert_eq!(
                store.new_hits(info_b.id).await.unwrap().len(),
                new_hits.len()
            );
            let (s, e) = get(&c, format!("{base}/v1/lists/9999/new-hits")).await;
            assert_eq!((s, code(&e)), (404, "not_found"));

            // New screenings use B.
            let (_, r) = post(
                &c,
                format!("{base}/v1/screen"),
                json!({"name": "ABDUL MAJID SAIDI", "type": "individual"}),
            )
            .await;
            assert_eq!(r["snapshot"], info_b.id);
            assert!(
                r["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["list"] == "DPL"),
                "{r}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn without_a_snapshot_screening_is_unavailable() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let server = start(store, None).await;
        let c = common::client(&server.token);
        let (s, e) = post(
            &c,
            format!("{}/v1/screen", server.base),
            json!({"name": "ACME"}),
        )
        .await;
        assert_eq!((s, code(&e)), (503, "no_snapshot"));
        let (s, lists) = get(&c, format!("{}/v1/lists", server.base)).await;
        assert_eq!(s, 200);
        assert!(lists["snapshots"].as_array().unwrap().is_empty());
        assert!(lists["in_use"].is_null());
    })
    .await;
}

/// Screens one party over HTTP; returns its id and the snapshot it was screened on.
async fn screen_party(c: &reqwest::Client, base: &str, name: &str) -> (String, i64) {
    let (s, r) = post(
        c,
        format!("{base}/v1/screen"),
        json!({"name": name, "type": "individual"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    (
        r["party"].as_str().unwrap().to_string(),
        r["snapshot"].as_i64().unwrap(),
    )
}

/// The new hits of one party in a refresh's re-screen summary.
fn hits_of<'a>(refresh: &'a Value, party: &str) -> Vec<&'a Value> {
    refresh["rescreen"]["new_hits"]
        .as_array()
        .map(|a| a.iter().filter(|h| h["party"] == party).collect())
        .unwrap_or_default()
}

/// Snapshot A: the OFAC non-SDN files; snapshot B: the same plus the BIS Denied Persons List.
fn a_and_b() -> (stackport_screening::Snapshot, stackport_screening::Snapshot) {
    let a = partial_lists(CONS);
    let mut with_dpl: Vec<&str> = CONS.to_vec();
    with_dpl.push("bis/dpl_2023-11.txt");
    let b = partial_lists(&with_dpl);
    (
        stackport_screening::parse::load_dir(a.path()).unwrap(),
        stackport_screening::parse::load_dir(b.path()).unwrap(),
    )
}

/// A server on a store holding snapshot A (already re-screened, as a first snapshot is), and
/// a denied person screened on it: the store, the server, A and the party's id.
async fn on_a_with_a_party(
    db: &stackport_store::testing::TestDb,
    a: &stackport_screening::Snapshot,
) -> (
    Arc<dyn Storage>,
    Running,
    stackport_store::SnapshotInfo,
    String,
) {
    let store = db.open().await;
    let info_a = store.store_snapshot(a).await.unwrap();
    store.mark_rescreened(info_a.id).await.unwrap();
    let server = start(store.clone(), None).await;
    let (party, on) = screen_party(
        &common::client(&server.token),
        &server.base,
        "ABDUL MAJID SAIDI",
    )
    .await;
    assert_eq!(on, info_a.id);
    assert_eq!(
        store.party(&party).await.unwrap().last_snapshot_id,
        Some(info_a.id)
    );
    (store, server, info_a, party)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_roll_back_parties_are_compared_from_the_snapshot_they_last_saw() {
    let (a, b) = a_and_b();
    let (a, b) = (Arc::new(a), Arc::new(b));
    for_each_backend(|db| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let (store, server, info_a, party) = on_a_with_a_party(&db, &a).await;
            let c = common::client(&server.token);
            let base = &server.base;

            // B adds the DPL: the party hits it.
            let info_b = store.store_snapshot(&b).await.unwrap();
            let (_, r) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            assert_eq!(r["rescreen"]["from_snapshot"], info_a.id, "{r}");
            assert!(!hits_of(&r, &party).is_empty(), "{r}");
            assert_eq!(
                store.party(&party).await.unwrap().last_snapshot_id,
                Some(info_b.id)
            );

            // Back to A (activated again): the party is compared from B, where it last was;
            // the DPL entries are removed, which is no new hit.
            store.activate_snapshot(info_a.id).await.unwrap();
            let (_, r) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            assert_eq!(r["switched"], true, "{r}");
            assert_eq!(r["rescreen"]["from_snapshot"], info_b.id, "{r}");
            assert_eq!(r["rescreen"]["to_snapshot"], info_a.id, "{r}");
            assert!(r["rescreen"]["removed"].as_u64().unwrap() > 600, "{r}");
            assert!(hits_of(&r, &party).is_empty(), "{r}");
            assert_eq!(
                store.party(&party).await.unwrap().last_snapshot_id,
                Some(info_a.id)
            );

            // B loaded again as a new snapshot: next to B by id it changes nothing, but the
            // party last saw A, so the DPL hit is found again.
            let info_b2 = store.store_snapshot(&b).await.unwrap();
            let (_, r) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            let summary = &r["rescreen"];
            assert_eq!(summary["from_snapshot"], info_a.id, "{r}");
            assert_eq!(summary["to_snapshot"], info_b2.id, "{r}");
            assert_eq!(summary["parties"], 1, "{r}");
            assert_eq!(summary["from_snapshots"].as_array().unwrap().len(), 1);
            let hits = hits_of(&r, &party);
            assert!(!hits.is_empty(), "the DPL hit is found again: {r}");
            assert!(hits.iter().all(|h| h["from_snapshot"] == info_a.id
                && h["to_snapshot"] == info_b2.id
                && h["change"] == "added"
                && h["entity"].as_str().unwrap().starts_with("bis-dpl:")));
            assert_eq!(
                store.new_hits(info_b2.id).await.unwrap().len(),
                summary["new_hits"].as_array().unwrap().len()
            );

            // Every party has been compared on B': nothing more to do.
            let (_, again) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            assert!(again["rescreen"].is_null(), "{again}");
            assert_eq!(store.parties_behind(info_b2.id).await.unwrap(), 0);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_never_compared_on_is_not_taken_as_what_parties_saw() {
    let (a, b) = a_and_b();
    let (a, b) = (Arc::new(a), Arc::new(b));
    for_each_backend(|db| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let (store, server, info_1, party) = on_a_with_a_party(&db, &a).await;
            let c = common::client(&server.token);
            let base = &server.base;

            // Snapshots 2 and 3 are loaded before the server refreshes: the same content, both
            // with the DPL. Snapshot 2 was never compared on, so 2 -> 3 (nothing) is not what
            // the party has to be compared on: 1 -> 3 is.
            let info_2 = store.store_snapshot(&b).await.unwrap();
            let info_3 = store.store_snapshot(&b).await.unwrap();
            assert_eq!(info_2.hash, info_3.hash);
            let (_, r) = post(&c, format!("{base}/v1/lists/refresh"), json!({})).await;
            assert_eq!(r["in_use"], info_3.id, "{r}");
            let summary = &r["rescreen"];
            assert_eq!(summary["from_snapshot"], info_1.id, "{r}");
            assert!(summary["added"].as_u64().unwrap() > 600, "{r}");
            let hits = hits_of(&r, &party);
            assert!(!hits.is_empty(), "{r}");
            assert!(hits.iter().all(|h| h["from_snapshot"] == info_1.id));
            assert!(store.new_hits(info_2.id).await.unwrap().is_empty());
            assert_eq!(
                store.party(&party).await.unwrap().last_snapshot_id,
                Some(info_3.id)
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_single_screenings_share_commits_and_each_keeps_its_row_and_entry() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let server = start(store.clone(), Some(lists_dir())).await;
        let c = common::client(&server.token);
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let (c, base) = (c.clone(), server.base.clone());
                tokio::spawn(async move {
                    let name = if i % 8 == 0 {
                        "Ismail Abdul Salah HANIYA".to_string()
                    } else {
                        format!("Concurrent Trading {i} FZE")
                    };
                    post(
                        &c,
                        format!("{base}/v1/screen"),
                        json!({"name": name, "top": 1}),
                    )
                    .await
                })
            })
            .collect();
        let mut indexes = Vec::new();
        let mut screenings = Vec::new();
        for t in tasks {
            let (s, v) = t.await.expect("task");
            assert_eq!(s, 200, "{v}");
            indexes.push(v["ledger"]["index"].as_u64().expect("index"));
            screenings.push((
                v["party"].as_str().expect("party").to_string(),
                v["screening"].as_i64().expect("id"),
                v["hits"].as_array().expect("hits").len(),
            ));
        }
        // One ledger entry each, no two the same, no gaps.
        indexes.sort_unstable();
        let first = indexes[0];
        assert_eq!(indexes, (first..first + 64).collect::<Vec<_>>());
        // Each answer is its own party's stored row, hits and all.
        for (party, id, hits) in &screenings {
            let stored = store.screenings(party).await.expect("read");
            let row = stored.iter().find(|s| s.id == *id).expect("stored row");
            assert_eq!(row.hit_count as usize, *hits);
        }
        assert_eq!(
            screenings.iter().filter(|s| s.2 == 1).count(),
            8,
            "the listed name hits, the others do not"
        );
    })
    .await;
}
