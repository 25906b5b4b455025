//! The proposal workflow (issue 11, item 3): where a proposal stands between a consortium's
//! draft and Commerce's designation, and which steps may move it. Pure: the service supplies
//! the facts (who acts, what the consulted agencies said) and stores what this decides.
//!
//! EO 14320 §3 has Commerce review full-stack export packages proposed by industry consortia
//! "in consultation with" State, War, Energy and OSTP, and designate the ones it selects
//! (`shared/reference/export-controls.md` §9). The states:
//!
//! ```text
//! draft ──submit──▶ submitted ──start review (consult agencies)──▶ under_review
//!   │                  │                                             │  ├─ each consulted agency: opinion
//!   └──withdraw──▶ withdrawn ◀──withdraw──────────────────────────────┤  ├─ designate ──▶ designated
//!                                                                     │  └─ decline ───▶ declined
//! ```
//!
//! Designation needs an opinion from every consulted agency, and is made by another person
//! than the one who opened the review (four eyes). An objection does not block designation
//! by itself (Commerce decides), but it must be answered: a designation over an objection
//! needs a reason that says so ([`Step::Designate`]'s `over_objection`).

use std::fmt;
use std::str::FromStr;

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    UnderReview,
    Designated,
    Declined,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Submitted,
        Status::UnderReview,
        Status::Designated,
        Status::Declined,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::UnderReview => "under_review",
            Status::Designated => "designated",
            Status::Declined => "declined",
            Status::Withdrawn => "withdrawn",
        }
    }

    /// Whether the consortium may still replace the proposal under its id (a new version
    /// goes back to the state it was submitted in): not once Commerce has it under review or
    /// has decided.
    pub fn replaceable(self) -> bool {
        matches!(self, Status::Draft | Status::Submitted | Status::Withdrawn)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown proposal status {s:?}"))
    }
}

/// A consulted agency's opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Opinion {
    Concur,
    Object,
    NoPosition,
}

impl Opinion {
    pub const ALL: [Opinion; 3] = [Opinion::Concur, Opinion::Object, Opinion::NoPosition];
    pub fn as_str(self) -> &'static str {
        match self {
            Opinion::Concur => "concur",
            Opinion::Object => "object",
            Opinion::NoPosition => "no_position",
        }
    }
}

impl FromStr for Opinion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Opinion::ALL
            .into_iter()
            .find(|v| v.as_str() == norm)
            .ok_or_else(|| {
                format!("unknown opinion {s:?} (expected concur, object or no_position)")
            })
    }
}

/// What a step asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Submit,
    Withdraw,
    /// Commerce opens the review and names the agencies it consults (at least one).
    StartReview {
        agencies: Vec<String>,
    },
    /// A consulted agency gives (or revises) its opinion.
    Opinion {
        agency: String,
        opinion: Opinion,
    },
    /// Commerce designates the package; `actor` is the user deciding.
    Designate {
        actor: String,
        over_objection: bool,
    },
    Decline {
        actor: String,
    },
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Withdraw => "withdraw",
            Step::StartReview { .. } => "start_review",
            Step::Opinion { .. } => "opinion",
            Step::Designate { .. } => "designate",
            Step::Decline { .. } => "decline",
        }
    }
}

/// What the store knows of the review in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFacts {
    /// The user who opened the review.
    pub opened_by: Option<String>,
    /// Each consulted agency (organisation id) and its opinion so far.
    pub consulted: Vec<(String, Option<Opinion>)>,
}

/// Why a step cannot be taken; each has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("a proposal that is {from} cannot be {step}")]
    NotNow { from: Status, step: &'static str },
    #[error("a review consults at least one agency")]
    NoAgency,
    #[error("agency {0:?} is consulted twice")]
    DuplicateAgency(String),
    #[error("organisation {0:?} is not consulted on this proposal")]
    NotConsulted(String),
    #[error("{0} consulted agencies have not given their opinion yet")]
    OpinionsMissing(usize),
    #[error("the person who opened the review cannot also decide it (four eyes)")]
    SamePerson,
    #[error("an agency objects: a designation over an objection must say so (over_objection)")]
    Objection,
}

impl WorkflowError {
    /// The stable code of the API's error.
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::NotNow { .. } => "invalid_transition",
            WorkflowError::NoAgency | WorkflowError::DuplicateAgency(_) => "invalid_request",
            WorkflowError::NotConsulted(_) => "not_consulted",
            WorkflowError::OpinionsMissing(_) => "opinions_missing",
            WorkflowError::SamePerson => "four_eyes",
            WorkflowError::Objection => "agency_objects",
        }
    }
}

/// The state `step` moves a proposal in state `from` to, given the review's facts.
pub fn next(from: Status, step: &Step, facts: &ReviewFacts) -> Result<Status, WorkflowError> {
    let not_now = || WorkflowError::NotNow {
        from,
        step: step.name(),
    };
    match (from, step) {
        (Status::Draft, Step::Submit) => Ok(Status::Submitted),
        (Status::Draft | Status::Submitted | Status::UnderReview, Step::Withdraw) => {
            Ok(Status::Withdrawn)
        }
        (Status::Submitted, Step::StartReview { agencies }) => {
            if agencies.is_empty() {
                return Err(WorkflowError::NoAgency);
            }
            let mut seen = std::collections::HashSet::new();
            for a in agencies {
                if !seen.insert(a) {
                    return Err(WorkflowError::DuplicateAgency(a.clone()));
                }
            }
            Ok(Status::UnderReview)
        }
        (Status::UnderReview, Step::Opinion { agency, .. }) => {
            if facts.consulted.iter().any(|(a, _)| a == agency) {
                Ok(Status::UnderReview)
            } else {
                Err(WorkflowError::NotConsulted(agency.clone()))
            }
        }
        (
            Status::UnderReview,
            Step::Designate {
                actor,
                over_objection,
            },
        ) => {
            if facts.opened_by.as_deref() == Some(actor.as_str()) {
                return Err(WorkflowError::SamePerson);
            }
            let missing = facts.consulted.iter().filter(|(_, o)| o.is_none()).count();
            if missing > 0 {
                return Err(WorkflowError::OpinionsMissing(missing));
            }
            let objected = facts
                .consulted
                .iter()
                .any(|(_, o)| *o == Some(Opinion::Object));
            if objected && !over_objection {
                return Err(WorkflowError::Objection);
            }
            Ok(Status::Designated)
        }
        (Status::UnderReview, Step::Decline { actor }) => {
            if facts.opened_by.as_deref() == Some(actor.as_str()) {
                return Err(WorkflowError::SamePerson);
            }
            Ok(Status::Declined)
        }
        _ => Err(not_now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(opened_by: &str, consulted: &[(&str, Option<Opinion>)]) -> ReviewFacts {
        ReviewFacts {
            opened_by: Some(opened_by.into()),
            consulted: consulted.iter().map(|(a, o)| (a.to_string(), *o)).collect(),
        }
    }

    #[test]
    fn the_happy_path_from_draft_to_designation() {
        let none = ReviewFacts::default();
        let s = next(Status::Draft, &Step::Submit, &none).unwrap();
        assert_eq!(s, Status::Submitted);
        let s = next(
            s,
            &Step::StartReview {
                agencies: vec!["state".into(), "energy".into()],
            },
            &none,
        )
        .unwrap();
        assert_eq!(s, Status::UnderReview);
        let f = facts("r1", &[("state", None), ("energy", None)]);
        let op = Step::Opinion {
            agency: "state".into(),
            opinion: Opinion::Concur,
        };
        assert_eq!(next(s, &op, &f).unwrap(), Status::UnderReview);
        let designate = |actor: &str, over| Step::Designate {
            actor: actor.into(),
            over_objection: over,
        };
        assert_eq!(
            next(s, &designate("a1", false), &f),
            Err(WorkflowError::OpinionsMissing(2))
        );
        let all_in = facts(
            "r1",
            &[
                ("state", Some(Opinion::Concur)),
                ("energy", Some(Opinion::NoPosition)),
            ],
        );
        assert_eq!(
            next(s, &designate("r1", false), &all_in),
            Err(WorkflowError::SamePerson),
            "four eyes"
        );
        assert_eq!(
            next(s, &designate("a1", false), &all_in).unwrap(),
            Status::Designated
        );
        let objected = facts(
            "r1",
            &[
                ("state", Some(Opinion::Object)),
                ("energy", Some(Opinion::Concur)),
            ],
        );
        assert_eq!(
            next(s, &designate("a1", false), &objected),
            Err(WorkflowError::Objection)
        );
        assert_eq!(
            next(s, &designate("a1", true), &objected).unwrap(),
            Status::Designated
        );
    }

    #[test]
    fn steps_out_of_order_are_refused_with_their_code() {
        let none = ReviewFacts::default();
        for from in [Status::Designated, Status::Declined, Status::Withdrawn] {
            for step in [
                Step::Submit,
                Step::Withdraw,
                Step::StartReview {
                    agencies: vec!["x".into()],
                },
                Step::Decline { actor: "a".into() },
            ] {
                let e = next(from, &step, &none).unwrap_err();
                assert_eq!(e.code(), "invalid_transition", "{from} {step:?}");
            }
        }
        assert_eq!(
            next(
                Status::Submitted,
                &Step::StartReview { agencies: vec![] },
                &none
            ),
            Err(WorkflowError::NoAgency)
        );
        assert!(matches!(
            next(
                Status::Submitted,
                &Step::StartReview {
                    agencies: vec!["a".into(), "a".into()]
                },
                &none
            ),
            Err(WorkflowError::DuplicateAgency(_))
        ));
        let f = facts("r1", &[("state", None)]);
        assert_eq!(
            next(
                Status::UnderReview,
                &Step::Opinion {
                    agency: "war".into(),
                    opinion: Opinion::Object
                },
                &f
            ),
            Err(WorkflowError::NotConsulted("war".into()))
        );
        assert!(Status::Submitted.replaceable() && !Status::UnderReview.replaceable());
        assert_eq!(
            "no position".parse::<Opinion>().unwrap(),
            Opinion::NoPosition
        );
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
    }
}
