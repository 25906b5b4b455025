//! Chip location verification: signed, delay-based proofs (issue: locate).
//!
//! Pure: no sockets, no database.
