//! Re-evaluation, as compliance tools do it: when a new list snapshot or rulebook version is
//! loaded, stored proposals are reviewed again — only those the change can affect — and what
//! changed is reported.
//!
//! Which proposals a change can affect:
//! - a list snapshot: a proposal whose parties' hits on the new snapshot differ from the hits
//!   its stored review recorded (a new or changed entry near one of its parties, or a
//!   cleared one). [`PartyKey`] is what a store keeps per party to decide that without
//!   reading the whole review;
//! - a rulebook version: a proposal whose items or eligibility come out differently under the
//!   new rules (the screening stands, so the review reuses its party results and costs only
//!   the determinations).
//!
//! [`changes`] compares a stored review (JSON, as stored) with the new one.

use serde::{Deserialize, Serialize};

use crate::review::{PartyResult, Review};

/// What a store keeps of each party to re-screen it: its name and country as screened, and
/// the entity ids of its hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyKey {
    pub party: String,
    pub name: String,
    #[serde(default)]
    pub country: Option<String>,
    /// Screened as an entity (members, end users) rather than of unknown type (owners).
    pub entity: bool,
    pub hits: Vec<String>,
}

/// The party keys of a review.
pub fn party_keys(review: &Review) -> Vec<PartyKey> {
    review.parties.iter().map(party_key).collect()
}

fn party_key(p: &PartyResult) -> PartyKey {
    let mut hits: Vec<String> = p.hits.iter().map(|h| h.entity.clone()).collect();
    hits.sort();
    hits.dedup();
    PartyKey {
        party: p.party.clone(),
        name: p.name.clone(),
        country: p.country.clone(),
        entity: p.role != "owner",
        hits,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HitChange {
    pub party: String,
    pub entity: String,
    #[serde(default)]
    pub list: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemChange {
    pub component: String,
    pub end_user: String,
    /// `outcome/exception/review_policy/eccn` before and after; `None` where the item did not
    /// exist.
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckChange {
    pub check: String,
    pub passed_before: Option<bool>,
    pub passed_after: bool,
}

/// What changed between two reviews of one proposal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Changes {
    pub verdict_before: Option<String>,
    pub verdict_after: String,
    pub new_hits: Vec<HitChange>,
    pub cleared_hits: Vec<HitChange>,
    pub status_changes: Vec<(String, String, String)>,
    pub items: Vec<ItemChange>,
    pub checks: Vec<CheckChange>,
}

impl Changes {
    /// Whether anything a reviewer acts on changed.
    pub fn any(&self) -> bool {
        self.verdict_before.as_deref() != Some(self.verdict_after.as_str())
            || !self.new_hits.is_empty()
            || !self.cleared_hits.is_empty()
            || !self.status_changes.is_empty()
            || !self.items.is_empty()
            || !self.checks.is_empty()
    }
}

fn item_sig(v: &serde_json::Value) -> String {
    let s = |k: &str| match v.get(k) {
        Some(serde_json::Value::String(x)) => x.clone(),
        _ => "-".to_string(),
    };
    format!(
        "{}/{}/{}/{}",
        s("outcome"),
        s("exception"),
        s("review_policy"),
        s("eccn")
    )
}

/// Compares a stored review (its JSON) with a new one.
pub fn changes(old: &serde_json::Value, new: &Review) -> Changes {
    let newv = serde_json::to_value(new).expect("a review serialises");
    let mut c = Changes {
        verdict_before: old
            .get("verdict")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        verdict_after: new.verdict.as_str().to_string(),
        ..Changes::default()
    };
    let arr = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let str_of = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };

    // Parties: hits by entity id, and status.
    let old_parties = arr(old, "parties");
    for np in arr(&newv, "parties") {
        let id = str_of(&np, "party");
        let op = old_parties.iter().find(|p| str_of(p, "party") == id);
        let old_hits: Vec<String> = op
            .map(|p| arr(p, "hits").iter().map(|h| str_of(h, "entity")).collect())
            .unwrap_or_default();
        let new_hits = arr(&np, "hits");
        for h in &new_hits {
            let e = str_of(h, "entity");
            if !old_hits.contains(&e) {
                c.new_hits.push(HitChange {
                    party: id.clone(),
                    entity: e,
                    list: str_of(h, "list"),
                    name: str_of(h, "name"),
                });
            }
        }
        if let Some(op) = op {
            for h in arr(op, "hits") {
                let e = str_of(&h, "entity");
                if !new_hits.iter().any(|n| str_of(n, "entity") == e) {
                    c.cleared_hits.push(HitChange {
                        party: id.clone(),
                        entity: e,
                        list: str_of(&h, "list"),
                        name: str_of(&h, "name"),
                    });
                }
            }
            let (a, b) = (str_of(op, "status"), str_of(&np, "status"));
            if a != b {
                c.status_changes.push((id.clone(), a, b));
            }
        }
    }

    // Items by (component, end user).
    let old_items = arr(old, "items");
    let new_items = arr(&newv, "items");
    let key = |v: &serde_json::Value| (str_of(v, "component"), str_of(v, "end_user"));
    for ni in &new_items {
        let k = key(ni);
        let before = old_items.iter().find(|o| key(o) == k).map(item_sig);
        let after = item_sig(ni);
        if before.as_deref() != Some(after.as_str()) {
            c.items.push(ItemChange {
                component: k.0,
                end_user: k.1,
                before,
                after: Some(after),
            });
        }
    }
    for oi in &old_items {
        let k = key(oi);
        if !new_items.iter().any(|n| key(n) == k) {
            c.items.push(ItemChange {
                component: k.0,
                end_user: k.1,
                before: Some(item_sig(oi)),
                after: None,
            });
        }
    }

    let old_checks = arr(old, "eligibility");
    for nc in arr(&newv, "eligibility") {
        let name = str_of(&nc, "check");
        let after = nc.get("passed").and_then(|b| b.as_bool()).unwrap_or(false);
        let before = old_checks
            .iter()
            .find(|o| str_of(o, "check") == name)
            .and_then(|o| o.get("passed").and_then(|b| b.as_bool()));
        if before != Some(after) {
            c.checks.push(CheckChange {
                check: name,
                passed_before: before,
                passed_after: after,
            });
        }
    }
    c
}
