//! Errors of the geometry and verdict layer (the protocol layer has its own).

/// What went wrong, and where.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum LocateError {
    #[error("latitude {lat} / longitude {lon} out of range (latitude -90..=90, longitude -180..=180, finite)")]
    Coordinate { lat: f64, lon: f64 },
    #[error("round-trip time {rtt_ms} ms is not usable: {why}")]
    Rtt { rtt_ms: f64, why: &'static str },
    #[error("tau_min {tau_min_ms} ms is not usable: must be finite and >= 0")]
    TauMin { tau_min_ms: f64 },
    #[error("unknown country code {0:?} (ISO 3166-1 alpha-2 or Natural Earth ADM0_A3)")]
    UnknownCountry(String),
    #[error("country code {0:?} is not two or three ASCII letters")]
    CountryCode(String),
    #[error("country shapes: {0}")]
    Shapes(String),
    #[error("duplicate landmark id {0:?}")]
    DuplicateLandmark(String),
    #[error("landmark index {0} out of range")]
    LandmarkIndex(usize),
    #[error("{file}:{line}: {message}")]
    Input {
        file: String,
        line: u64,
        message: String,
    },
}
