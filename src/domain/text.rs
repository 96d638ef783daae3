//! Text as people type it, made safe to keep and to show (issue 13, decision
//! 0025). Three rules, each in one place:
//!
//! - [`control_in`]: no input anywhere holds a control character (C0, DEL,
//!   C1) other than tab, line feed and carriage return. Every face (JSON API,
//!   page forms and queries, FHIR, the visit's WebSocket) refuses such input
//!   with this one function before any use case sees it; PostgreSQL cannot
//!   even store NUL in text.
//! - [`name`]: a person's name is one line in NFC with no invisible format
//!   characters (Unicode category Cf: zero-width spaces, bidirectional
//!   overrides), private-use or unassigned code points, so two people whose
//!   names look the same are stored the same.
//! - [`free_text`]: reasons, notes and chat keep their line breaks and tabs
//!   but lose bidirectional controls, which could make a text read
//!   differently from what it holds.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What a field holding a refused control character is told.
pub const CONTROL_MESSAGE: &str = "must not contain control characters";

/// Whether `c` is a control character no input may hold: every Unicode
/// control (category Cc: C0, DEL and C1) except tab, line feed and carriage
/// return, which a multi-line field may carry (single-line fields refuse
/// those too, in their own parsers).
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The first refused control character in `s`, if any.
pub fn control_in(s: &str) -> Option<char> {
    s.chars().find(|&c| is_refused_control(c))
}

/// The bidirectional controls: embeddings and overrides (U+202A..U+202E),
/// isolates (U+2066..U+2069), the left-to-right and right-to-left marks
/// (U+200E, U+200F) and the Arabic letter mark (U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Why `c` may not be part of a name, if it may not.
fn refused_in_name(c: char) -> Option<&'static str> {
    if c.is_control() {
        return Some(CONTROL_MESSAGE);
    }
    match c.general_category() {
        GeneralCategory::Format => Some(
            "must not contain invisible formatting characters (such as zero-width spaces or text-direction marks)",
        ),
        GeneralCategory::PrivateUse => Some("must not contain private-use characters"),
        GeneralCategory::Unassigned | GeneralCategory::Surrogate => {
            Some("must not contain unassigned characters")
        }
        // Line and paragraph separators: a name is one line.
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            Some(CONTROL_MESSAGE)
        }
        _ => None,
    }
}

/// A name as kept: trimmed, in NFC, 1 to `max_chars` characters, with no
/// control, format (Cf), private-use or unassigned character. The error is the
/// message for the field.
pub fn name(typed: &str, max_chars: usize) -> Result<String, String> {
    // Before trimming: a control character at either end (a vertical tab,
    // a form feed) is refused like one inside, not quietly trimmed away.
    if control_in(typed).is_some() {
        return Err(CONTROL_MESSAGE.to_owned());
    }
    let s: String = typed.trim().nfc().collect();
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if s.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if let Some(why) = s.chars().find_map(refused_in_name) {
        return Err(why.to_owned());
    }
    Ok(s)
}

/// Free text as kept (a reason, a note, a chat message): bidirectional
/// controls removed, then trimmed; refused when it holds another control
/// character than tab, line feed or carriage return. An empty result is
/// `Ok("")`: whether empty is allowed is the caller's rule.
pub fn free_text(typed: &str) -> Result<String, &'static str> {
    if control_in(typed).is_some() {
        return Err(CONTROL_MESSAGE);
    }
    let kept: String = typed.chars().filter(|&c| !is_bidi_control(c)).collect();
    Ok(kept.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_are_found_but_line_breaks_and_tabs_pass() {
        assert_eq!(control_in("a\0b"), Some('\0'));
        assert_eq!(control_in("bell\u{7}"), Some('\u{7}'));
        assert_eq!(control_in("del\u{7f}"), Some('\u{7f}'));
        assert_eq!(control_in("c1\u{85}"), Some('\u{85}'));
        assert_eq!(control_in("two\nlines\r\n\tindented"), None);
    }

    #[test]
    fn a_look_alike_name_is_refused() {
        assert!(name("Lena\u{200B} Fischer\u{202E}", 100).is_err());
        assert!(name("Lena\u{FEFF}", 100).is_err());
        assert!(name("Lena\u{E000}", 100).is_err());
        assert!(name("Lena\u{0378}", 100).is_err(), "unassigned");
        assert!(name("Lena\nFischer", 100).is_err());
        assert!(name("Lena\u{2028}Fischer", 100).is_err());
    }

    #[test]
    fn names_in_any_script_pass_and_are_composed() {
        assert_eq!(name(" Zoë ", 100), Ok("Zoë".to_owned()));
        // "e" + combining acute becomes the one character é.
        assert_eq!(name("Rene\u{301}e", 100), Ok("Ren\u{e9}e".to_owned()));
        for ok in [
            "محمد",
            "李",
            "Ōsaka-Müller",
            "O'Brien",
            "Nguyễn Văn",
            "श्रुति",
        ] {
            assert!(name(ok, 100).is_ok(), "{ok} refused");
        }
        assert_eq!(name("   ", 100), Err("must not be empty".to_owned()));
        assert_eq!(
            name(&"x".repeat(101), 100),
            Err("must be at most 100 characters".to_owned())
        );
    }

    #[test]
    fn free_text_loses_bidi_controls_and_keeps_lines() {
        assert_eq!(
            free_text("  pay \u{202E}0001\u{202C} now\nplease\t "),
            Ok("pay 0001 now\nplease".to_owned())
        );
        assert_eq!(free_text("\u{200F}"), Ok(String::new()));
        assert_eq!(free_text("a\0b"), Err(CONTROL_MESSAGE));
    }

    proptest! {
        #[test]
        fn any_name_with_a_format_character_is_refused(
            a in "\\PC{0,20}", b in "\\PC{0,20}", f in "\\p{Cf}",
        ) {
            let typed = format!("x{a}{f}{b}");
            prop_assert!(name(&typed, 100).is_err());
        }

        #[test]
        fn accepted_names_are_nfc_with_no_control_or_format(s in "\\PC{0,60}|.{0,60}") {
            if let Ok(n) = name(&s, 100) {
                prop_assert!(!n.chars().any(char::is_control));
                prop_assert!(!n.chars().any(|c| c.general_category() == GeneralCategory::Format));
                let again: String = n.nfc().collect();
                prop_assert_eq!(&again, &n);
                prop_assert_eq!(name(&n, 100), Ok(n.clone()));
            }
        }

        #[test]
        fn free_text_keeps_no_bidi_control_and_no_refused_control(s in ".{0,80}") {
            if let Ok(t) = free_text(&s) {
                prop_assert!(!t.chars().any(is_bidi_control));
                prop_assert!(control_in(&t).is_none());
                prop_assert_eq!(free_text(&t), Ok(t.clone()));
            }
        }

        #[test]
        fn any_text_with_a_c0_control_other_than_line_breaks_is_refused(
            a in ".{0,20}", c in 0u32..0x20, b in ".{0,20}",
        ) {
            let c = char::from_u32(c).unwrap_or('\0');
            prop_assume!(!matches!(c, '\t' | '\n' | '\r'));
            let s = format!("{a}{c}{b}");
            prop_assert!(control_in(&s).is_some());
            prop_assert!(free_text(&s).is_err());
            prop_assert!(name(&s, 100).is_err());
        }
    }
}
