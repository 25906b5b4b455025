//! Password logins over loopback (issue 11, item 1): a session in a `__Host-` cookie that is
//! Secure, HttpOnly and SameSite=Strict; every state change made with it needs the session's
//! CSRF token; failures answer alike for unknown addresses and wrong passwords; logout ends the
//! session. On SQLite and PostgreSQL.

mod common;

use serde_json::{json, Value};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_acts_with_the_csrf_token_and_logs_out() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let data = tempfile::tempdir().unwrap();
        let ctx = ServerContext::new(
            store,
            ServerConfig { data_dir: data.path().to_path_buf(), bundled_lists: None, rulebook_dir: None },
        )
        .await
        .expect("context");
        let admin = common::client(&common::admin_token(&ctx).await);
        let base = common::serve(ctx).await;

        let me: Value = admin.get(format!("{base}/v1/me")).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        let password = "a long and unguessable passphrase";
        let r = admin
            .post(format!("{base}/v1/orgs/{org}/users"))
            .json(&json!({"email": "reviewer@example.org", "name": "A Reviewer", "role": "reviewer", "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = admin
            .post(format!("{base}/v1/orgs/{org}/users"))
            .json(&json!({"email": "weak@example.org", "name": "Weak", "role": "reviewer", "password": "short"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "weak_password");

        // Failures answer alike; a malformed body is no exception.
        let anon = reqwest::Client::new();
        let login = |body: String| {
            let anon = anon.clone();
            let url = format!("{base}/v1/login");
            async move {
                let r = anon.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
                let status = r.status().as_u16();
                let cookie = r.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string());
                (status, cookie, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let wrong = login(json!({"email": "reviewer@example.org", "password": "not the passphrase"}).to_string()).await;
        let unknown = login(json!({"email": "nobody@example.org", "password": "not the passphrase"}).to_string()).await;
        assert_eq!(wrong.0, 401);
        assert_eq!((wrong.0, &wrong.2), (unknown.0, &unknown.2), "unknown addresses answer as wrong passwords");
        assert!(wrong.1.is_none());
        for body in ["", "{}", "not json", "{\"email\": 1}"] {
            assert_eq!(login(body.to_string()).await.0, 401, "{body:?}");
        }

        // The right password, however the address is written.
        let (status, cookie, body) =
            login(json!({"email": " Reviewer@Example.ORG ", "password": password}).to_string()).await;
        assert_eq!(status, 200, "{body}");
        let cookie = cookie.expect("a session cookie");
        for attr in ["__Host-stackport_session=sps_", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(attr), "{attr} in {cookie}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
        let pair = cookie.split(';').next().unwrap().to_string();
        let csrf = body["csrf_token"].as_str().expect("csrf token").to_string();
        assert_eq!(body["user"]["role"], "reviewer");
        assert!(!body.to_string().contains(password));
        assert!(!body.to_string().contains(pair.split('=').nth(1).unwrap()), "the secret only in the cookie");

        let browser = reqwest::Client::new();
        let me: Value = browser.get(format!("{base}/v1/me")).header("cookie", &pair).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["user"]["email"], "reviewer@example.org");
        assert_eq!(me["csrf_token"], csrf.as_str());

        // A state change with the cookie alone (what another site can make a browser send) is
        // refused; with the CSRF token it is made.
        let issue = |csrf: Option<&str>| {
            let mut req = browser
                .post(format!("{base}/v1/tokens"))
                .header("cookie", &pair)
                .json(&json!({"label": "from the console", "role": "auditor"}));
            if let Some(c) = csrf {
                req = req.header("x-csrf-token", c);
            }
            req.send()
        };
        let r = issue(None).await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "csrf_failed");
        let r = issue(Some("wrong")).await.unwrap();
        assert_eq!(r.status(), 403);
        let r = issue(Some(&csrf)).await.unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.json::<Value>().await.unwrap()["role"], "auditor");

        // A session's role is its user's: a reviewer may not create organisations.
        let r = browser
            .post(format!("{base}/v1/orgs"))
            .header("cookie", &pair)
            .header("x-csrf-token", &csrf)
            .json(&json!({"name": "X", "kind": "lender"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);

        // Guessing stops: after five failures an address is refused, right password or not,
        // and an unknown address the same way.
        for _ in 0..5 {
            let (s, _, _) = login(json!({"email": "reviewer@example.org", "password": "guess guess guess"}).to_string()).await;
            assert_eq!(s, 401);
        }
        let (s, cookie, body) = login(json!({"email": "reviewer@example.org", "password": password}).to_string()).await;
        assert_eq!((s, body["error"]["code"].as_str()), (429, Some("too_many_attempts")), "{body}");
        assert!(cookie.is_none());

        // Logout ends the session and clears the cookie; a token cannot "log out".
        let r = admin.post(format!("{base}/v1/logout")).send().await.unwrap();
        assert_eq!(r.status(), 400);
        let r = browser.post(format!("{base}/v1/logout")).header("cookie", &pair).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        let r = browser.get(format!("{base}/v1/me")).header("cookie", &pair).send().await.unwrap();
        assert_eq!(r.status(), 401);
    })
    .await;
}
