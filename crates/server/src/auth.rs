//! Authentication and the route-level authorisation check, for every route at once.
//!
//! The middleware finds the route's [`Access`] in the policy's table
//! (`stackport_identity::policy::ROUTES`) by method and path template: a public route passes;
//! any other needs `Authorization: Bearer <token>` or the session cookie of a password login
//! ([`SESSION_COOKIE`]; a state change made with it also needs the session's CSRF token in
//! [`CSRF_HEADER`], else 403 `csrf_failed`) (401 `unauthenticated` without a credential, with
//! `WWW-Authenticate: Bearer`), and the caller's role and organisation must be allowed the
//! route's action (403 `forbidden`). The caller's [`Principal`] then rides on the request for
//! the handlers, which pass it to the services for checks on single objects
//! (`policy::decide_on`). No handler decides on roles itself.
//!
//! The token is never logged: the access log records the method, path, status and the
//! principal's user id.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stackport_app::identity::IdentityService;
use stackport_app::AppError;
use stackport_identity::policy::{decide, route_access, Access, Decision, Principal};

use crate::ApiError;

/// The bearer token of a request, if it carries one.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    // RFC 9110 §11.1: the scheme is case-insensitive.
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The cookie of a login session. `__Host-`: only set with `Secure`, for `/`, without a
/// `Domain` (RFC 6265bis §4.1.3.2), so no other host or path can plant or read it.
pub const SESSION_COOKIE: &str = "__Host-stackport_session";
/// The header a state change made with a session cookie carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The login session of the request, when a cookie authenticated it.
#[derive(Debug, Clone)]
pub struct SessionInUse(pub stackport_identity::SessionSecret);

/// The session cookie's value, if the request carries one.
fn session_cookie(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value.trim())
        })
}

fn unauthenticated(message: &str) -> Response {
    let mut r = ApiError::new("unauthenticated", message).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// The middleware (`axum::middleware::from_fn_with_state`), layered on the matched routes.
pub async fn authorise(
    State(identity): State<Arc<IdentityService>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(template) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        // Not a route: the fallback answers route_not_found.
        return next.run(req).await;
    };
    // axum answers HEAD with the GET handler, so HEAD needs what GET needs.
    let method = if req.method() == axum::http::Method::HEAD {
        "GET"
    } else {
        req.method().as_str()
    };
    let action = match route_access(method, &template) {
        Some(Access::Public | Access::Login) => return next.run(req).await,
        Some(Access::Needs(action)) => action,
        // A method the path does not route: its method router answers 405. (Every routed
        // method is in the table: the server does not start otherwise, see `app_with`.)
        None => return next.run(req).await,
    };
    let now = stackport_store::timestamp::now_micros();
    let mut session = None;
    let (principal, token_id) = if let Some(token) = bearer(&req) {
        match identity.authenticate(token, now).await {
            Ok(found) => found,
            Err(AppError::Unauthenticated(m)) => return unauthenticated(&m),
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else if let Some(cookie) = session_cookie(&req) {
        let (principal, secret) = match identity.authenticate_session(cookie, now).await {
            Ok(found) => found,
            Err(AppError::Unauthenticated(m)) => return unauthenticated(&m),
            Err(e) => return ApiError::from(e).into_response(),
        };
        // A cookie is sent by the browser whoever made it send the request: a state change
        // must also carry the session's CSRF token, which another site cannot read.
        if !req.method().is_safe() {
            let presented = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !secret.csrf_matches(presented) {
                return ApiError::new(
                    "csrf_failed",
                    format!("a state change with a session cookie needs its {CSRF_HEADER} header (from POST /v1/login or GET /v1/me)"),
                )
                .into_response();
            }
        }
        session = Some(SessionInUse(secret));
        (principal, "session".to_string())
    } else {
        return unauthenticated(
            "this route needs a credential: send Authorization: Bearer <token>, or log in",
        );
    };
    if decide(&principal, action) != Decision::Allow {
        return ApiError::new(
            "forbidden",
            format!(
                "the role {} in an organisation of kind {} may not do this ({action:?})",
                principal.role, principal.org_kind
            ),
        )
        .into_response();
    }
    let user = AuthenticatedUser(principal.user.clone());
    if let Some(session) = session {
        req.extensions_mut().insert(session);
    }
    req.extensions_mut().insert(principal);
    req.extensions_mut().insert(CredentialId(token_id));
    let mut resp = next.run(req).await;
    // For the access log (`edge`), which sees the response, not the request.
    resp.extensions_mut().insert(user);
    resp
}

/// The user id of an authenticated request, on its response (for the access log).
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub String);

/// The id (`tok_…`) of the token that authenticated the request.
#[derive(Debug, Clone)]
pub struct CredentialId(pub String);

/// The ledger's record of who a decision was made for (issue 11, item 7).
pub fn actor(p: Option<&Principal>) -> Option<stackport_ledger::Actor> {
    p.map(|p| stackport_ledger::Actor {
        user: p.user.clone(),
        organisation: p.org.clone(),
        role: p.role.to_string(),
    })
}

/// The caller, for handlers: `Caller(principal)`.
pub struct Caller(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::internal("no principal on an authenticated route"))
    }
}
