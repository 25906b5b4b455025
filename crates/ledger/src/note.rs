//! C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.
//!
//! A note is UTF-8 text of one or more newline-terminated lines, a blank line, then one
//! signature line per signer: `— <key name> <base64(key ID ‖ signature)>` (U+2014, a space).
//! The key ID is the first four bytes of `SHA-256(key name ‖ 0x0A ‖ signature type ‖ public
//! key)`, big-endian; the signature type of Ed25519 is `0x01`, and the Ed25519 signature is over
//! the note text including its final newline. A verifier key is written
//! `<name>+<8 lower-case hex digits of the key ID>+<base64(0x01 ‖ 32-byte public key)>`, and a
//! signer key (Go's `golang.org/x/mod/sumdb/note` encoding, which the spec's reference
//! implementation uses) `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 ‖ 32-byte seed)>`.
//!
//! Verification ignores signatures by keys it does not know (the spec requires that, so logs
//! can rotate keys and witnesses can add cosignatures) and fails if the expected key did not
//! sign, or signed something else.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::LedgerError;

/// Signature type byte of plain Ed25519 (C2SP signed-note, "Signature types").
pub const ALG_ED25519: u8 = 0x01;

/// The Go reference implementation refuses notes with more signatures than this; so do we,
/// to bound the work an adversarial note can cause.
const MAX_SIGNATURES: usize = 100;

/// Prefix of a signature line: U+2014 EM DASH and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[0..4]`, big-endian.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A key name must be non-empty and hold no Unicode white space and no `+` (signed-note,
/// "Signatures").
fn check_key_name(name: &str) -> Result<(), LedgerError> {
    if name.is_empty() {
        return Err(LedgerError::MalformedKey("key name is empty".into()));
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || *c == '+') {
        return Err(LedgerError::MalformedKey(format!(
            "key name {name:?} contains {c:?} (no spaces or '+' allowed)"
        )));
    }
    Ok(())
}

/// A public key that checks signatures of one name.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifierKey({})", self)
    }
}

impl VerifierKey {
    /// An Ed25519 verifier for `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, LedgerError> {
        check_key_name(name)?;
        let id = key_id(name, ALG_ED25519, key.as_bytes());
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// Parses `name+hexid+base64(0x01 ‖ key)`, checking that the ID matches the key.
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        let bad = |why: String| LedgerError::MalformedKey(format!("verifier key {s:?}: {why}"));
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(hexid), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+keyid+key".into()));
        };
        check_key_name(name)?;
        let id = parse_key_id(hexid).map_err(bad)?;
        let raw = B64
            .decode(data)
            .map_err(|e| bad(format!("key is not base64: {e}")))?;
        let (alg, key) = raw
            .split_first()
            .ok_or_else(|| bad("key is empty".into()))?;
        if *alg != ALG_ED25519 {
            return Err(bad(format!(
                "signature type 0x{alg:02x} is not Ed25519 (0x01)"
            )));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| {
            bad(format!(
                "Ed25519 public key has {} bytes, not 32",
                key.len()
            ))
        })?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|e| bad(format!("not an Ed25519 point: {e}")))?;
        let v = Self::new(name, key)?;
        if v.id != id {
            return Err(bad(format!(
                "key ID {hexid} does not match the key (expected {:08x})",
                v.id
            )));
        }
        Ok(v)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// Checks one raw signature over `text`.
    pub fn verify_raw(&self, text: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify(text, &sig).is_ok()
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

/// Exactly eight lower-case hex digits, as the encoder writes them.
fn parse_key_id(hexid: &str) -> Result<u32, String> {
    if hexid.len() != 8
        || !hexid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("key ID {hexid:?} is not 8 lower-case hex digits"));
    }
    u32::from_str_radix(hexid, 16).map_err(|e| e.to_string())
}

/// A private signing key with its name. Its `Debug` never shows the secret.
pub struct SignerKey {
    verifier: VerifierKey,
    key: SigningKey,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignerKey({}, secret redacted)", self.verifier)
    }
}

impl SignerKey {
    /// A fresh random Ed25519 key for `name`.
    pub fn generate(name: &str) -> Result<Self, LedgerError> {
        Self::from_seed(
            name,
            &SigningKey::generate(&mut rand::rngs::OsRng).to_bytes(),
        )
    }

    /// The key with the given 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, LedgerError> {
        let key = SigningKey::from_bytes(seed);
        Ok(Self {
            verifier: VerifierKey::new(name, key.verifying_key())?,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`.
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        // Never echo the secret in an error.
        let bad = |why: &str| LedgerError::MalformedKey(format!("signer key: {why}"));
        let rest = s
            .trim_end()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("does not start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hexid), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected PRIVATE+KEY+name+keyid+key"));
        };
        let id = parse_key_id(hexid).map_err(|e| bad(&e))?;
        let raw = B64.decode(data).map_err(|_| bad("key is not base64"))?;
        let (alg, seed) = raw.split_first().ok_or_else(|| bad("key is empty"))?;
        if *alg != ALG_ED25519 {
            return Err(bad("signature type is not Ed25519 (0x01)"));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("Ed25519 seed is not 32 bytes"))?;
        let k = Self::from_seed(name, &seed)?;
        if k.verifier.id != id {
            return Err(bad("key ID does not match the key"));
        }
        Ok(k)
    }

    /// The `PRIVATE+KEY+…` encoding. Secret: write it only to a file only its owner can read.
    pub fn to_secret_string(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.id,
            B64.encode(raw)
        )
    }

    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    /// Signs `text` as a note: the text, a blank line, one signature line.
    pub fn sign(&self, text: &str) -> Result<String, LedgerError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.verifier.id.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.verifier.name,
            B64.encode(blob)
        ))
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    pub signature: Vec<u8>,
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// Note text: non-empty, newline-terminated lines, no other control characters (so that
/// what is signed is what is displayed).
fn check_text(text: &str) -> Result<(), LedgerError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(LedgerError::MalformedNote(
            "note text must be non-empty and end with a newline".into(),
        ));
    }
    if let Some((line, _)) = text
        .split('\n')
        .enumerate()
        .find(|(_, l)| l.chars().any(|c| c.is_control()))
    {
        return Err(LedgerError::MalformedNote(format!(
            "note text line {} holds a control character",
            line + 1
        )));
    }
    Ok(())
}

impl Note {
    /// Splits a note into text and signature lines. Checks syntax only.
    pub fn parse(msg: &str) -> Result<Self, LedgerError> {
        let bad = |why: String| LedgerError::MalformedNote(why);
        if !msg.ends_with('\n') {
            return Err(bad("note does not end with a newline (truncated?)".into()));
        }
        // The text ends at the last blank line: signature lines contain no blank line.
        let split = msg
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line between text and signatures".into()))?;
        let text = &msg[..split + 1];
        check_text(text)?;
        let sig_block = &msg[split + 2..];
        let mut signatures = Vec::new();
        // Lines end at `\n` only: `str::lines` would also take `\r\n`, giving one note a second
        // encoding that still verifies (the Go reference refuses it too).
        for (i, line) in sig_block.split_terminator('\n').enumerate() {
            let lineno = text.lines().count() + 2 + i;
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad(format!("more than {MAX_SIGNATURES} signatures")));
            }
            let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
                bad(format!(
                    "line {lineno} is not a signature line (\"— name signature\")"
                ))
            })?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad(format!("line {lineno}: signature line has no signature")))?;
            check_key_name(name).map_err(|e| bad(format!("line {lineno}: {e}")))?;
            let blob = B64
                .decode(b64)
                .map_err(|e| bad(format!("line {lineno}: signature is not base64: {e}")))?;
            if blob.len() < 5 {
                return Err(bad(format!(
                    "line {lineno}: signature of {} bytes is too short",
                    blob.len()
                )));
            }
            signatures.push(NoteSignature {
                name: name.to_string(),
                key_id: u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]),
                signature: blob[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(bad("note has no signature lines".into()));
        }
        Ok(Self {
            text: text.to_string(),
            signatures,
        })
    }

    /// Parses `msg` and checks it carries a valid signature by `key`; returns the text.
    /// Signatures by other keys are ignored, as the spec requires.
    pub fn open(msg: &str, key: &VerifierKey) -> Result<Self, LedgerError> {
        let note = Self::parse(msg)?;
        let mut verified = false;
        for s in &note.signatures {
            if s.name != key.name || s.key_id != key.id {
                continue;
            }
            if !key.verify_raw(note.text.as_bytes(), &s.signature) {
                return Err(LedgerError::Signature(format!(
                    "invalid signature by key {}+{:08x}",
                    key.name, key.id
                )));
            }
            verified = true;
        }
        if !verified {
            let others: Vec<String> = note
                .signatures
                .iter()
                .map(|s| format!("{}+{:08x}", s.name, s.key_id))
                .collect();
            return Err(LedgerError::Signature(format!(
                "no signature by key {}+{:08x} (note is signed by {})",
                key.name,
                key.id,
                others.join(", ")
            )));
        }
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_round_trips_and_redacts() {
        let k = SignerKey::generate("stackport.example/ledger").unwrap();
        let again = SignerKey::parse(&k.to_secret_string()).unwrap();
        assert_eq!(again.verifier(), k.verifier());
        assert!(!format!("{k:?}").contains(&k.to_secret_string()));
        assert_eq!(
            VerifierKey::parse(&k.verifier().to_string()).unwrap(),
            *k.verifier()
        );
    }

    #[test]
    fn a_signature_line_ends_at_a_line_feed_only() {
        let k = SignerKey::generate("stackport.example/ledger").unwrap();
        let note = k.sign("text\n").unwrap();
        assert!(Note::open(&note, k.verifier()).is_ok());
        let crlf = format!("{}\r\n", note.trim_end_matches('\n'));
        let e = Note::parse(&crlf).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("base64"), "{e}");
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(SignerKey::generate("a b").is_err());
        assert!(SignerKey::generate("a+b").is_err());
        assert!(SignerKey::generate("").is_err());
    }
}
