//! Licences and the shipments that draw them down (issue 11, item 5; schema
//! `migrations/*/0014_licences.sql`).
//!
//! A shipment's draw-down is one conditional `UPDATE … WHERE used + this <= limit`: on SQLite
//! under the write lock of `BEGIN IMMEDIATE`, on PostgreSQL under the row's lock (a second
//! updater waits and re-checks the condition on the row as the first left it, READ
//! COMMITTED's rule for UPDATE), so concurrent shipments from any number of instances never
//! take a licence past its limits; `CHECK` constraints hold the same line in the schema. The
//! shipment row, drawn or blocked, and its ledger entry commit with the draw-down.
//!
//! One implementation for both backends, expanded once per backend.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::ledger::{pg_begin, sqlite_begin, AppendReceipt};
use crate::{PgStore, SqliteStore, StoreError};

/// A licence, licence exception or NLR as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceRecord {
    pub id: String,
    pub owner_org: String,
    /// The licence number (BIS application or licence number; the exception's symbol).
    pub number: String,
    /// `licence`, `licence_exception` or `nlr`.
    pub kind: String,
    pub eccns: Vec<String>,
    pub destination: String,
    /// The parties it names (consignees, end users), as written on the licence.
    pub parties: Vec<String>,
    pub valid_from: String,
    pub valid_to: String,
    /// US cents; `None`: no value limit.
    pub value_limit: Option<i64>,
    pub quantity_limit: Option<i64>,
    pub value_used: i64,
    pub quantity_used: i64,
    pub created_at: i64,
    pub ledger_index: u64,
}

/// A shipment to draw against a licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShipment {
    pub id: String,
    pub licence_id: String,
    pub owner_org: String,
    pub eccn: String,
    pub destination: String,
    pub party: String,
    /// US cents.
    pub value: i64,
    pub quantity: i64,
    pub ship_date: String,
    pub actor_user: String,
}

/// A shipment as stored: drawn, or blocked with the code of the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredShipment {
    pub id: String,
    pub licence_id: String,
    pub owner_org: String,
    pub eccn: String,
    pub destination: String,
    pub party: String,
    pub value: i64,
    pub quantity: i64,
    pub ship_date: String,
    /// `drawn` or `blocked`.
    pub outcome: String,
    pub reason: Option<String>,
    pub actor_user: String,
    pub at: i64,
    pub ledger_index: u64,
}

/// A financing request of a designated package to a federal lender (schema
/// `migrations/*/0015_financing.sql`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinancingRecord {
    pub id: String,
    pub proposal_id: String,
    pub owner_org: String,
    pub lender_org: String,
    pub instrument: String,
    /// US cents.
    pub amount: i64,
    /// `requested`, `approved` or `declined`.
    pub status: String,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub ledger_index: u64,
    pub decision_ledger_index: Option<u64>,
}

#[async_trait::async_trait]
pub trait FinancingStore {
    /// Records a request with its ledger entry.
    async fn create_financing(
        &self,
        request: &FinancingRecord,
        ledger_entry: &str,
    ) -> Result<FinancingRecord, StoreError>;
    async fn financing(&self, id: &str) -> Result<FinancingRecord, StoreError>;
    /// Requests by id; only those of `owner`, or made to `lender`, if given.
    async fn financing_requests(
        &self,
        owner: Option<&str>,
        lender: Option<&str>,
    ) -> Result<Vec<FinancingRecord>, StoreError>;
    /// The lender's decision, only on a request still `requested` (else
    /// [`StoreError::Conflict`]), with its ledger entry.
    async fn decide_financing(
        &self,
        id: &str,
        status: &str,
        reason: &str,
        by: &str,
        ledger_entry: &str,
    ) -> Result<FinancingRecord, StoreError>;
}

const FINANCING_COLUMNS: &str = "id, proposal_id, owner_org, lender_org, instrument, amount, status, reason, created_at, decided_at, decided_by, ledger_index, decision_ledger_index";

/// Builds a shipment's ledger entry once its outcome is known: `(outcome, reason)`.
pub type ShipmentEntry<'a> =
    &'a (dyn Fn(&str, Option<&str>) -> Result<String, StoreError> + Send + Sync);

#[async_trait::async_trait]
pub trait LicenceStore {
    /// Records a licence with its ledger entry; [`StoreError::Conflict`] if the organisation
    /// has one of that number.
    async fn create_licence(
        &self,
        licence: &LicenceRecord,
        ledger_entry: &str,
    ) -> Result<(LicenceRecord, AppendReceipt), StoreError>;

    async fn licence(&self, id: &str) -> Result<LicenceRecord, StoreError>;

    /// Licences by number; only `owner`'s if given.
    async fn licences(&self, owner: Option<&str>) -> Result<Vec<LicenceRecord>, StoreError>;

    /// Draws `shipment` down its licence, or records it blocked: with `blocked` (a reason found
    /// before, such as a destination the licence does not cover) nothing is drawn; otherwise
    /// the draw-down happens if the licence's limits allow it, and the shipment is blocked
    /// `licence_exhausted` if not. The row and its ledger entry (built by `entry` from the
    /// outcome) commit together.
    async fn draw_down(
        &self,
        shipment: &NewShipment,
        blocked: Option<&str>,
        entry: ShipmentEntry<'_>,
    ) -> Result<(StoredShipment, AppendReceipt), StoreError>;

    /// A licence's shipments, oldest first.
    async fn shipments(&self, licence_id: &str) -> Result<Vec<StoredShipment>, StoreError>;
}

const LICENCE_COLUMNS: &str = "id, owner_org, number, kind, eccns, destination, parties, valid_from, valid_to, value_limit, quantity_limit, value_used, quantity_used, created_at, ledger_index";
const SHIPMENT_COLUMNS: &str = "id, licence_id, owner_org, eccn, destination, party, value, quantity, ship_date, outcome, reason, actor_user, at, ledger_index";

fn json_list(column: &str, s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("licences.{column}: {e}")))
}

fn index_col(v: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{column} is negative ({v})")))
}

fn index_bind(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("ledger index {v}")))
}

macro_rules! licence_store_impl {
    ($module:ident, $store:ty, $db:ty, $begin:path, $ledger:ident) => {
        mod $module {
            use super::*;

            type DbRow = <$db as sqlx::Database>::Row;
            type Builder<'a> = sqlx::QueryBuilder<'a, $db>;

            fn licence_row(r: &DbRow) -> Result<LicenceRecord, StoreError> {
                Ok(LicenceRecord {
                    id: r.try_get("id")?,
                    owner_org: r.try_get("owner_org")?,
                    number: r.try_get("number")?,
                    kind: r.try_get("kind")?,
                    eccns: json_list("eccns", &r.try_get::<String, _>("eccns")?)?,
                    destination: r.try_get("destination")?,
                    parties: json_list("parties", &r.try_get::<String, _>("parties")?)?,
                    valid_from: r.try_get("valid_from")?,
                    valid_to: r.try_get("valid_to")?,
                    value_limit: r.try_get("value_limit")?,
                    quantity_limit: r.try_get("quantity_limit")?,
                    value_used: r.try_get("value_used")?,
                    quantity_used: r.try_get("quantity_used")?,
                    created_at: r.try_get("created_at")?,
                    ledger_index: index_col(r.try_get("ledger_index")?, "licences.ledger_index")?,
                })
            }

            fn shipment_row(r: &DbRow) -> Result<StoredShipment, StoreError> {
                Ok(StoredShipment {
                    id: r.try_get("id")?,
                    licence_id: r.try_get("licence_id")?,
                    owner_org: r.try_get("owner_org")?,
                    eccn: r.try_get("eccn")?,
                    destination: r.try_get("destination")?,
                    party: r.try_get("party")?,
                    value: r.try_get("value")?,
                    quantity: r.try_get("quantity")?,
                    ship_date: r.try_get("ship_date")?,
                    outcome: r.try_get("outcome")?,
                    reason: r.try_get("reason")?,
                    actor_user: r.try_get("actor_user")?,
                    at: r.try_get("at")?,
                    ledger_index: index_col(r.try_get("ledger_index")?, "shipments.ledger_index")?,
                })
            }

            fn financing_row(r: &DbRow) -> Result<FinancingRecord, StoreError> {
                Ok(FinancingRecord {
                    id: r.try_get("id")?,
                    proposal_id: r.try_get("proposal_id")?,
                    owner_org: r.try_get("owner_org")?,
                    lender_org: r.try_get("lender_org")?,
                    instrument: r.try_get("instrument")?,
                    amount: r.try_get("amount")?,
                    status: r.try_get("status")?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                    decided_at: r.try_get("decided_at")?,
                    decided_by: r.try_get("decided_by")?,
                    ledger_index: index_col(
                        r.try_get("ledger_index")?,
                        "financing_requests.ledger_index",
                    )?,
                    decision_ledger_index: r
                        .try_get::<Option<i64>, _>("decision_ledger_index")?
                        .map(|v| index_col(v, "financing_requests.decision_ledger_index"))
                        .transpose()?,
                })
            }

            async fn append_one(
                conn: &mut <$db as sqlx::Database>::Connection,
                entry: &str,
            ) -> Result<AppendReceipt, StoreError> {
                crate::ledger::$ledger::append_in_tx(conn, &[entry.to_string()])
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("no ledger receipt".into()))
            }

            #[async_trait::async_trait]
            impl FinancingStore for $store {
                async fn create_financing(
                    &self,
                    f: &FinancingRecord,
                    ledger_entry: &str,
                ) -> Result<FinancingRecord, StoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    let receipt = append_one(&mut tx, ledger_entry).await?;
                    let mut qb = Builder::new(format!(
                        "INSERT INTO financing_requests ({FINANCING_COLUMNS}) VALUES ("
                    ));
                    let mut v = qb.separated(", ");
                    v.push_bind(f.id.as_str())
                        .push_bind(f.proposal_id.as_str())
                        .push_bind(f.owner_org.as_str())
                        .push_bind(f.lender_org.as_str())
                        .push_bind(f.instrument.as_str())
                        .push_bind(f.amount)
                        .push_bind(f.status.as_str())
                        .push_bind(f.reason.as_deref())
                        .push_bind(f.created_at)
                        .push_bind(f.decided_at)
                        .push_bind(f.decided_by.as_deref())
                        .push_bind(index_bind(receipt.index)?)
                        .push_bind(Option::<i64>::None);
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(FinancingRecord {
                        ledger_index: receipt.index,
                        ..f.clone()
                    })
                }

                async fn financing(&self, id: &str) -> Result<FinancingRecord, StoreError> {
                    let mut qb = Builder::new(format!(
                        "SELECT {FINANCING_COLUMNS} FROM financing_requests WHERE id = "
                    ));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => financing_row(&r),
                        None => Err(StoreError::NotFound(format!("financing request {id:?}"))),
                    }
                }

                async fn financing_requests(
                    &self,
                    owner: Option<&str>,
                    lender: Option<&str>,
                ) -> Result<Vec<FinancingRecord>, StoreError> {
                    let mut qb = Builder::new(format!(
                        "SELECT {FINANCING_COLUMNS} FROM financing_requests WHERE 1 = 1"
                    ));
                    if let Some(o) = owner {
                        qb.push(" AND owner_org = ").push_bind(o);
                    }
                    if let Some(l) = lender {
                        qb.push(" AND lender_org = ").push_bind(l);
                    }
                    qb.push(" ORDER BY id");
                    qb.build()
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(financing_row)
                        .collect()
                }

                async fn decide_financing(
                    &self,
                    id: &str,
                    status: &str,
                    reason: &str,
                    by: &str,
                    ledger_entry: &str,
                ) -> Result<FinancingRecord, StoreError> {
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    let receipt = append_one(&mut tx, ledger_entry).await?;
                    let mut qb = Builder::new("UPDATE financing_requests SET status = ");
                    qb.push_bind(status)
                        .push(", reason = ")
                        .push_bind(reason)
                        .push(", decided_at = ")
                        .push_bind(at)
                        .push(", decided_by = ")
                        .push_bind(by)
                        .push(", decision_ledger_index = ")
                        .push_bind(index_bind(receipt.index)?)
                        .push(" WHERE id = ")
                        .push_bind(id)
                        .push(" AND status = 'requested'");
                    if qb.build().execute(&mut *tx).await?.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!(
                            "financing request {id:?} was decided already"
                        )));
                    }
                    tx.commit().await?;
                    self.financing(id).await
                }
            }

            #[async_trait::async_trait]
            impl LicenceStore for $store {
                async fn create_licence(
                    &self,
                    l: &LicenceRecord,
                    ledger_entry: &str,
                ) -> Result<(LicenceRecord, AppendReceipt), StoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    let receipt =
                        crate::ledger::$ledger::append_in_tx(&mut *tx, &[ledger_entry.to_string()])
                            .await?
                            .into_iter()
                            .next()
                            .ok_or_else(|| StoreError::Corrupt("no ledger receipt".into()))?;
                    let eccns = serde_json::to_string(&l.eccns)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let parties = serde_json::to_string(&l.parties)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let mut qb =
                        Builder::new(format!("INSERT INTO licences ({LICENCE_COLUMNS}) VALUES ("));
                    let mut v = qb.separated(", ");
                    v.push_bind(l.id.as_str())
                        .push_bind(l.owner_org.as_str())
                        .push_bind(l.number.as_str())
                        .push_bind(l.kind.as_str())
                        .push_bind(eccns)
                        .push_bind(l.destination.as_str())
                        .push_bind(parties)
                        .push_bind(l.valid_from.as_str())
                        .push_bind(l.valid_to.as_str())
                        .push_bind(l.value_limit)
                        .push_bind(l.quantity_limit)
                        .push_bind(0i64)
                        .push_bind(0i64)
                        .push_bind(l.created_at)
                        .push_bind(index_bind(receipt.index)?);
                    qb.push(")");
                    qb.build().execute(&mut *tx).await.map_err(|e| match &e {
                        sqlx::Error::Database(d) if d.is_unique_violation() => {
                            StoreError::Conflict(format!(
                                "a licence numbered {:?} is recorded already",
                                l.number
                            ))
                        }
                        _ => StoreError::Database(e),
                    })?;
                    tx.commit().await?;
                    let stored = LicenceRecord {
                        value_used: 0,
                        quantity_used: 0,
                        ledger_index: receipt.index,
                        ..l.clone()
                    };
                    Ok((stored, receipt))
                }

                async fn licence(&self, id: &str) -> Result<LicenceRecord, StoreError> {
                    let mut qb = Builder::new(format!(
                        "SELECT {LICENCE_COLUMNS} FROM licences WHERE id = "
                    ));
                    qb.push_bind(id);
                    match qb.build().fetch_optional(&self.pool).await? {
                        Some(r) => licence_row(&r),
                        None => Err(StoreError::NotFound(format!("licence {id:?}"))),
                    }
                }

                async fn licences(
                    &self,
                    owner: Option<&str>,
                ) -> Result<Vec<LicenceRecord>, StoreError> {
                    let mut qb = Builder::new(format!("SELECT {LICENCE_COLUMNS} FROM licences"));
                    if let Some(o) = owner {
                        qb.push(" WHERE owner_org = ").push_bind(o);
                    }
                    qb.push(" ORDER BY number, id");
                    qb.build()
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(licence_row)
                        .collect()
                }

                async fn draw_down(
                    &self,
                    s: &NewShipment,
                    blocked: Option<&str>,
                    entry: ShipmentEntry<'_>,
                ) -> Result<(StoredShipment, AppendReceipt), StoreError> {
                    let at = crate::timestamp::now_micros();
                    let mut tx = $begin(&self.pool).await?;
                    let reason = match blocked {
                        Some(r) => Some(r.to_string()),
                        None => {
                            let mut qb =
                                Builder::new("UPDATE licences SET value_used = value_used + ");
                            qb.push_bind(s.value)
                                .push(", quantity_used = quantity_used + ")
                                .push_bind(s.quantity)
                                .push(" WHERE id = ")
                                .push_bind(s.licence_id.as_str())
                                .push(" AND (value_limit IS NULL OR value_used + ")
                                .push_bind(s.value)
                                .push(" <= value_limit)")
                                .push(" AND (quantity_limit IS NULL OR quantity_used + ")
                                .push_bind(s.quantity)
                                .push(" <= quantity_limit)");
                            if qb.build().execute(&mut *tx).await?.rows_affected() == 1 {
                                None
                            } else {
                                Some("licence_exhausted".to_string())
                            }
                        }
                    };
                    let outcome = if reason.is_some() { "blocked" } else { "drawn" };
                    let text = entry(outcome, reason.as_deref())?;
                    let receipt = crate::ledger::$ledger::append_in_tx(&mut *tx, &[text])
                        .await?
                        .into_iter()
                        .next()
                        .ok_or_else(|| StoreError::Corrupt("no ledger receipt".into()))?;
                    let stored = StoredShipment {
                        id: s.id.clone(),
                        licence_id: s.licence_id.clone(),
                        owner_org: s.owner_org.clone(),
                        eccn: s.eccn.clone(),
                        destination: s.destination.clone(),
                        party: s.party.clone(),
                        value: s.value,
                        quantity: s.quantity,
                        ship_date: s.ship_date.clone(),
                        outcome: outcome.to_string(),
                        reason,
                        actor_user: s.actor_user.clone(),
                        at,
                        ledger_index: receipt.index,
                    };
                    let mut qb = Builder::new(format!(
                        "INSERT INTO shipments ({SHIPMENT_COLUMNS}) VALUES ("
                    ));
                    let mut v = qb.separated(", ");
                    v.push_bind(stored.id.as_str())
                        .push_bind(stored.licence_id.as_str())
                        .push_bind(stored.owner_org.as_str())
                        .push_bind(stored.eccn.as_str())
                        .push_bind(stored.destination.as_str())
                        .push_bind(stored.party.as_str())
                        .push_bind(stored.value)
                        .push_bind(stored.quantity)
                        .push_bind(stored.ship_date.as_str())
                        .push_bind(stored.outcome.as_str())
                        .push_bind(stored.reason.as_deref())
                        .push_bind(stored.actor_user.as_str())
                        .push_bind(stored.at)
                        .push_bind(index_bind(receipt.index)?);
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok((stored, receipt))
                }

                async fn shipments(
                    &self,
                    licence_id: &str,
                ) -> Result<Vec<StoredShipment>, StoreError> {
                    let mut qb = Builder::new(format!(
                        "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE licence_id = "
                    ));
                    qb.push_bind(licence_id).push(" ORDER BY at, id");
                    qb.build()
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(shipment_row)
                        .collect()
                }
            }
        }
    };
}

licence_store_impl!(
    sqlite_licences,
    SqliteStore,
    sqlx::Sqlite,
    sqlite_begin,
    sqlite_impl
);
licence_store_impl!(pg_licences, PgStore, sqlx::Postgres, pg_begin, pg_impl);
