//! What the server's test suites share: an admin credential of a fresh platform organisation
//! (made through the store, so that a test may start several servers on one database), and a
//! client that sends it.

#![allow(dead_code)]

use stackport_identity::{new_id, ApiToken, OrgKind, Role};
use stackport_server::ServerContext;
use stackport_store::{Organisation, TokenRecord, User};

/// A new platform organisation with one admin; returns the admin's API token.
pub async fn admin_token(ctx: &ServerContext) -> String {
    token_for(ctx, OrgKind::Platform, Role::Admin).await
}

/// A new organisation of `kind` with one user of `role`; returns that user's API token.
pub async fn token_for(ctx: &ServerContext, kind: OrgKind, role: Role) -> String {
    let now = stackport_store::timestamp::now_micros();
    let org = Organisation {
        id: new_id("org"),
        name: format!("Test {kind} {}", new_id("n")),
        kind,
        created_at: now,
    };
    ctx.store
        .create_organisation(&org)
        .await
        .expect("organisation");
    let user = User {
        id: new_id("usr"),
        org_id: org.id.clone(),
        email: format!("{}@test.invalid", new_id("u")),
        name: format!("Test {role}"),
        role,
        password_hash: None,
        created_at: now,
        disabled_at: None,
    };
    ctx.store.create_user(&user).await.expect("user");
    let token = ApiToken::generate();
    ctx.store
        .create_token(&TokenRecord {
            id: new_id("tok"),
            hash: token.hash().as_str().to_string(),
            user_id: user.id,
            role,
            label: "test".into(),
            created_at: now,
            expires_at: now + 86_400_000_000,
            revoked_at: None,
        })
        .await
        .expect("token");
    token.expose().to_string()
}

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// Serves the whole application of `ctx` on a loopback port; its base URL.
pub async fn serve(ctx: ServerContext) -> String {
    let router = stackport_server::app(ctx).await.expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    base
}
