//! Errors: rulebook problems name the file, line and field; input problems name the field
//! and the value.

use std::fmt;

/// One problem found in the rulebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(
                f,
                "{}:{}: field `{}`: {}",
                self.file, self.line, self.field, self.message
            )
        }
    }
}

/// The rulebook could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulebookError {
    #[error("{file}: cannot read rulebook file: {message}")]
    Read { file: String, message: String },
    #[error("rulebook invalid ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl RulebookError {
    /// The problems, when the rulebook was read but is invalid.
    pub fn problems(&self) -> &[Problem] {
        match self {
            RulebookError::Invalid(p) => p,
            RulebookError::Read { .. } => &[],
        }
    }
}

/// A case cannot be decided as given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("field `{field}`: {value:?} is not an ISO 3166-1 alpha-2 country code known to the rulebook")]
    UnknownCountry { field: &'static str, value: String },
    #[error("field `item.catalog`: unknown catalog id {0:?} (see `stackport classify --list`)")]
    UnknownCatalog(String),
    #[error("field `date`: {0:?} is not a date of the form YYYY-MM-DD")]
    BadDate(String),
    #[error("field `date`: {date} is outside the rulebook's range {from} to {through}")]
    DateOutOfRange {
        date: String,
        from: String,
        through: String,
    },
    #[error("field `{field}`: {value} must be {expected}")]
    BadNumber {
        field: String,
        value: f64,
        expected: &'static str,
    },
    #[error("field `item`: {0}")]
    BadItem(String),
    #[error("field `end_use`: unknown end-use code {0:?}")]
    UnknownEndUse(String),
    #[error("field `posture`: {0:?} is neither \"enforced\" nor \"codified\"")]
    BadPosture(String),
    #[error("field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}
