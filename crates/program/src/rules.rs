//! The program's own rules (`rulebook/program.toml`): the five layers, the eligibility checks
//! of the 2026 Call for Proposals, the ownership rules applied to parties and the
//! location-verification duty, each with its citation, source and confidence.

use serde::Deserialize;
use stackport_controls::Day;

use crate::error::RulesError;
use crate::model::Layer;

/// The file's name inside a rulebook directory.
pub const FILE: &str = "program.toml";

/// Where a rule comes from and how sure we are of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub title: String,
    pub citation: String,
    pub source: String,
    pub effective: toml::value::Datetime,
    /// `high` or `low` (a secondary source or an unverified reading).
    pub confidence: String,
    #[serde(default)]
    pub uncertain: Option<String>,
}

impl Source {
    /// `citation` plus `(low confidence)` where the rule rests on a secondary source.
    pub fn cite(&self) -> String {
        if self.confidence == "low" {
            format!("{} (low confidence: {})", self.citation, self.source)
        } else {
            self.citation.clone()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerDef {
    pub key: String,
    pub title: String,
    pub citation: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramMeta {
    pub name: String,
    pub call: String,
    pub sources_as_of: toml::value::Datetime,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryRule {
    #[serde(flatten)]
    pub source: Source,
    pub countries: Vec<String>,
    #[serde(default)]
    pub ownership_percent: Option<f64>,
    #[serde(default)]
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsContentRule {
    #[serde(flatten)]
    pub source: Source,
    pub min_percent: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnershipRule {
    #[serde(flatten)]
    pub source: Source,
    pub percent: f64,
    #[serde(default)]
    pub suspended_from: Option<toml::value::Datetime>,
    #[serde(default)]
    pub suspended_through: Option<toml::value::Datetime>,
    #[serde(default)]
    pub lists: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationRule {
    #[serde(flatten)]
    pub source: Source,
    pub eccns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinancingRule {
    #[serde(flatten)]
    pub source: Source,
    pub instruments: Vec<String>,
    pub agencies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    program: ProgramMeta,
    layer: Vec<LayerDef>,
    anchor_member: Source,
    five_layers: Source,
    target_country: Source,
    members_not_of_concern: CountryRule,
    providers_not_of_concern: CountryRule,
    us_content: UsContentRule,
    fifty_percent_rule: OwnershipRule,
    affiliates_rule: OwnershipRule,
    location_verification: LocationRule,
    financing: FinancingRule,
}

/// The Affiliates rule's state on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AffiliatesState {
    NotYetInForce,
    InForce,
    Suspended,
    /// After the suspension's scheduled end: applied, low confidence.
    AfterSuspension,
}

/// The compiled program rules.
#[derive(Debug, Clone)]
pub struct ProgramRules {
    pub meta: ProgramMeta,
    pub layers: Vec<LayerDef>,
    pub anchor_member: Source,
    pub five_layers: Source,
    pub target_country: Source,
    pub members_not_of_concern: CountryRule,
    pub providers_not_of_concern: CountryRule,
    pub us_content: UsContentRule,
    pub fifty_percent_rule: OwnershipRule,
    pub affiliates_rule: OwnershipRule,
    pub location_verification: LocationRule,
    pub financing: FinancingRule,
    /// `us_content.min_percent` in millionths of a percent, for exact comparison.
    pub(crate) us_min_micro: u128,
    affiliates_effective: Day,
    affiliates_suspended: Option<(Day, Day)>,
    /// A digest of the file's text, recorded with every review.
    pub version: String,
}

fn day(field: &str, d: &toml::value::Datetime) -> Result<Day, RulesError> {
    Day::parse(&d.to_string()).ok_or_else(|| RulesError::Invalid {
        field: field.to_string(),
        message: format!("{d} is not a date YYYY-MM-DD"),
    })
}

impl ProgramRules {
    /// The program rules compiled into the binary (the repository's `rulebook/program.toml`).
    pub fn embedded() -> Result<Self, RulesError> {
        Self::parse(
            "rulebook/program.toml",
            include_str!("../../../rulebook/program.toml"),
        )
    }

    /// Reads `program.toml` from a rulebook directory; the embedded file when the directory
    /// has none (a rulebook directory from before the program rules existed).
    pub fn load_dir(dir: &std::path::Path) -> Result<Self, RulesError> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::embedded(),
            Err(e) => Err(RulesError::Read {
                file: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Parses and checks the file's text.
    pub fn parse(file: &str, text: &str) -> Result<Self, RulesError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| RulesError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let invalid = |field: &str, message: String| RulesError::Invalid {
            field: format!("{file}: {field}"),
            message,
        };
        let keys: Vec<&str> = raw.layer.iter().map(|l| l.key.as_str()).collect();
        let want: Vec<&str> = Layer::ALL.iter().map(|l| l.as_str()).collect();
        if keys != want {
            return Err(invalid(
                "layer",
                format!("the layers must be {want:?} in that order (EO 14320 sec. 3(b)(i)(A)-(E)), found {keys:?}"),
            ));
        }
        for (field, rule) in [
            ("members_not_of_concern", &raw.members_not_of_concern),
            ("providers_not_of_concern", &raw.providers_not_of_concern),
        ] {
            for c in &rule.countries {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(invalid(
                        &format!("{field}.countries"),
                        format!("{c:?} is not an ISO 3166-1 alpha-2 code"),
                    ));
                }
            }
            for l in &rule.layers {
                if Layer::parse(l).is_none() {
                    return Err(invalid(
                        &format!("{field}.layers"),
                        format!("{l:?} is not one of {want:?}"),
                    ));
                }
            }
        }
        for (field, s) in [
            ("anchor_member", &raw.anchor_member),
            ("five_layers", &raw.five_layers),
            ("target_country", &raw.target_country),
            ("members_not_of_concern", &raw.members_not_of_concern.source),
            (
                "providers_not_of_concern",
                &raw.providers_not_of_concern.source,
            ),
            ("us_content", &raw.us_content.source),
            ("fifty_percent_rule", &raw.fifty_percent_rule.source),
            ("affiliates_rule", &raw.affiliates_rule.source),
            ("location_verification", &raw.location_verification.source),
            ("financing", &raw.financing.source),
        ] {
            if s.confidence != "high" && s.confidence != "low" {
                return Err(invalid(
                    &format!("{field}.confidence"),
                    format!("{:?} is neither \"high\" nor \"low\"", s.confidence),
                ));
            }
            if s.confidence == "low" && s.uncertain.is_none() && field != "financing" {
                return Err(invalid(
                    &format!("{field}.uncertain"),
                    "a low-confidence rule must say what is uncertain".into(),
                ));
            }
            day(&format!("{field}.effective"), &s.effective)?;
        }
        let pct = |field: &str, v: f64| {
            if v.is_finite() && (0.0..=100.0).contains(&v) {
                Ok(v)
            } else {
                Err(invalid(field, format!("{v} is not a percentage 0-100")))
            }
        };
        let us_min = pct("us_content.min_percent", raw.us_content.min_percent)?;
        pct("fifty_percent_rule.percent", raw.fifty_percent_rule.percent)?;
        pct("affiliates_rule.percent", raw.affiliates_rule.percent)?;
        let affiliates_effective = day(
            "affiliates_rule.effective",
            &raw.affiliates_rule.source.effective,
        )?;
        let affiliates_suspended = match (
            &raw.affiliates_rule.suspended_from,
            &raw.affiliates_rule.suspended_through,
        ) {
            (Some(f), Some(t)) => Some((
                day("affiliates_rule.suspended_from", f)?,
                day("affiliates_rule.suspended_through", t)?,
            )),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "affiliates_rule",
                    "suspended_from and suspended_through go together".into(),
                ))
            }
        };
        for e in &raw.location_verification.eccns {
            if stackport_controls::engine::normalize_eccn(e).is_none() {
                return Err(invalid(
                    "location_verification.eccns",
                    format!("{e:?} is not an ECCN"),
                ));
            }
        }
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        Ok(Self {
            version: format!("program.toml@sha256:{}", &digest[..16]),
            meta: raw.program,
            layers: raw.layer,
            anchor_member: raw.anchor_member,
            five_layers: raw.five_layers,
            target_country: raw.target_country,
            members_not_of_concern: raw.members_not_of_concern,
            providers_not_of_concern: raw.providers_not_of_concern,
            us_min_micro: (us_min * 1e6).round() as u128,
            us_content: raw.us_content,
            fifty_percent_rule: raw.fifty_percent_rule,
            affiliates_rule: raw.affiliates_rule,
            location_verification: raw.location_verification,
            financing: raw.financing,
            affiliates_effective,
            affiliates_suspended,
        })
    }

    /// Whether the BIS Affiliates rule applies on `d`.
    pub fn affiliates_state(&self, d: Day) -> AffiliatesState {
        if d < self.affiliates_effective {
            return AffiliatesState::NotYetInForce;
        }
        match self.affiliates_suspended {
            Some((from, through)) if d >= from && d <= through => AffiliatesState::Suspended,
            Some((_, through)) if d > through => AffiliatesState::AfterSuspension,
            _ => AffiliatesState::InForce,
        }
    }

    /// Whether an ECCN is a covered product of the location-verification duty.
    pub fn location_covered(&self, eccn: &str) -> bool {
        self.location_verification.eccns.iter().any(|c| {
            eccn.eq_ignore_ascii_case(c)
                || (eccn.len() > c.len()
                    && eccn[..c.len()].eq_ignore_ascii_case(c)
                    && eccn.as_bytes()[c.len()] == b'.')
        })
    }

    pub fn layer(&self, l: Layer) -> &LayerDef {
        &self.layers[l as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load() {
        let r = ProgramRules::embedded().unwrap();
        assert_eq!(r.layers.len(), 5);
        assert_eq!(r.us_min_micro, 51_000_000);
        assert!(r.location_covered("3A090.a"));
        assert!(r.location_covered("4a090"));
        assert!(r.location_covered("3A001.z"));
        assert!(!r.location_covered("3A0901"));
        assert!(!r.location_covered("5A992.c"));
    }

    #[test]
    fn affiliates_rule_dates() {
        let r = ProgramRules::embedded().unwrap();
        let d = |s| Day::parse(s).unwrap();
        assert_eq!(
            r.affiliates_state(d("2025-09-28")),
            AffiliatesState::NotYetInForce
        );
        assert_eq!(
            r.affiliates_state(d("2025-09-29")),
            AffiliatesState::InForce
        );
        assert_eq!(
            r.affiliates_state(d("2025-11-09")),
            AffiliatesState::InForce
        );
        assert_eq!(
            r.affiliates_state(d("2025-11-10")),
            AffiliatesState::Suspended
        );
        assert_eq!(
            r.affiliates_state(d("2026-11-09")),
            AffiliatesState::Suspended
        );
        assert_eq!(
            r.affiliates_state(d("2026-11-10")),
            AffiliatesState::AfterSuspension
        );
    }

    #[test]
    fn a_bad_file_names_the_field() {
        let text = include_str!("../../../rulebook/program.toml").replace(
            "countries = [\"CN\", \"HK\", \"MO\"]",
            "countries = [\"China\"]",
        );
        let e = ProgramRules::parse("program.toml", &text).unwrap_err();
        assert!(
            e.to_string().contains("members_not_of_concern.countries"),
            "{e}"
        );
        let text = include_str!("../../../rulebook/program.toml")
            .replace("min_percent = 51.0", "min_percent = 151.0");
        let e = ProgramRules::parse("program.toml", &text).unwrap_err();
        assert!(e.to_string().contains("us_content.min_percent"), "{e}");
    }
}
