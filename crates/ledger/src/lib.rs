//! Tamper-evident ledger of compliance decisions.
//!
//! Export-control records must be kept for years (15 CFR Part 762), and whoever relies on them
//! (a regulator, a lender, a partner government) must be able to check that no decision was
//! altered or quietly removed afterwards. This crate is the pure core of that guarantee, the
//! same construction Certificate Transparency and Go's checksum database use:
//!
//! - [`merkle`]: the RFC 6962 Merkle tree hash (SHA-256, leaf prefix `0x00`, node prefix
//!   `0x01`) and the inclusion and consistency proofs of RFC 9162 §2.1.3–2.1.4, produced from
//!   stored complete-subtree hashes ([`merkle::NodeId`]) and verified from nothing but a root.
//!   [`merkle::Frontier`] appends leaves and reports every subtree node it completes, which is
//!   what the store persists so that proofs never recompute the whole tree.
//! - [`note`]: C2SP signed notes with Ed25519 keys, with the key name, key ID and the
//!   `name+hexid+base64` verifier key encoding exactly as C2SP `signed-note.md` defines them.
//! - [`checkpoint`]: the C2SP `tlog-checkpoint` body (origin, size, root) inside a signed note.
//! - [`entry`]: RFC 8785 (JCS) canonical JSON, the byte form every leaf has, and [`Decision`],
//!   the typed record (type, time, inputs, outputs, rule and list versions) the server appends.
//!
//! No I/O here: the store (`stackport-store`) persists entries and node hashes, the server and
//! the CLI hold the signing key.

pub mod checkpoint;
pub mod entry;
mod error;
pub mod merkle;
pub mod note;

pub use checkpoint::Checkpoint;
pub use entry::{
    canonicalize, canonicalize_value, Actor, Decision, DecisionKind, DecisionVersions,
};
pub use error::LedgerError;
pub use merkle::{leaf_hash, node_hash, Frontier, Hash, NodeId};
pub use note::{Note, SignerKey, VerifierKey};
