//! The timed challenge–response protocol between landmarks and chips (location.md §1.2).
//!
//! 1. A landmark builds a [`Challenge`] (its id, the chip's id, a fresh 32-byte nonce, its
//!    clock, a sequence number), signs it, stamps the time and sends it.
//! 2. The chip checks it ([`AgentGuard`]) and signs its digest under a domain-separation tag
//!    with a key only it holds ([`ChipSigner`]), returning a [`SignedResponse`].
//! 3. The landmark stops the clock, classifies the response ([`LandmarkSession`]: replay,
//!    reorder, forgery, lateness) and, after N rounds, signs a [`Measurement`] of the minimum
//!    RTT, embedding the fastest round's challenge and response as evidence.
//! 4. The registry verifies every signature ([`SignedMeasurement::verify`]) and turns RTTs
//!    into distance bounds.
//!
//! Modules: [`message`] (encodings), [`keys`] (Ed25519, ECDSA P-384, the signer trait),
//! [`session`] (state machines). Every decoder returns [`DecodeError`] on any input; the
//! `fuzz/` targets and the proptests in this module hold them to it.

pub mod keys;
pub mod message;
pub mod session;
mod wire;

pub use keys::{
    ChipKey, ChipSigner, DeviceEvidence, KeyError, LandmarkKey, P384PublicKey, P384SecretKey,
    PublicKey, SecretKey, Signature, SignatureAlgorithm,
};
pub use message::{
    Challenge, ChipId, LandmarkId, Measurement, MeasurementId, Message, PlausibilityError,
    Rejections, SignedChallenge, SignedMeasurement, SignedResponse, VerifyError, MAX_RTT_MS,
    VERSION,
};
pub use session::{
    AgentGuard, LandmarkSession, PendingResponse, Precheck, Refusal, Rejection, ResponseOutcome,
    SessionConfig, SessionError, SettledResponse,
};
pub use wire::DecodeError;

#[cfg(test)]
mod tests;
