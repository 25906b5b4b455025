//! The review of a proposal as a whole: program eligibility, US content with its arithmetic,
//! every component classified and determined for each of its end users, every party screened
//! with OFAC's 50 Percent Rule and the BIS Affiliates rule through chains of ownership, the
//! location-verification duty of each covered chip, BIS-748P-shaped licence application
//! drafts, and one verdict.
//!
//! Verdict precedence (proposals README): `ineligible` (an eligibility check failed),
//! `prohibited` (an item's outcome is prohibited), `held` (a party, owners included, is not
//! clear), `licences_required` (an item needs a licence), `clear`. Every section is filled
//! whatever the verdict: a reviewer sees everything wrong at once.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use stackport_controls::engine::Case;
use stackport_controls::{Outcome, Rulebook};
use stackport_screening::{Hit, PartyType, Query, Screener, ALGORITHM_VERSION, DEFAULT_THRESHOLD};

use crate::bom::{Component, ItemClass, Micro};
use crate::error::{Problem, ProposalError};
use crate::licence::{self, LicenceDraft};
use crate::model::{Layer, PartyRef, Proposal, Role};
use crate::rules::{AffiliatesState, ProgramRules};

/// The verdict, first that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ineligible,
    Prohibited,
    Held,
    LicencesRequired,
    Clear,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ineligible => "ineligible",
            Verdict::Prohibited => "prohibited",
            Verdict::Held => "held",
            Verdict::LicencesRequired => "licences_required",
            Verdict::Clear => "clear",
        }
    }
}

/// The verdict from the facts it rests on, in the README's precedence.
pub fn verdict(
    any_check_failed: bool,
    any_prohibited: bool,
    any_party_not_clear: bool,
    any_licence: bool,
) -> Verdict {
    if any_check_failed {
        Verdict::Ineligible
    } else if any_prohibited {
        Verdict::Prohibited
    } else if any_party_not_clear {
        Verdict::Held
    } else if any_licence {
        Verdict::LicencesRequired
    } else {
        Verdict::Clear
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub passed: bool,
    pub detail: String,
    pub source: String,
    pub confidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsContentLine {
    pub component: String,
    pub quantity: u64,
    pub unit_value_usd: f64,
    pub value_usd: f64,
    pub us_content_percent: f64,
    pub us_origin_value_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsContent {
    pub hardware_value_usd: f64,
    pub us_origin_value_usd: f64,
    /// `None` when the hardware layer has no value to take a share of.
    pub percent: Option<f64>,
    pub threshold_percent: f64,
    pub lines: Vec<UsContentLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    pub component: String,
    pub end_user: String,
    pub destination: String,
    pub eccn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paragraph: Option<String>,
    pub outcome: String,
    pub exception: Option<String>,
    pub notification_required: bool,
    pub review_policy: Option<String>,
    pub citations: Vec<String>,
    pub rule_versions: Vec<String>,
    pub confidence: String,
    /// `engine` (chips and models) or `declared` (the exporter's ECCN).
    pub classified_by: &'static str,
    pub layer: Layer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_usd: Option<f64>,
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unclassified {
    pub component: String,
    pub layer: Layer,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyStatus {
    PotentialMatch,
    OwnedByListed,
    Clear,
}

impl PartyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyStatus::PotentialMatch => "potential_match",
            PartyStatus::OwnedByListed => "owned_by_listed",
            PartyStatus::Clear => "clear",
        }
    }
}

/// Why a party is owned by listed parties.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnershipFinding {
    /// Aggregate share held by listed (or themselves blocked) owners.
    pub listed_percent: f64,
    /// The owners counted, as party ids.
    pub owners: Vec<String>,
    pub rule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartyResult {
    pub party: String,
    /// `anchor`, `member`, `end_user` or `owner`.
    pub role: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub status: PartyStatus,
    pub hits: Vec<Hit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership: Option<OwnershipFinding>,
    /// For owners that are parties of the proposal: that party's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocationDuty {
    pub component: String,
    pub site: String,
    pub required: bool,
    pub reason: String,
    pub eccn: Option<String>,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub quantity: u64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FinancingNote {
    pub instrument: String,
    pub agency: String,
    pub amount_usd: f64,
    pub note: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub rulebook: String,
    pub program_rules: String,
    pub screening_algorithm: &'static str,
    pub list_hashes: Vec<String>,
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub components: usize,
    pub items: usize,
    pub licences_required: usize,
    pub prohibited: usize,
    pub undetermined: usize,
    pub unclassified: usize,
    pub parties: usize,
    pub parties_not_clear: usize,
    pub failed_checks: Vec<&'static str>,
    pub location_verification_required: usize,
    /// Plain-language reasons for the verdict, first the one that decided it.
    pub reasons: Vec<String>,
}

/// A whole review: the JSON contract's fields first, then the rest.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub id: String,
    pub verdict: Verdict,
    pub eligibility: Vec<CheckResult>,
    pub us_content: UsContent,
    pub items: Vec<ItemResult>,
    pub parties: Vec<PartyResult>,
    pub location_verification: Vec<LocationDuty>,
    pub consortium: String,
    pub date: String,
    pub posture: &'static str,
    pub summary: Summary,
    pub unclassified: Vec<Unclassified>,
    pub licence_applications: Vec<LicenceDraft>,
    pub financing: Vec<FinancingNote>,
    pub versions: Versions,
}

/// Screens one party: name, country, screened as an entity.
type ScreenFn<'s> = dyn FnMut(&str, Option<&str>, bool) -> Vec<Hit> + 's;

/// How many hits are kept per party, and from which score (the screening default).
pub const PARTY_TOP: usize = 5;
pub const PARTY_THRESHOLD: f64 = DEFAULT_THRESHOLD;

/// Reviews proposals against one rulebook, one set of program rules and one list snapshot.
pub struct Reviewer<'a> {
    pub rulebook: &'a Rulebook,
    pub rules: &'a ProgramRules,
    pub screener: &'a Screener,
}

fn usd(m: Micro) -> f64 {
    m as f64 / 1e6
}

/// The determination of one classified component for one end user and destination, shared by
/// every component of the same class.
#[derive(Clone)]
struct Decided {
    eccn: Option<String>,
    paragraph: Option<String>,
    outcome: Outcome,
    exception: Option<String>,
    notification_required: bool,
    review_policy: Option<String>,
    citations: Vec<String>,
    rule_versions: Vec<String>,
    confidence: String,
    reasons: Vec<String>,
    missing: Vec<String>,
    warnings: Vec<String>,
}

impl Reviewer<'_> {
    /// Reviews one checked proposal.
    pub fn review(&self, p: &Proposal) -> Result<Review, ProposalError> {
        self.review_with_parties(p, None)
    }

    /// Reviews a proposal, reusing the party results of an earlier review when given (a
    /// rulebook change re-decides items and eligibility; the lists did not change, so the
    /// screening stands). Parties of `earlier` are used only if they are exactly this
    /// proposal's parties.
    pub fn review_with_parties(
        &self,
        p: &Proposal,
        earlier: Option<Vec<PartyResult>>,
    ) -> Result<Review, ProposalError> {
        let parties = match earlier {
            Some(e) if self.same_parties(p, &e) => e,
            _ => self.parties(p),
        };
        let us_content = self.us_content(p);
        let eligibility = self.eligibility(p, &us_content);

        // ---- items
        let rb = self.rulebook;
        let mut items = Vec::new();
        let mut unclassified = Vec::new();
        let mut problems = Vec::new();
        // End-user hits the export-control overlays act on: the end user's own, and under the
        // Affiliates rule those of Entity List / MEU owners holding 50% or more.
        let eu_hits: Vec<(Vec<Hit>, Vec<String>)> = (0..p.end_users.len())
            .map(|i| self.end_user_hits(p, i, &parties))
            .collect();
        let mut cache: HashMap<(String, usize), Decided> = HashMap::new();
        let exporter_of = |c: &Component| p.members[c.supplier].name.clone();
        // The first item of each component, for the location duties.
        let mut first_item: Vec<Option<usize>> = vec![None; p.package.components.len()];
        for (ci, c) in p.package.components.iter().enumerate() {
            let key = match &c.class {
                ItemClass::Unclassified => {
                    unclassified.push(Unclassified {
                        component: c.bom_ref.clone(),
                        layer: c.layer,
                        reason: "no stackport:eccn, catalog id, chip figures or model facts: the component must be classified before export (15 CFR 732.3(b))".into(),
                    });
                    continue;
                }
                ItemClass::Chip(spec) => format!("chip:{spec:?}"),
                ItemClass::Model(m) => format!("model:{m:?}"),
                ItemClass::Declared(e) => format!("declared:{e}:{}", c.layer as u8),
            };
            let key = format!("{key}:{}", exporter_of(c));
            // Hardware goes to its site's end user; everything else to every end user.
            let targets: Vec<usize> = match c.site {
                Some(s) if c.layer == Layer::Hardware => vec![p.sites[s].end_user],
                _ => (0..p.end_users.len()).collect(),
            };
            for eu in targets {
                let d = match cache.get(&(key.clone(), eu)) {
                    Some(d) => d.clone(),
                    None => match self.decide(p, c, eu, &eu_hits[eu]) {
                        Ok(d) => {
                            cache.insert((key.clone(), eu), d.clone());
                            d
                        }
                        Err(e) => {
                            problems.push(Problem {
                                path: c.path.clone(),
                                bom_ref: Some(c.bom_ref.clone()),
                                property: None,
                                code: "invalid_item",
                                message: e.to_string(),
                            });
                            continue;
                        }
                    },
                };
                first_item[ci].get_or_insert(items.len());
                let value = match (c.quantity, c.unit_value) {
                    (Some(q), Some(v)) => Some(usd(v * q as u128)),
                    _ => None,
                };
                items.push(ItemResult {
                    component: c.bom_ref.clone(),
                    end_user: p.end_users[eu].id.clone(),
                    destination: p
                        .end_users
                        .get(eu)
                        .map(|_| match c.site {
                            Some(s) if c.layer == Layer::Hardware => p.sites[s].country.clone(),
                            _ => p.end_users[eu].country.clone(),
                        })
                        .unwrap_or_default(),
                    eccn: d.eccn,
                    paragraph: d.paragraph,
                    outcome: d.outcome.as_str().to_string(),
                    exception: d.exception,
                    notification_required: d.notification_required,
                    review_policy: d.review_policy,
                    citations: d.citations,
                    rule_versions: d.rule_versions,
                    confidence: d.confidence,
                    classified_by: match c.class {
                        ItemClass::Declared(_) => "declared",
                        _ => "engine",
                    },
                    layer: c.layer,
                    quantity: c.quantity,
                    value_usd: value,
                    reasons: d.reasons,
                    missing: d.missing,
                    warnings: d.warnings,
                });
            }
        }
        if !problems.is_empty() {
            return Err(ProposalError::Invalid(problems));
        }

        let location_verification = self.location(p, &items, &first_item);
        let licence_applications = licence::drafts(p, &items);
        let financing = self.financing(p, &items);

        let failed: Vec<&'static str> = eligibility
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.check)
            .collect();
        let prohibited = items.iter().filter(|i| i.outcome == "prohibited").count();
        let licences = items
            .iter()
            .filter(|i| i.outcome == "license_required")
            .count();
        let not_clear: Vec<&PartyResult> = parties
            .iter()
            .filter(|x| x.status != PartyStatus::Clear)
            .collect();
        let v = verdict(
            !failed.is_empty(),
            prohibited > 0,
            !not_clear.is_empty(),
            licences > 0,
        );
        let mut reasons = Vec::new();
        for c in eligibility.iter().filter(|c| !c.passed) {
            reasons.push(format!("Ineligible: {} — {}", c.check, c.detail));
        }
        for i in items.iter().filter(|i| i.outcome == "prohibited") {
            reasons.push(format!(
                "Prohibited: {} to {} ({}) — {}",
                i.component,
                i.end_user,
                i.destination,
                i.citations.first().map(String::as_str).unwrap_or("")
            ));
        }
        for x in &not_clear {
            reasons.push(format!(
                "Held: {} {} ({}) is {}",
                x.role,
                x.party,
                x.name,
                x.status.as_str()
            ));
        }
        if licences > 0 {
            reasons.push(format!(
                "{licences} item determination(s) need a licence: {} licence application draft(s) prepared",
                licence_applications.len()
            ));
        }
        if v == Verdict::Clear {
            reasons.push("Every eligibility check passed, no item needs a licence or is prohibited, and every party is clear".into());
        }
        if !unclassified.is_empty() {
            reasons.push(format!(
                "{} component(s) are unclassified and must be classified before export",
                unclassified.len()
            ));
        }
        let undetermined = items.iter().filter(|i| i.outcome == "undetermined").count();
        if undetermined > 0 {
            reasons.push(format!(
                "{undetermined} item determination(s) are undetermined for lack of a fact (see `missing`)"
            ));
        }
        let summary = Summary {
            components: p.package.components.len(),
            items: items.len(),
            licences_required: licences,
            prohibited,
            undetermined,
            unclassified: unclassified.len(),
            parties: parties.len(),
            parties_not_clear: not_clear.len(),
            failed_checks: failed,
            location_verification_required: location_verification
                .iter()
                .filter(|l| l.required)
                .count(),
            reasons,
        };
        Ok(Review {
            id: p.id.clone(),
            verdict: v,
            eligibility,
            us_content,
            items,
            parties,
            location_verification,
            consortium: p.consortium.clone(),
            date: p.date.to_string(),
            posture: p.posture.as_str(),
            summary,
            unclassified,
            licence_applications,
            financing,
            versions: Versions {
                rulebook: rb.version.clone(),
                program_rules: self.rules.version.clone(),
                screening_algorithm: ALGORITHM_VERSION,
                list_hashes: self.screener.snapshot_hashes().to_vec(),
                threshold: DEFAULT_THRESHOLD,
            },
        })
    }

    fn decide(
        &self,
        p: &Proposal,
        c: &Component,
        eu: usize,
        hits: &(Vec<Hit>, Vec<String>),
    ) -> Result<Decided, stackport_controls::InputError> {
        let rb = self.rulebook;
        let end_user = &p.end_users[eu];
        let destination = match c.site {
            Some(s) if c.layer == Layer::Hardware => &p.sites[s].country,
            _ => &end_user.country,
        };
        let dest = rb.country(destination).ok_or_else(|| {
            stackport_controls::InputError::UnknownCountry {
                field: "destination",
                value: destination.clone(),
            }
        })?;
        let hq = end_user.hq_country.as_deref().and_then(|h| rb.country(h));
        let us = rb
            .country("US")
            .expect("the rulebook knows the United States");
        let exporter = p.members[c.supplier].name.clone();
        let mut warnings = hits.1.clone();
        let item = match &c.class {
            ItemClass::Chip(spec) => rb.resolve_item(spec)?,
            ItemClass::Model(m) => rb.resolve_item(&stackport_controls::ItemSpec {
                model: Some(m.clone()),
                ..Default::default()
            })?,
            ItemClass::Declared(_) => stackport_controls::ResolvedItem {
                kind: if c.layer == Layer::Hardware {
                    stackport_controls::rulebook::ItemKind::Computer
                } else {
                    stackport_controls::rulebook::ItemKind::Software
                },
                params: Default::default(),
                datacenter: None,
                published: None,
                specified_in: None,
                catalog: None,
            },
            ItemClass::Unclassified => unreachable!("unclassified components are not determined"),
        };
        let case = Case {
            item: &item,
            date: p.date,
            posture: p.posture,
            export_from: us,
            destination: dest,
            end_user_hq: hq,
            hits: &hits.0,
            end_uses: &end_user.end_use,
            exporter: Some(&exporter),
        };
        let d = match &c.class {
            ItemClass::Declared(e) => {
                let cl = rb.declared_classification(e, p.date, p.posture)?;
                rb.determine_classified(&case, cl)?
            }
            _ => rb.determine(&case)?,
        };
        if let (Some(declared), Some(found)) = (&c.declared_eccn, &d.classification.eccn) {
            if !matches!(c.class, ItemClass::Declared(_)) && !found.eq_ignore_ascii_case(declared) {
                warnings.push(format!(
                    "declared ECCN {declared} differs from the engine's classification {found}; the engine's is used"
                ));
            }
        }
        let out = rb.render(serde_json::Value::Null, p.posture, &d, true);
        Ok(Decided {
            eccn: out.eccn,
            paragraph: out.paragraph,
            outcome: d.outcome,
            exception: out.exception,
            notification_required: out.notification_required,
            review_policy: out.review_policy,
            citations: out.citations,
            rule_versions: out.rule_versions,
            confidence: if warnings
                .iter()
                .any(|w| w.starts_with("Affiliates rule applied after"))
            {
                "low".into()
            } else {
                out.confidence
            },
            reasons: out.reasons,
            missing: out.missing,
            warnings,
        })
    }

    /// The hits the determination of an end user's items acts on.
    fn end_user_hits(
        &self,
        p: &Proposal,
        eu: usize,
        parties: &[PartyResult],
    ) -> (Vec<Hit>, Vec<String>) {
        let e = &p.end_users[eu];
        let mut hits: Vec<Hit> = parties
            .iter()
            .find(|x| x.party == e.id && x.role == "end_user")
            .map(|x| x.hits.clone())
            .unwrap_or_default();
        let mut notes = Vec::new();
        let rule = &self.rules.affiliates_rule;
        let state = self.rules.affiliates_state(p.date);
        // Owners on the Entity List or the MEU list, with their aggregate share.
        let mut listed: Vec<Hit> = Vec::new();
        let mut share = 0.0;
        for (j, o) in e.owners.iter().enumerate() {
            let id = format!("{}/owners/{j}", e.id);
            let owner_hits: Vec<Hit> = parties
                .iter()
                .find(|x| x.party == id)
                .map(|x| {
                    x.hits
                        .iter()
                        .filter(|h| rule.lists.iter().any(|l| l.eq_ignore_ascii_case(&h.list)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if !owner_hits.is_empty() {
                share += o.percent;
                listed.extend(owner_hits);
            }
        }
        if !listed.is_empty() && share + 1e-9 >= rule.percent {
            match state {
                AffiliatesState::InForce => {
                    notes.push(format!(
                        "Affiliates rule: owners on the {} lists hold {share}% of {}; their licence requirements apply ({})",
                        rule.lists.join("/"), e.id, rule.source.citation
                    ));
                    hits.extend(listed);
                }
                AffiliatesState::AfterSuspension => {
                    notes.push(format!(
                        "Affiliates rule applied after its suspension's scheduled end: owners on the {} lists hold {share}% of {} ({}; {})",
                        rule.lists.join("/"), e.id, rule.source.citation, rule.source.uncertain.as_deref().unwrap_or("")
                    ));
                    hits.extend(listed);
                }
                AffiliatesState::Suspended => notes.push(format!(
                    "Affiliates rule not applied: owners on the {} lists hold {share}% of {}, but the rule ({}) is suspended from 2025-11-10 to 2026-11-09",
                    rule.lists.join("/"), e.id, rule.source.citation
                )),
                AffiliatesState::NotYetInForce => {}
            }
        }
        (hits, notes)
    }

    // ---- parties ---------------------------------------------------------------------------

    /// Whether `earlier` lists exactly the parties of `p`, by id and name.
    fn same_parties(&self, p: &Proposal, earlier: &[PartyResult]) -> bool {
        let mut want: Vec<(String, &str)> = Vec::new();
        for m in &p.members {
            want.push((m.id.clone(), &m.name));
            for (j, o) in m.owners.iter().enumerate() {
                want.push((format!("{}/owners/{j}", m.id), &o.name));
            }
        }
        for e in &p.end_users {
            want.push((e.id.clone(), &e.name));
            for (j, o) in e.owners.iter().enumerate() {
                want.push((format!("{}/owners/{j}", e.id), &o.name));
            }
        }
        want.len() == earlier.len()
            && want
                .iter()
                .all(|(id, name)| earlier.iter().any(|x| &x.party == id && x.name == *name))
    }

    fn screen(&self, name: &str, country: Option<&str>, entity: bool) -> Vec<Hit> {
        let q = Query {
            name: name.to_string(),
            party_type: entity.then_some(PartyType::Entity),
            country: country.map(str::to_string),
            dob: None,
            identifiers: Vec::new(),
        };
        match self.screener.screen(&q, PARTY_TOP, PARTY_THRESHOLD) {
            Ok(r) => r.hits,
            // Names are checked non-empty and at most 1000 characters when the proposal is
            // read; a name that normalises to nothing cannot match anything.
            Err(_) => Vec::new(),
        }
    }

    fn parties(&self, p: &Proposal) -> Vec<PartyResult> {
        // Screen every named party once (the same owner may appear under several members).
        let mut memo: HashMap<(String, Option<String>, bool), Vec<Hit>> = HashMap::new();
        let mut screen = |name: &str, country: Option<&str>, entity: bool| {
            memo.entry((name.to_string(), country.map(str::to_string), entity))
                .or_insert_with(|| self.screen(name, country, entity))
                .clone()
        };
        let member_hits: Vec<Vec<Hit>> = p
            .members
            .iter()
            .map(|m| screen(&m.name, Some(&m.country), true))
            .collect();
        let eu_hits: Vec<Vec<Hit>> = p
            .end_users
            .iter()
            .map(|e| screen(&e.name, Some(&e.country), true))
            .collect();
        let owner_hits = |screen: &mut ScreenFn, owners: &[crate::model::Owner]| {
            owners
                .iter()
                .map(|o| screen(&o.name, o.country.as_deref(), false))
                .collect::<Vec<_>>()
        };
        let m_owner_hits: Vec<Vec<Vec<Hit>>> = p
            .members
            .iter()
            .map(|m| owner_hits(&mut screen, &m.owners))
            .collect();
        let e_owner_hits: Vec<Vec<Vec<Hit>>> = p
            .end_users
            .iter()
            .map(|e| owner_hits(&mut screen, &e.owners))
            .collect();
        let direct = |r: PartyRef| match r {
            PartyRef::Member(i) => !member_hits[i].is_empty(),
            PartyRef::EndUser(i) => !eu_hits[i].is_empty(),
        };
        let owner_hit = |r: PartyRef, j: usize| match r {
            PartyRef::Member(i) => !m_owner_hits[i][j].is_empty(),
            PartyRef::EndUser(i) => !e_owner_hits[i][j].is_empty(),
        };

        // OFAC 50 Percent Rule, through chains: a party is blocked when it is listed, or when
        // owners that are blocked hold 50% or more in aggregate. An owner counts as blocked
        // when it is listed itself or is a party of the proposal that is blocked. Ownership is
        // acyclic (checked when the proposal was read), so a memoised walk terminates.
        let threshold = self.rules.fifty_percent_rule.percent;
        let mut blocked: HashMap<PartyRef, Option<OwnershipFinding>> = HashMap::new();
        fn resolve(
            r: PartyRef,
            p: &Proposal,
            threshold: f64,
            rule: &str,
            direct: &dyn Fn(PartyRef) -> bool,
            owner_hit: &dyn Fn(PartyRef, usize) -> bool,
            memo: &mut HashMap<PartyRef, Option<OwnershipFinding>>,
        ) -> bool {
            if direct(r) {
                return true;
            }
            if let Some(f) = memo.get(&r) {
                return f.is_some();
            }
            let mut share = 0.0;
            let mut counted = Vec::new();
            for (j, o) in p.owners_of(r).iter().enumerate() {
                let b = owner_hit(r, j)
                    || o.link
                        .is_some_and(|l| resolve(l, p, threshold, rule, direct, owner_hit, memo));
                if b {
                    share += o.percent;
                    counted.push(format!("{}/owners/{j}", p.party_id(r)));
                }
            }
            // 50% exactly is blocked ("50 percent or more"); a tolerance for shares written
            // with rounding only.
            let f = (share + 1e-9 >= threshold).then(|| OwnershipFinding {
                listed_percent: share,
                owners: counted,
                rule: rule.to_string(),
            });
            let is = f.is_some();
            memo.insert(r, f);
            is
        }
        let rule = self.rules.fifty_percent_rule.source.citation.clone();
        let all: Vec<PartyRef> = (0..p.members.len())
            .map(PartyRef::Member)
            .chain((0..p.end_users.len()).map(PartyRef::EndUser))
            .collect();
        for r in &all {
            resolve(*r, p, threshold, &rule, &direct, &owner_hit, &mut blocked);
        }
        let status = |r: PartyRef, blocked: &HashMap<PartyRef, Option<OwnershipFinding>>| {
            if direct(r) {
                (PartyStatus::PotentialMatch, None)
            } else {
                match blocked.get(&r).cloned().flatten() {
                    Some(f) => (PartyStatus::OwnedByListed, Some(f)),
                    None => (PartyStatus::Clear, None),
                }
            }
        };

        let mut out = Vec::new();
        let push_owners = |out: &mut Vec<PartyResult>, r: PartyRef, hits: &[Vec<Hit>]| {
            for (j, o) in p.owners_of(r).iter().enumerate() {
                let (st, ownership, same_as) = if !hits[j].is_empty() {
                    (
                        PartyStatus::PotentialMatch,
                        None,
                        o.link.map(|l| p.party_id(l).to_string()),
                    )
                } else if let Some(l) = o.link {
                    let (s, f) = status(l, &blocked);
                    (s, f, Some(p.party_id(l).to_string()))
                } else {
                    (PartyStatus::Clear, None, None)
                };
                out.push(PartyResult {
                    party: format!("{}/owners/{j}", p.party_id(r)),
                    role: "owner".into(),
                    name: o.name.clone(),
                    country: o.country.clone(),
                    status: st,
                    hits: hits[j].clone(),
                    ownership,
                    same_as,
                });
            }
        };
        for (i, m) in p.members.iter().enumerate() {
            let (st, f) = status(PartyRef::Member(i), &blocked);
            out.push(PartyResult {
                party: m.id.clone(),
                role: if m.role == Role::Anchor {
                    "anchor"
                } else {
                    "member"
                }
                .into(),
                name: m.name.clone(),
                country: Some(m.country.clone()),
                status: st,
                hits: member_hits[i].clone(),
                ownership: f,
                same_as: None,
            });
        }
        for (i, e) in p.end_users.iter().enumerate() {
            let (st, f) = status(PartyRef::EndUser(i), &blocked);
            out.push(PartyResult {
                party: e.id.clone(),
                role: "end_user".into(),
                name: e.name.clone(),
                country: Some(e.country.clone()),
                status: st,
                hits: eu_hits[i].clone(),
                ownership: f,
                same_as: None,
            });
        }
        for (i, hits) in m_owner_hits.iter().enumerate() {
            push_owners(&mut out, PartyRef::Member(i), hits);
        }
        for (i, hits) in e_owner_hits.iter().enumerate() {
            push_owners(&mut out, PartyRef::EndUser(i), hits);
        }
        out
    }

    // ---- eligibility -----------------------------------------------------------------------

    fn eligibility(&self, p: &Proposal, us: &UsContent) -> Vec<CheckResult> {
        let r = self.rules;
        let check =
            |check: &'static str, passed: bool, detail: String, s: &crate::rules::Source| {
                CheckResult {
                    check,
                    passed,
                    detail,
                    source: s.cite(),
                    confidence: s.confidence.clone(),
                }
            };
        let mut out = Vec::new();

        let anchors: Vec<&str> = p
            .members
            .iter()
            .filter(|m| m.role == Role::Anchor)
            .map(|m| m.id.as_str())
            .collect();
        out.push(check(
            "anchor_member",
            anchors.len() == 1,
            match anchors.len() {
                0 => "no member has role anchor".to_string(),
                1 => format!("{} is the anchor member", anchors[0]),
                n => format!(
                    "{n} members have role anchor ({}); exactly one leads",
                    anchors.join(", ")
                ),
            },
            &r.anchor_member,
        ));

        let mut present = [false; 5];
        for c in &p.package.components {
            present[c.layer as usize] = true;
        }
        let missing: Vec<&str> = Layer::ALL
            .iter()
            .filter(|l| !present[**l as usize])
            .map(|l| l.as_str())
            .collect();
        out.push(check(
            "five_layers",
            missing.is_empty(),
            if missing.is_empty() {
                "the package's components cover hardware, data, models, security and applications"
                    .into()
            } else {
                format!(
                    "no component of layer {} ({})",
                    missing.join(", "),
                    missing
                        .iter()
                        .map(|m| r.layer(Layer::parse(m).expect("a layer")).citation.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
            &r.five_layers,
        ));

        let mut outside = Vec::new();
        for s in &p.sites {
            if !p.targets.contains(&s.country) {
                outside.push(format!("site {} is in {}", s.id, s.country));
            }
        }
        for e in &p.end_users {
            if !p.targets.contains(&e.country) {
                outside.push(format!("end user {} is in {}", e.id, e.country));
            }
        }
        out.push(check(
            "target_country",
            !p.targets.is_empty() && outside.is_empty(),
            if p.targets.is_empty() {
                "the proposal names no target country".into()
            } else if outside.is_empty() {
                format!(
                    "targets {}; every site and end user is in a target country",
                    p.targets.join(", ")
                )
            } else {
                format!(
                    "not in a target country ({}): {}",
                    p.targets.join(", "),
                    outside.join("; ")
                )
            },
            &r.target_country,
        ));

        let concern = &r.members_not_of_concern;
        let of_concern = |c: &str| concern.countries.iter().any(|x| x == c);
        let limit = concern.ownership_percent.unwrap_or(50.0);
        let mut found = Vec::new();
        let mut memo = HashMap::new();
        for m in &p.members {
            if of_concern(&m.country) {
                found.push(format!("{} is located in {}", m.id, m.country));
            } else if of_concern(&m.hq_country) {
                found.push(format!("{} is headquartered in {}", m.id, m.hq_country));
            }
            // Owners of a country of concern, or parties of the proposal that are themselves
            // of concern (located, headquartered or controlled there: through chains).
            let share: f64 = m
                .owners
                .iter()
                .filter(|o| {
                    o.country.as_deref().is_some_and(of_concern)
                        || o.link
                            .is_some_and(|l| controlled_from(p, l, &of_concern, limit, &mut memo))
                })
                .map(|o| o.percent)
                .sum();
            if share + 1e-9 >= limit {
                found.push(format!(
                    "{} is {share}% owned by persons of {} (limit {limit}%)",
                    m.id,
                    concern.countries.join("/")
                ));
            }
        }
        out.push(check(
            "members_not_of_concern",
            found.is_empty(),
            if found.is_empty() {
                format!(
                    "no member located or headquartered in, or {limit}% owned from, {}",
                    concern.countries.join(", ")
                )
            } else {
                found.join("; ")
            },
            &concern.source,
        ));

        let prov = &r.providers_not_of_concern;
        let restricted = |c: &str| prov.countries.iter().any(|x| x == c);
        let non_hw: Vec<Layer> = prov.layers.iter().filter_map(|l| Layer::parse(l)).collect();
        let mut found = Vec::new();
        for (i, m) in p.members.iter().enumerate() {
            let mut provided: Vec<Layer> = m
                .layers
                .iter()
                .copied()
                .filter(|l| non_hw.contains(l))
                .collect();
            for c in p.package.components.iter().filter(|c| c.supplier == i) {
                if non_hw.contains(&c.layer) && !provided.contains(&c.layer) {
                    provided.push(c.layer);
                }
            }
            if provided.is_empty() {
                continue;
            }
            provided.sort();
            let layers: Vec<&str> = provided.iter().map(|l| l.as_str()).collect();
            if restricted(&m.country) {
                found.push(format!(
                    "{} provides {} and is incorporated in {}",
                    m.id,
                    layers.join(", "),
                    m.country
                ));
            } else if restricted(&m.hq_country) {
                found.push(format!(
                    "{} provides {} and is primarily based in {}",
                    m.id,
                    layers.join(", "),
                    m.hq_country
                ));
            }
        }
        out.push(check(
            "providers_not_of_concern",
            found.is_empty(),
            if found.is_empty() {
                format!("no provider of data, models, security or applications is incorporated or based in {}", prov.countries.join(", "))
            } else {
                found.join("; ")
            },
            &prov.source,
        ));

        let passed = us.percent.is_some_and(|_| {
            let (u, t) = self.us_sums(p);
            // Exact: US-origin value (micro-USD x micro-percent) against the threshold share.
            t > 0 && u >= t * r.us_min_micro
        });
        out.push(check(
            "us_content",
            passed,
            match us.percent {
                None => "the hardware layer has no value: US content cannot be shown".to_string(),
                Some(pct) => format!(
                    "US-origin content {} of {} USD hardware value = {}% ({} {}%)",
                    money(us.us_origin_value_usd),
                    money(us.hardware_value_usd),
                    precise(pct, r.us_content.min_percent),
                    if passed { "at least" } else { "below" },
                    r.us_content.min_percent
                ),
            },
            &r.us_content.source,
        ));
        out
    }

    /// (Σ quantity x unit value x US share, Σ quantity x unit value), in micro-USD x
    /// micro-percent and micro-USD.
    fn us_sums(&self, p: &Proposal) -> (u128, u128) {
        let mut us: u128 = 0;
        let mut total: u128 = 0;
        for c in p
            .package
            .components
            .iter()
            .filter(|c| c.layer == Layer::Hardware)
        {
            let (Some(q), Some(v), Some(s)) = (c.quantity, c.unit_value, c.us_percent) else {
                continue;
            };
            let value = v.saturating_mul(q as u128);
            total = total.saturating_add(value);
            us = us.saturating_add(value.saturating_mul(s));
        }
        (us, total)
    }

    fn us_content(&self, p: &Proposal) -> UsContent {
        let mut lines = Vec::new();
        for c in p
            .package
            .components
            .iter()
            .filter(|c| c.layer == Layer::Hardware)
        {
            let (Some(q), Some(v), Some(s)) = (c.quantity, c.unit_value, c.us_percent) else {
                continue;
            };
            let value = v * q as u128;
            lines.push(UsContentLine {
                component: c.bom_ref.clone(),
                quantity: q,
                unit_value_usd: usd(v),
                value_usd: usd(value),
                us_content_percent: usd(s),
                us_origin_value_usd: (value as f64 * s as f64) / 1e14,
            });
        }
        let (us, total) = self.us_sums(p);
        UsContent {
            hardware_value_usd: usd(total),
            // us is micro-USD x micro-percent: / 1e6 / 1e6 / 100.
            us_origin_value_usd: us as f64 / 1e14,
            percent: (total > 0).then(|| us as f64 / total as f64 / 1e6),
            threshold_percent: self.rules.us_content.min_percent,
            lines,
        }
    }

    // ---- location verification -------------------------------------------------------------

    fn location(
        &self,
        p: &Proposal,
        items: &[ItemResult],
        first_item: &[Option<usize>],
    ) -> Vec<LocationDuty> {
        let r = &self.rules.location_verification;
        let mut out = Vec::new();
        for (ci, c) in p.package.components.iter().enumerate() {
            if c.layer != Layer::Hardware {
                continue;
            }
            let Some(si) = c.site else { continue };
            let site = &p.sites[si];
            let item = first_item[ci].map(|i| &items[i]);
            let eccn = item.and_then(|i| i.eccn.clone());
            let undetermined_chip = matches!(c.class, ItemClass::Chip(_))
                && item.is_some_and(|i| i.eccn.is_none() && i.outcome == "undetermined");
            let covered = eccn
                .as_deref()
                .is_some_and(|e| self.rules.location_covered(e));
            let required = covered || undetermined_chip;
            let reason = if covered {
                format!(
                    "{} is a covered integrated circuit product (ECCN {}): verify its location at site {} ({}, {:.4}, {:.4}) before export and at each check-in",
                    c.bom_ref,
                    eccn.as_deref().unwrap_or(""),
                    site.id,
                    site.country,
                    site.lat,
                    site.lon
                )
            } else if undetermined_chip {
                format!(
                    "{}: the chip's classification is undetermined ({}); treated as covered until classified",
                    c.bom_ref,
                    item.map(|i| i.missing.join(", ")).unwrap_or_default()
                )
            } else {
                format!(
                    "{} is not a covered product (ECCN {}; covered: {})",
                    c.bom_ref,
                    eccn.as_deref().unwrap_or("none"),
                    r.eccns.join(", ")
                )
            };
            out.push(LocationDuty {
                component: c.bom_ref.clone(),
                site: site.id.clone(),
                required,
                reason,
                eccn,
                country: site.country.clone(),
                lat: site.lat,
                lon: site.lon,
                quantity: c.quantity.unwrap_or(0),
                source: r.source.cite(),
            });
        }
        out
    }

    fn financing(&self, p: &Proposal, items: &[ItemResult]) -> Vec<FinancingNote> {
        let r = &self.rules.financing;
        let licences = items
            .iter()
            .filter(|i| i.outcome == "license_required")
            .count();
        let prohibited = items.iter().any(|i| i.outcome == "prohibited");
        p.support
            .iter()
            .map(|s| FinancingNote {
                instrument: s.instrument.clone(),
                agency: s.agency.clone(),
                amount_usd: s.amount_usd,
                note: if prohibited {
                    "an item of the package is prohibited: no federal support can finance it".into()
                } else if licences > 0 {
                    format!(
                        "{licences} item determination(s) need a licence: the lender waits for Commerce's licence before financing sensitive items"
                    )
                } else {
                    "no item needs a licence".into()
                },
                source: r.source.cite(),
            })
            .collect()
    }
}

/// Whether a party of the proposal is located or headquartered in a country of concern, or
/// owned `limit`% or more by persons of one (directly or through parties of the proposal).
/// Ownership is acyclic (checked when the proposal was read).
fn controlled_from(
    p: &Proposal,
    r: PartyRef,
    of_concern: &dyn Fn(&str) -> bool,
    limit: f64,
    memo: &mut HashMap<PartyRef, bool>,
) -> bool {
    if let Some(b) = memo.get(&r) {
        return *b;
    }
    let located = match r {
        PartyRef::Member(i) => {
            of_concern(&p.members[i].country) || of_concern(&p.members[i].hq_country)
        }
        PartyRef::EndUser(i) => {
            let e = &p.end_users[i];
            of_concern(&e.country) || e.hq_country.as_deref().is_some_and(of_concern)
        }
    };
    let b = located || {
        let mut share = 0.0;
        for o in p.owners_of(r) {
            if o.country.as_deref().is_some_and(of_concern)
                || o.link
                    .is_some_and(|l| controlled_from(p, l, of_concern, limit, memo))
            {
                share += o.percent;
            }
        }
        share + 1e-9 >= limit
    };
    memo.insert(r, b);
    b
}

/// A percentage to two decimals, or with more digits where two would put it on the other side
/// of `threshold` (50.999% never prints as 51.00%).
fn precise(p: f64, threshold: f64) -> String {
    let two = format!("{p:.2}");
    let shown: f64 = two.parse().unwrap_or(p);
    if (shown >= threshold) != (p >= threshold) {
        format!("{p:.6}").trim_end_matches('0').to_string()
    } else {
        two
    }
}

/// Shown in reports: a money figure with thousands separators.
pub fn money(v: f64) -> String {
    let cents = (v * 100.0).round() as i128;
    let whole = cents / 100;
    let frac = (cents % 100).abs();
    let s = whole.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if whole < 0 {
        out.insert(0, '-');
    }
    if frac != 0 {
        out.push_str(&format!(".{frac:02}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_precedence() {
        assert_eq!(verdict(true, true, true, true), Verdict::Ineligible);
        assert_eq!(verdict(false, true, true, true), Verdict::Prohibited);
        assert_eq!(verdict(false, false, true, true), Verdict::Held);
        assert_eq!(
            verdict(false, false, false, true),
            Verdict::LicencesRequired
        );
        assert_eq!(verdict(false, false, false, false), Verdict::Clear);
    }

    #[test]
    fn precise_never_rounds_up_to_a_threshold() {
        assert_eq!(precise(51.0, 51.0), "51.00");
        assert_eq!(precise(50.9, 51.0), "50.90");
        assert_eq!(precise(72.459429, 51.0), "72.46");
        assert_eq!(precise(50.999, 51.0), "50.999");
        assert_eq!(money(1234567.5), "1,234,567.50");
        assert_eq!(money(30000.0), "30,000");
    }
}
