//! The controls API end to end: the real server on a loopback socket, the built-in rulebook,
//! the real ledger on SQLite and PostgreSQL (`STACKPORT_TEST_POSTGRES`).

mod common;

use std::sync::Arc;

use serde_json::{json, Value};
use stackport_server::{app, ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;
use stackport_store::Storage;

struct Running {
    token: String,
    base: String,
    _data: tempfile::TempDir,
}

async fn start(store: Arc<dyn Storage>) -> Running {
    let data = tempfile::tempdir().expect("tempdir");
    let config = ServerConfig {
        data_dir: data.path().to_path_buf(),
        bundled_lists: None,
        rulebook_dir: None,
    };
    let ctx = ServerContext::new(store, config)
        .await
        .expect("server context");
    let token = common::admin_token(&ctx).await;
    let router = app(ctx).await.expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    Running {
        token,
        base: format!("http://{addr}"),
        _data: data,
    }
}

async fn post(c: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = c.post(url).json(&body).send().await.expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_determine_and_rulebook_over_http() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let server = start(store).await;
        let c = common::client(&server.token);
        let base = &server.base;

        let (s, v) = post(&c, format!("{base}/v1/classify"), json!({"item": {"catalog": "nvidia-h100-sxm"}, "date": "2025-09-01"})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["eccn"], "3A090.a");
        assert_eq!(v["paragraph"], "3A090.a.1");
        assert!((v["tpp"].as_f64().expect("tpp") - 15832.0).abs() < 1e-6);

        // One case: answer plus ledger receipt.
        let case = json!({"id": "c1", "date": "2026-03-01", "item": {"catalog": "nvidia-h200"}, "destination": "CN",
            "end_user": {"name": "Buyer", "hq_country": "CN"}});
        let (s, v) = post(&c, format!("{base}/v1/determine"), case).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["id"], "c1");
        assert_eq!(v["outcome"], "license_required");
        assert_eq!(v["review_policy"], "case_by_case");
        assert!(v["citations"].as_array().is_some_and(|a| !a.is_empty()));
        let first_index = v["ledger"]["index"].as_u64().expect("ledger index");
        // The entry names who asked (issue 11, item 7).
        let entry: Value = c.get(format!("{base}/v1/ledger/entries/{first_index}")).send().await.expect("send").json().await.expect("json");
        assert_eq!(entry["entry"]["actor"]["role"], "admin", "{entry}");
        assert!(entry["entry"]["actor"]["user"].as_str().is_some_and(|u| u.starts_with("usr_")), "{entry}");
        assert_eq!(v["ledger"]["leaf_hash"].as_str().map(str::len), Some(64));

        // A batch, in order, each recorded.
        let batch = json!({"cases": [
            {"id": "a", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR", "end_user": {"hq_country": "FR"}},
            {"id": "b", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR",
             "end_user": {"hq_country": "FR", "screening_hits": [{"list": "EL", "entity": "el:1", "name": "Listed"}]}}
        ]});
        let (s, v) = post(&c, format!("{base}/v1/determine"), batch).await;
        assert_eq!(s, 200, "{v}");
        let r = v["results"].as_array().expect("results");
        assert_eq!((r[0]["id"].as_str(), r[0]["outcome"].as_str()), (Some("a"), Some("nlr")));
        assert_eq!((r[1]["id"].as_str(), r[1]["outcome"].as_str()), (Some("b"), Some("license_required")));
        assert_eq!(r[1]["ledger"]["index"].as_u64(), Some(first_index + 2));

        // A bad case in a batch: 400 naming the index; nothing recorded.
        let bad = json!({"cases": [
            {"id": "ok", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR", "end_user": {"hq_country": "FR"}},
            {"id": "bad", "date": "2025-09-01", "item": {"catalog": "nvidia-h999"}, "destination": "FR"}
        ]});
        let (s, v) = post(&c, format!("{base}/v1/determine"), bad).await;
        assert_eq!(s, 400);
        assert_eq!(v["error"]["code"], "unknown_catalog_item");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("cases[1]")));
        let (s, v) = post(&c, format!("{base}/v1/determine"), json!({"id": "n", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR", "end_user": {"hq_country": "FR"}})).await;
        assert_eq!(s, 200);
        assert_eq!(v["ledger"]["index"].as_u64(), Some(first_index + 3), "the rejected batch recorded nothing");

        // End-use codes as users write them give the code's answer; an unknown code is refused
        // (never read as no end use, which would answer NLR) and recorded nowhere.
        let h200 = |end_use: Value| json!({"id": "e", "date": "2026-03-01", "item": {"catalog": "nvidia-h200"}, "destination": "FR",
            "end_user": {"hq_country": "FR"}, "end_use": end_use});
        let (s, v) = post(&c, format!("{base}/v1/determine"), h200(json!(["wmd"]))).await;
        assert_eq!((s, v["outcome"].as_str()), (200, Some("license_required")), "{v}");
        let (s, w) = post(&c, format!("{base}/v1/determine"), h200(json!([" WMD "]))).await;
        assert_eq!((s, w["outcome"].as_str(), &w["citations"]), (200, Some("license_required"), &v["citations"]), "{w}");
        let after = w["ledger"]["index"].as_u64().expect("ledger index");
        for bad in [json!(["world-domination"]), json!([""]), json!(["commercial", "WMD?"])] {
            let (s, e) = post(&c, format!("{base}/v1/determine"), h200(bad.clone())).await;
            assert_eq!((s, e["error"]["code"].as_str()), (400, Some("unknown_end_use")), "{bad}: {e}");
        }
        let (_, n) = post(&c, format!("{base}/v1/determine"), h200(json!(["commercial"]))).await;
        assert_eq!(n["ledger"]["index"].as_u64(), Some(after + 1), "refused cases recorded nothing");

        for (body, code) in [
            (json!({"id": "x", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "XX"}), "invalid_country"),
            (json!({"id": "x", "date": "2040-01-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR"}), "date_out_of_range"),
            (json!({"id": "x", "date": "2025-09-01", "item": {"chip": {"tpp": -1}}, "destination": "FR"}), "invalid_parameter"),
            (json!({"id": "x", "date": "2025-9-1", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR"}), "invalid_date"),
        ] {
            let (s, v) = post(&c, format!("{base}/v1/determine"), body).await;
            assert_eq!((s, v["error"]["code"].as_str()), (400, Some(code)), "{v}");
        }
        let r = c.post(format!("{base}/v1/determine")).header("content-type", "application/json").body("{not json").send().await.expect("send");
        assert_eq!(r.status().as_u16(), 400);

        let v: Value = c.get(format!("{base}/v1/rulebook")).send().await.expect("send").json().await.expect("json");
        assert!(v["version"].as_str().is_some());
        assert!(v["rules"].as_array().is_some_and(|r| r.iter().any(|e| e["id"] == "rp-2026-china-case-by-case" && e["effective"] == "2026-01-15")));
        assert!(v["rules"].as_array().is_some_and(|r| r.iter().any(|e| e["id"] == "diffusion-worldwide" && e["enforcement"] == "codified_only")));

        let doc: Value = c.get(format!("{base}/openapi.json")).send().await.expect("send").json().await.expect("json");
        for p in ["/v1/classify", "/v1/determine", "/v1/rulebook"] {
            assert!(doc["paths"].get(p).is_some(), "{p} in OpenAPI");
        }
        let metrics = c.get(format!("{base}/metrics")).send().await.expect("send").text().await.expect("text");
        assert!(metrics.contains("stackport_determinations_total"));
    })
    .await;
}
