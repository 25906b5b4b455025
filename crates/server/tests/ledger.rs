//! The ledger over HTTP on a real socket: a client holding only the log's public key checks
//! the checkpoint, an inclusion proof and a consistency proof without trusting the server.

mod common;

use std::sync::Arc;

use stackport_ledger::checkpoint::Checkpoint;
use stackport_ledger::merkle::{self, Hash};
use stackport_ledger::note::VerifierKey;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::{SqliteStore, Storage};

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn ledger_routes_prove_what_they_serve() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let store: Arc<dyn Storage> = Arc::new(SqliteStore::open(&url).await.unwrap());
    let config = ServerConfig {
        data_dir: dir.path().to_path_buf(),
        bundled_lists: None,
        rulebook_dir: None,
    };
    let ctx = ServerContext::new(store, config).await.unwrap();
    let token = common::admin_token(&ctx).await;
    let ledger = ctx.ledger.clone();
    let mut receipts = Vec::new();
    for i in 0..10 {
        let d = Decision::now(
            DecisionKind::Determination,
            serde_json::json!({ "eccn": "3A090.a", "destination": "CN", "case": i }),
            serde_json::json!({ "licence_required": true, "score": 0.1 + 0.2 * i as f64, "note": "\u{2014} \"quoted\"" }),
            DecisionVersions {
                rules: Some("2025-01-15".into()),
                lists: None,
            },
        );
        receipts.push(ledger.record(&d).await.unwrap());
    }
    assert_eq!(
        receipts.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );

    let app = stackport_server::app(ctx).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = common::client(&token);
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move { http.get(url).send().await.unwrap() }
    };

    // The only thing the client trusts: the public key file.
    let key = VerifierKey::parse(
        std::fs::read_to_string(dir.path().join("ledger-verifier.pub"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let old = Checkpoint::open(
        &get("/v1/ledger/checkpoint").await.text().await.unwrap(),
        &key,
    )
    .unwrap();
    assert_eq!(old.size, 10);

    let entry: serde_json::Value = get("/v1/ledger/entries/3").await.json().await.unwrap();
    let canonical = entry["canonical"].as_str().unwrap();
    let leaf = merkle::leaf_hash(canonical.as_bytes());
    assert_eq!(leaf, receipts[3].leaf_hash);
    assert_eq!(entry["entry"]["inputs"]["case"], 3);
    assert_eq!(entry["entry"]["type"], "determination");

    let proof: serde_json::Value = get("/v1/ledger/proof/inclusion?index=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(proof["size"], 10);
    merkle::verify_inclusion(3, 10, &leaf, &hashes(&proof["proof"]), &old.root).unwrap();

    for i in 10..25 {
        let d = Decision::now(
            DecisionKind::Screening,
            serde_json::json!({ "name": format!("party {i}") }),
            serde_json::json!({ "hits": [] }),
            DecisionVersions::default(),
        );
        ledger.record(&d).await.unwrap();
    }
    let new = Checkpoint::open(
        &get("/v1/ledger/checkpoint").await.text().await.unwrap(),
        &key,
    )
    .unwrap();
    assert_eq!(new.size, 25);
    let c: serde_json::Value = get("/v1/ledger/proof/consistency?from=10&to=25")
        .await
        .json()
        .await
        .unwrap();
    merkle::verify_consistency(10, 25, &old.root, &new.root, &hashes(&c["proof"])).unwrap();
    let p: serde_json::Value = get("/v1/ledger/proof/inclusion?index=3&size=10")
        .await
        .json()
        .await
        .unwrap();
    merkle::verify_inclusion(3, 10, &leaf, &hashes(&p["proof"]), &old.root).unwrap();

    // Entries and proofs past the log do not exist (404); malformed requests are 400.
    for (path, status, code) in [
        ("/v1/ledger/entries/25", 404, "ledger_out_of_range"),
        (
            "/v1/ledger/proof/inclusion?index=30",
            404,
            "ledger_out_of_range",
        ),
        (
            "/v1/ledger/proof/inclusion?index=1&size=26",
            404,
            "ledger_out_of_range",
        ),
        (
            "/v1/ledger/proof/consistency?from=20&to=10",
            404,
            "ledger_out_of_range",
        ),
        ("/v1/ledger/proof/inclusion?index=x", 400, "invalid_request"),
        ("/v1/ledger/entries/minus-one", 400, "invalid_request"),
    ] {
        let r = get(path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
    }

    // What `record` appended re-derives cleanly (canonical form, hashes, both checkpoints).
    let report = ledger.verify(None).await.unwrap();
    assert!(report.problem.is_none(), "{:?}", report.problem);
    assert_eq!(
        (report.size, report.checkpoints, report.root),
        (25, 2, Some(new.root))
    );

    // The four routes are in the OpenAPI document.
    let doc: serde_json::Value = get("/openapi.json").await.json().await.unwrap();
    for p in [
        "/v1/ledger/checkpoint",
        "/v1/ledger/entries/{index}",
        "/v1/ledger/proof/inclusion",
        "/v1/ledger/proof/consistency",
    ] {
        assert!(
            doc["paths"][p]["get"].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
}
