//! Passwords and session tokens.
//!
//! Passwords are hashed with Argon2id at OWASP's recommended parameters
//! (m = 19 MiB, t = 2, p = 1: the `argon2` crate's defaults, pinned here so a
//! crate upgrade cannot weaken them silently). Session tokens are 256 random bits;
//! the database keeps only their SHA-256, so a leaked table opens no session.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// Our parameters: m = 19 MiB (19,456 one-KiB blocks), t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;

fn params() -> Result<Params, argon2::Error> {
    Params::new(MEMORY_KIB, 2, 1, None)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Argon2's 19 MiB of work memory, kept for the next hash instead of freed.
///
/// Each hash needs its blocks; allocated and freed per hash, they stayed
/// resident in the allocator's per-thread heaps (glibc kept 880 MiB after 128
/// sign-ups, docs/PERFORMANCE.md). At most one buffer per core is kept (the
/// async hashing below runs at most that many at once), so the server's
/// hashing memory is bounded by cores x 19 MiB. The blocks are overwritten by
/// every hash before they are read, so reuse leaks nothing between hashes.
static SPARE_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let spare = SPARE_MEMORY.lock().ok().and_then(|mut v| {
        v.iter()
            .position(|m| m.len() == blocks)
            .map(|i| v.swap_remove(i))
    });
    let mut memory = spare.unwrap_or_else(|| vec![Block::default(); blocks]);
    let out = f(&mut memory);
    if let Ok(mut v) = SPARE_MEMORY.lock()
        && v.len() < cores()
    {
        v.push(memory);
    }
    out
}

/// The machine's cores, read once (`available_parallelism` reads cgroup files).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
}

/// The raw Argon2 output of `password` with `salt` under the given
/// algorithm, version and parameters, in reused memory.
fn argon2_output(
    password: &[u8],
    salt: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: Params,
    out_len: usize,
) -> Option<Output> {
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    let mut buf = [0u8; Output::MAX_LENGTH];
    let out = buf.get_mut(..out_len)?;
    with_memory(blocks, |memory| {
        hasher.hash_password_into_with_memory(password, salt, out, memory)
    })
    .ok()?;
    Output::new(out).ok()
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`)
/// with a fresh 16-byte random salt. CPU-heavy (tens of milliseconds): call it
/// off the async runtime.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let params = params().map_err(|_| HashError)?;
    let salt_bytes: [u8; 16] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(|_| HashError)?;
    let out_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let param_string = ParamsString::try_from(&params).map_err(|_| HashError)?;
    let hash = argon2_output(
        password.as_bytes(),
        &salt_bytes,
        Algorithm::Argon2id,
        Version::V0x13,
        params,
        out_len,
    )
    .ok_or(HashError)?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: param_string,
        salt: Some(salt),
        hash: Some(hash),
    }
    .to_string())
}

/// Whether `password` matches the stored PHC hash (under the hash's own
/// algorithm, version and parameters). Any malformed hash is a no.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(stored.algorithm.as_str()),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    argon2_output(
        password.as_bytes(),
        salt.as_ref(),
        algorithm,
        version,
        params,
        expected.len(),
    )
    // `Output`'s equality is constant-time.
    .is_some_and(|computed| computed == *expected)
}

/// Argon2 takes 19 MiB per hash: a crowd of logins hashing at once would take
/// gigabytes. At most one hash per core runs at a time; the others wait here.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(cores()))
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

/// A time-limited TURN login for `account`, valid until `expires_at` (unix
/// seconds), in the scheme of coturn's `use-auth-secret` (the TURN REST API
/// draft): the username is `<expiry>:<account>` and the password is the
/// base64 of HMAC-SHA1 of the username under the secret both servers share.
/// The TURN server checks the signature and the expiry itself; medimeet never
/// stores these.
pub fn turn_credentials(secret: &str, account: i64, expires_at: i64) -> (String, String) {
    use hmac::{KeyInit, Mac};
    let username = format!("{expires_at}:{account}");
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let password = match hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(username.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    (username, password)
}

/// Why a webhook secret cannot sign.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a webhook secret is whsec_ followed by base64")]
pub struct BadWebhookSecret;

/// The `webhook-signature` of a delivery, by the Standard Webhooks scheme:
/// `v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the
/// key that the secret (`whsec_<base64>`) encodes.
pub fn webhook_signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, BadWebhookSecret> {
    use base64::engine::general_purpose::STANDARD;
    use hmac::{KeyInit, Mac};
    let key = secret.strip_prefix("whsec_").ok_or(BadWebhookSecret)?;
    let key = STANDARD.decode(key).map_err(|_| BadWebhookSecret)?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadWebhookSecret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A new webhook secret: `whsec_` and 24 random bytes in base64.
pub fn new_webhook_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A token that names `id` for one `purpose`, signed with `secret`
/// (`<id>.<base64url HMAC-SHA256>`): a link that acts without a login, such
/// as an email's unsubscribe link, and that nobody can forge for another id.
pub fn signed_token(secret: &str, purpose: &str, id: i64) -> String {
    format!("{id}.{}", token_signature(secret, purpose, id))
}

/// A stable pseudonym of `value` for logs: the first 16 hex digits of its
/// HMAC-SHA256 under `secret`. Without the secret it cannot be turned back
/// into the value, even for values as guessable as phone numbers.
pub fn pseudonym(secret: &str, value: &str) -> String {
    use hmac::{KeyInit, Mac};
    match hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(b"pseudonym:");
            mac.update(value.as_bytes());
            mac.finalize()
                .into_bytes()
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect()
        }
        Err(_) => String::new(),
    }
}

fn token_signature(secret: &str, purpose: &str, id: i64) -> String {
    use hmac::{KeyInit, Mac};
    match hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(format!("{purpose}:{id}").as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `text` signed for one `purpose` (`<text>.<base64url HMAC-SHA256>`); the
/// text must not contain a dot.
pub fn signed_text(secret: &str, purpose: &str, text: &str) -> String {
    format!("{text}.{}", text_signature(secret, purpose, text))
}

fn text_signature(secret: &str, purpose: &str, text: &str) -> String {
    use hmac::{KeyInit, Mac};
    match hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(format!("{purpose}:text:{text}").as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The text a [`signed_text`] signs, if its signature is right.
pub fn verify_signed_text<'a>(secret: &str, purpose: &str, token: &'a str) -> Option<&'a str> {
    let (text, sig) = token.split_once('.')?;
    (!text.is_empty() && same_secret(sig, &text_signature(secret, purpose, text))).then_some(text)
}

/// The id a [`signed_token`] names, if its signature is right.
pub fn verify_signed_token(secret: &str, purpose: &str, token: &str) -> Option<i64> {
    let (id, sig) = token.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    same_secret(sig, &token_signature(secret, purpose, id)).then_some(id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pseudonym_is_stable_keyed_and_hides_the_value() {
        let a = pseudonym("key one", "+12125550123");
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, pseudonym("key one", "+12125550123"));
        assert_ne!(a, pseudonym("key two", "+12125550123"));
        assert_ne!(a, pseudonym("key one", "+12125550124"));
        assert!(!a.contains("2125550123"));
    }

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
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let crate_hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap());
        // The crate's hash verifies here (stored hashes stay valid) ...
        let theirs = crate_hasher
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", &theirs));
        assert!(!verify_password("correct horse batterz", &theirs));
        // ... and ours verifies there.
        let ours = hash_password("correct horse battery").unwrap();
        assert!(
            crate_hasher
                .verify_password(b"correct horse battery", ours.as_str())
                .is_ok()
        );
        assert!(
            crate_hasher
                .verify_password(b"wrong", ours.as_str())
                .is_err()
        );
        // Other parameters (a weaker, older hash) are verified under their own.
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let old = weak.hash_password(b"older password").unwrap().to_string();
        assert!(verify_password("older password", &old));
        assert!(!verify_password("older passwore", &old));
        // Two hashes of one password differ (fresh salts).
        assert_ne!(ours, hash_password("correct horse battery").unwrap());
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

    #[test]
    fn turn_credentials_follow_coturns_rest_scheme() {
        // The expected password was computed outside Rust:
        // python3 -c "import hmac,hashlib,base64; print(base64.b64encode(
        //   hmac.new(b'north', b'1800000000:42', hashlib.sha1).digest()).decode())"
        let (user, pass) = turn_credentials("north", 42, 1_800_000_000);
        assert_eq!(user, "1800000000:42");
        assert_eq!(pass, "qJRbrLzbcuIHjfnOqwabMHPwxgs=");
        assert_ne!(turn_credentials("south", 42, 1_800_000_000).1, pass);
    }

    #[test]
    fn webhook_signatures_match_the_standard_webhooks_library() {
        // The expected value is the reference implementation's:
        // pip install standardwebhooks==1.0.0, then
        // Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(
        //   "msg_p5jXN8AQM9LWM0D4loKWxJek", <1614265330 UTC>, '{"test": 2432232314}')
        let sig = webhook_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(
            webhook_signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, b""),
            Err(BadWebhookSecret)
        );
        assert_eq!(
            webhook_signature("whsec_not base64!", "m", 1, b""),
            Err(BadWebhookSecret)
        );
        let s = new_webhook_secret();
        assert!(s.starts_with("whsec_") && webhook_signature(&s, "m", 1, b"x").is_ok());
        assert_ne!(s, new_webhook_secret());
    }

    #[test]
    fn signed_texts_cannot_be_forged_or_moved() {
        let t = signed_text("clinic secret", "anonymous-form", "nonce");
        assert_eq!(
            verify_signed_text("clinic secret", "anonymous-form", &t),
            Some("nonce")
        );
        let moved = t.replacen("nonce.", "other.", 1);
        assert_eq!(
            verify_signed_text("clinic secret", "anonymous-form", &moved),
            None
        );
        assert_eq!(verify_signed_text("clinic secret", "unsubscribe", &t), None);
        assert_eq!(
            verify_signed_text("other secret", "anonymous-form", &t),
            None
        );
        // A signed id is not a signed text of the same purpose.
        let id = signed_token("clinic secret", "anonymous-form", 42);
        assert_eq!(
            verify_signed_text("clinic secret", "anonymous-form", &id),
            None
        );
        for junk in ["", "nonce", "x.y", "nonce.", ".abc"] {
            assert_eq!(
                verify_signed_text("clinic secret", "anonymous-form", junk),
                None,
                "{junk}"
            );
        }
    }

    #[test]
    fn signed_tokens_name_their_id_and_cannot_be_forged() {
        let t = signed_token("clinic secret", "unsubscribe", 42);
        assert!(t.starts_with("42."));
        assert_eq!(
            verify_signed_token("clinic secret", "unsubscribe", &t),
            Some(42)
        );
        // Another id with the same signature, another purpose, another key.
        let forged = t.replacen("42.", "43.", 1);
        assert_eq!(
            verify_signed_token("clinic secret", "unsubscribe", &forged),
            None
        );
        assert_eq!(verify_signed_token("clinic secret", "reset", &t), None);
        assert_eq!(verify_signed_token("other secret", "unsubscribe", &t), None);
        for junk in ["", "42", "x.y", "42.", ".abc"] {
            assert_eq!(
                verify_signed_token("clinic secret", "unsubscribe", junk),
                None,
                "{junk}"
            );
        }
    }
}
