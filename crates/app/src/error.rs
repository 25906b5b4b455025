//! The services' errors. Each kind carries the stable code the API answers it with
//! ([`AppError::code`]) and says whether the same request may succeed later
//! ([`AppError::is_retryable`]); the HTTP server maps the kinds to statuses in one `match`
//! (`stackport-server`'s `error.rs`), the JetStream consumer decides redelivery by
//! [`AppError::is_retryable`], the CLI prints the message.

use std::path::PathBuf;
use std::sync::Arc;

use stackport_ledger::LedgerError;
use stackport_program::ProposalError;
use stackport_store::StoreError;

/// Why the chip registry refused a measurement or an enrolment; nothing was stored. Each has
/// its own stable code and its own rejection counter
/// (`stackport_locate_rejected_<code>_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The body is not JSON of the expected shape.
    InvalidJson,
    /// A field is missing, empty, too long or out of range.
    InvalidRequest,
    /// A measurement does not decode (magic, version, field, length).
    MalformedMeasurement,
    /// The chip a measurement names is not enrolled.
    UnknownChip,
    /// The landmark a measurement names is not enrolled.
    UnknownLandmark,
    /// A landmark or chip signature does not verify under the registered key.
    InvalidSignature,
    /// The RTT is zero or absurd, or the round count inconsistent.
    InvalidRtt,
    /// The measurement's time is in the future beyond the allowed skew, or too old.
    StaleMeasurement,
    /// A measurement id stored before with different content.
    MeasurementConflict,
    /// A latitude or longitude out of range or not finite.
    InvalidCoordinates,
    /// A public key that is not `ed25519:<hex>`, `p384:<hex>` or a PEM of those.
    InvalidPublicKey,
    /// A country code that is not ISO 3166-1 alpha-2 or not in the atlas.
    InvalidCountry,
    /// A chip or landmark with this id (or a chip with this key) is enrolled already.
    AlreadyEnrolled,
}

impl Rejection {
    /// Every rejection, for registering their counters.
    pub const ALL: [Rejection; 13] = [
        Rejection::InvalidJson,
        Rejection::InvalidRequest,
        Rejection::MalformedMeasurement,
        Rejection::UnknownChip,
        Rejection::UnknownLandmark,
        Rejection::InvalidSignature,
        Rejection::InvalidRtt,
        Rejection::StaleMeasurement,
        Rejection::MeasurementConflict,
        Rejection::InvalidCoordinates,
        Rejection::InvalidPublicKey,
        Rejection::InvalidCountry,
        Rejection::AlreadyEnrolled,
    ];

    /// The stable code (the API's `error.code`, and the name in the rejection counter).
    pub const fn code(self) -> &'static str {
        match self {
            Rejection::InvalidJson => "invalid_json",
            Rejection::InvalidRequest => "invalid_request",
            Rejection::MalformedMeasurement => "malformed_measurement",
            Rejection::UnknownChip => "unknown_chip",
            Rejection::UnknownLandmark => "unknown_landmark",
            Rejection::InvalidSignature => "invalid_signature",
            Rejection::InvalidRtt => "invalid_rtt",
            Rejection::StaleMeasurement => "stale_measurement",
            Rejection::MeasurementConflict => "measurement_conflict",
            Rejection::InvalidCoordinates => "invalid_coordinates",
            Rejection::InvalidPublicKey => "invalid_public_key",
            Rejection::InvalidCountry => "invalid_country",
            Rejection::AlreadyEnrolled => "already_enrolled",
        }
    }
}

/// A failure of one of the services. Messages say what was wrong and where (the field, the
/// byte offset, the stored object).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The registry refused its input; nothing was stored.
    #[error("{message}")]
    Rejected { reason: Rejection, message: String },
    /// A proposal that fails its checks; [`AppError::problems`] lists each with its JSON path.
    /// Nothing was stored.
    #[error(
        "the proposal cannot be reviewed: {} problem(s), first {}",
        .0.problems().len(),
        first_problem(.0)
    )]
    InvalidProposal(ProposalError),
    /// The object asked for does not exist, or belongs to an organisation the caller may not
    /// see (the two are answered alike, so existence does not leak).
    #[error("{0}")]
    NotFound(String),
    /// No credential, or one that is malformed, unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this ([`stackport_identity::policy`]).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed attempts (logins of one address): refused for a while.
    #[error("{0}")]
    TooManyAttempts(String),
    /// The request contradicts what is stored (a name or address taken, a second bootstrap).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A field of the request is not acceptable; `code` names the kind.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// No restricted-party list snapshot is loaded yet.
    #[error("no restricted-party list snapshot is loaded; run `stackport lists load DIR`")]
    NoSnapshot,
    /// A ledger request the log cannot answer (an index or size past it, a range backwards,
    /// an entry RFC 8785 cannot canonicalise), or a stored log whose hashes, proofs or
    /// signatures do not hold.
    #[error(transparent)]
    Ledger(LedgerError),
    /// The ledger's stored data contradicts itself (`stackport ledger verify` says where).
    #[error("{0}")]
    LedgerCorrupt(String),
    /// The ledger signing key cannot be read, is another log's, or cannot be created.
    #[error("ledger signing key {}: {message}", path.display())]
    Key { path: PathBuf, message: String },
    /// The database failed; nothing was stored.
    #[error(transparent)]
    Store(StoreError),
    /// Stored data that does not read back (a stored review that is not JSON).
    #[error("{0}")]
    Corrupt(String),
    /// The service's settings cannot be used (prohibited countries, country shapes).
    #[error("{0}")]
    Config(String),
    /// A service this one depends on (the NATS server) cannot be reached or refused a request.
    #[error("{0}")]
    Unavailable(String),
    /// Something that should not happen: a task that stopped, a value that does not
    /// serialise, a stored key that no longer parses.
    #[error("{0}")]
    Internal(String),
    /// One failure answered to every request of a group commit.
    #[error(transparent)]
    Shared(Arc<AppError>),
}

fn first_problem(e: &ProposalError) -> String {
    e.problems()
        .first()
        .map(|p| format!("{}: {}", p.path, p.message))
        .unwrap_or_default()
}

impl AppError {
    /// A rejection of the registry's input.
    pub fn rejected(reason: Rejection, message: impl Into<String>) -> Self {
        AppError::Rejected {
            reason,
            message: message.into(),
        }
    }

    /// An unexpected failure, with what it was.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        AppError::Internal(message.to_string())
    }

    /// The stable code the API answers this error with (`error.code`); listed, with its
    /// status, in the server's code table.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Rejected { reason, .. } => reason.code(),
            AppError::InvalidProposal(_) => "invalid_proposal",
            AppError::NotFound(_) => "not_found",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyAttempts(_) => "too_many_attempts",
            AppError::Conflict { code, .. } | AppError::Invalid { code, .. } => code,
            AppError::NoSnapshot => "no_snapshot",
            AppError::Ledger(
                LedgerError::IndexOutOfRange { .. }
                | LedgerError::SizeOutOfRange { .. }
                | LedgerError::BadRange { .. },
            ) => "ledger_out_of_range",
            AppError::Ledger(LedgerError::InvalidEntry(_)) => "invalid_entry",
            AppError::Ledger(_) | AppError::LedgerCorrupt(_) => "ledger_corrupt",
            AppError::Store(_) | AppError::Corrupt(_) => "storage_error",
            AppError::Key { .. }
            | AppError::Config(_)
            | AppError::Unavailable(_)
            | AppError::Internal(_) => "internal",
            AppError::Shared(e) => e.code(),
        }
    }

    /// Whether the same request may succeed later: the failure is on this side (the
    /// database, the ledger, a stopped task, no snapshot loaded yet). Refused or unknown
    /// input is permanent: sending it again gives the same answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            AppError::Rejected { .. }
            | AppError::InvalidProposal(_)
            | AppError::NotFound(_)
            | AppError::Unauthenticated(_)
            | AppError::Forbidden(_)
            | AppError::Conflict { .. }
            | AppError::Invalid { .. } => false,
            AppError::Ledger(e) => !matches!(
                e,
                LedgerError::IndexOutOfRange { .. }
                    | LedgerError::SizeOutOfRange { .. }
                    | LedgerError::BadRange { .. }
                    | LedgerError::InvalidEntry(_)
            ),
            AppError::NoSnapshot
            | AppError::TooManyAttempts(_)
            | AppError::LedgerCorrupt(_)
            | AppError::Key { .. }
            | AppError::Store(_)
            | AppError::Corrupt(_)
            | AppError::Config(_)
            | AppError::Unavailable(_)
            | AppError::Internal(_) => true,
            AppError::Shared(e) => e.is_retryable(),
        }
    }

    /// Each problem of an [`AppError::InvalidProposal`]; empty for every other kind.
    pub fn problems(&self) -> Vec<stackport_program::Problem> {
        match self {
            AppError::InvalidProposal(e) => e.problems(),
            AppError::Shared(e) => e.problems(),
            _ => Vec::new(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Conflict(message) => AppError::Conflict {
                code: "conflict",
                message,
            },
            other => AppError::Store(other),
        }
    }
}

impl From<ProposalError> for AppError {
    fn from(e: ProposalError) -> Self {
        AppError::InvalidProposal(e)
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(format!("a blocking task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rejection_has_its_own_code() {
        let mut codes: Vec<&str> = Rejection::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rejection::ALL.len());
    }

    #[test]
    fn refused_input_is_permanent_and_failures_here_are_retried() {
        let rejected = AppError::rejected(Rejection::UnknownChip, "chip \"c\" is not enrolled");
        assert_eq!(rejected.code(), "unknown_chip");
        assert!(!rejected.is_retryable());
        let missing = AppError::from(StoreError::NotFound("no proposal \"p\"".into()));
        assert_eq!(
            (missing.code(), missing.to_string().as_str()),
            ("not_found", "no proposal \"p\"")
        );
        assert!(!missing.is_retryable());
        let db = AppError::from(StoreError::Config("down".into()));
        assert_eq!(db.code(), "storage_error");
        assert!(db.is_retryable());
        let shared = AppError::Shared(Arc::new(db));
        assert_eq!(shared.code(), "storage_error");
        assert!(shared.is_retryable());
        let range = AppError::Ledger(LedgerError::BadRange { from: 2, to: 1 });
        assert_eq!(range.code(), "ledger_out_of_range");
        assert!(!range.is_retryable());
        assert!(AppError::NoSnapshot.is_retryable());
    }
}
