//! A proposal to the program as submitted (the JSON of the proposals README) and as checked:
//! consortium members with their owners and layers, the CycloneDX package, target countries,
//! end users, sites and the federal support asked for.
//!
//! [`Proposal::parse`] reads the JSON (serde errors carry the JSON path), then checks every
//! value: countries known to the rulebook, ids unique and every reference resolved, shares
//! within 0-100 and summing to at most 100, no circular ownership, end-use codes of the
//! rulebook, and the package against the `stackport:` profile ([`crate::bom`]). All problems
//! are collected, so one run names everything that is wrong.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use stackport_controls::{Day, Posture, Rulebook};

use crate::bom::{self, Package};
use crate::error::{Problem, ProposalError};
use crate::rules::ProgramRules;

/// The five layers of a full-stack package (EO 14320 sec. 3(b)(i)(A)-(E)), in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Hardware,
    Data,
    Models,
    Security,
    Applications,
}

impl Layer {
    pub const ALL: [Layer; 5] = [
        Layer::Hardware,
        Layer::Data,
        Layer::Models,
        Layer::Security,
        Layer::Applications,
    ];

    pub fn parse(s: &str) -> Option<Layer> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "hardware" => Layer::Hardware,
            "data" => Layer::Data,
            "models" => Layer::Models,
            "security" => Layer::Security,
            "applications" => Layer::Applications,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Hardware => "hardware",
            Layer::Data => "data",
            Layer::Models => "models",
            Layer::Security => "security",
            Layer::Applications => "applications",
        }
    }
}

// ---- the JSON as submitted ------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProposalInput {
    pub id: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture: Option<String>,
    pub consortium: ConsortiumInput,
    pub package: serde_json::Value,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub end_users: Vec<EndUserInput>,
    #[serde(default)]
    pub sites: Vec<SiteInput>,
    #[serde(default)]
    pub federal_support: Vec<SupportInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsortiumInput {
    pub name: String,
    pub members: Vec<MemberInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberInput {
    pub id: String,
    pub name: String,
    pub role: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq_country: Option<String>,
    #[serde(default)]
    pub owners: Vec<OwnerInput>,
    #[serde(default)]
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnerInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub percent: f64,
    /// The id of a member or end user of this proposal that this owner is (a chain of
    /// ownership). Without it, an owner whose name is a member's or end user's name is that
    /// party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndUserInput {
    pub id: String,
    pub name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq_country: Option<String>,
    #[serde(default)]
    pub end_use: Vec<String>,
    #[serde(default)]
    pub owners: Vec<OwnerInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteInput {
    pub id: String,
    pub name: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub operator: String,
    pub end_user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SupportInput {
    pub instrument: String,
    pub agency: String,
    pub amount_usd: f64,
}

// ---- the proposal as checked --------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Anchor,
    Member,
}

/// A party of the proposal that an owner can be (a chain of ownership).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyRef {
    Member(usize),
    EndUser(usize),
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub country: Option<String>,
    pub percent: f64,
    pub link: Option<PartyRef>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub country: String,
    pub hq_country: String,
    pub owners: Vec<Owner>,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone)]
pub struct EndUser {
    pub id: String,
    pub name: String,
    pub country: String,
    /// `None` when not given (the determination then assumes located = headquartered).
    pub hq_country: Option<String>,
    pub end_use: Vec<String>,
    pub owners: Vec<Owner>,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub operator: usize,
    pub end_user: usize,
}

#[derive(Debug, Clone)]
pub struct Support {
    pub instrument: String,
    pub agency: String,
    pub amount_usd: f64,
}

/// A checked proposal, ready for review.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub id: String,
    pub date: Day,
    pub posture: Posture,
    pub consortium: String,
    pub members: Vec<Member>,
    pub package: Package,
    pub targets: Vec<String>,
    pub end_users: Vec<EndUser>,
    pub sites: Vec<Site>,
    pub support: Vec<Support>,
    /// The submitted JSON, kept for storage and for the annotated CycloneDX output.
    pub input: ProposalInput,
}

const MAX_PARTIES: usize = 10_000;

/// Collects problems while checking.
pub(crate) struct Checker<'r> {
    pub rb: &'r Rulebook,
    pub problems: Vec<Problem>,
}

impl Checker<'_> {
    pub fn err(&mut self, path: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        if self.problems.len() < 200 {
            self.problems.push(Problem::at(path, code, msg));
        }
    }

    /// A country code the rulebook knows, upper-cased.
    pub fn country(&mut self, path: &str, value: &str) -> String {
        let up = value.trim().to_ascii_uppercase();
        if self.rb.country(&up).is_none() {
            self.err(
                path,
                "unknown_country",
                format!(
                    "{value:?} is not an ISO 3166-1 alpha-2 country code known to the rulebook"
                ),
            );
        }
        up
    }

    fn text(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.err(path, "empty_field", "must not be empty");
        } else if value.chars().count() > 1000 {
            self.err(path, "field_too_long", "is longer than 1000 characters");
        }
    }
}

fn norm_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Proposal {
    /// Reads and checks a proposal from JSON text.
    pub fn parse(
        text: &str,
        rb: &Rulebook,
        program: &ProgramRules,
    ) -> Result<Proposal, ProposalError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let input: ProposalInput = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let code = if inner.is_syntax() || inner.is_eof() {
                "invalid_json"
            } else {
                "invalid_proposal"
            };
            ProposalError::Malformed(Problem::at(
                // The document itself; also a key written as "" (serde_path_to_error renders it
                // as nothing), found by fuzzing (fuzz/regressions/program_proposal): a problem
                // always names a place.
                if path.is_empty() || path == "." || path == "?" {
                    "$".to_string()
                } else {
                    path
                },
                code,
                inner.to_string(),
            ))
        })?;
        Self::check(input, rb, program)
    }

    /// Checks a proposal already read from JSON.
    pub fn check(
        input: ProposalInput,
        rb: &Rulebook,
        program: &ProgramRules,
    ) -> Result<Proposal, ProposalError> {
        let mut ck = Checker {
            rb,
            problems: Vec::new(),
        };
        ck.text("id", &input.id);
        let date = match rb.parse_date(&input.date) {
            Ok(d) => Some(d),
            Err(e) => {
                ck.err("date", "invalid_date", e.to_string());
                None
            }
        };
        let posture = match input.posture.as_deref() {
            None => Posture::Enforced,
            Some(p) => {
                Posture::parse(p.trim().to_ascii_lowercase().as_str()).unwrap_or_else(|| {
                    ck.err(
                        "posture",
                        "invalid_posture",
                        format!("{p:?} is neither \"enforced\" nor \"codified\""),
                    );
                    Posture::Enforced
                })
            }
        };
        ck.text("consortium.name", &input.consortium.name);
        if input.consortium.members.is_empty() {
            ck.err(
                "consortium.members",
                "no_members",
                "a consortium has at least one member",
            );
        }
        if input.consortium.members.len() + input.end_users.len() > MAX_PARTIES {
            ck.err(
                "consortium.members",
                "too_many_parties",
                format!("more than {MAX_PARTIES} members and end users"),
            );
        }

        // Ids first, so that references can be resolved whatever the order.
        let mut member_ids: HashMap<String, usize> = HashMap::new();
        for (i, m) in input.consortium.members.iter().enumerate() {
            let path = format!("consortium.members[{i}].id");
            ck.text(&path, &m.id);
            if member_ids.insert(m.id.clone(), i).is_some() {
                ck.err(
                    path,
                    "duplicate_id",
                    format!("member id {:?} is used twice", m.id),
                );
            }
        }
        let mut end_user_ids: HashMap<String, usize> = HashMap::new();
        for (i, e) in input.end_users.iter().enumerate() {
            let path = format!("end_users[{i}].id");
            ck.text(&path, &e.id);
            if member_ids.contains_key(&e.id) || end_user_ids.insert(e.id.clone(), i).is_some() {
                ck.err(
                    path,
                    "duplicate_id",
                    format!(
                        "party id {:?} is used twice (member and end-user ids share one space)",
                        e.id
                    ),
                );
            }
        }
        // Names of members and end users, for owners that are parties of the proposal.
        let mut by_name: HashMap<String, PartyRef> = HashMap::new();
        for (i, m) in input.consortium.members.iter().enumerate() {
            by_name
                .entry(norm_name(&m.name))
                .or_insert(PartyRef::Member(i));
        }
        for (i, e) in input.end_users.iter().enumerate() {
            by_name
                .entry(norm_name(&e.name))
                .or_insert(PartyRef::EndUser(i));
        }

        let owners = |ck: &mut Checker, base: &str, list: &[OwnerInput]| -> Vec<Owner> {
            let mut total = 0.0;
            let out: Vec<Owner> = list
                .iter()
                .enumerate()
                .map(|(j, o)| {
                    let p = format!("{base}.owners[{j}]");
                    ck.text(&format!("{p}.name"), &o.name);
                    let country = o
                        .country
                        .as_deref()
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| ck.country(&format!("{p}.country"), c));
                    if !o.percent.is_finite() || o.percent < 0.0 || o.percent > 100.0 {
                        ck.err(
                            format!("{p}.percent"),
                            "invalid_share",
                            format!("{} is not a share of equity from 0 to 100", o.percent),
                        );
                    } else {
                        total += o.percent;
                    }
                    let link = match &o.party {
                        Some(id) => match (member_ids.get(id), end_user_ids.get(id)) {
                            (Some(i), _) => Some(PartyRef::Member(*i)),
                            (_, Some(i)) => Some(PartyRef::EndUser(*i)),
                            _ => {
                                ck.err(
                                    format!("{p}.party"),
                                    "unknown_party",
                                    format!("{id:?} is not the id of a member or end user"),
                                );
                                None
                            }
                        },
                        None => by_name.get(&norm_name(&o.name)).copied(),
                    };
                    Owner {
                        name: o.name.trim().to_string(),
                        country,
                        percent: o.percent,
                        link,
                    }
                })
                .collect();
            // Shares are percentages of one entity's equity: together at most 100 (a small
            // tolerance for shares written with rounding, such as three times 33.34).
            if total > 100.0 + 1e-6 {
                ck.err(
                    format!("{base}.owners"),
                    "shares_exceed_100",
                    format!("the owners' shares sum to {total}%, more than 100%"),
                );
            }
            out
        };

        let mut members = Vec::with_capacity(input.consortium.members.len());
        for (i, m) in input.consortium.members.iter().enumerate() {
            let base = format!("consortium.members[{i}]");
            ck.text(&format!("{base}.name"), &m.name);
            let role = match m.role.trim().to_ascii_lowercase().as_str() {
                "anchor" => Role::Anchor,
                "member" => Role::Member,
                other => {
                    ck.err(
                        format!("{base}.role"),
                        "invalid_role",
                        format!("{other:?} is neither \"anchor\" nor \"member\""),
                    );
                    Role::Member
                }
            };
            let country = ck.country(&format!("{base}.country"), &m.country);
            let hq_country = match m.hq_country.as_deref().filter(|h| !h.trim().is_empty()) {
                Some(h) => ck.country(&format!("{base}.hq_country"), h),
                None => country.clone(),
            };
            let mut layers = Vec::new();
            for (j, l) in m.layers.iter().enumerate() {
                match Layer::parse(l) {
                    Some(l) if !layers.contains(&l) => layers.push(l),
                    Some(_) => {}
                    None => ck.err(
                        format!("{base}.layers[{j}]"),
                        "unknown_layer",
                        format!(
                            "{l:?} is not one of hardware, data, models, security, applications"
                        ),
                    ),
                }
            }
            let owners = owners(&mut ck, &base, &m.owners);
            members.push(Member {
                id: m.id.clone(),
                name: m.name.trim().to_string(),
                role,
                country,
                hq_country,
                owners,
                layers,
            });
        }

        let mut end_users = Vec::with_capacity(input.end_users.len());
        for (i, e) in input.end_users.iter().enumerate() {
            let base = format!("end_users[{i}]");
            ck.text(&format!("{base}.name"), &e.name);
            let country = ck.country(&format!("{base}.country"), &e.country);
            let hq_country = e
                .hq_country
                .as_deref()
                .filter(|h| !h.trim().is_empty())
                .map(|h| ck.country(&format!("{base}.hq_country"), h));
            let mut end_use = Vec::new();
            for (j, u) in e.end_use.iter().enumerate() {
                // Codes are matched as users write them (case, spaces, hyphens), never ignored:
                // an unknown code would silently change the answer.
                if let Some(code) = rb.end_use_code(u) {
                    if !end_use.iter().any(|e| e == code) {
                        end_use.push(code.to_string());
                    }
                } else {
                    ck.err(
                        format!("{base}.end_use[{j}]"),
                        "unknown_end_use",
                        format!(
                            "{u:?} is not an end-use code of the rulebook ({})",
                            rb.end_use_keys().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
            let owners = owners(&mut ck, &base, &e.owners);
            end_users.push(EndUser {
                id: e.id.clone(),
                name: e.name.trim().to_string(),
                country,
                hq_country,
                end_use,
                owners,
            });
        }

        // Circular ownership: a party that owns itself through a chain cannot be resolved.
        check_cycles(&mut ck, &members, &end_users);

        let mut site_ids: HashMap<String, usize> = HashMap::new();
        let mut sites = Vec::with_capacity(input.sites.len());
        for (i, s) in input.sites.iter().enumerate() {
            let base = format!("sites[{i}]");
            ck.text(&format!("{base}.id"), &s.id);
            if site_ids.insert(s.id.clone(), i).is_some() {
                ck.err(
                    format!("{base}.id"),
                    "duplicate_id",
                    format!("site id {:?} is used twice", s.id),
                );
            }
            let country = ck.country(&format!("{base}.country"), &s.country);
            if !s.lat.is_finite() || !(-90.0..=90.0).contains(&s.lat) {
                ck.err(
                    format!("{base}.lat"),
                    "invalid_coordinates",
                    format!("{} is not a latitude (-90 to 90)", s.lat),
                );
            }
            if !s.lon.is_finite() || !(-180.0..=180.0).contains(&s.lon) {
                ck.err(
                    format!("{base}.lon"),
                    "invalid_coordinates",
                    format!("{} is not a longitude (-180 to 180)", s.lon),
                );
            }
            let operator = member_ids.get(&s.operator).copied().unwrap_or_else(|| {
                ck.err(
                    format!("{base}.operator"),
                    "unknown_member",
                    format!("{:?} is not the id of a consortium member", s.operator),
                );
                0
            });
            let end_user = end_user_ids.get(&s.end_user).copied().unwrap_or_else(|| {
                ck.err(
                    format!("{base}.end_user"),
                    "unknown_end_user",
                    format!("{:?} is not the id of an end user", s.end_user),
                );
                0
            });
            sites.push(Site {
                id: s.id.clone(),
                name: s.name.trim().to_string(),
                country,
                lat: s.lat,
                lon: s.lon,
                operator,
                end_user,
            });
        }

        let mut targets = Vec::new();
        for (i, t) in input.targets.iter().enumerate() {
            let c = ck.country(&format!("targets[{i}]"), t);
            if !targets.contains(&c) {
                targets.push(c);
            }
        }

        let mut support = Vec::new();
        for (i, s) in input.federal_support.iter().enumerate() {
            let base = format!("federal_support[{i}]");
            let instrument = s.instrument.trim().to_ascii_lowercase();
            let known = &program.financing.instruments;
            if !known.contains(&instrument) {
                ck.err(
                    format!("{base}.instrument"),
                    "unknown_instrument",
                    format!("{:?} is not one of {}", s.instrument, known.join(", ")),
                );
            }
            ck.text(&format!("{base}.agency"), &s.agency);
            if !s.amount_usd.is_finite() || s.amount_usd < 0.0 {
                ck.err(
                    format!("{base}.amount_usd"),
                    "negative_value",
                    format!("{} is not an amount of zero or more", s.amount_usd),
                );
            }
            support.push(Support {
                instrument,
                agency: s.agency.trim().to_string(),
                amount_usd: s.amount_usd,
            });
        }

        // The official CycloneDX 1.6 schema first; the profile only on a schema-valid BOM.
        let schema = bom::schema_problems(&input.package);
        let package = if schema.is_empty() {
            bom::read_package(&mut ck, &input.package, Some(&member_ids), Some(&site_ids))
        } else {
            ck.problems.extend(schema);
            None
        };

        if !ck.problems.is_empty() {
            return Err(ProposalError::Invalid(ck.problems));
        }
        Ok(Proposal {
            id: input.id.trim().to_string(),
            date: date.expect("no problem means the date parsed"),
            posture,
            consortium: input.consortium.name.trim().to_string(),
            members,
            package: package.expect("no problem means the package was read"),
            targets,
            end_users,
            sites,
            support,
            input,
        })
    }

    /// The owners of a party.
    pub fn owners_of(&self, p: PartyRef) -> &[Owner] {
        match p {
            PartyRef::Member(i) => &self.members[i].owners,
            PartyRef::EndUser(i) => &self.end_users[i].owners,
        }
    }

    /// The party id used in reviews (`m1`, `e1`).
    pub fn party_id(&self, p: PartyRef) -> &str {
        match p {
            PartyRef::Member(i) => &self.members[i].id,
            PartyRef::EndUser(i) => &self.end_users[i].id,
        }
    }
}

fn check_cycles(ck: &mut Checker, members: &[Member], end_users: &[EndUser]) {
    let owners_of = |p: PartyRef| match p {
        PartyRef::Member(i) => &members[i].owners,
        PartyRef::EndUser(i) => &end_users[i].owners,
    };
    let path_of = |p: PartyRef| match p {
        PartyRef::Member(i) => format!("consortium.members[{i}]"),
        PartyRef::EndUser(i) => format!("end_users[{i}]"),
    };
    let id_of = |p: PartyRef| match p {
        PartyRef::Member(i) => members[i].id.clone(),
        PartyRef::EndUser(i) => end_users[i].id.clone(),
    };
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state: HashMap<PartyRef, u8> = HashMap::new();
    let all = (0..members.len())
        .map(PartyRef::Member)
        .chain((0..end_users.len()).map(PartyRef::EndUser));
    for start in all {
        if state.get(&start).copied().unwrap_or(0) != 0 {
            continue;
        }
        // Iterative depth-first search; `stack` holds (party, next owner index).
        let mut stack: Vec<(PartyRef, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some((p, next)) = stack.last().copied() {
            let owners = owners_of(p);
            if next < owners.len() {
                stack.last_mut().expect("non-empty").1 += 1;
                if let Some(q) = owners[next].link {
                    match state.get(&q).copied().unwrap_or(0) {
                        0 => {
                            state.insert(q, 1);
                            stack.push((q, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|(s, _)| *s == q).unwrap_or(0);
                            let chain: Vec<String> = stack[from..]
                                .iter()
                                .map(|(s, _)| id_of(*s))
                                .chain([id_of(q)])
                                .collect();
                            ck.err(
                                format!("{}.owners[{next}]", path_of(p)),
                                "circular_ownership",
                                format!("circular ownership: {}", chain.join(" is owned by ")),
                            );
                            return;
                        }
                        _ => {}
                    }
                }
            } else {
                state.insert(p, 2);
                stack.pop();
            }
        }
    }
}
