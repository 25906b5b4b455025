//! Password hashes for people's logins: argon2id (RFC 9106) with OWASP's minimum parameters
//! (19 MiB of memory, 2 iterations, 1 lane: Password Storage Cheat Sheet), stored as PHC
//! strings so that the parameters travel with each hash and can be raised later.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted (NIST SP 800-63B §5.1.1.2: at least 8 characters).
pub const MIN_LEN: usize = 12;
/// Longest password accepted: argon2 takes any length, but a bound keeps a login request from
/// costing more than it should.
pub const MAX_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least {MIN_LEN} characters")]
    TooShort,
    #[error("a password has at most {MAX_LEN} characters")]
    TooLong,
    #[error("the stored password hash is not a PHC string: {0}")]
    BadStoredHash(String),
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a new password (checking its length first).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hashing with valid parameters cannot fail")
        .to_string())
}

/// Whether `password` matches `stored` (a PHC string made by [`hash`], whatever its
/// parameters).
pub fn verify(password: &str, stored: &str) -> Result<bool, PasswordError> {
    if password.chars().count() > MAX_LEN {
        return Ok(false);
    }
    let parsed =
        PasswordHash::new(stored).map_err(|e| PasswordError::BadStoredHash(e.to_string()))?;
    Ok(hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify("correct horse battery", &h).unwrap());
        assert!(!verify("correct horse batterz", &h).unwrap());
        assert_ne!(hash("correct horse battery").unwrap(), h, "salted");
        assert!(verify("x", "not a phc string").is_err());
    }

    #[test]
    fn lengths_are_bounded() {
        assert_eq!(hash("short"), Err(PasswordError::TooShort));
        assert_eq!(hash(&"a".repeat(300)), Err(PasswordError::TooLong));
        // Twelve characters, some of them outside ASCII: counted as characters.
        assert!(hash("ŞİRKETİ-şifre").is_ok());
    }
}
