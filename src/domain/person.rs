//! Validated values describing people: parse, don't validate.
//!
//! Each type can only be built through `parse`, so a value of the type is proof
//! the input was checked. Errors name the field so the API can say which one.

use super::ids::{AccountId, PatientId};
use jiff::Timestamp;
use jiff::civil::Date;
use std::fmt;
use std::str::FromStr;

/// A problem with one input field, shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Collects field errors so a form reports every mistake at once.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// Keeps the value if `result` is Ok, records the error otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: &str) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The region (an ISO 3166 code such as `US`) in which phone numbers written
/// without `+country code` are read: one the phone number library has
/// numbering data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(phonenumber::country::Id);

impl PhoneRegion {
    pub const US: Self = Self(phonenumber::country::Id::US);
}

impl FromStr for PhoneRegion {
    type Err = String;

    /// `us`, ` US ` and `US` are all `US`; an unknown code is refused.
    fn from_str(input: &str) -> Result<Self, String> {
        let code = input.trim().to_ascii_uppercase();
        phonenumber::country::Id::from_str(&code)
            .ok()
            .filter(|_| {
                phonenumber::metadata::DATABASE
                    .by_id(code.as_str())
                    .is_some()
            })
            .map(Self)
            .ok_or_else(|| {
                "not a region with phone numbers: expected an ISO 3166 code such as US, GB or DE"
                    .to_owned()
            })
    }
}

impl fmt::Display for PhoneRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// A phone number normalized to E.164 (`+15551234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number; numbers without a leading `+` are read in
    /// `default_region`.
    pub fn parse(input: &str, default_region: PhoneRegion) -> Result<Self, FieldError> {
        let input = input.trim();
        let bad = || FieldError::new("phone", "is not a valid phone number");
        if input.is_empty() {
            return Err(FieldError::new("phone", "is required"));
        }
        if input.len() > 40 {
            return Err(bad());
        }
        let region = if input.starts_with('+') {
            None
        } else {
            Some(default_region.0)
        };
        let number = phonenumber::parse(region, input).map_err(|_| bad())?;
        if !phonenumber::is_valid(&number) {
            return Err(bad());
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A lower-cased email address with one `@`, a dot in the domain and no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_lowercase();
        let bad = || FieldError::new(field, "is not a valid email address");
        if s.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's first or last name: trimmed, in NFC, 1 to 100 characters, with
/// no control, invisible format, private-use or unassigned character
/// ([`super::text::name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, input: &str) -> Result<Self, FieldError> {
        super::text::name(input, 100)
            .map(Self)
            .map_err(|why| FieldError::new(field, why))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A new password: 10 to 256 characters, not all blanks, not one character
/// repeated, and not easy to guess: zxcvbn's estimate (its lists of common
/// passwords, words, names and keyboard patterns) must put it at score 2 or
/// more, at least 10^6 guesses (decision 0025). Never logged, never stored in
/// clear.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// The lowest zxcvbn score accepted.
    pub const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Two;

    pub fn parse(field: &str, input: &str) -> Result<Self, FieldError> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > 256 {
            return Err(FieldError::new(field, "must be at most 256 characters"));
        }
        if input.chars().all(char::is_whitespace) {
            return Err(FieldError::new(field, "must not be only spaces"));
        }
        let mut chars = input.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err(FieldError::new(field, "must not be one character repeated"));
        }
        if let Some(why) = too_guessable(input) {
            return Err(FieldError::new(field, why));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Why zxcvbn finds `password` too easy to guess, in its own words, if it does.
fn too_guessable(password: &str) -> Option<String> {
    let estimate = zxcvbn::zxcvbn(password, &[]);
    if estimate.score() >= Password::MIN_SCORE {
        return None;
    }
    let mut why = "is too easy to guess".to_owned();
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            why.push_str(&format!(": {warning}"));
        } else {
            why.push('.');
        }
        for suggestion in feedback.suggestions() {
            why.push_str(&format!(" {suggestion}"));
        }
    } else {
        why.push('.');
    }
    Some(why)
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A date of birth: a real date, not in the future, not absurdly old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth(Date);

impl DateOfBirth {
    pub fn parse(input: &str, today: Date) -> Result<Self, FieldError> {
        let field = "date_of_birth";
        let date: Date = input
            .trim()
            .parse()
            .map_err(|_| FieldError::new(field, "must be a date written YYYY-MM-DD"))?;
        if date > today {
            return Err(FieldError::new(field, "must not be in the future"));
        }
        if date.year() < 1900 {
            return Err(FieldError::new(field, "must be after 1900"));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> Date {
        self.0
    }

    /// Age in whole years on `today`: derived, never stored, so it never goes stale.
    pub fn age_on(self, today: Date) -> i16 {
        let born = self.0;
        let mut age = today.year() - born.year();
        if (today.month(), today.day()) < (born.month(), born.day()) {
            age -= 1;
        }
        age
    }
}

/// A medical specialty label: trimmed, 2 to 60 characters.
pub fn parse_specialty(input: &str) -> Result<String, FieldError> {
    let s = input.trim();
    let n = s.chars().count();
    if !(2..=60).contains(&n) || s.chars().any(char::is_control) {
        return Err(FieldError::new("specialty", "must be 2 to 60 characters"));
    }
    Ok(s.to_owned())
}

/// Parses an amount of money written `50`, `50.5` or `50.00` into cents.
pub fn parse_fee(input: &str) -> Result<i64, FieldError> {
    let bad = || FieldError::new("fee", "must be an amount like 50.00");
    let s = input.trim();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac_cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    Ok(whole * 100 + frac_cents)
}

/// Formats cents as `50.00`.
pub fn format_fee(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A patient's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub id: PatientId,
    pub account_id: AccountId,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: Option<String>,
    pub date_of_birth: Date,
    /// Whether the clinic's email reaches the patient (their choice).
    pub notify_email: bool,
    /// Whether the clinic's text messages reach the patient (their choice).
    pub notify_sms: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn phones_are_normalized_to_e164() {
        assert_eq!(
            Phone::parse("+1 (202) 555-0143", PhoneRegion::US).map(|p| p.0),
            Ok("+12025550143".to_owned())
        );
        assert_eq!(
            Phone::parse("(202) 555-0143", PhoneRegion::US).map(|p| p.0),
            Ok("+12025550143".to_owned())
        );
        assert_eq!(
            Phone::parse("030 1234567", "DE".parse().unwrap()).map(|p| p.0),
            Ok("+49301234567".to_owned())
        );
    }

    #[test]
    fn phone_regions_are_iso_codes_with_numbering_data() {
        for (input, shown) in [("US", "US"), ("de", "DE"), (" gb ", "GB"), ("IN", "IN")] {
            assert_eq!(
                input.parse::<PhoneRegion>().map(|r| r.to_string()),
                Ok(shown.to_owned())
            );
        }
        // Not codes, or codes of no numbering plan (Antarctica, the EU).
        for bad in ["", "U", "USA", "XX", "AQ", "EU", "+1", "us-east"] {
            assert!(bad.parse::<PhoneRegion>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(PhoneRegion::US.to_string(), "US");
    }

    #[test]
    fn invalid_phones_are_refused() {
        for bad in ["", "hello", "+1 555", "12", "+999 1234567890"] {
            assert!(
                Phone::parse(bad, PhoneRegion::US).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse("email", " Dr.House@Clinic.Example ").map(|e| e.0),
            Ok("dr.house@clinic.example".to_owned())
        );
        for bad in ["", "a", "a@b", "@b.c", "a@b..c", "a b@c.d", "a@.b.c"] {
            assert!(Email::parse("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_must_not_be_empty() {
        assert_eq!(
            Name::parse("first_name", "  Ada ").map(|n| n.0),
            Ok("Ada".into())
        );
        assert_eq!(
            Name::parse("first_name", "   ").map_err(|e| e.field),
            Err("first_name".into())
        );
        assert!(Name::parse("last_name", &"x".repeat(101)).is_err());
    }

    #[test]
    fn common_passwords_are_refused_with_the_reason() {
        for common in [
            "1234567890",
            "password123",
            "qwertyuiop",
            "1q2w3e4r5t",
            "iloveyou12",
            "Password1!",
            "letmein123",
            "abcdefghij",
        ] {
            let err = Password::parse("password", common).err();
            let message = err.map(|e| e.message).unwrap_or_default();
            assert!(
                message.starts_with("is too easy to guess"),
                "{common}: {message:?}"
            );
        }
        let top = Password::parse("password", "password12")
            .err()
            .map(|e| e.message);
        assert!(
            top.as_deref()
                .is_some_and(|m| m.contains("common password")),
            "{top:?}"
        );
    }

    #[test]
    fn blank_and_repeated_passwords_are_refused() {
        assert_eq!(
            Password::parse("password", &" ".repeat(10))
                .err()
                .map(|e| e.message),
            Some("must not be only spaces".to_owned())
        );
        assert_eq!(
            Password::parse("password", "\t \u{a0}       ")
                .err()
                .map(|e| e.message),
            Some("must not be only spaces".to_owned())
        );
        assert_eq!(
            Password::parse("password", &"é".repeat(30))
                .err()
                .map(|e| e.message),
            Some("must not be one character repeated".to_owned())
        );
    }

    #[test]
    fn long_uncommon_passwords_pass_quickly() {
        for ok in [
            "correct horse battery",
            "Tr0ub4dor&3-staple",
            "violet-kettle-93-moss",
        ] {
            assert!(Password::parse("password", ok).is_ok(), "{ok} refused");
        }
        let start = std::time::Instant::now();
        let long: String = (0..256)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let _ = Password::parse("password", &long);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn short_passwords_are_refused_and_never_printed() {
        assert!(Password::parse("password", "123456789").is_err());
        let p = Password::parse("password", "correct horse staple").ok();
        assert_eq!(format!("{p:?}"), "Some(Password(<redacted>))");
    }

    #[test]
    fn birth_dates_must_be_past_and_real() {
        let today = date(2026, 11, 24);
        assert!(DateOfBirth::parse("1990-02-30", today).is_err());
        assert!(DateOfBirth::parse("2026-11-25", today).is_err());
        assert!(DateOfBirth::parse("24/11/1990", today).is_err());
        assert!(DateOfBirth::parse("2026-11-24", today).is_ok());
    }

    #[test]
    fn age_is_derived_from_the_birth_date() {
        let dob = DateOfBirth(date(1990, 11, 25));
        assert_eq!(dob.age_on(date(2026, 11, 24)), 35);
        assert_eq!(dob.age_on(date(2026, 11, 25)), 36);
    }

    #[test]
    fn fees_parse_to_cents() {
        assert_eq!(parse_fee("50"), Ok(5000));
        assert_eq!(parse_fee("50.5"), Ok(5050));
        assert_eq!(parse_fee("0.07"), Ok(7));
        for bad in ["", "-1", "1.234", "abc", "1,00", ".5"] {
            assert!(parse_fee(bad).is_err(), "{bad} accepted");
        }
    }

    proptest! {
        #[test]
        fn fee_formatting_round_trips(cents in 0i64..100_000_000_000) {
            prop_assert_eq!(parse_fee(&format_fee(cents)), Ok(cents));
        }

        #[test]
        fn name_parsing_never_keeps_outer_whitespace(s in "\\PC{0,120}") {
            if let Ok(n) = Name::parse("n", &s) {
                prop_assert_eq!(n.as_str().trim(), n.as_str());
                prop_assert!(!n.as_str().is_empty());
            }
        }
    }
}
