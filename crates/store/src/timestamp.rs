//! The store's one time representation: integer microseconds since the Unix epoch, UTC, in a
//! 64-bit column on both backends (`INTEGER` on SQLite, `BIGINT` on PostgreSQL). Chips,
//! proposals, the ledger's checkpoints and screening all store times this way (migration
//! `0006_times_in_microseconds.sql` converted the text and `TIMESTAMPTZ` columns of the first
//! migrations and the milliseconds of proposals). Plain integers compare and sort the same on
//! both backends and round-trip exactly; these helpers are the only conversions.

use time::OffsetDateTime;

use crate::StoreError;

/// Now, in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    to_micros(OffsetDateTime::now_utc())
}

/// `t` in microseconds since the Unix epoch (nanoseconds truncated; saturating far outside
/// the years ±292,000 an `i64` of microseconds spans).
pub fn to_micros(t: OffsetDateTime) -> i64 {
    let us = t.unix_timestamp_nanos().div_euclid(1000);
    i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
}

/// The UTC time of a stored microsecond count; `column` names it in the error.
pub fn from_micros(column: &str, us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map_err(|e| {
        StoreError::Corrupt(format!(
            "{column} = {us} is not a time in microseconds: {e}"
        ))
    })
}

/// Now as a time, to the microsecond: what [`from_micros`] of [`now_micros`] gives back.
pub fn now() -> OffsetDateTime {
    from_micros("now", now_micros()).expect("now is a representable time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_to_the_microsecond() {
        let t = time::macros::datetime!(2024-02-29 23:59:59.123456789 UTC);
        let us = to_micros(t);
        assert_eq!(us, 1_709_251_199_123_456);
        assert_eq!(
            from_micros("t", us).unwrap(),
            time::macros::datetime!(2024-02-29 23:59:59.123456 UTC)
        );
        let before = time::macros::datetime!(1969-12-31 23:59:59.5 UTC);
        assert_eq!(to_micros(before), -500_000);
        assert_eq!(from_micros("t", -500_000).unwrap(), before);
        assert!(from_micros("t", i64::MAX).is_err());
        let n = now();
        assert_eq!(from_micros("t", to_micros(n)).unwrap(), n);
    }
}
