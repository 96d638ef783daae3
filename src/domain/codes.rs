//! One-time codes (decision 0018): what a code is for, how it is written and
//! typed, and whether a stored code still opens anything. Pure: the caller
//! passes the random number and `now`.

use super::person::FieldError;

/// What a code proves when it is typed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Whoever reads the account's phone or email may set a new password.
    PasswordReset,
    /// The patient reads the new phone number they gave.
    PhoneChange,
    /// A new patient reads the phone they sign up with (another issue).
    SignUp,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::PhoneChange => "phone_change",
            Purpose::SignUp => "signup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Purpose::PasswordReset,
            Purpose::PhoneChange,
            Purpose::SignUp,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// How many digits a code has.
pub const DIGITS: usize = 6;
/// How long a code works, in seconds.
pub const LIFETIME_SECS: i64 = 15 * 60;
/// Wrong tries one code survives; the next wrong one ends it.
pub const MAX_ATTEMPTS: i64 = 5;

/// A code as sent: `DIGITS` decimal digits from a random number (any
/// `u32`; the small bias of the modulo is one in four thousand).
pub fn format_code(random: u32) -> String {
    format!("{:0width$}", random % 1_000_000, width = DIGITS)
}

/// A code as a person typed it: spaces and dashes are ignored (people copy
/// "123 456"), anything else must be exactly `DIGITS` digits.
pub fn parse_code(field: &str, typed: &str) -> Result<String, FieldError> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(FieldError::new(
            field,
            format!("must be the {DIGITS}-digit code we sent"),
        ))
    }
}

/// A stored code's state, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub attempts: i64,
}

/// Whether a stored code may still be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Live,
    Used,
    Expired,
    /// Too many wrong tries.
    Exhausted,
}

/// The fate of `code` at `now`.
pub fn fate(code: Stored, now: i64) -> Fate {
    if code.used_at.is_some() {
        Fate::Used
    } else if now >= code.expires_at {
        Fate::Expired
    } else if code.attempts >= MAX_ATTEMPTS {
        Fate::Exhausted
    } else {
        Fate::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn purposes_round_trip() {
        for p in [
            Purpose::PasswordReset,
            Purpose::PhoneChange,
            Purpose::SignUp,
        ] {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::parse("reset"), None);
    }

    #[test]
    fn codes_are_six_digits_with_leading_zeros() {
        assert_eq!(format_code(0), "000000");
        assert_eq!(format_code(42), "000042");
        assert_eq!(format_code(1_000_000), "000000");
        assert_eq!(format_code(u32::MAX), "967295");
    }

    #[test]
    fn typed_codes_forgive_spaces_and_dashes_only() {
        assert_eq!(parse_code("code", " 123 456 ").unwrap(), "123456");
        assert_eq!(parse_code("code", "123-456").unwrap(), "123456");
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123.456"] {
            let e = parse_code("code", bad).unwrap_err();
            assert_eq!(e.field, "code", "{bad:?}");
        }
    }

    #[test]
    fn a_code_lives_until_used_expired_or_guessed_at_too_often() {
        let live = Stored {
            expires_at: 1000,
            used_at: None,
            attempts: 0,
        };
        assert_eq!(fate(live, 999), Fate::Live);
        assert_eq!(fate(live, 1000), Fate::Expired);
        assert_eq!(
            fate(
                Stored {
                    used_at: Some(10),
                    ..live
                },
                0
            ),
            Fate::Used
        );
        assert_eq!(
            fate(
                Stored {
                    attempts: MAX_ATTEMPTS - 1,
                    ..live
                },
                0
            ),
            Fate::Live
        );
        assert_eq!(
            fate(
                Stored {
                    attempts: MAX_ATTEMPTS,
                    ..live
                },
                0
            ),
            Fate::Exhausted
        );
    }

    proptest! {
        #[test]
        fn every_formatted_code_parses_back_to_itself(r in any::<u32>()) {
            let c = format_code(r);
            prop_assert_eq!(c.len(), DIGITS);
            prop_assert_eq!(parse_code("code", &c), Ok(c.clone()));
        }

        #[test]
        fn only_a_live_code_is_live(expires in 0i64..10_000, now in 0i64..10_000,
                                     used in proptest::option::of(0i64..10_000), attempts in 0i64..10) {
            let f = fate(Stored { expires_at: expires, used_at: used, attempts }, now);
            prop_assert_eq!(f == Fate::Live, used.is_none() && now < expires && attempts < MAX_ATTEMPTS);
        }
    }
}
