//! Webhooks over loopback (issue 11, item 6): a hold placed on a consortium's proposal is
//! delivered to the consortium's endpoint, signed with HMAC-SHA256 over the timestamp and the
//! body, retried with backoff after the endpoint fails once; the secret is shown once; another
//! organisation does not see the webhook. On SQLite and PostgreSQL.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use stackport_identity::{OrgKind, Role};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

/// What the receiving endpoint got: (signature header, delivery header, body).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// An endpoint that fails its first request (500) and accepts the rest.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let state = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let mut got = state.lock().unwrap();
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                got.push((h("stackport-signature"), h("stackport-delivery"), body));
                if got.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_is_delivered_signed_and_retried() {
    for_each_backend(|db| async move {
        let data = tempfile::tempdir().unwrap();
        let ctx = ServerContext::new(
            db.open().await,
            ServerConfig {
                data_dir: data.path().to_path_buf(),
                bundled_lists: Some(lists_dir()),
                rulebook_dir: None,
            },
        )
        .await
        .expect("context");
        let officer = common::client(
            &common::token_for(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await,
        );
        let rival = common::client(
            &common::token_for(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await,
        );
        let base = common::serve(ctx).await;
        let (url, got) = receiver().await;

        let r = officer
            .post(format!("{base}/v1/webhooks"))
            .json(&json!({"url": "ftp://x/", "events": ["hold.placed"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r = officer
            .post(format!("{base}/v1/webhooks"))
            .json(&json!({"url": url, "events": ["hold.mislaid"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r = officer
            .post(format!("{base}/v1/webhooks"))
            .json(&json!({"url": url, "events": ["hold.placed"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let secret = created["secret"]
            .as_str()
            .expect("the secret, once")
            .to_string();
        assert!(secret.starts_with("whsec_"));
        let id = created["id"].as_str().unwrap().to_string();
        let listed = officer
            .get(format!("{base}/v1/webhooks"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            listed.contains(&id) && !listed.contains(&secret),
            "listed without its secret: {listed}"
        );

        // S06 holds: a member is a potential match.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/proposals");
        let r = officer
            .post(format!("{base}/v1/proposals"))
            .header("content-type", "application/json")
            .body(std::fs::read_to_string(dir.join("S06.json")).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);

        // Failed once, retried after the backoff, delivered.
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.lock().unwrap().len() < 2 {
            assert!(
                Instant::now() < deadline,
                "not delivered twice: {:?}",
                got.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let received = got.lock().unwrap().clone();
        let (sig, delivery, body) = &received[1];
        assert_eq!(delivery, &received[0].1, "a retry names the same delivery");
        let now = stackport_store::timestamp::now_micros() / 1_000_000;
        assert!(
            stackport_app::webhooks::verify(&secret, sig, body, now, 300),
            "{sig}"
        );
        assert!(!stackport_app::webhooks::verify(
            "whsec_other",
            sig,
            body,
            now,
            300
        ));
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["event"], "hold.placed");
        assert_eq!(payload["data"]["subject"]["id"], "S06");

        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let d: Value = officer
                .get(format!("{base}/v1/webhooks/{id}/deliveries"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let first = &d["deliveries"][0];
            if first["status"] == "delivered" {
                assert_eq!(
                    (first["attempts"].as_i64(), first["last_status"].as_i64()),
                    (Some(2), Some(200)),
                    "{d}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "{d}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            rival
                .get(format!("{base}/v1/webhooks/{id}/deliveries"))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        let theirs: Value = rival
            .get(format!("{base}/v1/webhooks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(theirs["webhooks"].as_array().unwrap().is_empty());
    })
    .await;
}
