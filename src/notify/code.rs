//! What a one-time code's message says (decision 0018): one subject and
//! one line, the same by email and by SMS, never more than the code and
//! how long it works (no link a phisher could copy).

use crate::domain::codes::Purpose;

/// The subject and the text of a code's message.
pub fn wording(purpose: Purpose, code: &str, minutes: i64) -> (String, String) {
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
            let (subject, text) = wording(p, "042917", 15);
            assert!(!subject.contains("042917"), "{subject}");
            assert!(text.starts_with("042917 is your code"), "{text}");
            assert!(text.contains("15 minutes"), "{text}");
            assert!(!text.contains("http"), "{text}");
        }
        assert_ne!(
            wording(Purpose::PasswordReset, "1", 1).1,
            wording(Purpose::PhoneChange, "1", 1).1
        );
    }
}
