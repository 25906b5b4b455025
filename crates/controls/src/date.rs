//! Calendar days without a time zone: the EAR dates rules by day (effective date, compliance
//! date), so a `Day` is a proleptic Gregorian date stored as days since 1970-01-01.

use std::fmt;

/// One calendar day.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Day(i32);

impl Day {
    /// Builds a day from year, month and day of month; `None` when the date does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Days-from-civil (H. Hinnant's algorithm, public domain description).
        let y = if month <= 2 { year - 1 } else { year };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = month as i32;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Day(era * 146097 + doe - 719468))
    }

    /// Parses `YYYY-MM-DD` exactly.
    pub fn parse(s: &str) -> Option<Day> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let year = num(0..4)? as i32;
        Day::from_ymd(year, num(5..7)?, num(8..10)?)
    }

    /// Year, month, day.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    /// The next day.
    pub fn succ(self) -> Day {
        Day(self.0 + 1)
    }

    /// The previous day.
    pub fn pred(self) -> Day {
        Day(self.0 - 1)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_impossible_dates() {
        for s in [
            "2023-11-17",
            "2024-02-29",
            "1970-01-01",
            "2027-12-31",
            "2000-03-01",
        ] {
            assert_eq!(Day::parse(s).expect(s).to_string(), s);
        }
        for s in [
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "20231117",
            "2023-11-31",
            "abcd-ef-gh",
        ] {
            assert!(Day::parse(s).is_none(), "{s}");
        }
        let d = Day::parse("2024-02-28").unwrap();
        assert_eq!(d.succ().to_string(), "2024-02-29");
        assert_eq!(d.succ().succ().to_string(), "2024-03-01");
        assert_eq!(Day::parse("1970-01-01").unwrap(), Day(0));
    }
}
