//! The one table of API error codes. Every handler error becomes an [`ApiError`]: an HTTP
//! status, a stable machine-readable `code` that clients may depend on, and a message that
//! says what was wrong and where (the field, the line). Codes are never renamed.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Stable error codes, one row per code: (code, HTTP status, meaning).
pub const CODES: &[(&str, u16, &str)] = &[
    ("invalid_json", 400, "the request body is not valid JSON for this endpoint"),
    ("invalid_request", 400, "a field is missing, empty, too long or of the wrong type"),
    ("empty_name", 400, "the party name is empty after normalisation"),
    ("name_too_long", 400, "the party name exceeds the maximum length"),
    ("invalid_country", 400, "a country is not an ISO 3166-1 alpha-2 code"),
    ("invalid_party_type", 400, "type is not individual, entity, vessel or aircraft"),
    ("unknown_catalog_item", 400, "item.catalog is not an id of the rulebook's chip catalog"),
    ("invalid_date", 400, "a date is not of the form YYYY-MM-DD"),
    ("date_out_of_range", 400, "the date is outside the rulebook's valid range"),
    ("invalid_parameter", 400, "an item parameter is negative, zero where it must be positive, or not finite"),
    ("unknown_end_use", 400, "an end-use code is not defined in the rulebook"),
    ("batch_too_large", 413, "the batch holds more items than the server accepts"),
    ("not_found", 404, "the requested object does not exist"),
    ("no_snapshot", 503, "no restricted-party list snapshot is loaded"),
    ("invalid_entry", 400, "a ledger entry is not a JSON document RFC 8785 can canonicalise"),
    ("ledger_out_of_range", 400, "a ledger index or tree size is past the log, or a consistency proof runs from a larger size to a smaller"),
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
    ("storage_error", 500, "the database failed; nothing was stored"),
    ("internal", 500, "an unexpected server error"),
];

/// An API error with a stable code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
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
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("invalid_request", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new("internal", message.to_string())
    }
}

impl From<stackport_store::StoreError> for ApiError {
    fn from(e: stackport_store::StoreError) -> Self {
        match e {
            stackport_store::StoreError::NotFound(m) => Self::new("not_found", m),
            other => Self::new("storage_error", other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
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
            Err(rejection) => Err(ApiError::new("invalid_json", rejection.body_text())),
        }
    }
}
