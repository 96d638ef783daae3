//! What a one-time code's message says (decision 0018): one subject and
//! one line, the same by email and by SMS, never more than the code and
//! how long it works (no link a phisher could copy).

use crate::domain::codes::Purpose;

/// What the owner of a number is told when someone tries to sign up with
/// it (decision 0027): no code, and what to do if it was them.
pub const SIGNUP_WARNING: &str = "Someone tried to create a medimeet account with this phone number, \
     which already has one. If it was you, log in, or reset your password if you forgot it. \
     If it was not you, ignore this message: nothing changed.";

/// The subject and the text of a code's message; with no code, the warning
/// to a number's owner that someone tried to sign up with it.
pub fn wording(purpose: Purpose, code: Option<&str>, minutes: i64) -> (String, String) {
    let Some(code) = code else {
        return (
            "Someone tried to sign up with your number at medimeet".to_owned(),
            SIGNUP_WARNING.to_owned(),
        );
    };
    let (subject, what) = match purpose {
        Purpose::PasswordReset => (
            "Your medimeet password reset code",
            "to set a new medimeet password",
        ),
        Purpose::PhoneChange => (
            "Your medimeet phone confirmation code",
            "to make this your phone number at medimeet",
        ),
        Purpose::SignUp => (
            "Your medimeet sign-up code",
            "to confirm this phone number for your new medimeet account",
        ),
    };
    (
        subject.to_owned(),
        format!(
            "{code} is your code {what}. It works for {minutes} minutes, once. \
             If you did not ask for it, ignore this message: nothing changes."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_carries_the_code_and_its_lifetime_and_no_link() {
        for p in [
            Purpose::PasswordReset,
            Purpose::PhoneChange,
            Purpose::SignUp,
        ] {
            let (subject, text) = wording(p, Some("042917"), 15);
            assert!(!subject.contains("042917"), "{subject}");
            assert!(text.starts_with("042917 is your code"), "{text}");
            assert!(text.contains("15 minutes"), "{text}");
            assert!(!text.contains("http"), "{text}");
        }
        assert_ne!(
            wording(Purpose::PasswordReset, Some("1"), 1).1,
            wording(Purpose::PhoneChange, Some("1"), 1).1
        );
    }

    #[test]
    fn the_sign_up_warning_carries_no_code_and_says_what_to_do() {
        let (subject, text) = wording(Purpose::SignUp, None, 15);
        assert!(subject.contains("sign up"), "{subject}");
        assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
        assert!(text.contains("log in"), "{text}");
        assert!(text.contains("reset your password"), "{text}");
        assert!(!text.contains("http"), "{text}");
    }
}
