//! The JSON case and result formats of `stackport determine --batch` and `POST /v1/determine`
//! (the fixed contract of the eval README), and their translation to [`Case`].

use serde::{Deserialize, Serialize};
use stackport_screening::{Explanation, Hit};

use crate::date::Day;
use crate::engine::{Case, Determination};
use crate::error::InputError;
use crate::item::{self, ItemSpec, ResolvedItem};
use crate::rulebook::{Posture, Rulebook};

/// One case as written in a JSONL line or a request body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseInput {
    #[serde(default)]
    pub id: serde_json::Value,
    pub date: String,
    pub item: ItemSpec,
    #[serde(default)]
    pub export_from: Option<String>,
    pub destination: String,
    #[serde(default)]
    pub end_user: Option<EndUserInput>,
    #[serde(default)]
    pub end_use: EndUses,
    #[serde(default)]
    pub posture: Option<String>,
    /// The exporter's name, for exporter-specific is-informed letters.
    #[serde(default)]
    pub exporter: Option<String>,
}

/// `end_use` as a list of codes or a single code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EndUses {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl EndUses {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            EndUses::None => Vec::new(),
            EndUses::One(s) => vec![s.clone()],
            EndUses::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EndUserInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub hq_country: Option<String>,
    /// Screening hits on this party (for example from `stackport screen`).
    #[serde(default)]
    pub screening_hits: Vec<HitInput>,
}

/// A screening hit as given in a case: at least the list code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HitInput {
    pub list: String,
    #[serde(default)]
    pub entity: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub score: Option<f64>,
}

impl HitInput {
    pub fn to_hit(&self) -> Hit {
        Hit {
            entity: self.entity.clone(),
            score: self.score.unwrap_or(1.0),
            list: self.list.clone(),
            name: self.name.clone(),
            matched: self.name.clone(),
            explanation: Explanation {
                alignment: Vec::new(),
                features: Vec::new(),
            },
        }
    }
}

/// One result line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeterminationOutput {
    pub id: serde_json::Value,
    pub eccn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paragraph: Option<String>,
    pub outcome: String,
    pub exception: Option<String>,
    pub notification_required: bool,
    pub review_policy: Option<String>,
    pub citations: Vec<String>,
    pub rule_versions: Vec<String>,
    pub confidence: String,
    pub posture: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Inputs that were not evaluated (e.g. an end-use code the rulebook does not define).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A case with its strings parsed and checked against the rulebook.
#[derive(Debug, Clone)]
pub struct PreparedCase {
    pub item: ResolvedItem,
    pub date: Day,
    pub posture: Posture,
    pub export_from: crate::country::Country,
    pub destination: crate::country::Country,
    pub end_user_hq: Option<crate::country::Country>,
    pub hits: Vec<Hit>,
    pub end_uses: Vec<String>,
    pub exporter: Option<String>,
}

impl PreparedCase {
    pub fn as_case(&self) -> Case<'_> {
        Case {
            item: &self.item,
            date: self.date,
            posture: self.posture,
            export_from: self.export_from,
            destination: self.destination,
            end_user_hq: self.end_user_hq,
            hits: &self.hits,
            end_uses: &self.end_uses,
            exporter: self.exporter.as_deref(),
        }
    }
}

impl Rulebook {
    fn country_field(
        &self,
        field: &'static str,
        value: &str,
    ) -> Result<crate::country::Country, InputError> {
        self.country(value)
            .ok_or_else(|| InputError::UnknownCountry {
                field,
                value: value.to_string(),
            })
    }

    /// Parses a date and checks it against the rulebook's range.
    pub fn parse_date(&self, s: &str) -> Result<Day, InputError> {
        let d = Day::parse(s.trim()).ok_or_else(|| InputError::BadDate(s.to_string()))?;
        if d < self.valid_from || d > self.valid_through {
            return Err(self.out_of_range(d));
        }
        Ok(d)
    }

    /// Resolves an item given as JSON: a catalog id or figures.
    pub fn resolve_item(&self, spec: &ItemSpec) -> Result<ResolvedItem, InputError> {
        let given = [
            spec.catalog.is_some(),
            spec.chip.is_some(),
            spec.model.is_some(),
            spec.memory.is_some(),
            spec.computer.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err(InputError::BadItem(format!(
                "give exactly one of catalog, chip, model, memory, computer (got {given})"
            )));
        }
        let item = if let Some(id) = &spec.catalog {
            let id = id.trim().to_ascii_lowercase();
            let i = self
                .catalog_idx(&id)
                .ok_or_else(|| InputError::UnknownCatalog(id.clone()))?;
            self.catalog[i as usize].item.clone()
        } else if let Some(c) = &spec.chip {
            if c.tpp.is_none() && c.throughput.is_empty() {
                // Not an error: the engine reports `item.tpp` as missing where it matters.
            }
            item::resolve_chip(c, "item.chip")?
        } else if let Some(m) = &spec.model {
            item::resolve_model(m)?
        } else if let Some(m) = &spec.memory {
            item::resolve_memory(m)?
        } else if let Some(c) = &spec.computer {
            let mut it = match (&c.catalog, &c.chip) {
                (Some(id), None) => {
                    let id = id.trim().to_ascii_lowercase();
                    let i = self
                        .catalog_idx(&id)
                        .ok_or_else(|| InputError::UnknownCatalog(id.clone()))?;
                    let mut it = self.catalog[i as usize].item.clone();
                    it.catalog = None;
                    it
                }
                (None, Some(chip)) => item::resolve_chip(chip, "item.computer.chip")?,
                _ => {
                    return Err(InputError::BadItem(
                        "computer needs exactly one of catalog, chip".into(),
                    ))
                }
            };
            it.kind = crate::rulebook::ItemKind::Computer;
            if c.specified_in.is_some() {
                it.specified_in = c.specified_in.clone();
            }
            it
        } else {
            unreachable!("exactly one member is set")
        };
        self.check_item(&item)?;
        Ok(item)
    }

    /// Parses and checks a case.
    pub fn prepare(&self, c: &CaseInput, extra_hits: &[Hit]) -> Result<PreparedCase, InputError> {
        let date = self.parse_date(&c.date)?;
        let posture = match c.posture.as_deref() {
            None => Posture::Enforced,
            Some(p) => {
                Posture::parse(p.trim()).ok_or_else(|| InputError::BadPosture(p.to_string()))?
            }
        };
        let item = self.resolve_item(&c.item)?;
        let export_from =
            self.country_field("export_from", c.export_from.as_deref().unwrap_or("US"))?;
        let destination = self.country_field("destination", &c.destination)?;
        let end_user_hq = match c.end_user.as_ref().and_then(|e| e.hq_country.as_deref()) {
            Some(h) if !h.trim().is_empty() => Some(self.country_field("end_user.hq_country", h)?),
            _ => None,
        };
        let mut hits: Vec<Hit> = c
            .end_user
            .as_ref()
            .map(|e| e.screening_hits.iter().map(HitInput::to_hit).collect())
            .unwrap_or_default();
        hits.extend(extra_hits.iter().cloned());
        // End-use codes are matched as users write them (case, spacing); a code the rulebook
        // does not define is refused, never skipped: leaving a prohibited end use out would
        // change the answer (a `wmd` end use turns NLR into a licence requirement, § 744.2-4).
        let mut end_uses: Vec<String> = Vec::new();
        for u in c.end_use.to_vec() {
            let code = self
                .end_use_code(&u)
                .ok_or_else(|| InputError::UnknownEndUse(u.clone()))?;
            if !end_uses.iter().any(|e| e == code) {
                end_uses.push(code.to_string());
            }
        }
        Ok(PreparedCase {
            item,
            date,
            posture,
            export_from,
            destination,
            end_user_hq,
            hits,
            end_uses,
            exporter: c.exporter.clone(),
        })
    }

    /// Decides a JSON case and renders the result line.
    pub fn determine_input(
        &self,
        c: &CaseInput,
        extra_hits: &[Hit],
        with_reasons: bool,
    ) -> Result<DeterminationOutput, InputError> {
        let p = self.prepare(c, extra_hits)?;
        let d = self.determine(&p.as_case())?;
        let out = self.render(c.id.clone(), p.posture, &d, with_reasons);
        Ok(out)
    }

    /// Renders a determination in the contract's shape.
    pub fn render(
        &self,
        id: serde_json::Value,
        posture: Posture,
        d: &Determination<'_>,
        with_reasons: bool,
    ) -> DeterminationOutput {
        DeterminationOutput {
            id,
            eccn: d.classification.eccn.as_ref().map(|e| e.to_string()),
            paragraph: d.classification.paragraph.map(str::to_string),
            outcome: d.outcome.as_str().to_string(),
            exception: d.exception.map(str::to_string),
            notification_required: d.notification_required,
            review_policy: d.review_policy.map(|p| p.as_str().to_string()),
            citations: d.citations(self).into_iter().map(str::to_string).collect(),
            rule_versions: d.rule_versions(self),
            confidence: d.confidence(self).as_str().to_string(),
            posture: posture.as_str().to_string(),
            missing: d.missing.iter().map(|m| m.to_string()).collect(),
            reasons: if with_reasons {
                d.reasons(self)
            } else {
                Vec::new()
            },
            warnings: Vec::new(),
        }
    }
}
