//! Who may do what in Stackport: organisations and their kinds, users and their roles, the
//! credentials they present (API tokens, password logins and their sessions), and the one
//! authorisation policy every route goes through ([`policy`]).
//!
//! Pure: no I/O, no clock of its own (times are passed in as Unix seconds). The store keeps the
//! records, `stackport-app` runs the identity service, the server authenticates each request
//! and asks [`policy::decide`] before any handler runs.
//!
//! The program's organisations (EO 14320 §3; `shared/reference/export-controls.md` §9): the
//! consortia that propose full-stack packages and their member exporters, the Department of
//! Commerce that reviews and designates them, the agencies it consults (State, War, Energy,
//! OSTP), the lenders that finance them (EXIM, DFC, USTDA), the data-centre operators that run
//! the chips, and auditors. The deployment's own organisation (`platform`) runs the registry's
//! landmarks and the restricted-party lists.

pub mod credential;
pub mod password;
pub mod policy;

use std::fmt;
use std::str::FromStr;

pub use credential::{ApiToken, SessionSecret, TokenHash};
pub use policy::{decide, decide_on, reads_across, Action, Decision, Denial, Principal};

/// What an organisation is in the program; it bounds what its users may do ([`policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The deployment's operator: enrols landmarks, loads the lists, manages organisations.
    Platform,
    /// An industry consortium proposing a full-stack package (its anchor or lead member).
    Consortium,
    /// A member company exporting items of a package.
    Exporter,
    /// The Department of Commerce (ITA, BIS): reviews proposals, designates packages.
    Commerce,
    /// A consulted agency (State, War, Energy, OSTP): gives opinions on what it is asked.
    Agency,
    /// A federal lender (EXIM, DFC, USTDA): sees the financing requests referred to it.
    Lender,
    /// A data-centre operator: enrols and runs its chips.
    Operator,
    /// An auditor: reads everything, changes nothing.
    Auditor,
}

impl OrgKind {
    pub const ALL: [OrgKind; 8] = [
        OrgKind::Platform,
        OrgKind::Consortium,
        OrgKind::Exporter,
        OrgKind::Commerce,
        OrgKind::Agency,
        OrgKind::Lender,
        OrgKind::Operator,
        OrgKind::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Platform => "platform",
            OrgKind::Consortium => "consortium",
            OrgKind::Exporter => "exporter",
            OrgKind::Commerce => "commerce",
            OrgKind::Agency => "agency",
            OrgKind::Lender => "lender",
            OrgKind::Operator => "operator",
            OrgKind::Auditor => "auditor",
        }
    }
}

/// A user's role within their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the organisation's users and tokens (and, in the platform, organisations).
    Admin,
    /// Screens parties, requests determinations, prepares and submits proposals.
    ComplianceOfficer,
    /// Reviews potential matches and proposals.
    Reviewer,
    /// Releases holds and designates packages (a second person to the requester).
    Approver,
    /// Handles financing requests at a lender.
    LenderOfficer,
    /// Runs chips, landmarks and their agents.
    Operator,
    /// Reads, never changes.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::ComplianceOfficer,
        Role::Reviewer,
        Role::Approver,
        Role::LenderOfficer,
        Role::Operator,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ComplianceOfficer => "compliance_officer",
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::LenderOfficer => "lender_officer",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }
}

/// A value outside a closed vocabulary (organisation kinds, roles).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {expected})")]
pub struct UnknownCode {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! vocabulary {
    ($t:ty, $what:literal) => {
        impl FromStr for $t {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                // Matched the way people write it: case and spacing do not change the answer.
                let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == norm)
                    .ok_or_else(|| UnknownCode {
                        what: $what,
                        value: s.to_string(),
                        expected: <$t>::ALL.map(|v| v.as_str()).join(", "),
                    })
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
vocabulary!(OrgKind, "organisation kind");
vocabulary!(Role, "role");

/// A random identifier with a readable prefix (`org_…`, `usr_…`, `tok_…`): 16 random bytes in
/// hex, so ids reveal nothing about order or count.
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    format!("{prefix}_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_matched_as_people_write_it_and_refused_otherwise() {
        assert_eq!(
            "Compliance Officer".parse::<Role>().unwrap(),
            Role::ComplianceOfficer
        );
        assert_eq!(
            " LENDER-officer ".parse::<Role>().unwrap(),
            Role::LenderOfficer
        );
        assert_eq!("commerce".parse::<OrgKind>().unwrap(), OrgKind::Commerce);
        let e = "superuser".parse::<Role>().unwrap_err();
        assert!(e.to_string().contains("superuser") && e.to_string().contains("auditor"));
        for r in Role::ALL {
            assert_eq!(r.to_string().parse::<Role>().unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        for k in OrgKind::ALL {
            assert_eq!(k.to_string().parse::<OrgKind>().unwrap(), k);
        }
    }

    #[test]
    fn ids_are_random_and_prefixed() {
        let a = new_id("org");
        let b = new_id("org");
        assert_ne!(a, b);
        assert!(a.starts_with("org_") && a.len() == 4 + 32);
    }
}
