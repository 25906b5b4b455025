//! Errors of the program crate: a proposal that cannot be reviewed, and a program rules file
//! that cannot be loaded. Every problem names where it is (a JSON path, a `bom-ref` and a
//! property) and the value at fault.

use std::fmt;

/// One thing wrong with a proposal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where: a JSON path into the proposal (`consortium.members[2].owners[0].percent`,
    /// `package.components[4]`).
    pub path: String,
    /// The component's `bom-ref`, for problems inside the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// The `stackport:` property at fault, for problems inside the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// A stable code for tools (`unknown_member`, `schema_violation`, ...).
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub fn at(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            bom_ref: None,
            property: None,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(r) = &self.bom_ref {
            write!(f, " (bom-ref {r:?})")?;
        }
        if let Some(p) = &self.property {
            write!(f, " property {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A proposal that cannot be reviewed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProposalError {
    /// Not JSON at all, or JSON of the wrong shape (the path and serde's message).
    #[error("not a proposal: {0}")]
    Malformed(Problem),
    /// JSON of the right shape whose values are wrong; every problem found is listed.
    #[error("{} problem(s): {}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
}

impl ProposalError {
    /// Every problem, for the API's error body.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ProposalError::Malformed(p) => vec![p.clone()],
            ProposalError::Invalid(v) => v.clone(),
        }
    }

    /// The stable code of the first problem (the API's error code).
    pub fn code(&self) -> &'static str {
        match self {
            ProposalError::Malformed(p) => p.code,
            ProposalError::Invalid(v) => v.first().map(|p| p.code).unwrap_or("invalid_proposal"),
        }
    }
}

/// The program rules file cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}
