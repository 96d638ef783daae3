//! A second factor for staff: time-based one-time passwords (RFC 6238 over
//! RFC 4226's HOTP with HMAC-SHA-1, 6 digits, 30-second steps: what every
//! authenticator app speaks), single-use recovery codes, and the sealing of
//! the stored secret (decision 0019).
//!
//! Pure: the caller passes the time, the random bytes and the keys.

use hmac::{KeyInit, Mac};

/// Length of a step, seconds (RFC 6238's default, the one apps assume).
pub const STEP_SECS: i64 = 30;
/// Digits of a code (the apps' default).
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits: RFC 4226's recommendation for SHA-1).
pub const SECRET_BYTES: usize = 20;
/// Steps either side of now that still count (clock drift, typing time).
pub const WINDOW: i64 = 1;
/// How many recovery codes one enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// RFC 4226's HOTP: the `digits`-digit code for `counter`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        // HMAC takes a key of any length; this cannot happen.
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The step a unix time falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code of one step, zero-padded to [`DIGITS`].
pub fn code_at(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!(
        "{:0width$}",
        hotp(secret, counter, DIGITS),
        width = DIGITS as usize
    )
}

/// The step within [`WINDOW`] of `now` whose code `code` is, if any
/// (compared in constant time; the newest step first).
pub fn matching_step(secret: &[u8], code: &str, now_unix: i64) -> Option<i64> {
    let now = step_of(now_unix);
    (now - WINDOW..=now + WINDOW)
        .rev()
        .find(|&s| s >= 0 && crate::auth::same_secret(code, &code_at(secret, s)))
}

/// The secret as apps take it typed in: RFC 4648 base32, no padding.
pub fn encode_secret(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The base32 key back to bytes (spaces and case forgiven).
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(clean.as_bytes()).ok()
}

/// The `otpauth://` URI a QR code carries (Google Authenticator's key URI
/// format, which every app reads).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent(account),
        encode_secret(secret)
    )
}

fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What someone typed at the second step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Six digits: a code from the app.
    Code(String),
    /// A recovery code, normalized (upper case, no dashes or spaces).
    Recovery(String),
    /// Neither.
    Malformed,
}

/// Reads an answer: spaces and dashes are ignored, so "123 456" and
/// "abcd-efgh-ijkl-mnop" are both taken.
pub fn parse_answer(input: &str) -> Answer {
    let clean: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if clean.len() == DIGITS as usize && clean.bytes().all(|b| b.is_ascii_digit()) {
        return Answer::Code(clean);
    }
    let upper = clean.to_ascii_uppercase();
    if upper.len() == 16 && data_encoding::BASE32_NOPAD.decode(upper.as_bytes()).is_ok() {
        return Answer::Recovery(upper);
    }
    Answer::Malformed
}

/// A recovery code from 10 random bytes (80 bits): four groups of four
/// base32 letters and digits, `ABCD-EFGH-IJKL-MNOP`.
pub fn recovery_code(random: [u8; 10]) -> String {
    let plain = data_encoding::BASE32_NOPAD.encode(&random);
    plain
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The key that seals stored secrets, derived from the clinic's shared
/// secret (one purpose, one key).
pub fn seal_key(clinic_secret: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(clinic_secret.as_bytes()) {
        mac.update(b"medimeet/totp-secret-seal/v1");
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

const SEALED_PREFIX: &str = "v1.";

/// Seals a TOTP secret for storage: ChaCha20-Poly1305 under `key`, bound
/// to the account (a sealed secret copied to another account's row does not
/// open there). `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
pub fn seal(key: &[u8; 32], account: i64, nonce: [u8; 12], secret: &[u8]) -> Option<String> {
    use base64::Engine;
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).ok()?);
    let mut buf = secret.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(account.to_be_bytes()),
        &mut buf,
    )
    .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Some(format!(
        "{SEALED_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
    ))
}

/// Opens what [`seal`] made for this account; `None` if it was not (a
/// wrong key, another account, altered bytes).
pub fn open(key: &[u8; 32], account: i64, sealed: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sealed.strip_prefix(SEALED_PREFIX)?)
        .ok()?;
    if raw.len() < 12 {
        return None;
    }
    let (nonce, body) = raw.split_at(12);
    let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).ok()?);
    let mut buf = body.to_vec();
    let plain = k
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).ok()?,
            Aad::from(account.to_be_bytes()),
            &mut buf,
        )
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 appendix B's SHA-1 seed ("12345678901234567890").
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_sha1_test_vectors() {
        let vectors: [(i64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, want) in vectors {
            let step = u64::try_from(step_of(t)).unwrap();
            assert_eq!(format!("{:08}", hotp(RFC_SEED, step, 8)), want, "T = {t}");
        }
    }

    #[test]
    fn the_rfc_4226_hotp_test_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in want.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64, 6), want, "counter {counter}");
        }
    }

    #[test]
    fn one_step_either_side_matches_and_two_do_not() {
        let now = 1_700_000_000;
        let s = step_of(now);
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at(RFC_SEED, s + offset);
            let found = matching_step(RFC_SEED, &code, now);
            if ok {
                assert_eq!(found, Some(s + offset), "offset {offset}");
            } else {
                // A code of a far step may by chance equal one inside the window.
                assert!(
                    found.is_none_or(|f| (f - s).abs() <= WINDOW),
                    "offset {offset}"
                );
                assert_ne!(found, Some(s + offset), "offset {offset}");
            }
        }
        assert_eq!(matching_step(RFC_SEED, "12345", now), None);
        assert_eq!(matching_step(RFC_SEED, "", now), None);
    }

    #[test]
    fn the_key_and_uri_are_what_apps_read() {
        assert_eq!(encode_secret(RFC_SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            decode_secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").as_deref(),
            Some(RFC_SEED)
        );
        assert_eq!(
            otpauth_uri("medimeet", "dr who@x.example", RFC_SEED),
            "otpauth://totp/medimeet:dr%20who@x.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=medimeet&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn answers_are_read_forgivingly() {
        assert_eq!(parse_answer(" 123 456 "), Answer::Code("123456".into()));
        let code = recovery_code([7; 10]);
        assert_eq!(code.len(), 19);
        assert_eq!(
            parse_answer(&code.to_lowercase()),
            Answer::Recovery(code.replace('-', ""))
        );
        for bad in ["", "12345", "1234567", "abc", "ABCD-EFGH-IJKL-MNO1"] {
            assert_eq!(parse_answer(bad), Answer::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_account() {
        let key = seal_key("clinic secret");
        let sealed = seal(&key, 7, [1; 12], RFC_SEED).unwrap();
        assert!(!sealed.contains("GEZDGNBV"));
        assert_eq!(open(&key, 7, &sealed).as_deref(), Some(RFC_SEED));
        assert_eq!(open(&key, 8, &sealed), None, "another account");
        assert_eq!(open(&seal_key("other"), 7, &sealed), None, "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&key, 7, &String::from_utf8(tampered).unwrap()), None);
        assert_eq!(open(&key, 7, "v1."), None);
        assert_eq!(open(&key, 7, "plain"), None);
    }

    proptest! {
        #[test]
        fn a_code_always_matches_its_own_step(secret in proptest::collection::vec(any::<u8>(), 10..40), t in 0i64..4_000_000_000) {
            let code = code_at(&secret, step_of(t));
            prop_assert_eq!(code.len(), 6);
            prop_assert!(matching_step(&secret, &code, t).is_some());
        }

        #[test]
        fn recovery_codes_round_trip(bytes in any::<[u8; 10]>()) {
            let code = recovery_code(bytes);
            prop_assert_eq!(parse_answer(&code), Answer::Recovery(code.replace('-', "")));
        }
    }
}
