//! Keys and signatures: Ed25519 (RFC 8032) for the reference agent and the landmarks, and
//! ECDSA over NIST P-384 with SHA-384 (FIPS 186-5), the algorithm of NVIDIA's device identity
//! keys (SPDM 1.1, DSP0274 — see `shared/reference/location.md` §1.3).
//!
//! A chip signs through the [`ChipSigner`] trait, so that the software key of the reference
//! agent ([`ChipKey`], a PKCS#8 file) can be replaced by a key that never leaves a hardware
//! root of trust. Only the nonce-binding signature happens inside the timed window; device
//! evidence such as an SPDM certificate chain ([`DeviceEvidence`]) is collected and appraised
//! outside it (location.md §2.6 item 4), which is why it is a separate method.
//!
//! P-384 signatures are made and verified by AWS-LC (`aws-lc-rs`), whose P-384 arithmetic is
//! s2n-bignum's optimised, formally verified code: several times faster than the pure-Rust
//! `p384` crate, which matters because the chip signs inside the timed window and the
//! landmark verifies once per round. `p384` is kept for what is off the hot path: key files
//! (PKCS#8, SPKI PEM) and the SEC1 text form, so both stay byte-for-byte what they were.
//! Ed25519 signatures are made by `ed25519-dalek` and verified by AWS-LC under the strict rules
//! of `verify_strict` ([`ed25519_verify_strict`]), for the same reason: the registry is bound by
//! signature checks.

use std::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::Signer as _;

use aws_lc_rs::signature::{
    EcdsaKeyPair, ParsedPublicKey, ECDSA_P384_SHA384_FIXED, ECDSA_P384_SHA384_FIXED_SIGNING,
};

use super::wire::{DecodeError, Reader, Writer};

/// The signature algorithms the protocol carries; the byte is the wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032 §5.1), 64-byte signatures, verified strictly (no malleable forms).
    Ed25519 = 1,
    /// ECDSA P-384 with SHA-384, 96-byte fixed-size `r || s` signatures.
    EcdsaP384Sha384 = 2,
}

impl SignatureAlgorithm {
    pub fn code(self) -> u8 {
        self as u8
    }
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Ed25519),
            2 => Some(Self::EcdsaP384Sha384),
            _ => None,
        }
    }
    /// Length of a signature on the wire.
    pub fn signature_len(self) -> usize {
        match self {
            Self::Ed25519 => 64,
            Self::EcdsaP384Sha384 => 96,
        }
    }
    /// The prefix of the textual public-key form.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP384Sha384 => "p384",
        }
    }
}

/// Errors about keys: parsing key files and public keys, and signing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("public key {value:?}: {reason}")]
    BadPublicKey { value: String, reason: String },
    #[error("private key: {0}")]
    BadPrivateKey(String),
    #[error("signer failed: {0}")]
    Signer(String),
}

/// A signature as carried on the wire: the algorithm and its fixed-size bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    algorithm: SignatureAlgorithm,
    bytes: Vec<u8>,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature({:?}, {})",
            self.algorithm,
            hex::encode(&self.bytes)
        )
    }
}

impl Signature {
    /// Builds a signature from raw bytes, checking the length for the algorithm.
    pub fn from_parts(algorithm: SignatureAlgorithm, bytes: Vec<u8>) -> Result<Self, KeyError> {
        if bytes.len() != algorithm.signature_len() {
            return Err(KeyError::Signer(format!(
                "{:?} signature must be {} bytes, got {}",
                algorithm,
                algorithm.signature_len(),
                bytes.len()
            )));
        }
        Ok(Self { algorithm, bytes })
    }
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(self.algorithm.code());
        w.bytes(&self.bytes);
    }
    pub(crate) fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
        let code = r.u8(field)?;
        let algorithm = SignatureAlgorithm::from_code(code)
            .ok_or_else(|| r.invalid(field, format!("unknown signature algorithm code {code}")))?;
        let bytes = r.take(algorithm.signature_len(), field)?.to_vec();
        Ok(Self { algorithm, bytes })
    }
}

/// A public key of either algorithm. Textual form: `ed25519:<64 hex>` or
/// `p384:<98 hex>` (SEC1 compressed point); [`PublicKey::parse`] also accepts a PEM
/// `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7) of either algorithm.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P384(P384PublicKey),
}

/// A P-384 public key, parsed once: the point (RustCrypto `p384`, for the SEC1 and SPKI
/// encodings) and AWS-LC's parsed key, so that verifying a round's signature does not decode
/// and re-validate the point again.
#[derive(Clone)]
pub struct P384PublicKey {
    point: p384::PublicKey,
    parsed: ParsedPublicKey,
}

impl PartialEq for P384PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.point == other.point
    }
}

impl Eq for P384PublicKey {}

impl fmt::Debug for P384PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P384PublicKey({})", hex::encode(self.sec1_compressed()))
    }
}

impl P384PublicKey {
    /// Builds the key from a point RustCrypto has already validated (on the curve, not the
    /// identity). AWS-LC checks it again (`EC_KEY_check_key`); a disagreement is an error,
    /// never a key that verifies differently.
    fn from_point(point: p384::PublicKey) -> Result<Self, String> {
        let uncompressed =
            p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&point, false);
        let parsed = ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, uncompressed.as_bytes())
            .map_err(|e| format!("AWS-LC rejects the P-384 point: {e}"))?;
        Ok(Self { point, parsed })
    }

    /// The SEC1 compressed point (49 bytes), the textual form's payload.
    pub fn sec1_compressed(&self) -> Vec<u8> {
        p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&self.point, true)
            .as_bytes()
            .to_vec()
    }

    /// The same key for RustCrypto's verifier (tests compare the two implementations).
    #[cfg(test)]
    pub(crate) fn rustcrypto(&self) -> p384::ecdsa::VerifyingKey {
        p384::ecdsa::VerifyingKey::from(self.point)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ed25519(k) => write!(f, "ed25519:{}", hex::encode(k.as_bytes())),
            Self::P384(k) => write!(f, "p384:{}", hex::encode(k.sec1_compressed())),
        }
    }
}

impl std::str::FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

impl PublicKey {
    /// Parses the textual form or a PEM public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bad = |reason: &str| KeyError::BadPublicKey {
            value: text.chars().take(120).collect(),
            reason: reason.to_string(),
        };
        if text.starts_with("-----BEGIN PUBLIC KEY-----") {
            if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(text) {
                // The same enrolment check as the text form below: a PEM file is no excuse.
                if k.is_weak() {
                    return Err(bad("small-order Ed25519 key"));
                }
                return Ok(Self::Ed25519(k));
            }
            if let Ok(k) =
                <p384::PublicKey as p384::pkcs8::DecodePublicKey>::from_public_key_pem(text)
            {
                return P384PublicKey::from_point(k)
                    .map(Self::P384)
                    .map_err(|e| bad(&e));
            }
            return Err(bad(
                "PEM is neither an Ed25519 nor a P-384 SubjectPublicKeyInfo",
            ));
        }
        let (prefix, hex_part) = text
            .split_once(':')
            .ok_or_else(|| bad("expected `ed25519:<hex>` or `p384:<hex>`"))?;
        let raw = hex::decode(hex_part).map_err(|e| bad(&format!("not hex: {e}")))?;
        match prefix {
            "ed25519" => {
                let arr: [u8; 32] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
                let k = ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map_err(|e| bad(&format!("not a curve point: {e}")))?;
                // A weak (small-order) key would verify forged signatures; RFC 8032 leaves this
                // to the application, so it is rejected at enrolment.
                if k.is_weak() {
                    return Err(bad("small-order Ed25519 key"));
                }
                Ok(Self::Ed25519(k))
            }
            "p384" => {
                let point = p384::PublicKey::from_sec1_bytes(&raw)
                    .map_err(|_| bad("not a SEC1-encoded P-384 point"))?;
                P384PublicKey::from_point(point)
                    .map(Self::P384)
                    .map_err(|e| bad(&e))
            }
            _ => Err(bad("unknown algorithm prefix (expected ed25519 or p384)")),
        }
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            Self::Ed25519(_) => SignatureAlgorithm::Ed25519,
            Self::P384(_) => SignatureAlgorithm::EcdsaP384Sha384,
        }
    }

    /// PEM `SubjectPublicKeyInfo`.
    pub fn to_pem(&self) -> String {
        match self {
            Self::Ed25519(k) => k
                .to_public_key_pem(LineEnding::LF)
                .expect("Ed25519 SPKI encoding cannot fail"),
            Self::P384(k) => p384::pkcs8::EncodePublicKey::to_public_key_pem(
                &k.point,
                p384::pkcs8::LineEnding::LF,
            )
            .expect("P-384 SPKI encoding cannot fail"),
        }
    }

    /// Verifies `signature` over `domain_tag || message`. Fails on an algorithm mismatch.
    pub fn verify(&self, domain_tag: &[u8], message: &[u8], signature: &Signature) -> bool {
        let mut signed = Vec::with_capacity(domain_tag.len() + message.len());
        signed.extend_from_slice(domain_tag);
        signed.extend_from_slice(message);
        match self {
            Self::Ed25519(k) => {
                if signature.algorithm != SignatureAlgorithm::Ed25519 {
                    return false;
                }
                ed25519_verify_strict(k, &signed, &signature.bytes)
            }
            Self::P384(k) => {
                if signature.algorithm != SignatureAlgorithm::EcdsaP384Sha384 {
                    return false;
                }
                // AWS-LC's ECDSA_do_verify: r and s must lie in [1, n-1], then the usual
                // check (FIPS 186-5 §6.4.2) over SHA-384 of the message.
                k.parsed.verify_sig(&signed, &signature.bytes).is_ok()
            }
        }
    }
}

/// Ed25519 verification with the strict rules of `ed25519_dalek::VerifyingKey::verify_strict`,
/// computed by AWS-LC (`ED25519_verify`, s2n-bignum's x86-64 and Arm code), which is faster: the
/// registry checks three signatures per measurement and is bound by them.
///
/// What each side checks (RFC 8032 §5.1.7 and the strict profile of "Taming the many EdDSAs",
/// Chalkias et al., 2020): AWS-LC rejects `S ≥ L` and compares the encoding of `[S]B − [k]A`
/// with the signature's `R` byte for byte, so a non-canonical `R` never verifies; it accepts a
/// small-order `R`, which `verify_strict` refuses, so those are refused here first (only the
/// key's holder can make one, but one answer for every verifier is the point of the strict
/// form). A small-order key `A` is refused when the key is parsed ([`PublicKey::parse`]).
fn ed25519_verify_strict(
    key: &ed25519_dalek::VerifyingKey,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let Ok(signature) = <&[u8; 64]>::try_from(signature) else {
        return false;
    };
    if small_order_encodings()
        .iter()
        .any(|t| t[..] == signature[..32])
    {
        return false;
    }
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, key.as_bytes())
        .verify(message, signature)
        .is_ok()
}

/// The canonical encodings of the eight points of order dividing 8 (the only small-order
/// encodings AWS-LC's byte comparison could match, since it produces canonical ones).
fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    static ENCODINGS: std::sync::OnceLock<[[u8; 32]; 8]> = std::sync::OnceLock::new();
    ENCODINGS
        .get_or_init(|| curve25519_dalek::constants::EIGHT_TORSION.map(|p| p.compress().to_bytes()))
}

/// Evidence about the device that holds a chip key, gathered outside the timed exchange.
/// The reference agent has none; a GPU agent returns its SPDM certificate chain (DSP0274
/// GET_CERTIFICATE), which the registry appraises at enrolment, not per ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvidence {
    /// DER certificates, leaf first, from SPDM slot `slot`.
    SpdmCertificateChain { slot: u8, der_chain: Vec<Vec<u8>> },
}

/// The chip side of the timed exchange: something that signs with a key only the chip holds.
///
/// Implementations: [`ChipKey`] (a software key from a file, the reference agent); a hardware
/// root of trust (a GPU's SPDM responder) implements the same trait, returning its identity
/// key and evidence.
pub trait ChipSigner: Send + Sync {
    /// The public key the registry enrols.
    fn public_key(&self) -> PublicKey;
    /// Signs `domain_tag || message`. Called inside the timed window: it must be fast.
    fn sign(&self, domain_tag: &[u8], message: &[u8]) -> Result<Signature, KeyError>;
    /// Device evidence for enrolment; none for a software key.
    fn evidence(&self) -> Option<DeviceEvidence> {
        None
    }
}

/// A software secret key of either algorithm, stored as PKCS#8 PEM (RFC 5958).
#[derive(Clone)]
pub enum SecretKey {
    Ed25519(ed25519_dalek::SigningKey),
    P384(P384SecretKey),
}

/// A P-384 secret key: the scalar (RustCrypto `p384`, for the PKCS#8 file) and AWS-LC's key
/// pair, which signs.
#[derive(Clone)]
pub struct P384SecretKey {
    secret: p384::SecretKey,
    pair: EcdsaKeyPair,
    public: P384PublicKey,
}

impl fmt::Debug for P384SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secret material.
        write!(f, "P384SecretKey({:?})", self.public)
    }
}

impl P384SecretKey {
    fn new(secret: p384::SecretKey) -> Result<Self, KeyError> {
        let bad = |e: String| KeyError::BadPrivateKey(format!("P-384: {e}"));
        let point = secret.public_key();
        let uncompressed =
            p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&point, false);
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            &secret.to_bytes(),
            uncompressed.as_bytes(),
        )
        .map_err(|e| bad(format!("AWS-LC rejects the key: {e}")))?;
        let public = P384PublicKey::from_point(point).map_err(bad)?;
        Ok(Self {
            secret,
            pair,
            public,
        })
    }

    /// ECDSA over SHA-384 of `message`, 96-byte `r || s`. AWS-LC draws the nonce from its
    /// DRBG mixed with the key and message (so a weak RNG does not leak the key); should it
    /// ever fail (it only does on an internal error), RustCrypto signs instead, with an
    /// RFC 6979 nonce. Either signature verifies under either implementation.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self.pair.sign(&rng, message) {
            Ok(sig) => sig.as_ref().to_vec(),
            Err(_) => {
                let k = p384::ecdsa::SigningKey::from(&self.secret);
                let sig: p384::ecdsa::Signature = p384::ecdsa::signature::Signer::sign(&k, message);
                sig.to_bytes().to_vec()
            }
        }
    }

    /// The same key for RustCrypto's signer (tests compare the two implementations).
    #[cfg(test)]
    pub(crate) fn rustcrypto(&self) -> p384::ecdsa::SigningKey {
        p384::ecdsa::SigningKey::from(&self.secret)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secret material.
        write!(f, "SecretKey({})", self.public_key())
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(algorithm: SignatureAlgorithm) -> Self {
        let mut rng = rand::rngs::OsRng;
        match algorithm {
            SignatureAlgorithm::Ed25519 => {
                Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng))
            }
            SignatureAlgorithm::EcdsaP384Sha384 => Self::P384(
                P384SecretKey::new(p384::SecretKey::random(&mut rng))
                    .expect("a fresh random P-384 scalar is a valid key"),
            ),
        }
    }

    /// Parses a PKCS#8 PEM private key of either algorithm.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self::Ed25519(k));
        }
        if let Ok(k) = <p384::SecretKey as p384::pkcs8::DecodePrivateKey>::from_pkcs8_pem(pem) {
            return P384SecretKey::new(k).map(Self::P384);
        }
        Err(KeyError::BadPrivateKey(
            "not a PKCS#8 PEM Ed25519 or P-384 private key".into(),
        ))
    }

    /// PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> String {
        match self {
            Self::Ed25519(k) => k
                .to_pkcs8_pem(LineEnding::LF)
                .expect("Ed25519 PKCS#8 encoding cannot fail")
                .to_string(),
            Self::P384(k) => {
                p384::pkcs8::EncodePrivateKey::to_pkcs8_pem(&k.secret, p384::pkcs8::LineEnding::LF)
                    .expect("P-384 PKCS#8 encoding cannot fail")
                    .to_string()
            }
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            Self::P384(k) => PublicKey::P384(k.public.clone()),
        }
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.public_key().algorithm()
    }

    /// Signs `domain_tag || message`.
    pub fn sign(&self, domain_tag: &[u8], message: &[u8]) -> Signature {
        let mut signed = Vec::with_capacity(domain_tag.len() + message.len());
        signed.extend_from_slice(domain_tag);
        signed.extend_from_slice(message);
        match self {
            Self::Ed25519(k) => Signature {
                algorithm: SignatureAlgorithm::Ed25519,
                bytes: k.sign(&signed).to_bytes().to_vec(),
            },
            Self::P384(k) => Signature {
                algorithm: SignatureAlgorithm::EcdsaP384Sha384,
                bytes: k.sign(&signed),
            },
        }
    }
}

/// The reference agent's chip key: a software key read from a file.
#[derive(Debug, Clone)]
pub struct ChipKey(pub SecretKey);

impl ChipSigner for ChipKey {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign(&self, domain_tag: &[u8], message: &[u8]) -> Result<Signature, KeyError> {
        Ok(self.0.sign(domain_tag, message))
    }
}

/// A landmark's signing key. Landmarks sign challenges and measurements; in production the key
/// sits in an HSM (IAPS brief: "HSM up to $20,000" per landmark), here in a file.
#[derive(Debug, Clone)]
pub struct LandmarkKey(pub SecretKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem_and_text() {
        for alg in [
            SignatureAlgorithm::Ed25519,
            SignatureAlgorithm::EcdsaP384Sha384,
        ] {
            let sk = SecretKey::generate(alg);
            let again = SecretKey::from_pkcs8_pem(&sk.to_pkcs8_pem()).expect("own PEM parses");
            assert_eq!(again.public_key(), sk.public_key());
            let pk = sk.public_key();
            assert_eq!(PublicKey::parse(&pk.to_string()).expect("text parses"), pk);
            assert_eq!(PublicKey::parse(&pk.to_pem()).expect("pem parses"), pk);
            let sig = sk.sign(b"tag", b"message");
            assert_eq!(sig.as_bytes().len(), alg.signature_len());
            assert!(pk.verify(b"tag", b"message", &sig));
            assert!(
                !pk.verify(b"other-tag", b"message", &sig),
                "domain tag must bind"
            );
            assert!(!pk.verify(b"tag", b"messagf", &sig));
        }
    }

    #[test]
    fn bad_public_keys_are_rejected_with_reason() {
        for bad in [
            "",
            "ed25519:zz",
            "ed25519:00",
            "rsa:00",
            "p384:0400",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert!(PublicKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        // The identity point has small order: a forger's favourite.
        let identity = format!("ed25519:01{}", "00".repeat(31));
        assert!(PublicKey::parse(&identity).is_err());
    }

    /// RFC 6979 §A.2.6 (P-384, SHA-384): key `x` signs "sample" and "test".
    const RFC6979_X: &str = "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5";
    const RFC6979_SAMPLE: &str = "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe4699ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8";
    const RFC6979_TEST: &str = "8203b63d3c853e8d77227fb377bcf7b7b772e97892a80f36ab775d509d7a5feb0542a7f0812998da8f1dd3ca3cf023dbddd0760448d42d8a43af45af836fce4de8be06b485e9b61b827c2f13173923e06a739f040649a667bf3b828246baa5a5";

    fn p384_sig(hex_sig: &str) -> Signature {
        Signature::from_parts(
            SignatureAlgorithm::EcdsaP384Sha384,
            hex::decode(hex_sig).expect("hex"),
        )
        .expect("96 bytes")
    }

    fn rfc6979_key() -> P384SecretKey {
        let x: [u8; 48] = hex::decode(RFC6979_X)
            .expect("hex")
            .try_into()
            .expect("48 bytes");
        P384SecretKey::new(p384::SecretKey::from_bytes(&x.into()).expect("scalar")).expect("key")
    }

    #[test]
    fn p384_verifies_rfc6979_vectors_and_rejects_every_flipped_bit() {
        let pk = PublicKey::P384(rfc6979_key().public);
        // The domain tag is prepended to the message, so an empty tag signs the bare message.
        for (msg, hex_sig) in [(&b"sample"[..], RFC6979_SAMPLE), (b"test", RFC6979_TEST)] {
            let sig = p384_sig(hex_sig);
            assert!(pk.verify(b"", msg, &sig), "RFC 6979 vector for {msg:?}");
            for bit in 0..96 * 8 {
                let mut bytes = sig.as_bytes().to_vec();
                bytes[bit / 8] ^= 1 << (bit % 8);
                let flipped = p384_sig(&hex::encode(&bytes));
                assert!(!pk.verify(b"", msg, &flipped), "bit {bit} flipped accepted");
            }
        }
        assert!(!pk.verify(b"", b"sample", &p384_sig(RFC6979_TEST)));
        // Out-of-range scalars: r = 0, s = 0, and r = n (FIPS 186-5 §6.4.2 step 1).
        let n = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
        let (r, s) = RFC6979_SAMPLE.split_at(96);
        for bad in [
            format!("{}{s}", "00".repeat(48)),
            format!("{r}{}", "00".repeat(48)),
            format!("{n}{s}"),
        ] {
            assert!(!pk.verify(b"", b"sample", &p384_sig(&bad)));
        }
    }

    #[test]
    fn p384_signatures_cross_between_aws_lc_and_rustcrypto() {
        use p384::ecdsa::signature::{Signer as _, Verifier as _};
        let sk = SecretKey::generate(SignatureAlgorithm::EcdsaP384Sha384);
        let SecretKey::P384(k) = &sk else {
            unreachable!("asked for P-384")
        };
        let pk = sk.public_key();
        // AWS-LC signs (randomised nonce), RustCrypto verifies.
        let ours = sk.sign(b"tag", b"message");
        let theirs = p384::ecdsa::Signature::from_slice(ours.as_bytes()).expect("r || s");
        assert!(k.public.rustcrypto().verify(b"tagmessage", &theirs).is_ok());
        assert!(k
            .public
            .rustcrypto()
            .verify(b"tagmessagf", &theirs)
            .is_err());
        // RustCrypto signs (RFC 6979 nonce), AWS-LC verifies; a flipped bit does not.
        let theirs: p384::ecdsa::Signature = k.rustcrypto().sign(b"tagmessage");
        let mut bytes = theirs.to_bytes().to_vec();
        let sig = Signature::from_parts(SignatureAlgorithm::EcdsaP384Sha384, bytes.clone())
            .expect("96 bytes");
        assert!(pk.verify(b"tag", b"message", &sig));
        bytes[95] ^= 0x80;
        let sig = Signature::from_parts(SignatureAlgorithm::EcdsaP384Sha384, bytes).expect("96");
        assert!(!pk.verify(b"tag", b"message", &sig));
        // Both implementations accept the other's high-s twin (n - s), as ECDSA allows: the
        // protocol's replay rules key on the sequence number, not the signature bytes.
        let (r, s) = theirs.split_scalars();
        let twin = p384::ecdsa::Signature::from_scalars(r, -s).expect("non-zero scalars");
        assert!(k.public.rustcrypto().verify(b"tagmessage", &twin).is_ok());
        let sig = Signature::from_parts(SignatureAlgorithm::EcdsaP384Sha384, twin.to_vec())
            .expect("96 bytes");
        assert!(pk.verify(b"tag", b"message", &sig));
    }

    #[test]
    fn p384_key_files_are_unchanged() {
        // The PKCS#8 file and the text form are RustCrypto's encodings, as before AWS-LC.
        let k = rfc6979_key();
        let sk = SecretKey::P384(k.clone());
        let pem = sk.to_pkcs8_pem();
        assert_eq!(
            pem,
            p384::pkcs8::EncodePrivateKey::to_pkcs8_pem(&k.secret, p384::pkcs8::LineEnding::LF)
                .expect("encodes")
                .to_string()
        );
        let text = sk.public_key().to_string();
        assert_eq!(text.len(), "p384:".len() + 98);
        // RFC 6979 §A.2.6: Ux; Uy is even, so the compressed prefix is 02.
        assert_eq!(
            text,
            "p384:02ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13"
        );
        let again = SecretKey::from_pkcs8_pem(&pem).expect("parses");
        assert_eq!(again.public_key(), sk.public_key());
    }

    #[test]
    fn cross_algorithm_signatures_fail() {
        let ed = SecretKey::generate(SignatureAlgorithm::Ed25519);
        let p = SecretKey::generate(SignatureAlgorithm::EcdsaP384Sha384);
        let sig = ed.sign(b"t", b"m");
        assert!(!p.public_key().verify(b"t", b"m", &sig));
    }

    /// The AWS-LC path answers exactly as `verify_strict` does: on valid signatures, on every
    /// single-bit change of signature, message or tag, and on signatures from another key.
    #[test]
    fn ed25519_over_aws_lc_agrees_with_verify_strict() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_2551);
        for round in 0..40 {
            let sk = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            let other = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            let len = rng.gen_range(0..300);
            let msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let sig = sk.sign(&msg).to_bytes();
            let vk = sk.verifying_key();
            let strict = |k: &ed25519_dalek::VerifyingKey, m: &[u8], s: &[u8; 64]| {
                k.verify_strict(m, &ed25519_dalek::Signature::from_bytes(s))
                    .is_ok()
            };
            assert!(ed25519_verify_strict(&vk, &msg, &sig), "round {round}");
            assert!(strict(&vk, &msg, &sig));
            let ovk = other.verifying_key();
            assert!(!ed25519_verify_strict(&ovk, &msg, &sig));
            for bit in 0..512 {
                let mut bad = sig;
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(
                    ed25519_verify_strict(&vk, &msg, &bad),
                    strict(&vk, &msg, &bad),
                    "round {round}, signature bit {bit}"
                );
            }
            if !msg.is_empty() {
                let mut m = msg.clone();
                let i = rng.gen_range(0..m.len());
                m[i] ^= 1 << rng.gen_range(0..8);
                assert!(!ed25519_verify_strict(&vk, &m, &sig));
            }
            // S + L: the same point equation, a non-canonical scalar: refused by both.
            let mut s_plus_l = sig;
            let s = curve25519_dalek::Scalar::from_canonical_bytes(sig[32..].try_into().unwrap())
                .unwrap();
            let wide = num_add_l(&s.to_bytes());
            if let Some(w) = wide {
                s_plus_l[32..].copy_from_slice(&w);
                assert!(!ed25519_verify_strict(&vk, &msg, &s_plus_l));
                assert!(!strict(&vk, &msg, &s_plus_l));
            }
        }
    }

    /// `S + L` as 32 little-endian bytes, when it still fits in 253 bits.
    fn num_add_l(s: &[u8; 32]) -> Option<[u8; 32]> {
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = s[i] as u16 + L[i] as u16 + carry;
            out[i] = v as u8;
            carry = v >> 8;
        }
        (carry == 0 && out[31] & 0xe0 == 0).then_some(out)
    }

    /// A signature whose `R` is the identity, made by the key's holder (`S = k·a`): the
    /// cofactorless equation holds, so AWS-LC alone accepts it; the strict form refuses it.
    #[test]
    fn a_small_order_r_is_refused_though_the_equation_holds() {
        use sha2::Digest as _;
        let sk = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let vk = sk.verifying_key();
        let msg = b"measurement";
        let r = curve25519_dalek::EdwardsPoint::default()
            .compress()
            .to_bytes();
        let mut h = sha2::Sha512::new();
        h.update(r);
        h.update(vk.as_bytes());
        h.update(msg);
        let k = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = k * sk.to_scalar();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s.to_bytes());
        let bare = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ED25519,
            vk.as_bytes(),
        );
        assert!(
            bare.verify(msg, &sig).is_ok(),
            "the equation holds: AWS-LC alone accepts it"
        );
        assert!(!ed25519_verify_strict(&vk, msg, &sig));
        assert!(vk
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_err());
        // The guard's list: eight distinct encodings, the identity among them.
        let list = small_order_encodings();
        assert!(list.contains(&r));
        let distinct: std::collections::HashSet<_> = list.iter().collect();
        assert_eq!(distinct.len(), 8);
    }

    #[test]
    fn a_small_order_key_is_refused_in_pem_as_in_text() {
        let identity = curve25519_dalek::EdwardsPoint::default()
            .compress()
            .to_bytes();
        let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).expect("decodes");
        let pem = weak.to_public_key_pem(LineEnding::LF).expect("pem");
        assert!(PublicKey::parse(&pem).is_err());
        assert!(PublicKey::parse(&format!("ed25519:{}", hex::encode(identity))).is_err());
    }
}
