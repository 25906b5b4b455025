//! Review of potential matches and holds (issue 11, item 4; the workflow of SAP GTS, Oracle GTM
//! and the other trade-compliance suites: `shared/reference/ecosystem.md` §2.2, F9, F10, F13).
//! Pure: the service stores what these rules decide.
//!
//! Every potential match of a party enters a review queue. A reviewer decides it a true or a
//! false match, with a reason code and a note; a false-match decision is remembered for that
//! party and that list entry, and clears the same pair later without a new review, until
//! either changes (the party's name or country, or the entry's content, [`match_key`]). A
//! document with a potential match under review is held; its hold is released only when no
//! match of it is open or true, on request of one person and by another (four eyes).

use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A reviewer's decision on one potential match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchDecision {
    FalseMatch,
    TrueMatch,
}

impl MatchDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchDecision::FalseMatch => "false_match",
            MatchDecision::TrueMatch => "true_match",
        }
    }
}

impl FromStr for MatchDecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "false_match" => Ok(MatchDecision::FalseMatch),
            "true_match" => Ok(MatchDecision::TrueMatch),
            _ => Err(format!(
                "unknown decision {s:?} (expected false_match or true_match)"
            )),
        }
    }
}

/// The reason codes a decision carries (a closed list, so that reports can count them).
pub const FALSE_MATCH_REASONS: [&str; 6] = [
    "different_name",
    "different_country",
    "different_date_of_birth",
    "different_party_type",
    "different_identifiers",
    "other",
];
pub const TRUE_MATCH_REASONS: [&str; 3] = ["same_identifiers", "same_name_and_country", "other"];

/// Whether `code` is a reason for `decision`.
pub fn reason_allowed(decision: MatchDecision, code: &str) -> bool {
    match decision {
        MatchDecision::FalseMatch => FALSE_MATCH_REASONS.contains(&code),
        MatchDecision::TrueMatch => TRUE_MATCH_REASONS.contains(&code),
    }
}

/// The party as a decision remembers it: its name (case and spacing aside) and country.
pub fn party_key(name: &str, country: Option<&str>) -> String {
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    format!(
        "{name}|{}",
        country.unwrap_or("").trim().to_ascii_uppercase()
    )
}

/// The list entry as a decision remembers it: a digest of its id and primary name, so that a
/// changed entry (a new name, a new id) is reviewed again.
pub fn match_key(entity_id: &str, entity_name: &str) -> String {
    let mut h = Sha256::new();
    h.update(entity_id.as_bytes());
    h.update([0]);
    h.update(entity_name.as_bytes());
    hex::encode(h.finalize())
}

/// Why a hold cannot be released now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    #[error("the hold is {0}, not held")]
    NotHeld(String),
    #[error("no one has asked for this hold's release yet")]
    NotRequested,
    #[error("the person who asked for the release cannot also release (four eyes)")]
    SamePerson,
    #[error("{0} potential match(es) of it are still open")]
    OpenMatches(usize),
    #[error("{0} match(es) of it are true matches")]
    TrueMatches(usize),
}

impl ReleaseError {
    pub fn code(&self) -> &'static str {
        match self {
            ReleaseError::NotHeld(_) | ReleaseError::NotRequested => "invalid_transition",
            ReleaseError::SamePerson => "four_eyes",
            ReleaseError::OpenMatches(_) => "matches_open",
            ReleaseError::TrueMatches(_) => "true_match",
        }
    }
}

/// Whether `releaser` may release a hold now: it is held, someone else asked for its release,
/// and none of its matches is open or true.
pub fn may_release(
    status: &str,
    requested_by: Option<&str>,
    releaser: &str,
    open: usize,
    true_matches: usize,
) -> Result<(), ReleaseError> {
    if status != "held" {
        return Err(ReleaseError::NotHeld(status.to_string()));
    }
    let Some(requester) = requested_by else {
        return Err(ReleaseError::NotRequested);
    };
    if requester == releaser {
        return Err(ReleaseError::SamePerson);
    }
    if open > 0 {
        return Err(ReleaseError::OpenMatches(open));
    }
    if true_matches > 0 {
        return Err(ReleaseError::TrueMatches(true_matches));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_and_their_reasons() {
        assert_eq!(
            "False Match".parse::<MatchDecision>().unwrap(),
            MatchDecision::FalseMatch
        );
        assert!("maybe".parse::<MatchDecision>().is_err());
        assert!(reason_allowed(
            MatchDecision::FalseMatch,
            "different_country"
        ));
        assert!(!reason_allowed(
            MatchDecision::TrueMatch,
            "different_country"
        ));
        assert_eq!(
            party_key(" ACME  Trading ", Some("ae")),
            party_key("acme trading", Some("AE"))
        );
        assert_ne!(party_key("acme", Some("AE")), party_key("acme", Some("QA")));
        assert_ne!(match_key("sdn:1", "A"), match_key("sdn:1", "B"));
    }

    #[test]
    fn a_hold_is_released_by_a_second_person_once_nothing_is_open() {
        assert_eq!(may_release("held", Some("u1"), "u2", 0, 0), Ok(()));
        assert_eq!(
            may_release("held", Some("u1"), "u1", 0, 0),
            Err(ReleaseError::SamePerson)
        );
        assert_eq!(
            may_release("held", None, "u2", 0, 0),
            Err(ReleaseError::NotRequested)
        );
        assert_eq!(
            may_release("held", Some("u1"), "u2", 2, 0),
            Err(ReleaseError::OpenMatches(2))
        );
        assert_eq!(
            may_release("held", Some("u1"), "u2", 0, 1)
                .unwrap_err()
                .code(),
            "true_match"
        );
        assert_eq!(
            may_release("released", Some("u1"), "u2", 0, 0)
                .unwrap_err()
                .code(),
            "invalid_transition"
        );
    }
}
