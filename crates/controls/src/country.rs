//! Country codes (ISO 3166-1 alpha-2) and compact country sets.

use std::fmt;

/// An ISO 3166-1 alpha-2 code, upper case.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses two ASCII letters (either case). Whether the code is assigned is the rulebook's
    /// business ([`crate::Rulebook::country`]).
    pub fn parse(s: &str) -> Option<CountryCode> {
        let b = s.trim().as_bytes();
        if b.len() == 2 && b[0].is_ascii_alphabetic() && b[1].is_ascii_alphabetic() {
            Some(CountryCode([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
            ]))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).expect("ASCII letters")
    }

    /// Slot in a 26x26 table.
    pub(crate) fn slot(&self) -> usize {
        (self.0[0] - b'A') as usize * 26 + (self.0[1] - b'A') as usize
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Index of a country in the rulebook's country table.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Country(pub(crate) u8);

/// A set of countries as a 256-bit bitmap over rulebook indices.
#[derive(Copy, Clone, PartialEq, Eq, Default, Debug)]
pub struct CountrySet([u64; 4]);

impl CountrySet {
    pub const EMPTY: CountrySet = CountrySet([0; 4]);

    pub fn insert(&mut self, c: Country) {
        self.0[(c.0 >> 6) as usize] |= 1u64 << (c.0 & 63);
    }
    pub fn remove(&mut self, c: Country) {
        self.0[(c.0 >> 6) as usize] &= !(1u64 << (c.0 & 63));
    }
    #[inline]
    pub fn contains(&self, c: Country) -> bool {
        self.0[(c.0 >> 6) as usize] & (1u64 << (c.0 & 63)) != 0
    }
    pub fn union(&self, o: &CountrySet) -> CountrySet {
        CountrySet(std::array::from_fn(|i| self.0[i] | o.0[i]))
    }
    pub fn minus(&self, o: &CountrySet) -> CountrySet {
        CountrySet(std::array::from_fn(|i| self.0[i] & !o.0[i]))
    }
    pub fn intersect(&self, o: &CountrySet) -> CountrySet {
        CountrySet(std::array::from_fn(|i| self.0[i] & o.0[i]))
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    /// Members in index order.
    pub fn iter(&self) -> impl Iterator<Item = Country> + '_ {
        (0..=255u8).map(Country).filter(move |c| self.contains(*c))
    }
}
