//! Timeline of an item's outcome for a destination, and the de minimis calculation.

use serde::Serialize;

use crate::date::Day;
use crate::engine::Case;
use crate::error::InputError;
use crate::rulebook::{Posture, Rulebook};

/// One stretch of time with the same answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineStep {
    pub from: String,
    /// Last day of the stretch; `None` while it lasts to the end of the rulebook's range.
    pub through: Option<String>,
    pub eccn: Option<String>,
    pub outcome: String,
    pub exception: Option<String>,
    pub notification_required: bool,
    pub review_policy: Option<String>,
    /// Entries that start, end or stop being enforced on `from` (what changed the answer).
    pub changed_by: Vec<String>,
    pub citations: Vec<String>,
    /// Facts the answer needed and did not get (e.g. `end_user.hq_country`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The de minimis answer for a foreign-made item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeMinimis {
    pub us_content_percent: f64,
    pub threshold_percent: f64,
    /// True when the US-controlled content exceeds the threshold: the foreign-made item is
    /// then subject to the EAR.
    pub subject_to_ear: bool,
    pub rule: String,
    pub citation: String,
    pub confidence: String,
}

impl Rulebook {
    /// How the answer for `case` changed over the rulebook's range (`case.date` is ignored).
    pub fn timeline(&self, case: &Case<'_>) -> Result<Vec<TimelineStep>, InputError> {
        let mut steps: Vec<TimelineStep> = Vec::new();
        let mut prev_key = None;
        let mut prev_rules: Vec<u16> = Vec::new();
        for &start in self.change_dates() {
            let mut c = *case;
            c.date = start;
            let d = self.determine(&c)?;
            let key = (
                d.classification.eccn.as_ref().map(|e| e.to_string()),
                d.outcome,
                d.exception.map(str::to_string),
                d.notification_required,
                d.review_policy,
            );
            if prev_key.as_ref() == Some(&key) {
                prev_rules = d.rules.to_vec();
                continue;
            }
            if let Some(last) = steps.last_mut() {
                last.through = Some(start.pred().to_string());
            }
            // What changed: entries with a boundary on this day that the answer before or
            // after relied on, and country-group changes naming this destination or HQ.
            let changed_by = self
                .rules
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    let i = *i as u16;
                    (r.effective == start
                        || r.start() == start
                        || r.end == Some(start)
                        || (c.posture == Posture::Enforced && r.not_enforced_from == Some(start)))
                        && (d.rules.contains(&i)
                            || prev_rules.contains(&i)
                            || self.change_touches(i, &c))
                })
                .map(|(_, r)| format!("{} ({}; {})", r.version(), r.citation, r.fr))
                .collect();
            prev_rules = d.rules.to_vec();
            steps.push(TimelineStep {
                from: start.to_string(),
                through: None,
                eccn: key.0.clone(),
                outcome: d.outcome.as_str().into(),
                exception: key.2.clone(),
                notification_required: d.notification_required,
                review_policy: d.review_policy.map(|p| p.as_str().into()),
                changed_by,
                citations: d.citations(self).into_iter().map(str::to_string).collect(),
                missing: d.missing.iter().map(|m| m.to_string()).collect(),
            });
            prev_key = Some(key);
        }
        Ok(steps)
    }

    /// Whether rule `i` is a country-group change naming the case's destination or headquarters.
    fn change_touches(&self, i: u16, c: &Case<'_>) -> bool {
        self.changes.iter().any(|ch| {
            ch.rule == i
                && ch
                    .countries
                    .iter()
                    .any(|k| *k == c.destination || Some(*k) == c.end_user_hq)
        })
    }

    /// De minimis: the threshold for the destination (the lowest that applies) and whether
    /// `us_content_percent` of US-controlled content makes the foreign-made item subject to
    /// the EAR (15 CFR 734.4).
    pub fn de_minimis(
        &self,
        date: Day,
        posture: Posture,
        destination: crate::country::Country,
        us_content_percent: f64,
        advanced_computing: bool,
    ) -> Result<DeMinimis, InputError> {
        if !us_content_percent.is_finite() || !(0.0..=100.0).contains(&us_content_percent) {
            return Err(InputError::BadNumber {
                field: "us_content_percent".into(),
                value: us_content_percent,
                expected: "a percentage between 0 and 100",
            });
        }
        let snap = self
            .snapshot(date, posture)
            .ok_or_else(|| self.out_of_range(date))?;
        let (dest, _) = self.resolve_country(snap, destination);
        let best = snap
            .thresholds
            .iter()
            .map(|t| &self.thresholds[*t as usize])
            .filter(|t| {
                snap.sets[t.dest as usize].contains(dest)
                    && (!t.advanced_only || advanced_computing)
            })
            .min_by(|a, b| a.percent.total_cmp(&b.percent))
            .ok_or_else(|| InputError::Invalid {
                field: "destination",
                message: "no de minimis entry of the rulebook covers this destination".into(),
            })?;
        let r = self.rule(best.rule);
        Ok(DeMinimis {
            us_content_percent,
            threshold_percent: best.percent,
            subject_to_ear: us_content_percent > best.percent,
            rule: r.version(),
            citation: r.citation.clone(),
            confidence: r.confidence.as_str().into(),
        })
    }
}
