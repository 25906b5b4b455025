//! The HTTP edge over loopback (issue 10, item 9): slow clients are cut off while others are
//! served, oversized bodies get a readable 413, and every error has the JSON error shape.

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stackport_server::edge::{self, EdgeConfig};
use stackport_server::{app_with, ServerConfig, ServerContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Running {
    token: String,
    addr: std::net::SocketAddr,
    _data: tempfile::TempDir,
}

async fn start(config: EdgeConfig) -> Running {
    let data = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", data.path().join("s.sqlite").display());
    let store = stackport_store::open(&url).await.expect("store");
    let ctx = ServerContext::new(
        store,
        ServerConfig {
            data_dir: data.path().to_path_buf(),
            bundled_lists: None,
            rulebook_dir: None,
        },
    )
    .await
    .expect("context");
    let token = common::admin_token(&ctx).await;
    let app = app_with(ctx, &config).await.expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(edge::serve(
        listener,
        app,
        config,
        std::future::pending::<()>(),
    ));
    Running {
        addr,
        _data: data,
        token,
    }
}

/// Raises the soft limit of open files to the hard one: the test holds 1,000 sockets and the
/// server in the same process 1,000 more.
fn more_files() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Reads until the server closes the connection or `deadline` passes; what was read, and
/// whether the connection was closed.
async fn read_to_close(s: &mut TcpStream, deadline: Instant) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_stalled_clients_are_closed_within_the_timeouts_while_others_are_served() {
    more_files();
    let config = EdgeConfig {
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let server = start(config).await;
    let started = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..1000 {
        let mut s = TcpStream::connect(server.addr).await.expect("connect");
        // Authenticated, so that the handler waits for the body.
        let auth = format!("Authorization: Bearer {}", server.token);
        let part = match i % 4 {
            // Nothing at all.
            0 => String::new(),
            // Half a request head.
            1 => "POST /v1/determine HTTP/1.1\r\nHost: x\r\nContent-Ty".to_string(),
            // A whole head and a tenth of the body it announces.
            2 => format!("POST /v1/determine HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\": \"a\""),
            // A whole head of a request whose body never comes.
            _ => format!("POST /v1/screen HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"),
        };
        s.write_all(part.as_bytes()).await.expect("write");
        stalled.push((i, s));
    }
    // Other clients are served meanwhile.
    let client = common::client(&server.token);
    for _ in 0..20 {
        let t = Instant::now();
        let r = client
            .get(format!("http://{}/v1/health", server.addr))
            .send()
            .await
            .expect("health while stalled clients hold connections");
        assert_eq!(r.status(), 200);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "served in {:?}",
            t.elapsed()
        );
    }
    // Every stalled connection is closed by the server: head timeout 1 s, request timeout 2 s,
    // with 3 s of slack for a loaded machine.
    let deadline = started + Duration::from_secs(5);
    let mut timeouts = 0;
    for (i, s) in &mut stalled {
        let (got, closed) = read_to_close(s, deadline).await;
        assert!(
            closed,
            "connection {i} still open after {:?}",
            started.elapsed()
        );
        if *i % 4 >= 2 {
            // Mid-body: the request was read far enough to answer it, with the JSON error.
            let text = String::from_utf8_lossy(&got);
            assert!(text.starts_with("HTTP/1.1 408"), "connection {i}: {text}");
            assert!(
                text.contains("\"request_timeout\""),
                "connection {i}: {text}"
            );
            timeouts += 1;
        }
    }
    assert_eq!(timeouts, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_gets_a_readable_413_in_the_error_shape() {
    let server = start(EdgeConfig::default()).await;
    let client = common::client(&server.token);
    // 24 MiB against the 2 MiB limit of /v1/determine, sent without Expect: 100-continue.
    let big = json!({"id": "x", "date": "2026-03-01", "item": {"catalog": "nvidia-h200"}, "destination": "FR",
        "pad": "x".repeat(24 << 20)});
    let r = client
        .post(format!("http://{}/v1/determine", server.addr))
        .json(&big)
        .send()
        .await
        .expect("the client reads the answer, not a reset connection");
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.expect("JSON body");
    assert_eq!(v["error"]["code"], "body_too_large", "{v}");
    // The connection is still good for the next request.
    let r = client
        .get(format!("http://{}/v1/health", server.addr))
        .send()
        .await
        .expect("next request");
    assert_eq!(r.status(), 200);
    // A plain client that writes its whole request before reading (no Expect: 100-continue):
    // the server reads the rest of the body, so the write succeeds and the answer is there.
    let body = vec![b' '; 12 << 20];
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST /v1/determine HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.token,
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(&body)
        .await
        .expect("the whole body is written, not cut by a reset");
    let mut answer = vec![0u8; 4096];
    let n = s.read(&mut answer).await.expect("read the answer");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"body_too_large\""), "{text}");
    // A chunked body over the limit (no Content-Length) is refused the same way.
    let stream =
        futures_util::stream::iter((0..48).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 << 10])));
    let r = client
        .post(format!("http://{}/v1/determine", server.addr))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("chunked answer");
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.expect("JSON body");
    assert_eq!(v["error"]["code"], "body_too_large", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edge_error_has_the_json_error_shape() {
    let server = start(EdgeConfig::default()).await;
    let base = format!("http://{}", server.addr);
    let c = common::client(&server.token);
    let cases = [
        (
            c.get(format!("{base}/v1/nothing-here")),
            404,
            "route_not_found",
        ),
        (
            c.delete(format!("{base}/v1/determine")),
            405,
            "method_not_allowed",
        ),
        (
            c.get(format!("{base}/v1/determine")),
            405,
            "method_not_allowed",
        ),
        (
            c.post(format!("{base}/v1/determine"))
                .header("content-type", "text/plain")
                .body("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            c.post(format!("{base}/v1/determine")).body("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            c.get(format!("{base}/v1/ledger/entries/abc")),
            400,
            "invalid_request",
        ),
        (
            c.get(format!("{base}/v1/ledger/proof/inclusion?index=x")),
            400,
            "invalid_request",
        ),
        (
            c.get(format!("{base}/v1/proposals?limit=ten")),
            400,
            "invalid_request",
        ),
    ];
    for (req, status, code) in cases {
        let r = req.send().await.expect("send");
        let what = format!("{} {}", r.status(), r.url());
        assert_eq!(r.status().as_u16(), status, "{what}");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with("application/json"), "{what}: {ct}");
        let v: Value = r.json().await.expect("JSON");
        assert_eq!(v["error"]["code"], code, "{what}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {v}"
        );
    }
}

/// The document served is the router's own (one declaration per route): every route answers
/// something other than `route_not_found`, and every operation documents the error responses
/// its shape can produce, each with the error body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_route_with_its_error_responses() {
    let server = start(EdgeConfig::default()).await;
    let base = format!("http://{}", server.addr);
    let c = common::client(&server.token);
    let doc: Value = c
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/v1/health",
        "/metrics",
        "/openapi.json",
        "/v1/screen",
        "/v1/determine",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            operations += 1;
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("408"), "{method} {path}: no 408");
            let has_body = op.get("requestBody").is_some();
            let params = op["parameters"].as_array().map(Vec::len).unwrap_or(0);
            if has_body || params > 0 {
                assert!(responses.contains_key("400"), "{method} {path}: no 400");
            }
            if has_body {
                for s in ["413", "415"] {
                    assert!(responses.contains_key(s), "{method} {path}: no {s}");
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path}: no 404");
            }
            for (status, r) in responses {
                if status.as_str() >= "400" {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
            // The route is served: an unknown route would be `route_not_found`.
            let url = format!("{base}{}", path.replace('{', "x").replace('}', ""));
            let req = match method.as_str() {
                "get" => c.get(&url),
                "post" => c.post(&url).json(&json!({})),
                other => panic!("{other} {path}: unexpected method"),
            };
            let r = req.send().await.expect("send");
            if r.status() == 404 {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_ne!(body["error"]["code"], "route_not_found", "{method} {path}");
            }
        }
    }
    assert!(operations >= 30, "{operations} operations");
}
