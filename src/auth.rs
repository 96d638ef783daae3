//! Passwords and session tokens.
//!
//! Passwords are hashed with Argon2id at OWASP's recommended parameters
//! (m = 19 MiB, t = 2, p = 1: the `argon2` crate's defaults, pinned here so a
//! crate upgrade cannot weaken them silently). Session tokens are 256 random bits;
//! the database keeps only their SHA-256, so a leaked table opens no session.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

fn argon2() -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(19 * 1024, 2, 1, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
/// CPU-heavy (tens of milliseconds): call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let hasher = argon2().map_err(|_| HashError)?;
    hasher
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// Whether `password` matches the stored PHC hash. Any malformed hash is a no.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match argon2() {
        Ok(a) => a.verify_password(password.as_bytes(), phc).is_ok(),
        Err(_) => false,
    }
}

/// Argon2 takes 19 MiB per hash: a crowd of logins hashing at once would take
/// gigabytes. At most one hash per core runs at a time; the others wait here.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        tokio::sync::Semaphore::new(cores)
    })
}

/// [`hash_password`] off the async runtime, at most one per core at a time.
pub async fn hash_password_async(password: String) -> Result<String, HashError> {
    let _permit = hashing_permits().acquire().await.map_err(|_| HashError)?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| HashError)?
}

/// [`verify_password`] off the async runtime, at most one per core at a time.
pub async fn verify_password_async(password: String, phc: String) -> bool {
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

/// A hash no password matches, verified against when a login is unknown so that
/// a wrong phone and a wrong password take the same time.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1dV3wZl8J3HbGJwE9Qv8yJm2hYwGkz1vQ3p0L0b3x4Q";

/// A fresh random token, URL-safe.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether two secrets (CSRF tokens) are equal, in time that does not depend on
/// where they first differ. An empty secret never matches.
pub fn same_secret(sent: &str, expected: &str) -> bool {
    let (a, b) = (sent.as_bytes(), expected.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A short fingerprint of a request body, for Idempotency-Key reuse checks.
pub fn fingerprint(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_is_well_formed_and_matches_nothing() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("", DUMMY_HASH));
        assert!(!verify_password("password123", DUMMY_HASH));
    }

    #[test]
    fn secrets_compare_equal_only_when_identical_and_non_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
