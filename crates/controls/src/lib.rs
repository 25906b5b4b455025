//! Export-control rulebook and determination engine (issue: rulebook).
//!
//! Pure: no I/O beyond reading the rulebook files handed to it.
