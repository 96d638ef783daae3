//! The instants and dates medimeet reasons about: the years 1900 to 2199.
//!
//! jiff's range reaches from the year -9999 to 9999, and adding a day, a
//! notice or a visit's length to an instant near either end overflows (in
//! jiff, a panic for the `+` operator). Every instant and date that comes in
//! from outside is checked here before any arithmetic is done with it
//! (issue 13): well inside the range, no sum a rule makes can overflow.
//! Booking horizons, windows and notices are all at most years long.

use jiff::Timestamp;
use jiff::civil::Date;

/// The first instant in reach: 1900-01-01T00:00:00Z.
pub const EARLIEST: Timestamp = Timestamp::constant(-2_208_988_800, 0);
/// The first instant out of reach at the far end: 2200-01-01T00:00:00Z.
pub const END: Timestamp = Timestamp::constant(7_258_118_400, 0);

/// What a refused instant or date is told.
pub const OUT_OF_REACH: &str = "must be between the years 1900 and 2199";

/// Whether `t` is in reach.
pub fn instant(t: Timestamp) -> bool {
    (EARLIEST..END).contains(&t)
}

/// Whether `d` is in reach (its whole day, in any zone, is then computable).
pub fn date(d: Date) -> bool {
    (1900..=2199).contains(&d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::{SignedDuration, ToSpan};
    use proptest::prelude::*;

    #[test]
    fn the_bounds_are_the_years_named() {
        assert_eq!(EARLIEST.to_string(), "1900-01-01T00:00:00Z");
        assert_eq!(END.to_string(), "2200-01-01T00:00:00Z");
        assert!(instant(EARLIEST));
        assert!(!instant(END));
        assert!(instant(END - SignedDuration::from_nanos(1)));
        assert!(!instant(Timestamp::MAX) && !instant(Timestamp::MIN));
        assert!(date(jiff::civil::date(2199, 12, 31)));
        assert!(!date(jiff::civil::date(2200, 1, 1)));
        assert!(!date(jiff::civil::date(1899, 12, 31)));
    }

    proptest! {
        /// Anything in reach survives the largest sums the rules make (a
        /// horizon of two years, a week of notice, a day either side in any
        /// zone), and anything out of reach is refused.
        #[test]
        fn in_reach_means_no_overflow(secs in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second()) {
            let Ok(t) = Timestamp::from_second(secs) else { return Ok(()) };
            let year = t.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
            prop_assert_eq!(instant(t), (1900..2200).contains(&year));
            if instant(t) {
                prop_assert!(t.checked_add(SignedDuration::from_hours(24 * 800)).is_ok());
                prop_assert!(t.checked_sub(SignedDuration::from_hours(24 * 800)).is_ok());
                let z = t.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(-25)));
                prop_assert!(z.checked_add(2.days()).is_ok());
            }
        }
    }
}
