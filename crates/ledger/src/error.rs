use crate::merkle::NodeId;

/// Everything that can be wrong with an entry, a proof, a note, a key or a checkpoint.
/// Each message names the value that failed and where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    /// The entry is not a JSON document RFC 8785 can canonicalise.
    #[error("invalid entry: {0}")]
    InvalidEntry(String),
    /// A proof was asked for a leaf the tree does not hold.
    #[error("leaf index {index} is past the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A proof was asked for a tree larger than the log.
    #[error("tree size {requested} is larger than the log's size {size}")]
    SizeOutOfRange { requested: u64, size: u64 },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("consistency proof from size {from} to size {to}: from must not exceed to")]
    BadRange { from: u64, to: u64 },
    /// A stored subtree hash that a proof needs is missing from the store.
    #[error("stored tree node {0} is missing")]
    MissingNode(NodeId),
    /// A proof did not lead to the expected root.
    #[error("proof does not verify: {0}")]
    ProofInvalid(String),
    /// A hash was not 32 bytes of hex or base64.
    #[error("invalid hash {value:?}: {reason}")]
    InvalidHash { value: String, reason: String },
    /// The text is not a C2SP signed note.
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    /// The note text is not a C2SP tlog checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// A signer or verifier key string is malformed.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// The note carries no valid signature by the expected key.
    #[error("signature: {0}")]
    Signature(String),
}
