//! Bearer credentials: API tokens (`spt_…`, for scripts, agents and landmarks) and session
//! secrets (`sps_…`, the cookie of a person's password login), each 256 random bits.
//!
//! Only a SHA-256 hash of a credential is ever stored ([`TokenHash`]); the credential itself is
//! shown once, when it is made. A fast hash is enough here, unlike for passwords: a 256-bit
//! random secret cannot be guessed from its hash by trying candidates (OWASP Secrets
//! Management Cheat Sheet; NIST SP 800-63B §5.1.1.2 asks for a slow hash only for memorised
//! secrets). Neither type prints its secret through `Debug`, so a credential cannot reach a log
//! by accident.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Random bytes in every credential: 256 bits.
pub const SECRET_BYTES: usize = 32;

const TOKEN_PREFIX: &str = "spt_";
const SESSION_PREFIX: &str = "sps_";
/// Length of the base64url text of [`SECRET_BYTES`] without padding.
const SECRET_TEXT_LEN: usize = 43;

/// The hash under which a credential is stored and looked up (hex SHA-256 of its text).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(secret_text: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret_text.as_bytes())))
    }
    /// A hash read back from the store.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Even the hash is shortened: enough to tell two apart in a trace.
        write!(f, "TokenHash({}…)", &self.0[..self.0.len().min(8)])
    }
}

/// Why a presented credential was not even looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedCredential {
    #[error("the credential does not start with {0:?}")]
    Prefix(&'static str),
    #[error("the credential is not {SECRET_TEXT_LEN} base64url characters after its prefix")]
    Body,
}

fn random_text() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn check(text: &str, prefix: &'static str) -> Result<(), MalformedCredential> {
    let body = text
        .strip_prefix(prefix)
        .ok_or(MalformedCredential::Prefix(prefix))?;
    if body.len() != SECRET_TEXT_LEN
        || URL_SAFE_NO_PAD
            .decode(body)
            .map_or(true, |b| b.len() != SECRET_BYTES)
    {
        return Err(MalformedCredential::Body);
    }
    Ok(())
}

/// An API token as presented or just made: `spt_` and 43 base64url characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A new random token (shown to its owner once, then only its hash is kept).
    pub fn generate() -> Self {
        Self(format!("{TOKEN_PREFIX}{}", random_text()))
    }
    /// A token as presented in `Authorization: Bearer …`; malformed ones are refused before
    /// any lookup.
    pub fn parse(text: &str) -> Result<Self, MalformedCredential> {
        check(text, TOKEN_PREFIX)?;
        Ok(Self(text.to_string()))
    }
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
    /// The secret itself: for the one response that hands it over, never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(…)")
    }
}

/// The secret of a login session, kept in the browser's cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub fn generate() -> Self {
        Self(format!("{SESSION_PREFIX}{}", random_text()))
    }
    pub fn parse(text: &str) -> Result<Self, MalformedCredential> {
        check(text, SESSION_PREFIX)?;
        Ok(Self(text.to_string()))
    }
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The session's CSRF token, which a state-changing request from the browser must echo in
    /// `X-CSRF-Token` (OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie"):
    /// derived from the secret, so nothing more is stored, and unknown to another site, which
    /// can make the browser send the cookie but cannot read it.
    pub fn csrf_token(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"stackport csrf v1\0");
        h.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(h.finalize())
    }
    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        let expected = self.csrf_token();
        expected.len() == presented.len()
            && expected
                .bytes()
                .zip(presented.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_and_round_trip() {
        let t = ApiToken::generate();
        assert!(t.expose().starts_with("spt_"));
        assert_eq!(t.expose().len(), 4 + 43);
        assert_eq!(ApiToken::parse(t.expose()).unwrap(), t);
        assert_ne!(ApiToken::generate(), t);
        assert_eq!(t.hash(), TokenHash::of(t.expose()));
        assert_eq!(t.hash().as_str().len(), 64);
    }

    #[test]
    fn malformed_credentials_are_refused_before_lookup() {
        let t = ApiToken::generate();
        for bad in [
            "",
            "spt_",
            "Bearer spt_x",
            &t.expose()[..t.expose().len() - 1],
            &format!("{}A", t.expose()),
            &t.expose().replace("spt_", "sps_"),
            &format!("spt_{}", "!".repeat(43)),
        ] {
            assert!(ApiToken::parse(bad).is_err(), "{bad:?}");
        }
        let s = SessionSecret::generate();
        assert!(ApiToken::parse(s.expose()).is_err());
        assert!(SessionSecret::parse(s.expose()).is_ok());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let t = ApiToken::generate();
        let s = SessionSecret::generate();
        for text in [
            format!("{t:?}"),
            format!("{s:?}"),
            format!("{:?}", t.hash()),
        ] {
            assert!(!text.contains(&t.expose()[4..12]), "{text}");
            assert!(!text.contains(&s.expose()[4..12]), "{text}");
        }
        assert!(!format!("{:?}", t.hash()).contains(t.hash().as_str()));
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let a = SessionSecret::generate();
        let b = SessionSecret::generate();
        assert!(a.csrf_matches(&a.csrf_token()));
        assert!(!a.csrf_matches(&b.csrf_token()));
        assert!(!a.csrf_matches(""));
        assert!(!a.csrf_matches(&a.csrf_token()[1..]));
        assert_ne!(a.csrf_token(), a.expose());
    }
}
