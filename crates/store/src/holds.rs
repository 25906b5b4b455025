//! Review items, remembered match decisions and holds (issue 11, item 4; schema
//! `migrations/*/0016_review_queue.sql`). Each decision and each release commits with its
//! ledger entry; both are compare-and-set on the status, so two reviewers (or two instances)
//! cannot decide one item twice. One implementation for both backends.

use serde::Serialize;
use sqlx::Row;

use crate::ledger::{pg_begin, sqlite_begin};
use crate::{PgStore, SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: String,
    pub owner_org: String,
    pub proposal_id: String,
    pub party: String,
    pub party_name: String,
    pub party_key: String,
    pub entity_id: String,
    pub entity_name: String,
    pub match_key: String,
    pub list: String,
    pub score: f64,
    /// `open`, `false_match` or `true_match`.
    pub status: String,
    /// Cleared by an earlier decision on the same party and entry.
    pub remembered: bool,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub ledger_index: Option<u64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldRecord {
    pub id: String,
    pub owner_org: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub reason: String,
    /// `held` or `released`.
    pub status: String,
    pub placed_at: i64,
    pub requested_by: Option<String>,
    pub request_reason: Option<String>,
    pub released_by: Option<String>,
    pub release_reason: Option<String>,
    pub released_at: Option<i64>,
    pub ledger_index: Option<u64>,
}

/// A reviewer's decision to store.
#[derive(Debug, Clone)]
pub struct ItemDecision {
    pub item_id: String,
    /// `false_match` or `true_match`.
    pub decision: String,
    pub reason_code: String,
    pub note: String,
    pub decided_by: String,
    pub ledger_entry: String,
}

#[async_trait::async_trait]
pub trait ReviewStore {
    /// Replaces the open review items of `proposal_id` by `items` (decided ones stay) and
    /// places `hold` if given and the proposal has no hold in force, in one transaction.
    /// Returns whether the hold was placed.
    async fn record_review_items(
        &self,
        proposal_id: &str,
        items: &[ReviewItem],
        hold: Option<&HoldRecord>,
    ) -> Result<bool, StoreError>;
    /// The `(party_key, match_key)` pairs `owner` has decided to be false matches.
    async fn remembered_false_matches(
        &self,
        owner: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Items by id; only `owner`'s and of `status` if given.
    async fn review_items(
        &self,
        owner: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<ReviewItem>, StoreError>;
    async fn review_item(&self, id: &str) -> Result<ReviewItem, StoreError>;
    /// Decides an open item (else [`StoreError::Conflict`]), remembering a false match.
    async fn decide_review_item(&self, d: &ItemDecision) -> Result<ReviewItem, StoreError>;
    /// How many items of a proposal are open and how many are true matches.
    async fn proposal_item_counts(&self, proposal_id: &str) -> Result<(usize, usize), StoreError>;

    async fn holds(&self, owner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError>;
    async fn hold(&self, id: &str) -> Result<HoldRecord, StoreError>;
    /// The hold in force on a subject, if any.
    async fn hold_on(&self, kind: &str, subject: &str) -> Result<Option<HoldRecord>, StoreError>;
    /// Records who asks for a held hold's release and why.
    async fn request_release(
        &self,
        id: &str,
        by: &str,
        reason: &str,
    ) -> Result<HoldRecord, StoreError>;
    /// Releases a held hold (else [`StoreError::Conflict`]) with its ledger entry.
    async fn release_hold(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        ledger_entry: &str,
    ) -> Result<HoldRecord, StoreError>;
}

const ITEM_COLUMNS: &str = "id, owner_org, proposal_id, party, party_name, party_key, entity_id, entity_name, match_key, list, score, status, remembered, reason_code, note, decided_by, decided_at, ledger_index, created_at";
const HOLD_COLUMNS: &str = "id, owner_org, subject_kind, subject_id, reason, status, placed_at, requested_by, request_reason, released_by, release_reason, released_at, ledger_index";

fn opt_index(v: Option<i64>) -> Result<Option<u64>, StoreError> {
    v.map(|v| u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("ledger index {v}"))))
        .transpose()
}

fn index_bind(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("ledger index {v}")))
}

macro_rules! review_store_impl {
    ($module:ident, $store:ty, $db:ty, $begin:path, $ledger:ident) => {
        mod $module {
            use super::*;

            type DbRow = <$db as sqlx::Database>::Row;
            type Builder<'a> = sqlx::QueryBuilder<'a, $db>;

            fn item_row(r: &DbRow) -> Result<ReviewItem, StoreError> {
                Ok(ReviewItem {
                    id: r.try_get("id")?,
                    owner_org: r.try_get("owner_org")?,
                    proposal_id: r.try_get("proposal_id")?,
                    party: r.try_get("party")?,
                    party_name: r.try_get("party_name")?,
                    party_key: r.try_get("party_key")?,
                    entity_id: r.try_get("entity_id")?,
                    entity_name: r.try_get("entity_name")?,
                    match_key: r.try_get("match_key")?,
                    list: r.try_get("list")?,
                    score: r.try_get("score")?,
                    status: r.try_get("status")?,
                    remembered: r.try_get::<i64, _>("remembered")? != 0,
                    reason_code: r.try_get("reason_code")?,
                    note: r.try_get("note")?,
                    decided_by: r.try_get("decided_by")?,
                    decided_at: r.try_get("decided_at")?,
                    ledger_index: opt_index(r.try_get("ledger_index")?)?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn hold_row(r: &DbRow) -> Result<HoldRecord, StoreError> {
                Ok(HoldRecord {
                    id: r.try_get("id")?,
                    owner_org: r.try_get("owner_org")?,
                    subject_kind: r.try_get("subject_kind")?,
                    subject_id: r.try_get("subject_id")?,
                    reason: r.try_get("reason")?,
                    status: r.try_get("status")?,
                    placed_at: r.try_get("placed_at")?,
                    requested_by: r.try_get("requested_by")?,
                    request_reason: r.try_get("request_reason")?,
                    released_by: r.try_get("released_by")?,
                    release_reason: r.try_get("release_reason")?,
                    released_at: r.try_get("released_at")?,
                    ledger_index: opt_index(r.try_get("ledger_index")?)?,
                })
            }

            async fn append_one(conn: &mut <$db as sqlx::Database>::Connection, entry: &str) -> Result<u64, StoreError> {
                Ok(crate::ledger::$ledger::append_in_tx(conn, &[entry.to_string()])
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("no ledger receipt".into()))?
                    .index)
            }

            #[async_trait::async_trait]
            impl ReviewStore for $store {
                async fn record_review_items(&self, proposal_id: &str, items: &[ReviewItem], hold: Option<&HoldRecord>) -> Result<bool, StoreError> {
                    let mut placed = false;
                    let mut tx = $begin(&self.pool).await?;
                    let mut qb = Builder::new("DELETE FROM review_items WHERE status = 'open' AND proposal_id = ");
                    qb.push_bind(proposal_id);
                    qb.build().execute(&mut *tx).await?;
                    for i in items {
                        let mut qb = Builder::new(format!("INSERT INTO review_items ({ITEM_COLUMNS}) VALUES ("));
                        let mut v = qb.separated(", ");
                        v.push_bind(i.id.as_str())
                            .push_bind(i.owner_org.as_str())
                            .push_bind(i.proposal_id.as_str())
                            .push_bind(i.party.as_str())
                            .push_bind(i.party_name.as_str())
                            .push_bind(i.party_key.as_str())
                            .push_bind(i.entity_id.as_str())
                            .push_bind(i.entity_name.as_str())
                            .push_bind(i.match_key.as_str())
                            .push_bind(i.list.as_str())
                            .push_bind(i.score)
                            .push_bind(i.status.as_str())
                            .push_bind(i64::from(i.remembered))
                            .push_bind(i.reason_code.as_deref())
                            .push_bind(i.note.as_deref())
                            .push_bind(i.decided_by.as_deref())
                            .push_bind(i.decided_at)
                            .push_bind(Option::<i64>::None)
                            .push_bind(i.created_at);
                        qb.push(")");
                        qb.build().execute(&mut *tx).await?;
                    }
                    if let Some(h) = hold {
                        let mut q = Builder::new("SELECT COUNT(*) FROM holds WHERE status = 'held' AND subject_kind = ");
                        q.push_bind(h.subject_kind.as_str()).push(" AND subject_id = ").push_bind(h.subject_id.as_str());
                        let n: i64 = q.build().fetch_one(&mut *tx).await?.try_get(0)?;
                        if n == 0 {
                            let mut qb = Builder::new(format!("INSERT INTO holds ({HOLD_COLUMNS}) VALUES ("));
                            let mut v = qb.separated(", ");
                            v.push_bind(h.id.as_str())
                                .push_bind(h.owner_org.as_str())
                                .push_bind(h.subject_kind.as_str())
                                .push_bind(h.subject_id.as_str())
                                .push_bind(h.reason.as_str())
                                .push_bind("held")
                                .push_bind(h.placed_at)
                                .push_bind(Option::<String>::None)
                                .push_bind(Option::<String>::None)
                                .push_bind(Option::<String>::None)
                                .push_bind(Option::<String>::None)
                                .push_bind(Option::<i64>::None)
                                .push_bind(Option::<i64>::None);
                            qb.push(")");
                            qb.build().execute(&mut *tx).await?;
                            placed = true;
                        }
                    }
                    tx.commit().await?;
                    Ok(placed)
                }

                async fn remembered_false_matches(&self, owner: &str) -> Result<Vec<(String, String)>, StoreError> {
                    let mut qb = Builder::new("SELECT party_key, match_key FROM match_decisions WHERE decision = 'false_match' AND owner_org = ");
                    qb.push_bind(owner);
                    qb.build()
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|r| Ok((r.try_get("party_key")?, r.try_get("match_key")?)))
                        .collect()
                }

                async fn review_items(&self, owner: Option<&str>, status: Option<&str>) -> Result<Vec<ReviewItem>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE 1 = 1"));
                    if let Some(o) = owner {
                        qb.push(" AND owner_org = ").push_bind(o);
                    }
                    if let Some(s) = status {
                        qb.push(" AND status = ").push_bind(s);
                    }
                    qb.push(" ORDER BY created_at, id LIMIT 10000");
                    qb.build().fetch_all(&self.pool).await?.iter().map(item_row).collect()
                }

                async fn review_item(&self, id: &str) -> Result<ReviewItem, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE id = "));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => item_row(&r),
                        None => Err(StoreError::NotFound(format!("review item {id:?}"))),
                    }
                }

                async fn decide_review_item(&self, d: &ItemDecision) -> Result<ReviewItem, StoreError> {
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    let index = append_one(&mut tx, &d.ledger_entry).await?;
                    let mut qb = Builder::new("UPDATE review_items SET status = ");
                    qb.push_bind(d.decision.as_str()).push(", reason_code = ").push_bind(d.reason_code.as_str())
                        .push(", note = ").push_bind(d.note.as_str()).push(", decided_by = ").push_bind(d.decided_by.as_str())
                        .push(", decided_at = ").push_bind(at).push(", ledger_index = ").push_bind(index_bind(index)?)
                        .push(" WHERE status = 'open' AND id = ").push_bind(d.item_id.as_str());
                    if qb.build().execute(&mut *tx).await?.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!("review item {:?} was decided already", d.item_id)));
                    }
                    let mut q = Builder::new("SELECT owner_org, party_key, match_key FROM review_items WHERE id = ");
                    q.push_bind(d.item_id.as_str());
                    let r = q.build().fetch_one(&mut *tx).await?;
                    let (owner, party_key, match_key): (String, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                    let mut qb = Builder::new("INSERT INTO match_decisions (owner_org, party_key, match_key, decision, reason_code, decided_by, decided_at) VALUES (");
                    let mut v = qb.separated(", ");
                    v.push_bind(owner.as_str())
                        .push_bind(party_key.as_str())
                        .push_bind(match_key.as_str())
                        .push_bind(d.decision.as_str())
                        .push_bind(d.reason_code.as_str())
                        .push_bind(d.decided_by.as_str())
                        .push_bind(at);
                    qb.push(") ON CONFLICT (owner_org, party_key, match_key) DO UPDATE SET decision = excluded.decision, \
                             reason_code = excluded.reason_code, decided_by = excluded.decided_by, decided_at = excluded.decided_at");
                    qb.build().execute(&mut *tx).await?;
                    tx.commit().await?;
                    self.review_item(&d.item_id).await
                }

                async fn proposal_item_counts(&self, proposal_id: &str) -> Result<(usize, usize), StoreError> {
                    let mut qb = Builder::new("SELECT status, COUNT(*) AS n FROM review_items WHERE proposal_id = ");
                    qb.push_bind(proposal_id).push(" GROUP BY status");
                    let mut open = 0;
                    let mut true_matches = 0;
                    for r in qb.build().fetch_all(&self.pool).await? {
                        let status: String = r.try_get("status")?;
                        let n = usize::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
                        match status.as_str() {
                            "open" => open = n,
                            "true_match" => true_matches = n,
                            _ => {}
                        }
                    }
                    Ok((open, true_matches))
                }

                async fn holds(&self, owner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {HOLD_COLUMNS} FROM holds"));
                    if let Some(o) = owner {
                        qb.push(" WHERE owner_org = ").push_bind(o);
                    }
                    qb.push(" ORDER BY placed_at, id LIMIT 10000");
                    qb.build().fetch_all(&self.pool).await?.iter().map(hold_row).collect()
                }

                async fn hold(&self, id: &str) -> Result<HoldRecord, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {HOLD_COLUMNS} FROM holds WHERE id = "));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => hold_row(&r),
                        None => Err(StoreError::NotFound(format!("hold {id:?}"))),
                    }
                }

                async fn hold_on(&self, kind: &str, subject: &str) -> Result<Option<HoldRecord>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {HOLD_COLUMNS} FROM holds WHERE status = 'held' AND subject_kind = "));
                    qb.push_bind(kind).push(" AND subject_id = ").push_bind(subject);
                    qb.build().fetch_optional(&self.pool).await?.as_ref().map(hold_row).transpose()
                }

                async fn request_release(&self, id: &str, by: &str, reason: &str) -> Result<HoldRecord, StoreError> {
                    let mut qb = Builder::new("UPDATE holds SET requested_by = ");
                    qb.push_bind(by).push(", request_reason = ").push_bind(reason).push(" WHERE status = 'held' AND id = ").push_bind(id);
                    if qb.build().execute(&self.pool).await?.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!("hold {id:?} is not held")));
                    }
                    self.hold(id).await
                }

                async fn release_hold(&self, id: &str, by: &str, reason: &str, ledger_entry: &str) -> Result<HoldRecord, StoreError> {
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    let index = append_one(&mut tx, ledger_entry).await?;
                    let mut qb = Builder::new("UPDATE holds SET status = 'released', released_by = ");
                    qb.push_bind(by).push(", release_reason = ").push_bind(reason).push(", released_at = ").push_bind(at)
                        .push(", ledger_index = ").push_bind(index_bind(index)?)
                        .push(" WHERE status = 'held' AND id = ").push_bind(id);
                    if qb.build().execute(&mut *tx).await?.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!("hold {id:?} is not held")));
                    }
                    tx.commit().await?;
                    self.hold(id).await
                }
            }
        }
    };
}

review_store_impl!(
    sqlite_review,
    SqliteStore,
    sqlx::Sqlite,
    sqlite_begin,
    sqlite_impl
);
review_store_impl!(pg_review, PgStore, sqlx::Postgres, pg_begin, pg_impl);
