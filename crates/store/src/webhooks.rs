//! Webhooks and their delivery outbox (issue 11, item 6; schema
//! `migrations/*/0017_webhooks.sql`). A delivery is claimed by moving its next attempt past
//! the claim's lease in one conditional UPDATE, so two instances never send one twice at once.
//! One implementation for both backends.

use serde::Serialize;
use sqlx::Row;

use crate::{PgStore, SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookRecord {
    pub id: String,
    pub owner_org: String,
    pub url: String,
    /// The signing secret; never serialised.
    #[serde(skip)]
    pub secret: String,
    pub events: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub payload: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[async_trait::async_trait]
pub trait WebhookStore {
    async fn create_webhook(&self, hook: &WebhookRecord) -> Result<(), StoreError>;
    async fn webhooks(&self, owner: &str) -> Result<Vec<WebhookRecord>, StoreError>;
    async fn webhook(&self, id: &str) -> Result<WebhookRecord, StoreError>;
    /// Queues one delivery of `payload` to every webhook of `owner` that wants `event`;
    /// returns how many.
    async fn enqueue_event(
        &self,
        owner: &str,
        event: &str,
        payload: &str,
        now: i64,
    ) -> Result<usize, StoreError>;
    /// Claims up to `limit` pending deliveries due at `now`, leasing each until `lease_until`
    /// (a crash mid-send leaves it due again then), and returns them with their webhooks.
    async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<(DeliveryRecord, WebhookRecord)>, StoreError>;
    /// Records an attempt: delivered, retried at `next_attempt_at`, or given up.
    async fn record_attempt(
        &self,
        id: &str,
        outcome: &str,
        last_status: Option<i64>,
        last_error: Option<&str>,
        next_attempt_at: i64,
        at: i64,
    ) -> Result<(), StoreError>;
    async fn deliveries(&self, webhook_id: &str) -> Result<Vec<DeliveryRecord>, StoreError>;
}

const HOOK_COLUMNS: &str = "id, owner_org, url, secret, events, created_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at";

fn events_col(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("webhooks.events: {e}")))
}

macro_rules! webhook_store_impl {
    ($module:ident, $store:ty, $db:ty) => {
        mod $module {
            use super::*;

            type DbRow = <$db as sqlx::Database>::Row;
            type Builder<'a> = sqlx::QueryBuilder<'a, $db>;

            fn hook_row(r: &DbRow, prefix: &str) -> Result<WebhookRecord, StoreError> {
                let col = |c: &str| format!("{prefix}{c}");
                Ok(WebhookRecord {
                    id: r.try_get(col("id").as_str())?,
                    owner_org: r.try_get(col("owner_org").as_str())?,
                    url: r.try_get(col("url").as_str())?,
                    secret: r.try_get(col("secret").as_str())?,
                    events: events_col(&r.try_get::<String, _>(col("events").as_str())?)?,
                    created_at: r.try_get(col("created_at").as_str())?,
                })
            }

            fn delivery_row(r: &DbRow) -> Result<DeliveryRecord, StoreError> {
                Ok(DeliveryRecord {
                    id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    event: r.try_get("event")?,
                    payload: r.try_get("payload")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get("attempts")?,
                    next_attempt_at: r.try_get("next_attempt_at")?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    delivered_at: r.try_get("delivered_at")?,
                })
            }

            #[async_trait::async_trait]
            impl WebhookStore for $store {
                async fn create_webhook(&self, h: &WebhookRecord) -> Result<(), StoreError> {
                    let events = serde_json::to_string(&h.events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let mut qb = Builder::new(format!("INSERT INTO webhooks ({HOOK_COLUMNS}) VALUES ("));
                    let mut v = qb.separated(", ");
                    v.push_bind(h.id.as_str())
                        .push_bind(h.owner_org.as_str())
                        .push_bind(h.url.as_str())
                        .push_bind(h.secret.as_str())
                        .push_bind(events)
                        .push_bind(h.created_at);
                    qb.push(")");
                    qb.build().execute(&self.pool).await?;
                    Ok(())
                }

                async fn webhooks(&self, owner: &str) -> Result<Vec<WebhookRecord>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE owner_org = "));
                    qb.push_bind(owner).push(" ORDER BY created_at, id");
                    qb.build().fetch_all(&self.pool).await?.iter().map(|r| hook_row(r, "")).collect()
                }

                async fn webhook(&self, id: &str) -> Result<WebhookRecord, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = "));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => hook_row(&r, ""),
                        None => Err(StoreError::NotFound(format!("webhook {id:?}"))),
                    }
                }

                async fn enqueue_event(&self, owner: &str, event: &str, payload: &str, now: i64) -> Result<usize, StoreError> {
                    let hooks = self.webhooks(owner).await?;
                    let mut n = 0;
                    for h in hooks.iter().filter(|h| h.events.iter().any(|e| e == event || e == "*")) {
                        let mut qb = Builder::new(format!("INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES ("));
                        let mut v = qb.separated(", ");
                        v.push_bind(stackport_identity::new_id("dlv"))
                            .push_bind(h.id.as_str())
                            .push_bind(event)
                            .push_bind(payload)
                            .push_bind("pending")
                            .push_bind(0i64)
                            .push_bind(now)
                            .push_bind(Option::<i64>::None)
                            .push_bind(Option::<String>::None)
                            .push_bind(now)
                            .push_bind(Option::<i64>::None);
                        qb.push(")");
                        qb.build().execute(&self.pool).await?;
                        n += 1;
                    }
                    Ok(n)
                }

                async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: u32) -> Result<Vec<(DeliveryRecord, WebhookRecord)>, StoreError> {
                    let mut qb = Builder::new("SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ");
                    qb.push_bind(now).push(" ORDER BY next_attempt_at, id LIMIT ").push_bind(i64::from(limit));
                    let ids: Vec<String> = qb.build().fetch_all(&self.pool).await?.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
                    let mut out = Vec::new();
                    for id in ids {
                        // Claimed by whoever moves its next attempt first.
                        let mut qb = Builder::new("UPDATE webhook_deliveries SET next_attempt_at = ");
                        qb.push_bind(lease_until).push(" WHERE status = 'pending' AND next_attempt_at <= ").push_bind(now)
                            .push(" AND id = ").push_bind(id.as_str());
                        if qb.build().execute(&self.pool).await?.rows_affected() != 1 {
                            continue;
                        }
                        let mut qb = Builder::new(format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = "));
                        qb.push_bind(id.as_str());
                        let d = delivery_row(&qb.build().fetch_one(&self.pool).await?)?;
                        let h = self.webhook(&d.webhook_id).await?;
                        out.push((d, h));
                    }
                    Ok(out)
                }

                async fn record_attempt(&self, id: &str, outcome: &str, last_status: Option<i64>, last_error: Option<&str>, next_attempt_at: i64, at: i64) -> Result<(), StoreError> {
                    let mut qb = Builder::new("UPDATE webhook_deliveries SET attempts = attempts + 1, status = ");
                    qb.push_bind(outcome).push(", last_status = ").push_bind(last_status).push(", last_error = ").push_bind(last_error)
                        .push(", next_attempt_at = ").push_bind(next_attempt_at);
                    if outcome == "delivered" {
                        qb.push(", delivered_at = ").push_bind(at);
                    }
                    qb.push(" WHERE id = ").push_bind(id);
                    qb.build().execute(&self.pool).await?;
                    Ok(())
                }

                async fn deliveries(&self, webhook_id: &str) -> Result<Vec<DeliveryRecord>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = "));
                    qb.push_bind(webhook_id).push(" ORDER BY created_at, id LIMIT 10000");
                    qb.build().fetch_all(&self.pool).await?.iter().map(delivery_row).collect()
                }
            }
        }
    };
}

webhook_store_impl!(sqlite_webhooks, SqliteStore, sqlx::Sqlite);
webhook_store_impl!(pg_webhooks, PgStore, sqlx::Postgres);
