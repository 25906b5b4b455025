//! Identity over HTTP: who am I, organisations, their users, and API tokens.
//!
//! Every route takes a credential; the policy (`stackport_identity::policy`) has decided the
//! route's action before a handler runs, and the identity service decides again for the one
//! organisation or token concerned. A token's secret appears in exactly one response, the one
//! that creates it; listings show ids, labels, scopes and times only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stackport_app::identity::{IdentityService, NewToken, NewUser};
use stackport_app::registry::rfc3339;
use stackport_identity::{OrgKind, Role};
use stackport_store::{Organisation, TokenRecord, User};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Caller, SessionInUse, SESSION_COOKIE};
use crate::error::{Bytes, Json, Path as UrlPath};
use crate::ApiError;

#[derive(OpenApi)]
#[openapi(
    components(schemas(OrgView, UserView, TokenView, IssuedToken, Me, LoginRequest, LoginResponse, NewOrgRequest, NewUserRequest, NewTokenRequest, OrgKind, Role)),
    tags((name = "identity", description = "Organisations, users, API tokens"))
)]
pub struct IdentityApi;

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub kind: OrgKind,
    /// RFC 3339.
    pub created_at: String,
}

impl From<Organisation> for OrgView {
    fn from(o: Organisation) -> Self {
        Self {
            id: o.id,
            name: o.name,
            kind: o.kind,
            created_at: rfc3339(o.created_at),
        }
    }
}

/// A user (never a password or its hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Whether the user can log in with a password.
    pub has_password: bool,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            has_password: u.password_hash.is_some(),
            id: u.id,
            org_id: u.org_id,
            email: u.email,
            name: u.name,
            role: u.role,
            created_at: rfc3339(u.created_at),
            disabled_at: u.disabled_at.map(rfc3339),
        }
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub user_id: String,
    /// The token's scope.
    pub role: Role,
    pub label: String,
    pub created_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id,
            user_id: t.user_id,
            role: t.role,
            label: t.label,
            created_at: rfc3339(t.created_at),
            expires_at: rfc3339(t.expires_at),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// A new token: `token` is its secret, shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Send as `Authorization: Bearer <token>`.
    #[schema(example = "spt_…")]
    pub token: String,
    #[serde(flatten)]
    pub record: TokenView,
}

/// The caller: user, organisation, and the scope of the credential used.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: UserView,
    pub organisation: OrgView,
    /// The role this request acts with (the token's scope).
    pub role: Role,
    /// With a session cookie: the CSRF token every state change must send in `X-CSRF-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// A password login.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 256)]
    pub password: String,
}

/// A session begun: the cookie is set; `csrf_token` goes in `X-CSRF-Token` on every state
/// change.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: UserView,
    pub organisation: OrgView,
    pub csrf_token: String,
    /// RFC 3339; the session ends then whatever happens.
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = OrgKind)]
    pub kind: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    #[schema(max_length = 254, pattern = r"^[^@\s]+@[^@\s]+$")]
    pub email: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// For people who log in (argon2id-hashed); leave out for users of tokens only.
    #[schema(min_length = 12, max_length = 256)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for (`landmark lm-fra-1`, `ci`).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub label: String,
    /// The scope: the user's role (default) or `auditor` (read only).
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    /// Days until it expires; default 90.
    #[schema(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
    /// The user it is for (an admin, for a user of its organisation); default: the caller.
    #[schema(max_length = 200)]
    pub user_id: Option<String>,
}

fn role_of(text: &str) -> Result<Role, ApiError> {
    text.parse().map_err(|e: stackport_identity::UnknownCode| {
        ApiError::new("invalid_role", format!("role: {e}"))
    })
}

fn now() -> i64 {
    stackport_store::timestamp::now_micros()
}

type Identity = State<Arc<IdentityService>>;

/// The caller's user and organisation.
#[utoipa::path(get, path = "/v1/me", tag = "identity",
    responses((status = 200, body = Me)))]
async fn me(
    State(id): Identity,
    Caller(p): Caller,
    session: Option<axum::Extension<SessionInUse>>,
) -> Result<axum::Json<Me>, ApiError> {
    let (user, org) = id.me(&p).await?;
    Ok(axum::Json(Me {
        user: user.into(),
        organisation: org.into(),
        role: p.role,
        csrf_token: session.map(|s| s.0 .0.csrf_token()),
    }))
}

/// Logs a person in: sets the session cookie (`__Host-stackport_session`: Secure, HttpOnly,
/// SameSite=Strict) and answers the session's CSRF token. Any failure, a missing or malformed
/// body included, is 401 `unauthenticated`, alike for unknown addresses and wrong passwords.
#[utoipa::path(post, path = "/v1/login", tag = "identity", request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, body = LoginResponse, headers(("set-cookie" = String, description = "__Host-stackport_session=…; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=43200"))),
        (status = 401, description = "unauthenticated: the e-mail address or the password is wrong, or the body is not {email, password}"),
        (status = 429, description = "too_many_attempts: five failed logins of this address within 15 minutes"),
    ))]
async fn login(State(id): Identity, Bytes(body): Bytes) -> Result<Response, ApiError> {
    let refused = || {
        ApiError::new(
            "unauthenticated",
            "send {\"email\": …, \"password\": …} of a user with a password",
        )
    };
    let req: LoginRequest = serde_json::from_slice(&body).map_err(|_| refused())?;
    let (secret, session, user, org) = id.login(&req.email, &req.password, now()).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        secret.expose(),
        stackport_app::identity::SESSION_HOURS * 3600
    );
    let body = LoginResponse {
        csrf_token: secret.csrf_token(),
        expires_at: rfc3339(session.expires_at),
        user: user.into(),
        organisation: org.into(),
    };
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Ends the login session of this request's cookie and clears the cookie.
#[utoipa::path(post, path = "/v1/logout", tag = "identity",
    responses((status = 204, description = "The session is ended"),
        (status = 400, description = "invalid_request: the request was not made with a session cookie (revoke a token with POST /v1/tokens/{id}/revoke)")))]
async fn logout(
    State(id): Identity,
    session: Option<axum::Extension<SessionInUse>>,
) -> Result<Response, ApiError> {
    let Some(axum::Extension(SessionInUse(secret))) = session else {
        return Err(ApiError::bad_request(
            "logout ends a login session; this request carries a token (revoke it with POST /v1/tokens/{id}/revoke)",
        ));
    };
    id.logout(&secret, now()).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .map_err(ApiError::internal)?,
    );
    Ok(resp)
}

/// Every organisation (platform admins and auditors).
#[utoipa::path(get, path = "/v1/orgs", tag = "identity",
    responses((status = 200, body = Vec<OrgView>)))]
async fn list_orgs(
    State(id): Identity,
    Caller(p): Caller,
) -> Result<axum::Json<Vec<OrgView>>, ApiError> {
    let orgs = id.organisations(&p).await?;
    Ok(axum::Json(orgs.into_iter().map(OrgView::from).collect()))
}

/// Creates an organisation (platform admins).
#[utoipa::path(post, path = "/v1/orgs", tag = "identity", request_body = NewOrgRequest,
    responses((status = 201, body = OrgView), (status = 409, description = "the name is taken (conflict)")))]
async fn create_org(
    State(id): Identity,
    Caller(p): Caller,
    Json(req): Json<NewOrgRequest>,
) -> Result<(StatusCode, axum::Json<OrgView>), ApiError> {
    let kind: OrgKind = req
        .kind
        .parse()
        .map_err(|e: stackport_identity::UnknownCode| {
            ApiError::new("invalid_org_kind", format!("kind: {e}"))
        })?;
    let org = id.create_organisation(&p, &req.name, kind, now()).await?;
    Ok((StatusCode::CREATED, axum::Json(org.into())))
}

/// The users of an organisation (its admins, the platform's admins, auditors).
#[utoipa::path(get, path = "/v1/orgs/{id}/users", tag = "identity",
    params(("id" = String, Path, description = "The organisation's id")),
    responses((status = 200, body = Vec<UserView>)))]
async fn list_users(
    State(id): Identity,
    Caller(p): Caller,
    UrlPath(org): UrlPath<String>,
) -> Result<axum::Json<Vec<UserView>>, ApiError> {
    let users = id.users(&p, &org).await?;
    Ok(axum::Json(users.into_iter().map(UserView::from).collect()))
}

/// Creates a user in an organisation (its admins, the platform's admins).
#[utoipa::path(post, path = "/v1/orgs/{id}/users", tag = "identity", request_body = NewUserRequest,
    params(("id" = String, Path, description = "The organisation's id")),
    responses((status = 201, body = UserView), (status = 409, description = "the e-mail address is taken (conflict)")))]
async fn create_user(
    State(id): Identity,
    Caller(p): Caller,
    UrlPath(org): UrlPath<String>,
    Json(req): Json<NewUserRequest>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    let new = NewUser {
        role: role_of(&req.role)?,
        email: req.email,
        name: req.name,
        password: req.password,
    };
    let user = id.create_user(&p, &org, &new, now()).await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// Issues an API token; its secret is in this response only.
#[utoipa::path(post, path = "/v1/tokens", tag = "identity", request_body = NewTokenRequest,
    responses((status = 201, body = IssuedToken), (status = 404, description = "not_found: no user `user_id` that the caller manages")))]
async fn issue_token(
    State(id): Identity,
    Caller(p): Caller,
    Json(req): Json<NewTokenRequest>,
) -> Result<(StatusCode, axum::Json<IssuedToken>), ApiError> {
    let new = NewToken {
        role: req.role.as_deref().map(role_of).transpose()?,
        label: req.label,
        days: req.days,
        user_id: req.user_id,
    };
    let (record, token) = id.issue_token(&p, &new, now()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(IssuedToken {
            token: token.expose().to_string(),
            record: record.into(),
        }),
    ))
}

/// The caller's own tokens (never their secrets).
#[utoipa::path(get, path = "/v1/tokens", tag = "identity",
    responses((status = 200, body = Vec<TokenView>)))]
async fn list_tokens(
    State(id): Identity,
    Caller(p): Caller,
) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    let tokens = id.tokens(&p).await?;
    Ok(axum::Json(
        tokens.into_iter().map(TokenView::from).collect(),
    ))
}

/// Revokes a token: the caller's own, or (an admin) one of a user of its organisation.
#[utoipa::path(post, path = "/v1/tokens/{id}/revoke", tag = "identity",
    params(("id" = String, Path, description = "The token's id (`tok_…`), not its secret")),
    responses((status = 200, body = TokenView), (status = 409, description = "cannot_revoke_own_credential: the token of this request; revoke it with another credential")))]
async fn revoke_token(
    State(id): Identity,
    Caller(p): Caller,
    axum::Extension(used): axum::Extension<crate::auth::CredentialId>,
    UrlPath(token): UrlPath<String>,
) -> Result<axum::Json<TokenView>, ApiError> {
    // A credential does not revoke itself: a script or a fuzzer would lock its caller out by
    // accident; another of the caller's tokens, or an admin's, revokes it.
    if used.0 == token {
        return Err(ApiError::new(
            "cannot_revoke_own_credential",
            format!("token {token:?} is the credential of this request; revoke it with another"),
        ));
    }
    Ok(axum::Json(id.revoke_token(&p, &token, now()).await?.into()))
}

/// The identity routes over the identity service.
pub fn router(identity: Arc<IdentityService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(list_users, create_user))
        .routes(routes!(issue_token, list_tokens))
        .routes(routes!(revoke_token))
        .with_state(identity)
}
