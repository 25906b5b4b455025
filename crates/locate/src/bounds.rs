//! From round-trip time to distance.
//!
//! A signal in optical fibre travels at about 2/3 c (refractive index ≈ 1.5), the "baseline"
//! of CBG and the security bound of the reference notes (location.md §2.1). One way that is
//! 199,861.6 km/s; a round trip covers the distance twice, so each millisecond of **round-trip**
//! time allows at most 199,861.6 / 2 / 1000 = 99.93 km of one-way distance (location.md §0,
//! "Distance bound per ms of RTT at 2/3 c: 99.93 km"). The chip is therefore within
//!
//! ```text
//! r = 99.93 km/ms × (RTT − τ_min)
//! ```
//!
//! of the landmark, where τ_min is a *certified lower bound* of non-propagation delay (0 unless
//! a signed device certificate says otherwise, §2.4). A delay the chip or its host reports
//! about itself is never subtracted: the party being located would author its own proof
//! (§1.6, the `tinfoilsh/geo_public` prototype's mistake).

use crate::error::LocateError;

/// Speed of light in vacuum, km/s (exact by the SI definition of the metre).
pub const SPEED_OF_LIGHT_KM_PER_S: f64 = 299_792.458;
/// One-way distance per millisecond of round-trip time at 2/3 c: 99.9308 km.
pub const FIBRE_KM_PER_MS_RTT: f64 = SPEED_OF_LIGHT_KM_PER_S * (2.0 / 3.0) / 2.0 / 1000.0;
/// Longest round trip accepted as a measurement. Beyond ≈ 200 ms the 2/3 c disk already
/// covers the whole Earth (half the circumference is 20,015 km); a landmark that waited
/// longer than 10 s for a nonce signature has mis-recorded something, so such an input is
/// rejected as absurd rather than silently accepted.
pub const MAX_RTT_MS: f64 = 10_000.0;
/// Largest certified non-propagation delay accepted.
pub const MAX_TAU_MIN_MS: f64 = 1_000.0;

/// Checks one round-trip time (milliseconds): finite, positive, at most [`MAX_RTT_MS`].
/// Zero is rejected too: no physical exchange with a remote signer takes no time.
pub fn validate_rtt_ms(rtt_ms: f64) -> Result<f64, LocateError> {
    let why = if !rtt_ms.is_finite() {
        "not a finite number"
    } else if rtt_ms < 0.0 {
        "negative"
    } else if rtt_ms == 0.0 {
        "zero"
    } else if rtt_ms > MAX_RTT_MS {
        "absurdly large (more than 10,000 ms)"
    } else {
        return Ok(rtt_ms);
    };
    Err(LocateError::Rtt { rtt_ms, why })
}

/// Checks a certified minimum processing delay τ_min (milliseconds).
pub fn validate_tau_min_ms(tau_min_ms: f64) -> Result<f64, LocateError> {
    if tau_min_ms.is_finite() && (0.0..=MAX_TAU_MIN_MS).contains(&tau_min_ms) {
        Ok(tau_min_ms)
    } else {
        Err(LocateError::TauMin { tau_min_ms })
    }
}

/// Largest one-way distance (km) consistent with a round trip of `rtt_ms` when at least
/// `tau_min_ms` of it is certified non-propagation delay. A round trip shorter than τ_min
/// contradicts the certificate; the bound is then 0 km (the chip would have to sit on the
/// landmark), which the verdict turns into a contradiction unless it really does.
#[inline]
pub fn max_distance_km(rtt_ms: f64, tau_min_ms: f64) -> f64 {
    FIBRE_KM_PER_MS_RTT * (rtt_ms - tau_min_ms).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_matches_reference() {
        // location.md §0: 199,862 km/s one way, 99.93 km per ms of RTT.
        assert!((FIBRE_KM_PER_MS_RTT - 99.93).abs() < 0.001);
        assert!((max_distance_km(10.0, 0.0) - 999.308).abs() < 0.001);
        // τ_min shifts the bound by 99.93 km per ms (location.md §5).
        assert!((max_distance_km(10.0, 1.0) - 899.378).abs() < 0.001);
        assert_eq!(max_distance_km(1.0, 2.0), 0.0);
    }

    #[test]
    fn bad_rtts_are_rejected() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e7] {
            assert!(validate_rtt_ms(bad).is_err(), "{bad}");
        }
        assert_eq!(validate_rtt_ms(0.3), Ok(0.3));
        assert!(validate_tau_min_ms(-0.1).is_err());
    }
}
