//! Dates of birth as a screening request gives them.
//!
//! The lists write dates of birth many ways (OFAC's SDN file `12 Jan 1960`, `circa 1960`,
//! `1960 to 1962`; the CSL `1960-01-12`), and requesters copy them from passports and forms. The
//! matcher uses the year only, so a query may give a year, a month and year, or a full date;
//! anything else is refused rather than stored and ignored, since a requester who typed a
//! date expects it to count.

/// A date of birth: the year, with the month and day when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

/// Earliest and latest birth years accepted.
pub const YEARS: std::ops::RangeInclusive<u16> = 1850..=2100;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Reads `1960`, `1960-01`, `1960-01-12`, `12 Jan 1960`, `12 January 1960`, `Jan 1960`,
/// `January 12, 1960` (case and surrounding spaces do not matter).
///
/// # Errors
///
/// A message naming what is wrong: the form, the month, a day the month does not have, or a
/// year outside [`YEARS`].
pub fn parse(s: &str) -> Result<BirthDate, String> {
    let t = s.trim();
    let words: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let date = match words.as_slice() {
        [one] if one.contains('-') => iso(one)?,
        [y] => BirthDate {
            year: year(y)?,
            month: None,
            day: None,
        },
        [m, y] => BirthDate {
            year: year(y)?,
            month: Some(month(m)?),
            day: None,
        },
        [d, m, y] if d.bytes().all(|b| b.is_ascii_digit()) => BirthDate {
            year: year(y)?,
            month: Some(month(m)?),
            day: Some(number(d, "day")?),
        },
        [m, d, y] => BirthDate {
            year: year(y)?,
            month: Some(month(m)?),
            day: Some(number(d, "day")?),
        },
        _ => return Err(form(t)),
    };
    check_day(date)?;
    Ok(date)
}

fn form(t: &str) -> String {
    format!("{t:?} is not a date of birth (give 1960, 1960-01, 1960-01-12 or 12 Jan 1960)")
}

fn iso(w: &str) -> Result<BirthDate, String> {
    let parts: Vec<&str> = w.split('-').collect();
    let (y, m, d) = match parts.as_slice() {
        [y, m] if m.len() == 2 => (y, m, None),
        [y, m, d] if m.len() == 2 && d.len() == 2 => (y, m, Some(d)),
        _ => return Err(form(w)),
    };
    if y.len() != 4 {
        return Err(form(w));
    }
    let month = number(m, "month")?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} of {w:?} is not 1 to 12"));
    }
    Ok(BirthDate {
        year: year(y)?,
        month: Some(month),
        day: d.map(|d| number(d, "day")).transpose()?,
    })
}

fn number(w: &str, what: &str) -> Result<u8, String> {
    if w.is_empty() || w.len() > 2 || !w.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {w:?} is not a number"));
    }
    w.parse()
        .map_err(|_| format!("{what} {w:?} is not a number"))
}

fn year(w: &str) -> Result<u16, String> {
    if w.len() != 4 || !w.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("year {w:?} is not four digits"));
    }
    let y: u16 = w
        .parse()
        .map_err(|_| format!("year {w:?} is not a number"))?;
    if !YEARS.contains(&y) {
        return Err(format!(
            "year {y} is outside {}..={}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(y)
}

fn month(w: &str) -> Result<u8, String> {
    let l = w.trim_end_matches('.').to_lowercase();
    if l.len() >= 3 {
        for (i, m) in MONTHS.iter().enumerate() {
            let full = [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ][i];
            if l == *m || l == full || (l == "sept" && i == 8) {
                return Ok(i as u8 + 1);
            }
        }
    }
    Err(format!("{w:?} is not a month"))
}

fn check_day(d: BirthDate) -> Result<(), String> {
    let (Some(m), Some(day)) = (d.month, d.day) else {
        return Ok(());
    };
    let leap =
        (d.year.is_multiple_of(4) && !d.year.is_multiple_of(100)) || d.year.is_multiple_of(400);
    let last = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > last {
        return Err(format!("{}-{m:02} has no day {day}", d.year));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (u16, Option<u8>, Option<u8>) {
        let d = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (d.year, d.month, d.day)
    }

    #[test]
    fn the_forms_requesters_write() {
        assert_eq!(ok("1960"), (1960, None, None));
        assert_eq!(ok(" 1960-01 "), (1960, Some(1), None));
        assert_eq!(ok("1960-01-12"), (1960, Some(1), Some(12)));
        assert_eq!(ok("12 Jan 1960"), (1960, Some(1), Some(12)));
        assert_eq!(ok("12 JANUARY 1960"), (1960, Some(1), Some(12)));
        assert_eq!(ok("Sept 1960"), (1960, Some(9), None));
        assert_eq!(ok("January 12, 1960"), (1960, Some(1), Some(12)));
        assert_eq!(ok("29 Feb 2000"), (2000, Some(2), Some(29)));
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        for (s, why) in [
            ("not-a-date", "not a date of birth"),
            ("", "not a date of birth"),
            ("1960-13-01", "month 13"),
            ("1960-02-30", "no day 30"),
            ("29 Feb 1900", "no day 29"),
            ("12 Foo 1960", "not a month"),
            ("60", "four digits"),
            ("1700", "outside"),
            ("1960-1-12", "not a date of birth"),
            ("12 Jan 1960 extra words", "not a date of birth"),
            ("İ 1960", "not a month"),
        ] {
            let e = parse(s).expect_err(s);
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
