//! The one table of API error codes. Every handler error becomes an [`ApiError`]: an HTTP
//! status, a stable machine-readable `code` that clients may depend on, and a message that
//! says what was wrong and where (the field, the line). Codes are never renamed. The errors of
//! the application services ([`AppError`], from `stackport-app`) carry their code and become
//! an [`ApiError`] through [`status_of`], one `match` on their kind.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use stackport_app::AppError;

/// Stable error codes, one row per code: (code, HTTP status, meaning).
pub const CODES: &[(&str, u16, &str)] = &[
    ("invalid_json", 400, "the request body is not valid JSON for this endpoint"),
    ("invalid_request", 400, "a field is missing, empty, too long or of the wrong type"),
    ("empty_name", 400, "the party name is empty after normalisation"),
    ("name_too_long", 400, "the party name exceeds the maximum length"),
    ("invalid_country", 400, "a country is not an ISO 3166-1 alpha-2 code"),
    ("invalid_party_type", 400, "type is not individual, entity, vessel or aircraft"),
    ("unknown_catalog_item", 400, "item.catalog is not an id of the rulebook's chip catalog"),
    ("invalid_dob", 400, "a date of birth is not 1960, 1960-01, 1960-01-12 or 12 Jan 1960, or is no real date"),
    ("invalid_date", 400, "a date is not of the form YYYY-MM-DD"),
    ("date_out_of_range", 400, "the date is outside the rulebook's valid range"),
    ("invalid_parameter", 400, "an item parameter is negative, zero where it must be positive, or not finite"),
    ("unknown_end_use", 400, "an end-use code is not defined in the rulebook"),
    ("batch_too_large", 413, "the batch holds more items than the server accepts"),
    ("body_too_large", 413, "the request body is longer than this route accepts"),
    ("unsupported_media_type", 415, "the request body is not of a media type this route reads (send Content-Type: application/json)"),
    ("route_not_found", 404, "no route has this path"),
    ("method_not_allowed", 405, "the route does not accept this HTTP method"),
    ("request_timeout", 408, "the request was not received and answered within the server's request timeout"),
    ("not_found", 404, "the requested object does not exist, or belongs to an organisation the caller may not see (answered alike)"),
    ("unauthenticated", 401, "no credential, or one that is malformed, unknown, expired or revoked: send `Authorization: Bearer <token>`"),
    ("too_many_attempts", 429, "too many failed logins for this address: refused for 15 minutes"),
    ("forbidden", 403, "the caller's role or organisation may not perform this action"),
    ("csrf_failed", 403, "a state change authenticated by a session cookie without the session's X-CSRF-Token header"),
    ("conflict", 409, "the request contradicts what is stored (a name or e-mail address taken)"),
    ("proposal_locked", 409, "the proposal is under review or decided and cannot be replaced; withdraw it or submit under a new id"),
    ("invalid_transition", 409, "the proposal is not in a state this step applies to (or another step was taken meanwhile)"),
    ("opinions_missing", 409, "a consulted agency has not given its opinion yet"),
    ("agency_objects", 409, "a consulted agency objects: a designation over it needs over_objection and a reason that answers it"),
    ("four_eyes", 403, "the person who opened the review (or made the request) cannot also decide it"),
    ("not_an_agency", 400, "a consulted organisation is not of kind agency"),
    ("held", 409, "the proposal is held (a potential match under review or a true match): no designation until the hold is released"),
    ("matches_open", 409, "a potential match of the held document is still open"),
    ("true_match", 409, "a match of the held document was decided a true match"),
    ("invalid_reason_code", 400, "a reason code outside the list for that decision"),
    ("not_designated", 409, "financing is asked for designated packages only"),
    ("not_ready", 409, "an item of the package needs a licence and has none valid: the financing cannot be approved yet"),
    ("not_a_lender", 400, "the organisation asked is not of kind lender"),
    ("licence_exhausted", 409, "the shipment would take the licence past its value or quantity limit: blocked, recorded, nothing drawn"),
    ("licence_expired", 409, "the shipment date is after the licence's validity: blocked and recorded"),
    ("licence_not_yet_valid", 409, "the shipment date is before the licence's validity: blocked and recorded"),
    ("item_not_covered", 409, "the shipment's ECCN is not one the licence covers: blocked and recorded"),
    ("destination_not_covered", 409, "the shipment's destination is not the licence's: blocked and recorded"),
    ("party_not_covered", 409, "the shipment's party is not one the licence names: blocked and recorded"),
    ("invalid_eccn", 400, "an ECCN is not written as the CCL writes them (3A090.a, 4A994) nor EAR99"),
    ("proposal_id_taken", 409, "another organisation stored a proposal under this id; choose another id"),
    ("cannot_revoke_own_credential", 409, "a token cannot revoke itself; revoke it with another credential"),
    ("already_bootstrapped", 409, "the database has its first organisation and admin already"),
    ("invalid_role", 400, "a role outside the vocabulary, or a token scope wider than its user's role"),
    ("invalid_org_kind", 400, "an organisation kind outside the vocabulary"),
    ("weak_password", 400, "a password shorter than 12 or longer than 256 characters"),
    ("no_snapshot", 503, "no restricted-party list snapshot is loaded"),
    ("invalid_entry", 400, "a ledger entry is not a JSON document RFC 8785 can canonicalise"),
    ("ledger_out_of_range", 404, "no such entry or proof in the log: a ledger index or tree size is past the log, or a consistency proof runs from a larger size to a smaller"),
    ("ledger_corrupt", 500, "the ledger's stored hashes or checkpoints do not match its entries; run `stackport ledger verify`"),
    ("malformed_measurement", 400, "a landmark measurement does not decode (magic, version, field, length); the message names the field and byte offset"),
    ("unknown_chip", 422, "the chip named by a measurement is not enrolled; nothing was stored"),
    ("unknown_landmark", 422, "the landmark named by a measurement is not enrolled; nothing was stored"),
    ("invalid_signature", 422, "a landmark or chip signature in a measurement does not verify under the registered key; nothing was stored"),
    ("invalid_rtt", 422, "a measurement's RTT is zero or absurd, or its round count is inconsistent; nothing was stored"),
    ("stale_measurement", 422, "a measurement's time is in the future beyond the allowed skew, or too old; nothing was stored"),
    ("measurement_conflict", 409, "a measurement id was stored before with different content"),
    ("invalid_coordinates", 400, "a latitude or longitude is out of range or not finite"),
    ("invalid_public_key", 400, "a public key is not `ed25519:<hex>`, `p384:<hex>` or a PEM SubjectPublicKeyInfo of those"),
    ("already_enrolled", 409, "a chip or landmark with this id (or a chip with this key) is already enrolled"),
    ("invalid_proposal", 400, "the proposal cannot be reviewed: not JSON, of the wrong shape, or with values that fail its checks; `problems` lists each with its JSON path (and bom-ref and property inside the package) and its own code from PROBLEM_CODES; nothing was stored"),
    ("invalid_package", 422, "the package is not a valid CycloneDX 1.6 BOM or breaks the stackport: property profile; `problems` lists each with its path, bom-ref, property and code"),
    ("not_acceptable", 406, "none of the media types the Accept header asks for can be produced"),
    ("storage_error", 500, "the database failed; nothing was stored"),
    ("internal", 500, "an unexpected server error"),
];

/// Codes of the single problems inside an `invalid_proposal` or `invalid_package` error (the
/// proposal and package checks of `stackport-program`): (code, meaning). Stable like [`CODES`].
pub const PROBLEM_CODES: &[(&str, &str)] = &[
    ("invalid_json", "the body is not JSON (path `$`), or not UTF-8"),
    ("invalid_proposal", "JSON of the wrong shape: a field missing or of the wrong type (serde's message)"),
    ("schema_violation", "the package breaks the official CycloneDX 1.6 JSON schema"),
    ("invalid_package", "the package is not a CycloneDX JSON object"),
    ("empty_field", "a required text field is empty"),
    ("field_too_long", "a text field is longer than 1,000 characters"),
    ("invalid_date", "a date is not YYYY-MM-DD or is outside the rulebook's range"),
    ("invalid_posture", "posture is neither enforced nor codified"),
    ("invalid_role", "a member's role is neither anchor nor member"),
    ("no_members", "the consortium has no member"),
    ("too_many_parties", "more than 10,000 members and end users"),
    ("duplicate_id", "a member, end-user or site id is used twice"),
    ("unknown_country", "a country is not an ISO 3166-1 alpha-2 code known to the rulebook"),
    ("unknown_member", "a site's operator or a component's supplier is not a member id"),
    ("unknown_end_user", "a site's end user is not an end-user id"),
    ("unknown_site", "a component's stackport:site is not a site id"),
    ("unknown_party", "an owner's party is not a member or end-user id"),
    ("unknown_layer", "a layer is not hardware, data, models, security or applications"),
    ("unknown_end_use", "an end-use code is not defined in the rulebook"),
    ("unknown_instrument", "a federal support instrument is not one the program offers"),
    ("unknown_catalog_item", "stackport:catalog is not an id of the rulebook's chip catalog"),
    ("unknown_property", "a stackport: property the profile does not define"),
    ("invalid_share", "an ownership or US-content share is not from 0 to 100"),
    ("shares_exceed_100", "the owners' shares sum to more than 100"),
    ("negative_value", "an amount or value is negative or not finite"),
    ("invalid_value", "a stackport: property value cannot be read (a number, a boolean)"),
    ("invalid_quantity", "stackport:quantity is not a whole number above zero"),
    ("invalid_coordinates", "a site's latitude or longitude is out of range or not finite"),
    ("invalid_eccn", "a declared stackport:eccn is not an ECCN as written in the CCL"),
    ("circular_ownership", "owners form a cycle through members or end users"),
    ("missing_bom_ref", "a component has no bom-ref"),
    ("duplicate_bom_ref", "two components share a bom-ref"),
    ("missing_layer", "a component has no stackport:layer"),
    ("missing_supplier", "a component has no stackport:supplier"),
    ("missing_property", "a hardware component lacks a property it needs (site, quantity, value, US share)"),
    ("duplicate_property", "a stackport: property is given twice on one component"),
    ("hardware_only_property", "a hardware-only property on a component of another layer"),
    ("chip_not_hardware", "chip figures on a component that is not of the hardware layer"),
    ("ambiguous_item", "a component is described more than one way (catalog id, chip figures, model facts, declared ECCN)"),
    ("invalid_item", "the export-control engine cannot determine a component as described"),
];

/// One problem of an `invalid_proposal` or `invalid_package` error.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProblemDto {
    /// A JSON path into the request body (`consortium.members[2].owners[0].percent`,
    /// `package.components[4]`; `$` for the whole body).
    pub path: String,
    /// The component's `bom-ref`, for problems inside the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// The `stackport:` property at fault, for problems inside the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// A code of [`PROBLEM_CODES`].
    pub code: String,
    pub message: String,
}

impl From<&stackport_program::Problem> for ProblemDto {
    fn from(p: &stackport_program::Problem) -> Self {
        Self {
            path: p.path.clone(),
            bom_ref: p.bom_ref.clone(),
            property: p.property.clone(),
            code: p.code.to_string(),
            message: p.message.clone(),
        }
    }
}

/// An API error with a stable code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Each problem found, for validation errors that list them (`invalid_proposal`,
    /// `invalid_package`); empty otherwise, and then left out of the body.
    pub problems: Vec<ProblemDto>,
}

impl ApiError {
    /// Builds an error from a code of [`CODES`]; the status comes from the table.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .and_then(|(_, s, _)| StatusCode::from_u16(*s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    /// The same error listing each problem found.
    pub fn with_problems(mut self, problems: Vec<ProblemDto>) -> Self {
        self.problems = problems;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("invalid_request", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new("internal", message.to_string())
    }
}

/// The HTTP status of each kind of service error: the one mapping of [`AppError`] to HTTP (its
/// stable code comes with it, [`AppError::code`]; both agree with [`CODES`], which a test
/// checks).
pub fn status_of(e: &AppError) -> StatusCode {
    use stackport_app::Rejection as R;
    use stackport_ledger::LedgerError as L;
    match e {
        AppError::Rejected { reason, .. } => match reason {
            R::InvalidJson
            | R::InvalidRequest
            | R::MalformedMeasurement
            | R::InvalidCoordinates
            | R::InvalidPublicKey
            | R::InvalidCountry => StatusCode::BAD_REQUEST,
            R::UnknownChip
            | R::UnknownLandmark
            | R::InvalidSignature
            | R::InvalidRtt
            | R::StaleMeasurement => StatusCode::UNPROCESSABLE_ENTITY,
            R::MeasurementConflict | R::AlreadyEnrolled => StatusCode::CONFLICT,
        },
        AppError::InvalidProposal(_) => StatusCode::BAD_REQUEST,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AppError::NoSnapshot => StatusCode::SERVICE_UNAVAILABLE,
        // Entries and proofs past the log do not exist.
        AppError::Ledger(
            L::IndexOutOfRange { .. } | L::SizeOutOfRange { .. } | L::BadRange { .. },
        ) => StatusCode::NOT_FOUND,
        AppError::Ledger(L::InvalidEntry(_)) => StatusCode::BAD_REQUEST,
        AppError::Ledger(_)
        | AppError::LedgerCorrupt(_)
        | AppError::Key { .. }
        | AppError::Store(_)
        | AppError::Corrupt(_)
        | AppError::Config(_)
        | AppError::Unavailable(_)
        | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AppError::Shared(e) => status_of(e),
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self {
            status: status_of(&e),
            code: e.code(),
            problems: e.problems().iter().map(ProblemDto::from).collect(),
            message: e.to_string(),
        }
    }
}

impl From<stackport_store::StoreError> for ApiError {
    fn from(e: stackport_store::StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl From<stackport_app::ledger::LedgerServiceError> for ApiError {
    fn from(e: stackport_app::ledger::LedgerServiceError) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if !self.problems.is_empty() {
            error["problems"] = serde_json::to_value(&self.problems).unwrap_or_default();
        }
        let body = serde_json::json!({ "error": error });
        (self.status, axum::Json(body)).into_response()
    }
}

/// A JSON body extractor whose rejections are [`ApiError`]s with code `invalid_json`,
/// so that a malformed body gets the same error shape as every other failure.
pub struct Json<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new("body_too_large", rejection.body_text())
                }
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    ApiError::new("unsupported_media_type", rejection.body_text())
                }
                _ => ApiError::new("invalid_json", rejection.body_text()),
            }),
        }
    }
}

/// The body as bytes, with an oversized body refused as `body_too_large` (413).
pub struct Bytes(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Bytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Bytes(b)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new("body_too_large", rejection.body_text()))
            }
            Err(rejection) => Err(ApiError::new("invalid_request", rejection.body_text())),
        }
    }
}

/// A path parameter extractor whose rejections are `invalid_request` errors in the JSON error
/// shape (the code such errors have always had).
pub struct Path<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|r| ApiError::bad_request(format!("path: {}", r.body_text())))
    }
}

/// A query-string extractor whose rejections are `invalid_request` errors in the JSON error
/// shape.
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|r| ApiError::bad_request(r.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        for table in [
            CODES.iter().map(|c| c.0).collect::<Vec<_>>(),
            PROBLEM_CODES.iter().map(|c| c.0).collect(),
        ] {
            let mut sorted = table.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), table.len(), "a code is listed twice");
        }
        assert_eq!(ApiError::new("invalid_proposal", "x").status, 400);
        assert_eq!(ApiError::new("invalid_package", "x").status, 422);
        assert_eq!(ApiError::new("not_acceptable", "x").status, 406);
    }

    /// Every kind of service error leaves with a code of the table and the table's status.
    #[test]
    fn service_errors_map_to_the_table() {
        use stackport_app::Rejection;
        use stackport_ledger::LedgerError;
        use stackport_store::StoreError;
        let mut errors: Vec<AppError> = Rejection::ALL
            .iter()
            .map(|r| AppError::rejected(*r, "x"))
            .collect();
        errors.extend([
            AppError::InvalidProposal(stackport_program::ProposalError::Invalid(Vec::new())),
            AppError::NotFound("x".into()),
            AppError::NoSnapshot,
            AppError::Ledger(LedgerError::IndexOutOfRange { index: 1, size: 0 }),
            AppError::Ledger(LedgerError::SizeOutOfRange {
                requested: 1,
                size: 0,
            }),
            AppError::Ledger(LedgerError::BadRange { from: 1, to: 0 }),
            AppError::Ledger(LedgerError::InvalidEntry("x".into())),
            AppError::Ledger(LedgerError::ProofInvalid("x".into())),
            AppError::LedgerCorrupt("x".into()),
            AppError::Key {
                path: "k".into(),
                message: "x".into(),
            },
            AppError::Store(StoreError::Config("x".into())),
            AppError::Corrupt("x".into()),
            AppError::Config("x".into()),
            AppError::Unavailable("x".into()),
            AppError::Internal("x".into()),
            AppError::Shared(std::sync::Arc::new(AppError::NoSnapshot)),
        ]);
        for e in errors {
            let row = CODES.iter().find(|(c, _, _)| *c == e.code());
            let (code, status) = (e.code(), status_of(&e).as_u16());
            assert_eq!(row.map(|r| r.1), Some(status), "{code} of {e:?}");
            let api = ApiError::from(e);
            assert_eq!((api.code, api.status.as_u16()), (code, status));
        }
    }
}
