//! The licence master and shipments (issue 11, item 5; SAP GTS, Oracle GTM and the others
//! keep licences with value and quantity limits that each shipment draws down:
//! `shared/reference/ecosystem.md` §2.2, F4 and F5).
//!
//! A licence (or a licence exception, or NLR, recorded the same way so that every shipment
//! names its authority) covers items (ECCNs), one destination, named parties and a period, and
//! may carry value and quantity limits. A shipment outside any of those is blocked with the
//! reason; one inside them draws the licence down, atomically
//! (`stackport_store::LicenceStore::draw_down`), or is blocked `licence_exhausted` when the
//! limits would be passed. Every licence and every shipment, drawn or blocked, is in the
//! ledger with the acting user and organisation.

use std::sync::Arc;

use stackport_identity::policy::{decide_on, reads_across, Action, Decision, Denial, Principal};
use stackport_ledger::DecisionKind;
use stackport_store::{LicenceRecord, NewShipment, Storage, StoreError, StoredShipment};

use crate::ledger::DecisionLedger;
use crate::AppError;

/// The kinds of authority a shipment goes under.
pub const KINDS: [&str; 3] = ["licence", "licence_exception", "nlr"];
/// Days before expiry from which a licence carries the `expires_soon` warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// Share of a limit used from which a licence carries the `nearly_exhausted` warning.
pub const NEARLY_EXHAUSTED: f64 = 0.9;

/// A licence to record.
#[derive(Debug, Clone)]
pub struct NewLicence {
    pub number: String,
    pub kind: String,
    pub eccns: Vec<String>,
    pub destination: String,
    pub parties: Vec<String>,
    pub valid_from: String,
    pub valid_to: String,
    /// US cents.
    pub value_limit: Option<i64>,
    pub quantity_limit: Option<i64>,
}

/// A shipment to draw.
#[derive(Debug, Clone)]
pub struct ShipmentRequest {
    pub eccn: String,
    pub destination: String,
    pub party: String,
    /// US cents.
    pub value: i64,
    pub quantity: i64,
    pub ship_date: String,
}

pub struct LicenceService {
    store: Arc<dyn Storage>,
    ledger: Arc<DecisionLedger>,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code: "invalid_request",
        message: message.into(),
    }
}

/// A calendar date `YYYY-MM-DD`.
fn date(field: &str, s: &str) -> Result<time::Date, AppError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).map_err(|_| AppError::Invalid {
        code: "invalid_date",
        message: format!("{field}: {s:?} is not a date YYYY-MM-DD"),
    })
}

/// An ECCN as the CCL writes it (`3A090.a`, `4A994`, `5D002.c.1`) or `EAR99`.
fn eccn(s: &str) -> Result<String, AppError> {
    let t = s.trim().to_string();
    let b = t.as_bytes();
    let ok = t == "EAR99"
        || (b.len() >= 5
            && b[0].is_ascii_digit()
            && (b'A'..=b'E').contains(&b[1])
            && b[2..5].iter().all(u8::is_ascii_digit)
            && (b.len() == 5
                || (b[5] == b'.'
                    && t[6..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.')
                    && t.len() > 6)));
    if !ok {
        return Err(AppError::Invalid {
            code: "invalid_eccn",
            message: format!(
                "{s:?} is not an ECCN as the CCL writes it (3A090.a, 4A994) nor EAR99"
            ),
        });
    }
    Ok(t)
}

/// Party names compare as people write them: case and runs of spaces do not matter.
fn party_key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What a licence says of itself on `today`: days to expiry and warnings.
pub fn warnings(l: &LicenceRecord, today: time::Date) -> (Option<i64>, Vec<&'static str>) {
    let mut out = Vec::new();
    let days = date("valid_to", &l.valid_to)
        .ok()
        .map(|to| (to - today).whole_days());
    if let Some(d) = days {
        if d < 0 {
            out.push("expired");
        } else if d <= EXPIRY_WARNING_DAYS {
            out.push("expires_soon");
        }
    }
    let share =
        |used: i64, limit: Option<i64>| limit.filter(|l| *l > 0).map(|l| used as f64 / l as f64);
    let used = [
        share(l.value_used, l.value_limit),
        share(l.quantity_used, l.quantity_limit),
    ];
    if used.iter().flatten().any(|s| *s >= 1.0) {
        out.push("exhausted");
    } else if used.iter().flatten().any(|s| *s >= NEARLY_EXHAUSTED) {
        out.push("nearly_exhausted");
    }
    (days, out)
}

impl LicenceService {
    pub fn new(store: Arc<dyn Storage>, ledger: Arc<DecisionLedger>) -> Self {
        Self { store, ledger }
    }

    fn entry(
        kind: DecisionKind,
        p: &Principal,
        inputs: serde_json::Value,
        outputs: serde_json::Value,
    ) -> Result<String, StoreError> {
        crate::ledger::decided_by(kind, p, inputs, outputs)
    }

    /// Records a licence in the caller's organisation's licence master.
    pub async fn record(&self, p: &Principal, new: NewLicence) -> Result<LicenceRecord, AppError> {
        if !KINDS.contains(&new.kind.as_str()) {
            return Err(invalid(format!(
                "kind: {:?} is none of licence, licence_exception, nlr",
                new.kind
            )));
        }
        let number = new.number.trim();
        if number.is_empty() || number.chars().count() > 100 {
            return Err(invalid("number: 1 to 100 characters"));
        }
        if new.eccns.is_empty() || new.eccns.len() > 100 {
            return Err(invalid("eccns: 1 to 100 ECCNs"));
        }
        let eccns = new
            .eccns
            .iter()
            .map(|e| eccn(e))
            .collect::<Result<Vec<_>, _>>()?;
        let destination = new.destination.trim().to_ascii_uppercase();
        if destination.len() != 2 || !destination.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(AppError::Invalid {
                code: "invalid_country",
                message: format!(
                    "destination: {:?} is not an ISO 3166-1 alpha-2 code",
                    new.destination
                ),
            });
        }
        if new.parties.len() > 100
            || new
                .parties
                .iter()
                .any(|x| x.trim().is_empty() || x.chars().count() > 300)
        {
            return Err(invalid("parties: at most 100 names of 1 to 300 characters"));
        }
        let from = date("valid_from", &new.valid_from)?;
        let to = date("valid_to", &new.valid_to)?;
        if to < from {
            return Err(AppError::Invalid {
                code: "invalid_date",
                message: format!("valid_to {to} is before valid_from {from}"),
            });
        }
        if new.value_limit.is_some_and(|v| v < 0) || new.quantity_limit.is_some_and(|q| q < 0) {
            return Err(invalid("limits are not negative"));
        }
        let licence = LicenceRecord {
            id: stackport_identity::new_id("lic"),
            owner_org: p.org.clone(),
            number: number.to_string(),
            kind: new.kind.clone(),
            eccns,
            destination,
            parties: new.parties.iter().map(|x| x.trim().to_string()).collect(),
            valid_from: from.to_string(),
            valid_to: to.to_string(),
            value_limit: new.value_limit,
            quantity_limit: new.quantity_limit,
            value_used: 0,
            quantity_used: 0,
            created_at: stackport_store::timestamp::now_micros(),
            ledger_index: 0,
        };
        let entry = Self::entry(
            DecisionKind::Licence,
            p,
            serde_json::json!({ "licence": &licence }),
            serde_json::json!({ "recorded": licence.id }),
        )?;
        let (stored, _) = self.store.create_licence(&licence, &entry).await?;
        self.ledger.note_appended(1);
        Ok(stored)
    }

    /// A licence the caller may see (its own organisation's; any for the platform, auditors
    /// and Commerce); another's is not found.
    pub async fn licence(&self, p: &Principal, id: &str) -> Result<LicenceRecord, AppError> {
        self.visible(p, id, Action::ReadLicence).await
    }

    async fn visible(
        &self,
        p: &Principal,
        id: &str,
        action: Action,
    ) -> Result<LicenceRecord, AppError> {
        let missing = || AppError::NotFound(format!("licence {id:?}"));
        let l = match self.store.licence(id).await {
            Ok(l) => l,
            Err(StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        match decide_on(p, action, Some(&l.owner_org)) {
            Decision::Allow => Ok(l),
            Decision::Deny(Denial::NotFound) => Err(missing()),
            Decision::Deny(Denial::Forbidden) => {
                // Seen (an overseer) but not this organisation's to ship under.
                if decide_on(p, Action::ReadLicence, Some(&l.owner_org)).allowed() {
                    Err(AppError::Forbidden(format!(
                        "licence {id:?} is another organisation's"
                    )))
                } else {
                    Err(missing())
                }
            }
        }
    }

    /// The licences the caller may see.
    pub async fn licences(&self, p: &Principal) -> Result<Vec<LicenceRecord>, AppError> {
        let owner = (!reads_across(p, Action::ReadLicence)).then_some(p.org.as_str());
        Ok(self.store.licences(owner).await?)
    }

    /// A licence's shipments, drawn and blocked.
    pub async fn shipments(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<Vec<StoredShipment>, AppError> {
        self.visible(p, id, Action::ReadLicence).await?;
        Ok(self.store.shipments(id).await?)
    }

    /// Draws a shipment down a licence of the caller's organisation, or records it blocked
    /// with the reason ([`AppError::Conflict`] with that code).
    pub async fn ship(
        &self,
        p: &Principal,
        licence_id: &str,
        req: ShipmentRequest,
    ) -> Result<StoredShipment, AppError> {
        let l = self.visible(p, licence_id, Action::RecordShipment).await?;
        let eccn = eccn(&req.eccn)?;
        let ship_date = date("ship_date", &req.ship_date)?;
        if req.value < 0 || req.quantity < 1 {
            return Err(invalid("value is not negative and quantity is at least 1"));
        }
        let destination = req.destination.trim().to_ascii_uppercase();
        // What the licence does not cover blocks the shipment before any draw-down.
        let from = date("valid_from", &l.valid_from)?;
        let to = date("valid_to", &l.valid_to)?;
        let blocked = if ship_date < from {
            Some("licence_not_yet_valid")
        } else if ship_date > to {
            Some("licence_expired")
        } else if !l.eccns.contains(&eccn) {
            Some("item_not_covered")
        } else if destination != l.destination {
            Some("destination_not_covered")
        } else if !l.parties.is_empty()
            && !l
                .parties
                .iter()
                .any(|x| party_key(x) == party_key(&req.party))
        {
            Some("party_not_covered")
        } else {
            None
        };
        let shipment = NewShipment {
            id: stackport_identity::new_id("shp"),
            licence_id: l.id.clone(),
            owner_org: l.owner_org.clone(),
            eccn,
            destination,
            party: req.party.trim().to_string(),
            value: req.value,
            quantity: req.quantity,
            ship_date: ship_date.to_string(),
            actor_user: p.user.clone(),
        };
        let entry = |outcome: &str, reason: Option<&str>| {
            Self::entry(
                DecisionKind::Shipment,
                p,
                serde_json::json!({
                    "shipment": shipment.id, "licence": l.id, "number": l.number,
                    "eccn": shipment.eccn, "destination": shipment.destination, "party": shipment.party,
                    "value_cents": shipment.value, "quantity": shipment.quantity, "ship_date": shipment.ship_date,
                }),
                serde_json::json!({ "outcome": outcome, "reason": reason }),
            )
        };
        let (stored, _) = self.store.draw_down(&shipment, blocked, &entry).await?;
        self.ledger.note_appended(1);
        if stored.reason.as_deref() == Some("licence_exhausted") {
            crate::webhooks::emit(
                &self.store,
                &l.owner_org,
                "licence.exhausted",
                serde_json::json!({ "licence": l.id, "number": l.number, "shipment": stored.id,
                    "value_cents": stored.value, "quantity": stored.quantity }),
            )
            .await;
        }
        match &stored.reason {
            None => Ok(stored),
            Some(code) => Err(AppError::Conflict {
                code: match code.as_str() {
                    "licence_exhausted" => "licence_exhausted",
                    "licence_not_yet_valid" => "licence_not_yet_valid",
                    "licence_expired" => "licence_expired",
                    "item_not_covered" => "item_not_covered",
                    "destination_not_covered" => "destination_not_covered",
                    _ => "party_not_covered",
                },
                message: format!(
                    "shipment {} is blocked ({code}) and recorded as such; licence {} ({}) was not drawn",
                    stored.id, l.number, l.id
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eccns_are_read_as_the_ccl_writes_them() {
        for ok in ["3A090.a", "4A994", "5D002.c.1", "EAR99", " 3A090 "] {
            assert!(eccn(ok).is_ok(), "{ok}");
        }
        for bad in ["", "3a090", "3F090", "3A09", "3A090.", "ear99", "3A090.a b"] {
            assert!(eccn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn warnings_name_expiry_and_exhaustion() {
        let mut l = LicenceRecord {
            id: "lic".into(),
            owner_org: "org".into(),
            number: "D1".into(),
            kind: "licence".into(),
            eccns: vec!["3A090.a".into()],
            destination: "AE".into(),
            parties: vec![],
            valid_from: "2026-01-01".into(),
            valid_to: "2026-12-31".into(),
            value_limit: Some(1000),
            quantity_limit: None,
            value_used: 950,
            quantity_used: 0,
            created_at: 0,
            ledger_index: 0,
        };
        let day = |s: &str| date("d", s).unwrap();
        assert_eq!(
            warnings(&l, day("2026-12-15")),
            (Some(16), vec!["expires_soon", "nearly_exhausted"])
        );
        l.value_used = 1000;
        assert_eq!(warnings(&l, day("2026-06-01")).1, vec!["exhausted"]);
        assert_eq!(
            warnings(&l, day("2027-01-02")).1,
            vec!["expired", "exhausted"]
        );
        assert_eq!(
            party_key("  ACME   Trading  LLC"),
            party_key("acme trading llc")
        );
    }
}
