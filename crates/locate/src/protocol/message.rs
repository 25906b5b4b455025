//! The three signed messages of the timed exchange and their binary encodings.
//!
//! Every message starts with a 4-byte header: the magic `SP`, the protocol version
//! ([`VERSION`]) and the message kind. A version bump is how the encoding may ever change;
//! a decoder rejects versions it does not speak instead of guessing. The signature covers a
//! domain-separation tag followed by every byte before the signature, so a signature made for
//! one kind of message can never be taken for another (the tags differ), nor for another
//! version (the version byte is signed).
//!
//! ```text
//! challenge   = hdr(1) landmark chip nonce[32] issued_at_us:u64 seq:u64 sig
//! response    = hdr(2) chip landmark seq:u64 challenge_digest[32] sig
//! measurement = hdr(3) id[16] landmark chip rounds:u16 count:u16 min_rtt_ns:u64
//!               measured_at_us:u64 nonce_digest[32] rejections(7 × u16)
//!               best_challenge:u16-len best_response:u16-len sig
//! id          = len:u8 (1..=64 bytes of [A-Za-z0-9._:-])
//! sig         = algorithm:u8 bytes (64 for Ed25519, 96 for P-384)
//! ```
//!
//! `challenge_digest` is SHA-256 of the whole encoded challenge including the landmark's
//! signature: the chip's signature binds the nonce, the landmark, the chip, the time and the
//! sequence number at once. A measurement embeds the fastest round's challenge and response,
//! so whoever receives it (the registry) checks the chip's own signature, not only the
//! landmark's word.

use std::fmt;

use sha2::{Digest, Sha256};

use super::keys::{ChipSigner, KeyError, LandmarkKey, PublicKey, Signature};
use super::wire::{DecodeError, Reader, Writer};

/// The protocol version this build encodes and accepts.
pub const VERSION: u8 = 1;
/// The two magic bytes that open every message.
pub const MAGIC: [u8; 2] = *b"SP";
/// Domain-separation tags, one per message kind (signed before the message bytes).
pub const TAG_CHALLENGE: &[u8] = b"stackport/locate/challenge\0";
pub const TAG_RESPONSE: &[u8] = b"stackport/locate/response\0";
pub const TAG_MEASUREMENT: &[u8] = b"stackport/locate/measurement\0";

/// Wire codes of the message kinds.
pub const KIND_CHALLENGE: u8 = 1;
pub const KIND_RESPONSE: u8 = 2;
pub const KIND_MEASUREMENT: u8 = 3;

/// Longest identifier, in bytes.
pub const MAX_ID_LEN: usize = 64;

fn check_id(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(format!(
            "identifier must be 1..={MAX_ID_LEN} bytes, got {}",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(format!(
            "identifier {s:?} contains {c:?}; allowed: A-Z a-z 0-9 . _ : -"
        ));
    }
    Ok(())
}

macro_rules! ident_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier: 1 to 64 bytes of `A-Z a-z 0-9 . _ : -`.
            pub fn new(s: &str) -> Result<Self, String> {
                check_id(s)?;
                Ok(Self(s.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
                let raw = r.short_bytes(field)?;
                let s = std::str::from_utf8(raw).map_err(|_| r.invalid(field, "not UTF-8"))?;
                check_id(s).map_err(|e| r.invalid(field, e))?;
                Ok(Self(s.to_string()))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::new(s)
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

ident_type!(
    /// A landmark's identifier in the registry.
    LandmarkId
);
ident_type!(
    /// A chip's identifier in the registry (for NVIDIA parts, e.g. the GPU UUID).
    ChipId
);

/// A measurement's identifier: 16 random bytes, shown as 32 hex digits. Measurements are
/// stored idempotently by it, so a redelivered message (NATS at-least-once) is a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeasurementId(pub [u8; 16]);

impl MeasurementId {
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        Self(b)
    }
}

impl fmt::Display for MeasurementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

fn header(w: &mut Writer, kind: u8) {
    w.bytes(&MAGIC);
    w.u8(VERSION);
    w.u8(kind);
}

fn read_header(r: &mut Reader<'_>, kind: u8, name: &'static str) -> Result<(), DecodeError> {
    let magic = r.array::<2>("magic")?;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { found: magic });
    }
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    let k = r.u8("kind")?;
    if k != kind {
        return Err(DecodeError::WrongKind {
            expected: name,
            found: k,
        });
    }
    Ok(())
}

/// Why a well-formed message does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{what}: signature does not verify under the registered {algorithm} key")]
    BadSignature {
        what: &'static str,
        algorithm: &'static str,
    },
    #[error("response does not answer this challenge: {0}")]
    Mismatch(String),
    #[error("measurement is inconsistent: {0}")]
    Inconsistent(String),
}

fn alg_name(k: &PublicKey) -> &'static str {
    match k {
        PublicKey::Ed25519(_) => "Ed25519",
        PublicKey::P384(_) => "P-384",
    }
}

/// What a landmark asks a chip to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub landmark: LandmarkId,
    pub chip: ChipId,
    /// Fresh from the landmark's random source for every round (location.md §1.2 step 2).
    pub nonce: [u8; 32],
    /// Landmark wall clock, microseconds since the Unix epoch.
    pub issued_at_us: u64,
    /// Strictly increasing per landmark; the response must echo it.
    pub seq: u64,
}

/// A challenge with the landmark's signature and its exact encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChallenge {
    pub challenge: Challenge,
    pub signature: Signature,
    encoded: Vec<u8>,
}

impl Challenge {
    fn body(&self) -> Writer {
        let mut w =
            Writer::with_capacity(4 + 2 + self.landmark.0.len() + self.chip.0.len() + 32 + 16 + 97);
        header(&mut w, KIND_CHALLENGE);
        w.short_bytes(self.landmark.0.as_bytes());
        w.short_bytes(self.chip.0.as_bytes());
        w.bytes(&self.nonce);
        w.u64(self.issued_at_us);
        w.u64(self.seq);
        w
    }

    /// Signs with the landmark key.
    pub fn sign(self, key: &LandmarkKey) -> SignedChallenge {
        let mut w = self.body();
        let signature = key.0.sign(TAG_CHALLENGE, &w.buf);
        signature.write(&mut w);
        SignedChallenge {
            challenge: self,
            signature,
            encoded: w.buf,
        }
    }
}

impl SignedChallenge {
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// SHA-256 of the full encoding, which the chip's response signs.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.encoded).into()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, KIND_CHALLENGE, "challenge")?;
        let landmark = LandmarkId::read(&mut r, "landmark")?;
        let chip = ChipId::read(&mut r, "chip")?;
        let nonce = r.array::<32>("nonce")?;
        let issued_at_us = r.u64("issued_at_us")?;
        let seq = r.u64("seq")?;
        let signature = Signature::read(&mut r, "signature")?;
        r.finish()?;
        Ok(Self {
            challenge: Challenge {
                landmark,
                chip,
                nonce,
                issued_at_us,
                seq,
            },
            signature,
            encoded: bytes.to_vec(),
        })
    }

    fn signed_part(&self) -> &[u8] {
        &self.encoded[..self.encoded.len() - 1 - self.signature.as_bytes().len()]
    }

    /// Checks the landmark's signature.
    pub fn verify(&self, landmark_key: &PublicKey) -> Result<(), VerifyError> {
        if landmark_key.verify(TAG_CHALLENGE, self.signed_part(), &self.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                what: "challenge",
                algorithm: alg_name(landmark_key),
            })
        }
    }

    /// The chip's answer: signs the challenge digest under [`TAG_RESPONSE`].
    pub fn respond(&self, signer: &dyn ChipSigner) -> Result<SignedResponse, KeyError> {
        let mut w = Writer::with_capacity(
            4 + 2 + self.challenge.chip.0.len() + self.challenge.landmark.0.len() + 40 + 97,
        );
        header(&mut w, KIND_RESPONSE);
        w.short_bytes(self.challenge.chip.0.as_bytes());
        w.short_bytes(self.challenge.landmark.0.as_bytes());
        w.u64(self.challenge.seq);
        let digest = self.digest();
        w.bytes(&digest);
        let signature = signer.sign(TAG_RESPONSE, &w.buf)?;
        signature.write(&mut w);
        Ok(SignedResponse {
            chip: self.challenge.chip.clone(),
            landmark: self.challenge.landmark.clone(),
            seq: self.challenge.seq,
            challenge_digest: digest,
            signature,
            encoded: w.buf,
        })
    }
}

/// The chip's signed answer to one challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedResponse {
    pub chip: ChipId,
    pub landmark: LandmarkId,
    pub seq: u64,
    pub challenge_digest: [u8; 32],
    pub signature: Signature,
    encoded: Vec<u8>,
}

impl SignedResponse {
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, KIND_RESPONSE, "response")?;
        let chip = ChipId::read(&mut r, "chip")?;
        let landmark = LandmarkId::read(&mut r, "landmark")?;
        let seq = r.u64("seq")?;
        let challenge_digest = r.array::<32>("challenge_digest")?;
        let signature = Signature::read(&mut r, "signature")?;
        r.finish()?;
        Ok(Self {
            chip,
            landmark,
            seq,
            challenge_digest,
            signature,
            encoded: bytes.to_vec(),
        })
    }

    fn signed_part(&self) -> &[u8] {
        &self.encoded[..self.encoded.len() - 1 - self.signature.as_bytes().len()]
    }

    /// Checks that this answers the challenge whose digest is `challenge_digest` (addressed to
    /// this chip, from this landmark, with this sequence number) and that the chip signed it.
    pub fn verify_digest(
        &self,
        chip: &ChipId,
        landmark: &LandmarkId,
        seq: u64,
        challenge_digest: &[u8; 32],
        chip_key: &PublicKey,
    ) -> Result<(), VerifyError> {
        if &self.chip != chip || &self.landmark != landmark {
            return Err(VerifyError::Mismatch(format!(
                "response names chip {} and landmark {}, challenge was for chip {chip} from landmark {landmark}",
                self.chip, self.landmark
            )));
        }
        if self.seq != seq {
            return Err(VerifyError::Mismatch(format!(
                "response seq {} for challenge seq {seq}",
                self.seq
            )));
        }
        if &self.challenge_digest != challenge_digest {
            return Err(VerifyError::Mismatch("challenge digest differs".into()));
        }
        self.verify_signature(chip_key)
    }

    /// Only the chip's signature over the response (the part of [`Self::verify_digest`] that
    /// costs: one P-384 verification is ≈ 200 µs). A landmark that has matched the fields
    /// itself may run this off the round's path (see `LandmarkSession::on_response_deferred`).
    pub fn verify_signature(&self, chip_key: &PublicKey) -> Result<(), VerifyError> {
        if chip_key.verify(TAG_RESPONSE, self.signed_part(), &self.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                what: "response",
                algorithm: alg_name(chip_key),
            })
        }
    }

    /// [`Self::verify_digest`] against a full challenge.
    pub fn verify(
        &self,
        challenge: &SignedChallenge,
        chip_key: &PublicKey,
    ) -> Result<(), VerifyError> {
        let c = &challenge.challenge;
        self.verify_digest(&c.chip, &c.landmark, c.seq, &challenge.digest(), chip_key)
    }
}

/// Counts of responses a landmark rejected during one measurement (see
/// [`super::session::Rejection`]). Carried in the measurement so the registry sees spoofing
/// attempts, which the Chip Security Act §4(a)(2)(C) requires licensees to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejections {
    pub malformed: u16,
    pub misaddressed: u16,
    pub unsolicited: u16,
    pub forged: u16,
    pub replayed: u16,
    pub reordered: u16,
    pub late: u16,
}

impl Rejections {
    /// Responses that can only come from someone trying to fool the landmark.
    pub fn spoofing(&self) -> u32 {
        self.forged as u32
            + self.replayed as u32
            + self.unsolicited as u32
            + self.misaddressed as u32
    }
    pub fn total(&self) -> u32 {
        self.malformed as u32 + self.spoofing() + self.reordered as u32 + self.late as u32
    }
    fn fields(&self) -> [u16; 7] {
        [
            self.malformed,
            self.misaddressed,
            self.unsolicited,
            self.forged,
            self.replayed,
            self.reordered,
            self.late,
        ]
    }
}

/// A landmark's statement: "chip C answered `count` of my `rounds` challenges, the fastest
/// in `min_rtt_ns`". The minimum is what bounds distance (location.md §2.3 item 4: jitter is
/// one-sided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    pub id: MeasurementId,
    pub landmark: LandmarkId,
    pub chip: ChipId,
    pub rounds: u16,
    pub count: u16,
    pub min_rtt_ns: u64,
    pub measured_at_us: u64,
    /// SHA-256 over the nonces of every round, in order of issue.
    pub nonce_digest: [u8; 32],
    pub rejections: Rejections,
    /// The fastest round's challenge and the chip's response to it.
    pub best_challenge: SignedChallenge,
    pub best_response: SignedResponse,
}

/// A measurement with the landmark's signature and its exact encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMeasurement {
    pub measurement: Measurement,
    pub signature: Signature,
    encoded: Vec<u8>,
}

/// Why a measurement's content is implausible (checked after the signatures).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlausibilityError {
    #[error("min_rtt_ns is 0: no response can arrive in zero time")]
    ZeroRtt,
    #[error("min_rtt {rtt_ms} ms exceeds the {max_ms} ms ceiling (half the Earth's circumference at 2/3 c is about 200 ms RTT)")]
    AbsurdRtt { rtt_ms: f64, max_ms: f64 },
    #[error("count {count} is 0 or exceeds rounds {rounds}")]
    BadCount { count: u16, rounds: u16 },
    #[error("measured_at is {ahead_s} s in the future (allowed skew {skew_s} s)")]
    FromFuture { ahead_s: u64, skew_s: u64 },
    #[error("measurement is {age_s} s old (limit {max_age_s} s)")]
    TooOld { age_s: u64, max_age_s: u64 },
}

/// Largest RTT accepted from a landmark: beyond this a measurement carries no location
/// information and is a symptom of a bug or an attack.
pub const MAX_RTT_MS: f64 = 10_000.0;

impl Measurement {
    pub fn min_rtt_ms(&self) -> f64 {
        self.min_rtt_ns as f64 / 1e6
    }

    fn body(&self) -> Writer {
        let mut w = Writer::with_capacity(
            256 + self.best_challenge.encoded.len() + self.best_response.encoded.len(),
        );
        header(&mut w, KIND_MEASUREMENT);
        w.bytes(&self.id.0);
        w.short_bytes(self.landmark.0.as_bytes());
        w.short_bytes(self.chip.0.as_bytes());
        w.u16(self.rounds);
        w.u16(self.count);
        w.u64(self.min_rtt_ns);
        w.u64(self.measured_at_us);
        w.bytes(&self.nonce_digest);
        for v in self.rejections.fields() {
            w.u16(v);
        }
        w.long_bytes(&self.best_challenge.encoded);
        w.long_bytes(&self.best_response.encoded);
        w
    }

    pub fn sign(self, key: &LandmarkKey) -> SignedMeasurement {
        let mut w = self.body();
        let signature = key.0.sign(TAG_MEASUREMENT, &w.buf);
        signature.write(&mut w);
        SignedMeasurement {
            measurement: self,
            signature,
            encoded: w.buf,
        }
    }

    /// Content checks that need no key: RTT and count in range, time not in the future
    /// beyond `skew_s` and not older than `max_age_s`.
    pub fn check_plausible(
        &self,
        now_us: u64,
        skew_s: u64,
        max_age_s: u64,
    ) -> Result<(), PlausibilityError> {
        if self.min_rtt_ns == 0 {
            return Err(PlausibilityError::ZeroRtt);
        }
        if self.min_rtt_ms() > MAX_RTT_MS {
            return Err(PlausibilityError::AbsurdRtt {
                rtt_ms: self.min_rtt_ms(),
                max_ms: MAX_RTT_MS,
            });
        }
        if self.count == 0 || self.count > self.rounds {
            return Err(PlausibilityError::BadCount {
                count: self.count,
                rounds: self.rounds,
            });
        }
        if self.measured_at_us > now_us.saturating_add(skew_s.saturating_mul(1_000_000)) {
            return Err(PlausibilityError::FromFuture {
                ahead_s: (self.measured_at_us - now_us) / 1_000_000,
                skew_s,
            });
        }
        let age_s = now_us.saturating_sub(self.measured_at_us) / 1_000_000;
        if age_s > max_age_s {
            return Err(PlausibilityError::TooOld { age_s, max_age_s });
        }
        Ok(())
    }
}

impl SignedMeasurement {
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// Decodes and checks internal consistency: the embedded challenge and response belong
    /// to this landmark and chip, and the response answers that challenge (its digest).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, KIND_MEASUREMENT, "measurement")?;
        let id = MeasurementId(r.array::<16>("id")?);
        let landmark = LandmarkId::read(&mut r, "landmark")?;
        let chip = ChipId::read(&mut r, "chip")?;
        let rounds = r.u16("rounds")?;
        let count = r.u16("count")?;
        let min_rtt_ns = r.u64("min_rtt_ns")?;
        let measured_at_us = r.u64("measured_at_us")?;
        let nonce_digest = r.array::<32>("nonce_digest")?;
        let rejections = Rejections {
            malformed: r.u16("rejections.malformed")?,
            misaddressed: r.u16("rejections.misaddressed")?,
            unsolicited: r.u16("rejections.unsolicited")?,
            forged: r.u16("rejections.forged")?,
            replayed: r.u16("rejections.replayed")?,
            reordered: r.u16("rejections.reordered")?,
            late: r.u16("rejections.late")?,
        };
        let at = r.offset;
        let best_challenge =
            SignedChallenge::decode(r.long_bytes("best_challenge")?).map_err(|e| {
                DecodeError::Invalid {
                    field: "best_challenge",
                    offset: at,
                    reason: e.to_string(),
                }
            })?;
        let at = r.offset;
        let best_response =
            SignedResponse::decode(r.long_bytes("best_response")?).map_err(|e| {
                DecodeError::Invalid {
                    field: "best_response",
                    offset: at,
                    reason: e.to_string(),
                }
            })?;
        let signature = Signature::read(&mut r, "signature")?;
        r.finish()?;
        let c = &best_challenge.challenge;
        if c.landmark != landmark || c.chip != chip {
            return Err(DecodeError::Invalid {
                field: "best_challenge",
                offset: at,
                reason: "names another landmark or chip".into(),
            });
        }
        if best_response.chip != chip
            || best_response.landmark != landmark
            || best_response.seq != c.seq
        {
            return Err(DecodeError::Invalid {
                field: "best_response",
                offset: at,
                reason: "does not answer best_challenge".into(),
            });
        }
        Ok(Self {
            measurement: Measurement {
                id,
                landmark,
                chip,
                rounds,
                count,
                min_rtt_ns,
                measured_at_us,
                nonce_digest,
                rejections,
                best_challenge,
                best_response,
            },
            signature,
            encoded: bytes.to_vec(),
        })
    }

    fn signed_part(&self) -> &[u8] {
        &self.encoded[..self.encoded.len() - 1 - self.signature.as_bytes().len()]
    }

    /// Verifies every signature: the landmark's over the measurement and over the embedded
    /// challenge, and the chip's over the embedded response.
    pub fn verify(
        &self,
        landmark_key: &PublicKey,
        chip_key: &PublicKey,
    ) -> Result<(), VerifyError> {
        if !landmark_key.verify(TAG_MEASUREMENT, self.signed_part(), &self.signature) {
            return Err(VerifyError::BadSignature {
                what: "measurement",
                algorithm: alg_name(landmark_key),
            });
        }
        let m = &self.measurement;
        m.best_challenge.verify(landmark_key)?;
        m.best_response.verify(&m.best_challenge, chip_key)?;
        // The fastest round cannot be faster than the measurement claims, nor issued after it.
        if m.best_challenge.challenge.issued_at_us > m.measured_at_us {
            return Err(VerifyError::Inconsistent(
                "best challenge issued after the measurement time".into(),
            ));
        }
        Ok(())
    }
}

/// Any protocol message, for receivers that dispatch on the kind byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Challenge(SignedChallenge),
    Response(SignedResponse),
    Measurement(Box<SignedMeasurement>),
}

impl Message {
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.get(3) {
            Some(&KIND_CHALLENGE) => SignedChallenge::decode(bytes).map(Self::Challenge),
            Some(&KIND_RESPONSE) => SignedResponse::decode(bytes).map(Self::Response),
            Some(&KIND_MEASUREMENT) => {
                SignedMeasurement::decode(bytes).map(|m| Self::Measurement(Box::new(m)))
            }
            _ => {
                // Let the header reader produce the precise error (truncation, magic, version, kind).
                let mut r = Reader::new(bytes);
                read_header(&mut r, 0, "challenge, response or measurement")?;
                Err(DecodeError::WrongKind {
                    expected: "challenge, response or measurement",
                    found: 0,
                })
            }
        }
    }
}
