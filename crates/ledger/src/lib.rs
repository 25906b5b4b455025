//! Tamper-evident ledger of compliance decisions (issue: ledger).
//!
//! Pure: Merkle tree hashing, proofs and signed checkpoints; storage lives in `stackport-store`.
