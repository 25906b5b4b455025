//! C2SP tlog checkpoints (https://c2sp.org/tlog-checkpoint).
//!
//! The note text is the origin line (the log's identity), the tree size in decimal and the
//! root hash in base64, each on its own line, optionally followed by extension lines (which
//! the spec does not recommend and this log never writes). The log signs it as a signed note
//! whose key name is the origin. "A log MUST NOT sign any checkpoint which is inconsistent
//! with any checkpoint it previously signed": the service proves consistency with the last
//! signed checkpoint before it signs a new one.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::merkle::Hash;
use crate::note::{Note, SignerKey, VerifierKey};
use crate::LedgerError;

/// A tree head: which log, how many leaves, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        )
    }

    /// Parses the note text of a checkpoint.
    pub fn parse_body(text: &str) -> Result<Self, LedgerError> {
        let bad = |why: String| LedgerError::MalformedCheckpoint(why);
        let mut lines = text.split_terminator('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("line 1 (origin) is missing or empty".into()))?;
        let size_line = lines
            .next()
            .ok_or_else(|| bad("line 2 (tree size) is missing".into()))?;
        // Decimal without sign or leading zeros, so every size has exactly one encoding.
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(bad(format!(
                "line 2: tree size {size_line:?} is not a decimal number"
            )));
        }
        let size = size_line
            .parse::<u64>()
            .map_err(|e| bad(format!("line 2: tree size {size_line:?}: {e}")))?;
        let root_line = lines
            .next()
            .ok_or_else(|| bad("line 3 (root hash) is missing".into()))?;
        let raw = B64.decode(root_line).map_err(|e| {
            bad(format!(
                "line 3: root hash {root_line:?} is not base64: {e}"
            ))
        })?;
        let root = Hash::from_slice(&raw)
            .map_err(|e| bad(format!("line 3: root hash {root_line:?}: {e}")))?;
        if let Some((i, l)) = lines.enumerate().find(|(_, l)| l.is_empty()) {
            return Err(bad(format!("line {}: empty extension line {l:?}", i + 4)));
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// The signed note of this checkpoint. The key's name must be the origin.
    pub fn sign(&self, key: &SignerKey) -> Result<String, LedgerError> {
        if key.name() != self.origin {
            return Err(LedgerError::Signature(format!(
                "key {:?} may not sign checkpoints of origin {:?}",
                key.name(),
                self.origin
            )));
        }
        key.sign(&self.body())
    }

    /// Parses a signed checkpoint and checks its signature by `key`, whose name must be the origin.
    pub fn open(msg: &str, key: &VerifierKey) -> Result<Self, LedgerError> {
        let note = Note::open(msg, key)?;
        let cp = Self::parse_body(&note.text)?;
        if cp.origin != key.name() {
            return Err(LedgerError::MalformedCheckpoint(format!(
                "origin {:?} is not the key's log {:?}",
                cp.origin,
                key.name()
            )));
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips() {
        let cp = Checkpoint {
            origin: "stackport.example/ledger".into(),
            size: 12,
            root: Hash([7; 32]),
        };
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
        assert!(Checkpoint::parse_body("o\n012\nAAAA\n").is_err());
    }
}
