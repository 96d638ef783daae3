//! Abuse limits (decision 0023): how many sign-ups, bookings and chat
//! messages one client address, or one account, may make in a period.
//!
//! A limit is "N per period". It is counted with the login throttle's
//! arithmetic ([`ThrottlePolicy::reserve`]): every attempt counts, whatever
//! its outcome (a booking refused because the slot was taken still probed the
//! schedule); the N-th attempt inside a period is let through and closes the
//! key for one period from then.

use super::throttle::{ThrottlePolicy, ThrottleState};
use std::fmt;
use std::str::FromStr;

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A new patient's registration.
    SignUp,
    /// Booking or moving a visit (through any face).
    Booking,
    /// A chat message in a visit room.
    Chat,
    /// A one-time code sent by SMS or email (a forgotten password, a new
    /// phone number): each costs money and reaches a person.
    CodeRequest,
}

impl Action {
    /// How the action is named to the person who met its limit.
    pub fn noun(self) -> &'static str {
        match self {
            Action::SignUp => "sign-ups",
            Action::Booking => "bookings",
            Action::Chat => "messages",
            Action::CodeRequest => "requests for a code",
        }
    }
}

/// "At most `count` in `per_secs` seconds", or no limit at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `None`: unlimited (`off`).
    pub count: Option<u32>,
    pub per_secs: i64,
}

impl RateLimit {
    pub const OFF: RateLimit = RateLimit {
        count: None,
        per_secs: 1,
    };

    pub const fn per_hour(count: u32) -> Self {
        RateLimit {
            count: Some(count),
            per_secs: 3600,
        }
    }

    pub const fn per_minute(count: u32) -> Self {
        RateLimit {
            count: Some(count),
            per_secs: 60,
        }
    }

    /// The throttle arithmetic for this limit; `None` when it is off.
    pub fn policy(self) -> Option<ThrottlePolicy> {
        let count = self.count?;
        Some(ThrottlePolicy {
            max_failures: i64::from(count),
            window_secs: self.per_secs,
            lockout_secs: self.per_secs,
        })
    }

    /// Whether one more fits, given how many were made in the last period
    /// (for counts kept elsewhere, such as the database's chat messages).
    pub fn allows(self, made_in_period: i64) -> bool {
        self.count.is_none_or(|c| made_in_period < i64::from(c))
    }

    /// Counts one attempt at `now` against `state`: the new state, or the
    /// seconds to wait when the key is closed. Off: always through, no state.
    pub fn admit(
        self,
        state: Option<ThrottleState>,
        now: i64,
    ) -> Result<Option<ThrottleState>, i64> {
        match self.policy() {
            None => Ok(None),
            Some(p) => p.reserve(state, now).map(Some),
        }
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(count) = self.count else {
            return f.write_str("off");
        };
        let (n, unit) = match self.per_secs {
            s if s % 86_400 == 0 => (s / 86_400, "d"),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "m"),
            s => (s, "s"),
        };
        if n == 1 {
            write!(f, "{count}/{unit}")
        } else {
            write!(f, "{count}/{n}{unit}")
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `off`, or `COUNT/PERIOD` where PERIOD is a unit (`s`, `m`, `h`, `d`)
    /// with an optional number before it: `10/h`, `20/m`, `100/15m`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(RateLimit::OFF);
        }
        let bad = || format!("`{s}` is no limit: write COUNT/PERIOD (10/h, 20/m, 100/15m) or off");
        let (count, period) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > 1_000_000 {
            return Err(format!(
                "`{s}`: the count must be 1 to 1000000 (or write off)"
            ));
        }
        let period = period.trim();
        let unit_at = period.len().checked_sub(1).ok_or_else(bad)?;
        let (n, unit) = period.split_at(unit_at);
        let n: i64 = if n.is_empty() {
            1
        } else {
            n.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let per_secs = n
            .checked_mul(unit_secs)
            .filter(|p| (1..=7 * 86_400).contains(p))
            .ok_or_else(|| format!("`{s}`: the period must be 1 second to 7 days"))?;
        Ok(RateLimit {
            count: Some(count),
            per_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits_parse_and_print() {
        for (text, count, per) in [
            ("10/h", 10, 3600),
            ("20/m", 20, 60),
            ("100/15m", 100, 900),
            ("5/30s", 5, 30),
            ("3/d", 3, 86_400),
            (" 7 / 2h ", 7, 7200),
        ] {
            let l: RateLimit = text.parse().unwrap();
            assert_eq!((l.count, l.per_secs), (Some(count), per), "{text}");
        }
        assert_eq!("OFF".parse::<RateLimit>().unwrap(), RateLimit::OFF);
        assert_eq!(RateLimit::per_hour(10).to_string(), "10/h");
        assert_eq!(
            "100/15m".parse::<RateLimit>().unwrap().to_string(),
            "100/15m"
        );
        assert_eq!(RateLimit::OFF.to_string(), "off");
        for bad in [
            "", "10", "/h", "0/h", "10/", "10/x", "10/0h", "10/8d", "-1/h", "1/-5m", "a/h",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_count_goes_through_then_the_key_waits_one_period() {
        let l = RateLimit::per_hour(3);
        let mut s = None;
        for _ in 0..3 {
            s = l.admit(s, 1000).unwrap();
        }
        assert_eq!(l.admit(s, 1000), Err(3600));
        assert_eq!(l.admit(s, 4599), Err(1));
        assert!(l.admit(s, 4600).is_ok());
    }

    #[test]
    fn a_count_kept_elsewhere_fits_below_the_limit() {
        let l = RateLimit::per_minute(20);
        assert!(l.allows(0));
        assert!(l.allows(19));
        assert!(!l.allows(20));
        assert!(RateLimit::OFF.allows(i64::MAX));
    }

    #[test]
    fn off_lets_everything_through() {
        for _ in 0..10_000 {
            assert_eq!(RateLimit::OFF.admit(None, 0), Ok(None));
        }
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_limit(count in 1u32..=1_000_000, per in 1i64..=604_800) {
            let l = RateLimit { count: Some(count), per_secs: per };
            prop_assert_eq!(l.to_string().parse::<RateLimit>(), Ok(l));
        }

        #[test]
        fn never_more_than_the_count_in_any_period(
            count in 1u32..20,
            per in 1i64..600,
            gaps in prop::collection::vec(0i64..60, 1..200),
        ) {
            // However attempts are spread, no window of `per` seconds lets
            // through more than `count` (the windows start at a let-through).
            let l = RateLimit { count: Some(count), per_secs: per };
            let mut s = None;
            let mut now = 0;
            let mut through: Vec<i64> = Vec::new();
            for g in gaps {
                now += g;
                if let Ok(next) = l.admit(s, now) {
                    s = next;
                    through.push(now);
                }
            }
            for (i, t) in through.iter().enumerate() {
                let inside = through[i..].iter().take_while(|u| **u < t + per).count();
                prop_assert!(inside <= 2 * count as usize, "{} in {}s from {}", inside, per, t);
            }
        }
    }
}
