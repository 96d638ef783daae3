//! Which booked visits a change of a doctor's schedule affects (decision 0022).
//!
//! A change never moves or cancels a visit by itself: these rules only say
//! which future booked visits the person making the change must decide about
//! (keep them or cancel them). Pure: the caller passes the visits and `now`.
//!
//! - New weekly hours or date overrides: a visit is affected when its whole
//!   period no longer lies inside the working time the new hours give (the
//!   working intervals of the local dates around it, in the doctor's zone,
//!   touching intervals joined). The slot grid, visit length and buffer do
//!   not matter: a visit that still lies in working time stays valid.
//! - New time off: a visit is affected when it overlaps the time off.
//! - Deactivating the doctor: every future booked visit is affected.
//! - A new time zone: a visit is affected when the doctor's wall clock reads
//!   its start or its end differently in the new zone than in the old one
//!   (the zones' offsets differ at that instant); the visit's instant never
//!   changes, only its stored local date follows the new zone.

use super::{Availability, Period};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The working periods (instants) that `avail`'s weekly hours and overrides
/// give on the local dates `first..=last`, sorted, touching ones joined. Time
/// off is not taken out. A wall-clock time that does not exist (a DST gap)
/// maps to the instant after the gap.
pub fn working_periods(avail: &Availability, first: Date, last: Date) -> Vec<Period> {
    let tz = &avail.time_zone;
    let mut out: Vec<Period> = Vec::new();
    let mut day = first;
    while day <= last {
        let intervals: Vec<_> = match avail.overrides.iter().find(|o| o.date == day) {
            Some(o) => o.intervals.clone(),
            None => avail
                .weekly
                .iter()
                .filter(|w| w.weekday == day.weekday())
                .map(|w| w.interval)
                .collect(),
        };
        for iv in intervals {
            let at = |minute: u16| {
                let midnight = day.to_datetime(jiff::civil::Time::midnight());
                midnight
                    .checked_add(SignedDuration::from_mins(i64::from(minute)))
                    .ok()
                    .and_then(|dt| tz.to_ambiguous_timestamp(dt).compatible().ok())
            };
            if let (Some(s), Some(e)) = (at(iv.start().get()), at(iv.end().get()))
                && let Ok(p) = Period::new(s, e)
            {
                out.push(p);
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out.sort_unstable();
    let mut joined: Vec<Period> = Vec::with_capacity(out.len());
    for p in out {
        match joined.last_mut() {
            Some(last) if p.start <= last.end => last.end = last.end.max(p.end),
            _ => joined.push(p),
        }
    }
    joined
}

/// Whether the visit lies wholly inside the working time `avail` gives.
pub fn fits_hours(avail: &Availability, visit: &Period) -> bool {
    let tz = &avail.time_zone;
    let first = super::local_date(visit.start, tz);
    let last = super::local_date(visit.end, tz);
    let (Ok(first), Ok(last)) = (first.yesterday(), last.tomorrow()) else {
        return false;
    };
    working_periods(avail, first, last)
        .iter()
        .any(|w| w.start <= visit.start && visit.end <= w.end)
}

/// Whether the doctor's wall clock reads the visit differently in `new` than
/// in `old`.
pub fn wall_clock_changes(old: &TimeZone, new: &TimeZone, visit: &Period) -> bool {
    let differs = |t: Timestamp| old.to_offset(t) != new.to_offset(t);
    differs(visit.start) || differs(visit.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::{DateOverride, DayInterval, MinuteOfDay, WeeklyInterval};
    use jiff::civil::{Weekday, date};
    use proptest::prelude::*;

    fn iv(s: u16, e: u16) -> DayInterval {
        DayInterval::new(
            MinuteOfDay::new(s).unwrap_or(MinuteOfDay::new(0).unwrap()),
            MinuteOfDay::new(e).unwrap_or(MinuteOfDay::new(1440).unwrap()),
        )
        .unwrap()
    }

    fn avail(
        zone: &str,
        weekly: Vec<WeeklyInterval>,
        overrides: Vec<DateOverride>,
    ) -> Availability {
        Availability {
            time_zone: TimeZone::get(zone).unwrap(),
            weekly,
            overrides,
            time_off: Vec::new(),
            visit_minutes: 30,
            buffer_minutes: 0,
        }
    }

    fn visit(zone: &str, d: Date, h: i8, m: i8, minutes: i64) -> Period {
        let s = d.at(h, m, 0, 0).in_tz(zone).unwrap().timestamp();
        Period::new(s, s + SignedDuration::from_mins(minutes)).unwrap()
    }

    // 2027-03-01 is a Monday.
    const MONDAY: Date = date(2027, 3, 1);

    #[test]
    fn a_visit_inside_the_hours_fits_and_one_outside_does_not() {
        let a = avail(
            "Europe/Berlin",
            vec![WeeklyInterval {
                weekday: Weekday::Monday,
                interval: iv(9 * 60, 12 * 60),
            }],
            vec![],
        );
        assert!(fits_hours(&a, &visit("Europe/Berlin", MONDAY, 9, 0, 30)));
        assert!(fits_hours(&a, &visit("Europe/Berlin", MONDAY, 11, 30, 30)));
        assert!(!fits_hours(&a, &visit("Europe/Berlin", MONDAY, 11, 45, 30)));
        assert!(!fits_hours(&a, &visit("Europe/Berlin", MONDAY, 8, 30, 30)));
        // Tuesday has no hours.
        assert!(!fits_hours(
            &a,
            &visit("Europe/Berlin", date(2027, 3, 2), 9, 0, 30)
        ));
    }

    #[test]
    fn an_override_replaces_the_weekday_and_touching_intervals_join() {
        let a = avail(
            "America/New_York",
            vec![WeeklyInterval {
                weekday: Weekday::Monday,
                interval: iv(9 * 60, 17 * 60),
            }],
            vec![
                DateOverride {
                    date: MONDAY,
                    intervals: vec![],
                },
                DateOverride {
                    date: date(2027, 3, 8),
                    intervals: vec![iv(8 * 60, 10 * 60), iv(10 * 60, 11 * 60)],
                },
            ],
        );
        assert!(!fits_hours(
            &a,
            &visit("America/New_York", MONDAY, 10, 0, 30)
        ));
        assert!(fits_hours(
            &a,
            &visit("America/New_York", date(2027, 3, 8), 9, 45, 30)
        ));
        assert!(!fits_hours(
            &a,
            &visit("America/New_York", date(2027, 3, 8), 13, 0, 30)
        ));
    }

    #[test]
    fn a_zone_change_moves_wall_clocks_only_where_offsets_differ() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let london = TimeZone::get("Europe/London").unwrap();
        let v = visit("Europe/Berlin", MONDAY, 10, 0, 30);
        assert!(!wall_clock_changes(&berlin, &paris, &v));
        assert!(wall_clock_changes(&berlin, &london, &v));
        assert!(!wall_clock_changes(&berlin, &berlin, &v));
    }

    proptest! {
        /// A visit fits exactly when it lies in one interval of its weekday
        /// (one interval a day, a zone without DST).
        #[test]
        fn fitting_matches_containment_in_the_days_interval(
            start in 0u16..1400, len in 1u16..600, vs in 0u16..1430, vlen in 5i64..120,
        ) {
            let end = (start + len).min(1440);
            let a = avail("Asia/Kolkata", vec![WeeklyInterval {
                weekday: Weekday::Monday, interval: iv(start, end),
            }], vec![]);
            let v = visit("Asia/Kolkata", MONDAY, i8::try_from(vs / 60).unwrap(), i8::try_from(vs % 60).unwrap(), vlen);
            let expected = i64::from(vs) >= i64::from(start) && i64::from(vs) + vlen <= i64::from(end);
            prop_assert_eq!(fits_hours(&a, &v), expected);
        }
    }
}
