//! The identity service: the first organisation and admin of a database, organisations and
//! users, API tokens issued and revoked, and the authentication of each request's credential.
//!
//! Every change here is decided by `stackport_identity::policy` ([`decide_on`] with the
//! organisation concerned) before it is stored; the server's middleware has already checked
//! the route's action with `decide`.
//!
//! Authentication is on every request, so it is served from memory: a credential found in the
//! store is cached under its hash for [`CACHE_SECONDS`]. Revoking a token drops it from this
//! instance's cache at once; another instance on the same database stops accepting it within
//! [`CACHE_SECONDS`]. Expiry is checked on every request against the cached expiry.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use stackport_identity::policy::{decide_on, Action, Decision, Denial, Principal};
use stackport_identity::{new_id, password, ApiToken, OrgKind, Role, SessionSecret, TokenHash};
use stackport_store::{Organisation, SessionRecord, Storage, StoreError, TokenRecord, User};

use crate::AppError;

/// How long a credential read from the store is trusted without reading it again.
pub const CACHE_SECONDS: u64 = 10;
/// Default lifetime of a new token.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// Longest lifetime a token may be given.
pub const MAX_TOKEN_DAYS: u32 = 366;
/// How long a login session lasts (absolute: OWASP Session Management Cheat Sheet suggests
/// 4 to 8 hours of idle and a bounded absolute timeout for sensitive applications; one working
/// day here).
pub const SESSION_HOURS: i64 = 12;
/// Bounds on names, labels and addresses.
pub const MAX_NAME_LEN: usize = 200;

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// What `admin bootstrap` made: the token is the only copy of the secret.
#[derive(Debug)]
pub struct Bootstrapped {
    pub org: Organisation,
    pub admin: User,
    pub token: ApiToken,
    pub token_record: TokenRecord,
}

/// A new user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// For people who log in; scripts and agents use tokens only.
    pub password: Option<String>,
}

/// A token to issue.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub label: String,
    /// The token's scope: the user's own role, or `auditor` (read only). Default: the user's.
    pub role: Option<Role>,
    /// Days until it expires (1 ..= [`MAX_TOKEN_DAYS`]); default [`DEFAULT_TOKEN_DAYS`].
    pub days: Option<u32>,
    /// The user it is for (an admin issuing for a user of its organisation); default: the
    /// caller.
    pub user_id: Option<String>,
}

#[derive(Clone)]
struct Cached {
    principal: Principal,
    /// The token's id, or `session` for a login session.
    token_id: String,
    expires_at: i64,
    read_at: Instant,
}

pub struct IdentityService {
    store: Arc<dyn Storage>,
    cache: RwLock<HashMap<TokenHash, Cached>>,
    /// Failed logins per address in the current window (OWASP Authentication Cheat Sheet:
    /// limit failed attempts per account): this instance's count.
    failures: std::sync::Mutex<HashMap<String, (u32, Instant)>>,
}

/// Failed logins of one address after which it is refused for [`LOCKOUT`].
pub const MAX_FAILED_LOGINS: u32 = 5;
/// The window failures are counted in, and how long an address is refused after too many.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

fn invalid(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        message: message.into(),
    }
}

fn check_name(field: &str, value: &str) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_NAME_LEN || v.chars().any(char::is_control) {
        return Err(invalid(
            "invalid_request",
            format!("{field}: 1 to {MAX_NAME_LEN} characters, no control characters"),
        ));
    }
    Ok(v.to_string())
}

/// An e-mail address as stored: trimmed, lower-cased, one `@` with text on both sides.
fn check_email(value: &str) -> Result<String, AppError> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && v.split('@').count() == 2
        && v.split('@').all(|p| !p.is_empty())
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(invalid(
            "invalid_request",
            format!("email: {value:?} is not an e-mail address"),
        ));
    }
    Ok(v)
}

fn denied(d: Decision, what: &str) -> Result<(), AppError> {
    match d {
        Decision::Allow => Ok(()),
        Decision::Deny(Denial::Forbidden) => {
            Err(AppError::Forbidden(format!("your role may not {what}")))
        }
        Decision::Deny(Denial::NotFound) => Err(AppError::NotFound(what.to_string())),
    }
}

impl IdentityService {
    pub fn new(store: Arc<dyn Storage>) -> Self {
        Self {
            store,
            cache: RwLock::new(HashMap::new()),
            failures: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Creates the first organisation (kind `platform`), its admin and the admin's token, once
    /// per database ([`AppError::Conflict`] `already_bootstrapped` after that).
    pub async fn bootstrap(
        &self,
        org_name: &str,
        admin_email: &str,
        now_micros: i64,
    ) -> Result<Bootstrapped, AppError> {
        let org = Organisation {
            id: new_id("org"),
            name: check_name("organisation name", org_name)?,
            kind: OrgKind::Platform,
            created_at: now_micros,
        };
        let email = check_email(admin_email)?;
        let admin = User {
            id: new_id("usr"),
            org_id: org.id.clone(),
            name: email.clone(),
            email,
            role: Role::Admin,
            password_hash: None,
            created_at: now_micros,
            disabled_at: None,
        };
        let token = ApiToken::generate();
        let token_record = TokenRecord {
            id: new_id("tok"),
            hash: token.hash().as_str().to_string(),
            user_id: admin.id.clone(),
            role: Role::Admin,
            label: "bootstrap".into(),
            created_at: now_micros,
            expires_at: now_micros + i64::from(DEFAULT_TOKEN_DAYS) * MICROS_PER_DAY,
            revoked_at: None,
        };
        self.store
            .bootstrap_identity(&org, &admin, &token_record)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict { message, .. } => AppError::Conflict {
                    code: "already_bootstrapped",
                    message,
                },
                other => other,
            })?;
        Ok(Bootstrapped {
            org,
            admin,
            token,
            token_record,
        })
    }

    /// The principal of a bearer token and the token's id, or [`AppError::Unauthenticated`];
    /// the same message whatever was wrong with it, so that a caller learns nothing about
    /// other tokens.
    pub async fn authenticate(
        &self,
        bearer: &str,
        now_micros: i64,
    ) -> Result<(Principal, String), AppError> {
        let refused = || AppError::Unauthenticated("the credential is not valid".into());
        let token = ApiToken::parse(bearer).map_err(|_| refused())?;
        let hash = token.hash();
        if let Some(c) = self.cache.read().expect("cache lock").get(&hash) {
            if c.read_at.elapsed() < Duration::from_secs(CACHE_SECONDS) {
                return if now_micros < c.expires_at {
                    Ok((c.principal.clone(), c.token_id.clone()))
                } else {
                    Err(refused())
                };
            }
        }
        let Some(c) = self.store.credential(hash.as_str()).await? else {
            return Err(refused());
        };
        if c.token.revoked_at.is_some()
            || c.user.disabled_at.is_some()
            || now_micros >= c.token.expires_at
        {
            return Err(refused());
        }
        let principal = Principal {
            user: c.user.id,
            org: c.org.id,
            org_kind: c.org.kind,
            role: c.token.role,
        };
        let mut cache = self.cache.write().expect("cache lock");
        // Bounded: stale entries go when the cache grows past what one instance serves.
        if cache.len() >= 100_000 {
            cache.retain(|_, v| v.read_at.elapsed() < Duration::from_secs(CACHE_SECONDS));
        }
        cache.insert(
            hash,
            Cached {
                principal: principal.clone(),
                token_id: c.token.id.clone(),
                expires_at: c.token.expires_at,
                read_at: Instant::now(),
            },
        );
        Ok((principal, c.token.id))
    }

    pub async fn organisations(&self, _p: &Principal) -> Result<Vec<Organisation>, AppError> {
        Ok(self.store.organisations().await?)
    }

    pub async fn create_organisation(
        &self,
        _p: &Principal,
        name: &str,
        kind: OrgKind,
        now_micros: i64,
    ) -> Result<Organisation, AppError> {
        let org = Organisation {
            id: new_id("org"),
            name: check_name("name", name)?,
            kind,
            created_at: now_micros,
        };
        self.store.create_organisation(&org).await?;
        Ok(org)
    }

    /// The organisation, if the caller may manage its users (else not found).
    async fn org_for(
        &self,
        p: &Principal,
        org_id: &str,
        action: Action,
    ) -> Result<Organisation, AppError> {
        let missing = || AppError::NotFound(format!("organisation {org_id:?}"));
        // Decide before reading, so that a foreign id and a missing one answer alike.
        match decide_on(p, action, Some(org_id)) {
            Decision::Allow => {}
            Decision::Deny(Denial::NotFound) => return Err(missing()),
            d => denied(d, "manage this organisation's users")?,
        }
        self.store.organisation(org_id).await.map_err(|_| missing())
    }

    pub async fn users(&self, p: &Principal, org_id: &str) -> Result<Vec<User>, AppError> {
        let org = self.org_for(p, org_id, Action::ReadUsers).await?;
        Ok(self.store.users_of(&org.id).await?)
    }

    pub async fn create_user(
        &self,
        p: &Principal,
        org_id: &str,
        new: &NewUser,
        now_micros: i64,
    ) -> Result<User, AppError> {
        let org = self.org_for(p, org_id, Action::ManageUsers).await?;
        let password_hash = match &new.password {
            Some(pw) => Some(
                password::hash(pw)
                    .map_err(|e| invalid("weak_password", format!("password: {e}")))?,
            ),
            None => None,
        };
        let user = User {
            id: new_id("usr"),
            org_id: org.id,
            email: check_email(&new.email)?,
            name: check_name("name", &new.name)?,
            role: new.role,
            password_hash,
            created_at: now_micros,
            disabled_at: None,
        };
        self.store.create_user(&user).await?;
        Ok(user)
    }

    /// Issues a token; the returned [`ApiToken`] is the only copy of its secret.
    pub async fn issue_token(
        &self,
        p: &Principal,
        new: &NewToken,
        now_micros: i64,
    ) -> Result<(TokenRecord, ApiToken), AppError> {
        let user = match new.user_id.as_deref() {
            None => self.store.user(&p.user).await?,
            Some(id) if id == p.user => self.store.user(id).await?,
            Some(id) => {
                let missing = || AppError::NotFound(format!("user {id:?}"));
                let user = self.store.user(id).await.map_err(|_| missing())?;
                match decide_on(p, Action::ManageUsers, Some(&user.org_id)) {
                    Decision::Allow => user,
                    Decision::Deny(Denial::NotFound) => return Err(missing()),
                    d => {
                        denied(d, "issue tokens for other users")?;
                        user
                    }
                }
            }
        };
        let role = new.role.unwrap_or(user.role);
        if role != user.role && role != Role::Auditor {
            return Err(invalid(
                "invalid_role",
                format!(
                    "role: a token of {} may be scoped to {} or auditor, not {role}",
                    user.email, user.role
                ),
            ));
        }
        // A caller's own token is never wider than the credential it was issued with.
        if user.id == p.user && role != p.role && role != Role::Auditor {
            return Err(invalid(
                "invalid_role",
                format!(
                    "role: a {} credential issues {} or auditor tokens",
                    p.role, p.role
                ),
            ));
        }
        let days = new.days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(invalid(
                "invalid_request",
                format!("days: 1 to {MAX_TOKEN_DAYS}, not {days}"),
            ));
        }
        let token = ApiToken::generate();
        let record = TokenRecord {
            id: new_id("tok"),
            hash: token.hash().as_str().to_string(),
            user_id: user.id,
            role,
            label: check_name("label", &new.label)?,
            created_at: now_micros,
            expires_at: now_micros + i64::from(days) * MICROS_PER_DAY,
            revoked_at: None,
        };
        self.store.create_token(&record).await?;
        Ok((record, token))
    }

    /// The caller's own tokens (never their secrets).
    pub async fn tokens(&self, p: &Principal) -> Result<Vec<TokenRecord>, AppError> {
        Ok(self.store.tokens_of(&p.user).await?)
    }

    /// Revokes one of the caller's tokens, or, for an admin, one of a user of its
    /// organisation; another's is not found.
    pub async fn revoke_token(
        &self,
        p: &Principal,
        token_id: &str,
        now_micros: i64,
    ) -> Result<TokenRecord, AppError> {
        let missing = || AppError::NotFound(format!("token {token_id:?}"));
        let token = self.store.token(token_id).await.map_err(|_| missing())?;
        if token.user_id != p.user {
            let owner = self
                .store
                .user(&token.user_id)
                .await
                .map_err(|_| missing())?;
            match decide_on(p, Action::ManageUsers, Some(&owner.org_id)) {
                Decision::Allow => {}
                Decision::Deny(Denial::NotFound) => return Err(missing()),
                d => denied(d, "revoke other users' tokens")?,
            }
        }
        let revoked = self.store.revoke_token(token_id, now_micros).await?;
        self.cache
            .write()
            .expect("cache lock")
            .retain(|_, c| c.token_id != revoked.id);
        Ok(revoked)
    }

    /// Logs a person in with e-mail address and password: a new session whose secret goes in
    /// the browser's cookie. Every failure answers alike ([`AppError::Unauthenticated`]), and
    /// an unknown address costs the same argon2id verification as a wrong password, so that
    /// neither the answer nor its timing tells which addresses exist.
    pub async fn login(
        &self,
        email: &str,
        password_text: &str,
        now_micros: i64,
    ) -> Result<(SessionSecret, SessionRecord, User, Organisation), AppError> {
        let refused =
            || AppError::Unauthenticated("the e-mail address or the password is wrong".into());
        let email = email.trim().to_lowercase();
        // Too many failures for this address: refused without looking (so guessing stops),
        // the same whether or not the address exists.
        {
            let mut f = self.failures.lock().expect("failures lock");
            f.retain(|_, (_, since)| since.elapsed() < LOCKOUT);
            if f.get(&email).is_some_and(|(n, _)| *n >= MAX_FAILED_LOGINS) {
                return Err(AppError::TooManyAttempts(format!(
                    "too many failed logins for this address; try again in {} minutes",
                    LOCKOUT.as_secs() / 60
                )));
            }
        }
        let user = match self.store.user_by_email(&email).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let stored = user
            .as_ref()
            .filter(|u| u.disabled_at.is_none())
            .and_then(|u| u.password_hash.clone());
        let against = stored
            .clone()
            .unwrap_or_else(|| equaliser_hash().to_string());
        let presented = password_text.to_string();
        let matches =
            tokio::task::spawn_blocking(move || password::verify(&presented, &against)).await?;
        let (Some(user), Some(_), Ok(true)) = (user, stored, matches) else {
            let mut f = self.failures.lock().expect("failures lock");
            let entry = f.entry(email).or_insert((0, Instant::now()));
            entry.0 += 1;
            return Err(refused());
        };
        self.failures.lock().expect("failures lock").remove(&email);
        let secret = SessionSecret::generate();
        let session = SessionRecord {
            hash: secret.hash().as_str().to_string(),
            user_id: user.id.clone(),
            created_at: now_micros,
            expires_at: now_micros + SESSION_HOURS * 3_600_000_000,
            revoked_at: None,
        };
        let org = self.store.organisation(&user.org_id).await?;
        self.store.create_session(&session).await?;
        Ok((secret, session, user, org))
    }

    /// The principal of a session cookie's secret (with the parsed secret, for the CSRF
    /// check), or [`AppError::Unauthenticated`].
    pub async fn authenticate_session(
        &self,
        cookie: &str,
        now_micros: i64,
    ) -> Result<(Principal, SessionSecret), AppError> {
        let refused = || AppError::Unauthenticated("the session is not valid; log in again".into());
        let secret = SessionSecret::parse(cookie).map_err(|_| refused())?;
        let hash = secret.hash();
        if let Some(c) = self.cache.read().expect("cache lock").get(&hash) {
            if c.read_at.elapsed() < Duration::from_secs(CACHE_SECONDS) {
                return if now_micros < c.expires_at {
                    Ok((c.principal.clone(), secret))
                } else {
                    Err(refused())
                };
            }
        }
        let Some(c) = self.store.session_credential(hash.as_str()).await? else {
            return Err(refused());
        };
        if c.session.revoked_at.is_some()
            || c.user.disabled_at.is_some()
            || now_micros >= c.session.expires_at
        {
            return Err(refused());
        }
        let principal = Principal {
            user: c.user.id,
            org: c.org.id,
            org_kind: c.org.kind,
            role: c.user.role,
        };
        self.cache.write().expect("cache lock").insert(
            hash,
            Cached {
                principal: principal.clone(),
                token_id: "session".into(),
                expires_at: c.session.expires_at,
                read_at: Instant::now(),
            },
        );
        Ok((principal, secret))
    }

    /// Ends a session (logout); its cookie no longer authenticates, on this instance at once.
    pub async fn logout(&self, secret: &SessionSecret, now_micros: i64) -> Result<(), AppError> {
        let hash = secret.hash();
        self.store.revoke_session(hash.as_str(), now_micros).await?;
        self.cache.write().expect("cache lock").remove(&hash);
        Ok(())
    }

    /// The caller's user and organisation.
    pub async fn me(&self, p: &Principal) -> Result<(User, Organisation), AppError> {
        let user = self.store.user(&p.user).await?;
        let org = self.store.organisation(&p.org).await?;
        Ok((user, org))
    }
}

/// A password hash that no password was chosen for, verified against when a login names no
/// user, so that unknown addresses take as long as wrong passwords.
fn equaliser_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        password::hash(&new_id("equaliser")).expect("a 42-character password is accepted")
    })
}
