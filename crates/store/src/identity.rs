//! Organisations, users, API tokens and login sessions (issue 11; schema
//! `migrations/*/0011_identity.sql`, `0012_sessions.sql`).
//!
//! The store keeps what `stackport-identity` decides with: a token is found by the SHA-256
//! hash of its text, never by the text, and comes back joined with its user and organisation
//! ([`CredentialRecord`]) so that authenticating a request is one indexed read. Kinds and roles
//! are stored as their codes and read back through the identity crate's vocabulary, so a row
//! holding anything else is reported as corrupt, never guessed.
//!
//! One implementation for both backends, expanded once per backend (as the ledger's and the
//! proposals' are). Times are microseconds since the Unix epoch ([`crate::timestamp`]).

use serde::Serialize;
use sqlx::Row;
use stackport_identity::{OrgKind, Role};

use crate::ledger::{pg_begin, sqlite_begin};
use crate::{PgStore, SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub kind: OrgKind,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub org_id: String,
    /// Lower-cased.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The argon2id PHC string; never serialised.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// A token as stored: everything but the secret, which is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: String,
    /// Hex SHA-256 of the token's text; never serialised.
    #[serde(skip)]
    pub hash: String,
    pub user_id: String,
    /// The token's scope.
    pub role: Role,
    pub label: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// A login session as stored (found by the hash of its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// A session found by its hash, with its user and organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCredential {
    pub session: SessionRecord,
    pub user: User,
    pub org: Organisation,
}

/// A token found by its hash, with its user and organisation: what authentication needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    pub token: TokenRecord,
    pub user: User,
    pub org: Organisation,
}

#[async_trait::async_trait]
pub trait IdentityStore {
    /// Creates the first organisation, its first admin and the admin's token, in one
    /// transaction, once per database: [`StoreError::Conflict`] if it was done before.
    async fn bootstrap_identity(
        &self,
        org: &Organisation,
        admin: &User,
        token: &TokenRecord,
    ) -> Result<(), StoreError>;

    /// [`StoreError::Conflict`] if the name is taken.
    async fn create_organisation(&self, org: &Organisation) -> Result<(), StoreError>;
    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError>;
    /// [`StoreError::NotFound`] if there is none.
    async fn organisation(&self, id: &str) -> Result<Organisation, StoreError>;

    /// [`StoreError::Conflict`] if the e-mail address is taken, [`StoreError::NotFound`] if
    /// the organisation does not exist.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    async fn users_of(&self, org_id: &str) -> Result<Vec<User>, StoreError>;
    async fn user(&self, id: &str) -> Result<User, StoreError>;
    /// The user of a (lower-cased) e-mail address.
    async fn user_by_email(&self, email: &str) -> Result<User, StoreError>;

    async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn tokens_of(&self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError>;
    async fn token(&self, id: &str) -> Result<TokenRecord, StoreError>;
    /// Marks a token revoked at `at` (keeping the first time if it was revoked before) and
    /// returns it.
    async fn revoke_token(&self, id: &str, at: i64) -> Result<TokenRecord, StoreError>;

    /// The token of this hash with its user and organisation; `None` if there is none.
    /// Expiry, revocation and disabled users are for the caller to judge (it has the clock).
    async fn credential(&self, hash: &str) -> Result<Option<CredentialRecord>, StoreError>;

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session of this hash with its user and organisation; `None` if there is none.
    async fn session_credential(&self, hash: &str)
        -> Result<Option<SessionCredential>, StoreError>;
    /// Marks a session ended at `at` (logout); whether there was one.
    async fn revoke_session(&self, hash: &str, at: i64) -> Result<bool, StoreError>;
}

/// The user and organisation columns of the credential joins, prefixed `u_` and `o_`.
const JOINED_USER_ORG: &str = "u.id AS u_id, u.org_id AS u_org_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, \
     u.password_hash AS u_password_hash, u.created_at AS u_created_at, u.disabled_at AS u_disabled_at, \
     o.id AS o_id, o.name AS o_name, o.kind AS o_kind, o.created_at AS o_created_at";

const ORG_COLUMNS: &str = "id, name, kind, created_at";
const USER_COLUMNS: &str = "id, org_id, email, name, role, password_hash, created_at, disabled_at";
const TOKEN_COLUMNS: &str = "id, hash, user_id, role, label, created_at, expires_at, revoked_at";

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {e}"))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

macro_rules! identity_store_impl {
    ($module:ident, $store:ty, $db:ty, $begin:path) => {
        mod $module {
            use super::*;

            type DbRow = <$db as sqlx::Database>::Row;
            type Builder<'a> = sqlx::QueryBuilder<'a, $db>;

            /// Reads an organisation from columns named `{prefix}id`, `{prefix}name`, ….
            fn org_row(r: &DbRow, prefix: &str) -> Result<Organisation, StoreError> {
                let kind: String = r.try_get(format!("{prefix}kind").as_str())?;
                Ok(Organisation {
                    id: r.try_get(format!("{prefix}id").as_str())?,
                    name: r.try_get(format!("{prefix}name").as_str())?,
                    kind: kind.parse().map_err(|e| corrupt("organisations.kind", e))?,
                    created_at: r.try_get(format!("{prefix}created_at").as_str())?,
                })
            }

            fn user_row(r: &DbRow, prefix: &str) -> Result<User, StoreError> {
                let role: String = r.try_get(format!("{prefix}role").as_str())?;
                Ok(User {
                    id: r.try_get(format!("{prefix}id").as_str())?,
                    org_id: r.try_get(format!("{prefix}org_id").as_str())?,
                    email: r.try_get(format!("{prefix}email").as_str())?,
                    name: r.try_get(format!("{prefix}name").as_str())?,
                    role: role.parse().map_err(|e| corrupt("users.role", e))?,
                    password_hash: r.try_get(format!("{prefix}password_hash").as_str())?,
                    created_at: r.try_get(format!("{prefix}created_at").as_str())?,
                    disabled_at: r.try_get(format!("{prefix}disabled_at").as_str())?,
                })
            }

            fn token_row(r: &DbRow, prefix: &str) -> Result<TokenRecord, StoreError> {
                let role: String = r.try_get(format!("{prefix}role").as_str())?;
                Ok(TokenRecord {
                    id: r.try_get(format!("{prefix}id").as_str())?,
                    hash: r.try_get(format!("{prefix}hash").as_str())?,
                    user_id: r.try_get(format!("{prefix}user_id").as_str())?,
                    role: role.parse().map_err(|e| corrupt("api_tokens.role", e))?,
                    label: r.try_get(format!("{prefix}label").as_str())?,
                    created_at: r.try_get(format!("{prefix}created_at").as_str())?,
                    expires_at: r.try_get(format!("{prefix}expires_at").as_str())?,
                    revoked_at: r.try_get(format!("{prefix}revoked_at").as_str())?,
                })
            }

            fn insert_org(o: &Organisation) -> Builder<'_> {
                let mut qb = Builder::new(format!("INSERT INTO organisations ({ORG_COLUMNS}) VALUES ("));
                let mut v = qb.separated(", ");
                v.push_bind(o.id.as_str()).push_bind(o.name.as_str()).push_bind(o.kind.as_str()).push_bind(o.created_at);
                qb.push(")");
                qb
            }

            fn insert_user(u: &User) -> Builder<'_> {
                let mut qb = Builder::new(format!("INSERT INTO users ({USER_COLUMNS}) VALUES ("));
                let mut v = qb.separated(", ");
                v.push_bind(u.id.as_str())
                    .push_bind(u.org_id.as_str())
                    .push_bind(u.email.as_str())
                    .push_bind(u.name.as_str())
                    .push_bind(u.role.as_str())
                    .push_bind(u.password_hash.as_deref())
                    .push_bind(u.created_at)
                    .push_bind(u.disabled_at);
                qb.push(")");
                qb
            }

            fn insert_token(t: &TokenRecord) -> Builder<'_> {
                let mut qb = Builder::new(format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ("));
                let mut v = qb.separated(", ");
                v.push_bind(t.id.as_str())
                    .push_bind(t.hash.as_str())
                    .push_bind(t.user_id.as_str())
                    .push_bind(t.role.as_str())
                    .push_bind(t.label.as_str())
                    .push_bind(t.created_at)
                    .push_bind(t.expires_at)
                    .push_bind(t.revoked_at);
                qb.push(")");
                qb
            }

            fn conflict_or(e: sqlx::Error, what: String) -> StoreError {
                if is_unique_violation(&e) {
                    StoreError::Conflict(what)
                } else if is_foreign_key_violation(&e) {
                    StoreError::NotFound(what)
                } else {
                    StoreError::Database(e)
                }
            }

            #[async_trait::async_trait]
            impl IdentityStore for $store {
                async fn bootstrap_identity(&self, org: &Organisation, admin: &User, token: &TokenRecord) -> Result<(), StoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    let mut qb = Builder::new("INSERT INTO identity_bootstrap (id, at) VALUES (1, ");
                    qb.push_bind(org.created_at).push(")");
                    qb.build().execute(&mut *tx).await.map_err(|e| {
                        conflict_or(e, "identity was bootstrapped before: this database has its first organisation and admin".into())
                    })?;
                    insert_org(org).build().execute(&mut *tx).await.map_err(|e| conflict_or(e, format!("organisation {:?}", org.name)))?;
                    insert_user(admin).build().execute(&mut *tx).await.map_err(|e| conflict_or(e, format!("user {:?}", admin.email)))?;
                    insert_token(token).build().execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn create_organisation(&self, org: &Organisation) -> Result<(), StoreError> {
                    insert_org(org).build().execute(&self.pool).await
                        .map_err(|e| conflict_or(e, format!("an organisation named {:?} exists", org.name)))?;
                    Ok(())
                }

                async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {ORG_COLUMNS} FROM organisations ORDER BY name"));
                    qb.build().fetch_all(&self.pool).await?.iter().map(|r| org_row(r, "")).collect()
                }

                async fn organisation(&self, id: &str) -> Result<Organisation, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {ORG_COLUMNS} FROM organisations WHERE id = "));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => org_row(&r, ""),
                        None => Err(StoreError::NotFound(format!("organisation {id:?}"))),
                    }
                }

                async fn create_user(&self, user: &User) -> Result<(), StoreError> {
                    insert_user(user).build().execute(&self.pool).await.map_err(|e| {
                        if is_foreign_key_violation(&e) {
                            StoreError::NotFound(format!("organisation {:?}", user.org_id))
                        } else {
                            conflict_or(e, format!("a user with e-mail {:?} exists", user.email))
                        }
                    })?;
                    Ok(())
                }

                async fn users_of(&self, org_id: &str) -> Result<Vec<User>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = "));
                    qb.push_bind(org_id).push(" ORDER BY email");
                    qb.build().fetch_all(&self.pool).await?.iter().map(|r| user_row(r, "")).collect()
                }

                async fn user(&self, id: &str) -> Result<User, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {USER_COLUMNS} FROM users WHERE id = "));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => user_row(&r, ""),
                        None => Err(StoreError::NotFound(format!("user {id:?}"))),
                    }
                }

                async fn user_by_email(&self, email: &str) -> Result<User, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {USER_COLUMNS} FROM users WHERE email = "));
                    qb.push_bind(email);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => user_row(&r, ""),
                        None => Err(StoreError::NotFound(format!("user {email:?}"))),
                    }
                }

                async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
                    insert_token(token).build().execute(&self.pool).await.map_err(|e| {
                        if is_foreign_key_violation(&e) {
                            StoreError::NotFound(format!("user {:?}", token.user_id))
                        } else {
                            conflict_or(e, format!("token {:?}", token.id))
                        }
                    })?;
                    Ok(())
                }

                async fn tokens_of(&self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = "));
                    qb.push_bind(user_id).push(" ORDER BY created_at, id");
                    qb.build().fetch_all(&self.pool).await?.iter().map(|r| token_row(r, "")).collect()
                }

                async fn token(&self, id: &str) -> Result<TokenRecord, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = "));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => token_row(&r, ""),
                        None => Err(StoreError::NotFound(format!("token {id:?}"))),
                    }
                }

                async fn revoke_token(&self, id: &str, at: i64) -> Result<TokenRecord, StoreError> {
                    let mut qb = Builder::new("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ");
                    qb.push_bind(at).push(") WHERE id = ").push_bind(id);
                    qb.build().execute(&self.pool).await?;
                    self.token(id).await
                }

                async fn credential(&self, hash: &str) -> Result<Option<CredentialRecord>, StoreError> {
                    let mut qb = Builder::new(format!(
                        "SELECT t.id AS t_id, t.hash AS t_hash, t.user_id AS t_user_id, t.role AS t_role, \
                         t.label AS t_label, t.created_at AS t_created_at, t.expires_at AS t_expires_at, \
                         t.revoked_at AS t_revoked_at, {JOINED_USER_ORG} \
                         FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.org_id \
                         WHERE t.hash = "
                    ));
                    qb.push_bind(hash);
                    let Some(r) = qb.build().fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    Ok(Some(CredentialRecord {
                        token: token_row(&r, "t_")?,
                        user: user_row(&r, "u_")?,
                        org: org_row(&r, "o_")?,
                    }))
                }

                async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                    let mut qb = Builder::new("INSERT INTO sessions (hash, user_id, created_at, expires_at, revoked_at) VALUES (");
                    let mut v = qb.separated(", ");
                    v.push_bind(session.hash.as_str())
                        .push_bind(session.user_id.as_str())
                        .push_bind(session.created_at)
                        .push_bind(session.expires_at)
                        .push_bind(session.revoked_at);
                    qb.push(")");
                    qb.build().execute(&self.pool).await.map_err(|e| conflict_or(e, "session".into()))?;
                    Ok(())
                }

                async fn session_credential(&self, hash: &str) -> Result<Option<SessionCredential>, StoreError> {
                    let mut qb = Builder::new(format!(
                        "SELECT s.hash AS s_hash, s.user_id AS s_user_id, s.created_at AS s_created_at, \
                         s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at, {JOINED_USER_ORG} \
                         FROM sessions s JOIN users u ON u.id = s.user_id JOIN organisations o ON o.id = u.org_id \
                         WHERE s.hash = "
                    ));
                    qb.push_bind(hash);
                    let Some(r) = qb.build().fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    Ok(Some(SessionCredential {
                        session: SessionRecord {
                            hash: r.try_get("s_hash")?,
                            user_id: r.try_get("s_user_id")?,
                            created_at: r.try_get("s_created_at")?,
                            expires_at: r.try_get("s_expires_at")?,
                            revoked_at: r.try_get("s_revoked_at")?,
                        },
                        user: user_row(&r, "u_")?,
                        org: org_row(&r, "o_")?,
                    }))
                }

                async fn revoke_session(&self, hash: &str, at: i64) -> Result<bool, StoreError> {
                    let mut qb = Builder::new("UPDATE sessions SET revoked_at = COALESCE(revoked_at, ");
                    qb.push_bind(at).push(") WHERE hash = ").push_bind(hash);
                    Ok(qb.build().execute(&self.pool).await?.rows_affected() > 0)
                }
            }
        }
    };
}

identity_store_impl!(sqlite_identity, SqliteStore, sqlx::Sqlite, sqlite_begin);
identity_store_impl!(pg_identity, PgStore, sqlx::Postgres, pg_begin);
