//! What authentication and authorisation add to a request (issue 11 bar: under 20 µs): the
//! same trivial route served by the same router, once bare and once behind the auth
//! middleware (`auth::authorise`: the policy's route table, the bearer token hashed and found
//! in the identity service's cache, `policy::decide`, the principal on the request), A/B in
//! one run. A third case sends the session cookie of a password login instead (with the CSRF
//! check of a state change).
//!
//! ```sh
//! cargo bench -p stackport-server --bench auth
//! ```

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::routing::{get, post};
use axum::Router;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use stackport_app::identity::{IdentityService, NewUser};
use stackport_identity::{new_id, ApiToken, OrgKind, Role};
use stackport_store::{Organisation, TokenRecord, User};
use tower::ServiceExt as _;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("auth.sqlite").display());
    let (identity, token, cookie, csrf) = rt.block_on(async {
        let store = stackport_store::open(&url).await.expect("store");
        let now = stackport_store::timestamp::now_micros();
        let org = Organisation {
            id: new_id("org"),
            name: "Bench platform".into(),
            kind: OrgKind::Platform,
            created_at: now,
        };
        store.create_organisation(&org).await.expect("org");
        let user = User {
            id: new_id("usr"),
            org_id: org.id.clone(),
            email: "bench@example.org".into(),
            name: "Bench".into(),
            role: Role::Admin,
            password_hash: None,
            created_at: now,
            disabled_at: None,
        };
        store.create_user(&user).await.expect("user");
        let token = ApiToken::generate();
        store
            .create_token(&TokenRecord {
                id: new_id("tok"),
                hash: token.hash().as_str().to_string(),
                user_id: user.id.clone(),
                role: Role::Admin,
                label: "bench".into(),
                created_at: now,
                expires_at: now + 86_400_000_000,
                revoked_at: None,
            })
            .await
            .expect("token");
        let identity = Arc::new(IdentityService::new(store));
        let admin = identity
            .authenticate(token.expose(), now)
            .await
            .expect("authenticates")
            .0;
        let person = identity
            .create_user(
                &admin,
                &org.id,
                &NewUser {
                    email: "person@example.org".into(),
                    name: "Person".into(),
                    role: Role::Admin,
                    password: Some("a bench passphrase".into()),
                },
                now,
            )
            .await
            .expect("person");
        let (secret, _, _, _) = identity
            .login(&person.email, "a bench passphrase", now)
            .await
            .expect("login");
        let cookie = format!(
            "{}={}",
            stackport_server::auth::SESSION_COOKIE,
            secret.expose()
        );
        (identity, token, cookie, secret.csrf_token())
    });
    // A route of the policy's table with a handler that does nothing, so that the difference
    // between the two routers is the middleware alone.
    let bare = Router::new()
        .route("/v1/lists", get(|| async { "ok" }))
        .route("/v1/orgs", post(|| async { "ok" }));
    let guarded = bare
        .clone()
        .route_layer(axum::middleware::from_fn_with_state(
            identity,
            stackport_server::auth::authorise,
        ));
    let bearer = format!("Bearer {}", token.expose());
    let request = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).expect("request")
    };
    let mut group = c.benchmark_group("auth");
    group.bench_function("bare_route", |b| {
        b.iter(|| {
            let r = rt.block_on(bare.clone().oneshot(request(
                "GET",
                "/v1/lists",
                &[("authorization", &bearer)],
            )));
            black_box(r.expect("answer").status())
        })
    });
    group.bench_function("bearer_token", |b| {
        b.iter(|| {
            let r = rt.block_on(guarded.clone().oneshot(request(
                "GET",
                "/v1/lists",
                &[("authorization", &bearer)],
            )));
            let r = r.expect("answer");
            assert_eq!(r.status(), 200);
            black_box(r.status())
        })
    });
    group.bench_function("session_cookie_state_change", |b| {
        b.iter(|| {
            let r = rt.block_on(guarded.clone().oneshot(request(
                "POST",
                "/v1/orgs",
                &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            )));
            let r = r.expect("answer");
            assert_eq!(r.status(), 200);
            black_box(r.status())
        })
    });
    group.bench_function("refused_without_credential", |b| {
        b.iter(|| {
            let r = rt.block_on(guarded.clone().oneshot(request("GET", "/v1/lists", &[])));
            black_box(r.expect("answer").status())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
