//! Property tests: the fast generator against a slow reference that sends
//! every slot through the time zone database, and the invariants of every
//! output, on generated schedules around the DST transitions of several zones.
//! Failing seeds are kept in proptest-regressions/domain/schedule/tests/props.txt.

use super::*;
use jiff::tz::AmbiguousOffset;
use proptest::prelude::*;

// ----- reference implementation and properties ----------------------------

/// Slow reference: every slot of every day goes through the zone.
fn reference(avail: &Availability, taken: &[Period], w: &SlotWindow) -> Vec<Period> {
    let tz = &avail.time_zone;
    let visit = SignedDuration::from_mins(i64::from(avail.visit_minutes));
    let step = avail.visit_minutes + avail.buffer_minutes;
    let earliest = w.from.max(w.now + w.min_notice);
    let latest = w.now + w.horizon;
    if earliest >= w.to {
        return vec![];
    }
    let mut day = local_date(earliest, tz) - SignedDuration::from_hours(72);
    let last = local_date(w.to, tz) + SignedDuration::from_hours(48);
    let mut candidates = vec![];
    while day <= last {
        let intervals: Vec<DayInterval> = match avail.overrides.iter().find(|o| o.date == day) {
            Some(o) => o.intervals.clone(),
            None => avail
                .weekly
                .iter()
                .filter(|wi| wi.weekday == day.weekday())
                .map(|wi| wi.interval)
                .collect(),
        };
        for i in intervals {
            let mut m = i.start().get();
            while m + avail.visit_minutes <= i.end().get() {
                let dt = day.at((m / 60) as i8, (m % 60) as i8, 0, 0);
                let amb = tz.to_ambiguous_timestamp(dt);
                if !matches!(amb.offset(), AmbiguousOffset::Gap { .. }) {
                    candidates.push(amb.earlier().unwrap());
                }
                m += step;
            }
        }
        day = day.tomorrow().unwrap();
    }
    candidates.sort();
    let mut out = vec![];
    let mut kept_end: Option<Timestamp> = None;
    for start in candidates {
        if kept_end.is_some_and(|e| start < e) {
            continue;
        }
        let slot = Period::new(start, start + visit).unwrap();
        kept_end = Some(slot.end);
        let in_window = start >= earliest && start < w.to && start <= latest;
        let blocked = taken
            .iter()
            .chain(&avail.time_off)
            .any(|p| p.start < p.end && p.overlaps(&slot));
        if in_window && !blocked {
            out.push(slot);
        }
    }
    out
}

/// Zones and the (UTC) days of their 2026 transitions.
const ZONES: &[(&str, &[&str])] = &[
    ("UTC", &[]),
    (
        "America/New_York",
        &["2026-03-08T00:00:00Z", "2026-11-01T00:00:00Z"],
    ),
    (
        "Europe/Berlin",
        &["2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z"],
    ),
    (
        "Australia/Lord_Howe",
        &["2026-04-05T00:00:00Z", "2026-10-04T00:00:00Z"],
    ),
    ("Asia/Kolkata", &[]),
];

/// Up to four non-overlapping intervals in one day; often one covering
/// the night, where the DST transitions are.
fn day_intervals() -> impl Strategy<Value = Vec<DayInterval>> {
    let night = (0u16..150, 120u16..400).prop_map(|(start, len)| vec![(start, len)]);
    let random = prop::collection::vec((0u16..240, 1u16..480), 0..5);
    prop_oneof![night, random].prop_map(|parts| {
        let mut out = vec![];
        let mut cursor = 0u16;
        for (gap, len) in parts {
            let start = cursor + gap;
            let end = start + len;
            if end > MINUTES_PER_DAY {
                break;
            }
            out.push(
                DayInterval::new(
                    MinuteOfDay::new(start).unwrap(),
                    MinuteOfDay::new(end).unwrap(),
                )
                .unwrap(),
            );
            cursor = end;
        }
        out
    })
}

fn weekly_hours() -> impl Strategy<Value = Vec<WeeklyInterval>> {
    prop::collection::vec(day_intervals(), 7).prop_map(|days| {
        days.into_iter()
            .enumerate()
            .flat_map(|(i, intervals)| {
                let weekday = Weekday::from_monday_zero_offset(i as i8).unwrap();
                intervals
                    .into_iter()
                    .map(move |interval| WeeklyInterval { weekday, interval })
            })
            .collect()
    })
}

/// A zone and a window start: half of the time a few days before one
/// of the zone's 2026 transitions, else any time in 2026.
fn zone_and_start() -> impl Strategy<Value = (&'static str, Timestamp)> {
    (
        prop::sample::select(ZONES),
        any::<prop::sample::Index>(),
        any::<bool>(),
        -3 * 86_400i64..=86_400,
        0i64..=365 * 86_400,
    )
        .prop_map(|((zone, transitions), which, near, shift, anywhere)| {
            let secs = if near && !transitions.is_empty() {
                t(transitions[which.index(transitions.len())]).as_second() + shift
            } else {
                t("2026-01-01T00:00:00Z").as_second() + anywhere
            };
            (zone, Timestamp::from_second(secs).unwrap())
        })
}

#[derive(Debug, Clone)]
struct Case {
    avail: Availability,
    taken: Vec<Period>,
    window: SlotWindow,
}

fn periods_after(
    anchor: Timestamp,
    span: i64,
    max: usize,
    longest: i64,
) -> impl Strategy<Value = Vec<Period>> {
    prop::collection::vec((-86_400i64..span, 60i64..longest), 0..max).prop_map(move |raw| {
        raw.into_iter()
            .map(|(offset, len)| {
                let start = anchor + SignedDuration::from_secs(offset);
                Period::new(start, start + SignedDuration::from_secs(len)).unwrap()
            })
            .collect()
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        zone_and_start(),
        weekly_hours(),
        prop_oneof![
            Just(15u16),
            Just(30),
            Just(45),
            Just(50),
            Just(90),
            5u16..=240
        ],
        prop_oneof![Just(0u16), Just(5), 0u16..=120],
        prop_oneof![86_400i64..=5 * 86_400, 0i64..=8 * 86_400],
        -3 * 86_400i64..=3 * 86_400,
        0i64..=2 * 86_400,
        0i64..=40 * 86_400,
    )
        .prop_flat_map(
            |((zone, from), weekly, visit, buffer, len, now_shift, notice, horizon)| {
                let to = from + SignedDuration::from_secs(len);
                let span = len + 2 * 86_400;
                let overrides = prop::collection::btree_map(-2i64..10, day_intervals(), 0..3);
                (
                    Just((
                        zone, weekly, visit, buffer, from, to, now_shift, notice, horizon,
                    )),
                    overrides,
                    periods_after(from, span, 12, 4 * 3600),
                    periods_after(from, span, 3, 30 * 3600),
                )
            },
        )
        .prop_map(
            |(
                (zone, weekly, visit, buffer, from, to, now_shift, notice, horizon),
                overrides,
                taken,
                time_off,
            )| {
                let time_zone = TimeZone::get(zone).unwrap();
                let first = local_date(from, &time_zone);
                let overrides = overrides
                    .into_iter()
                    .map(|(days, intervals)| DateOverride {
                        date: first + SignedDuration::from_hours(24 * days),
                        intervals,
                    })
                    .collect();
                Case {
                    avail: Availability {
                        time_zone,
                        weekly,
                        overrides,
                        time_off,
                        visit_minutes: visit,
                        buffer_minutes: buffer,
                    },
                    taken,
                    window: SlotWindow {
                        from,
                        to,
                        now: from + SignedDuration::from_secs(now_shift),
                        min_notice: SignedDuration::from_secs(notice),
                        horizon: SignedDuration::from_secs(horizon),
                    },
                }
            },
        )
}

/// The working intervals of a local date.
fn intervals_on(avail: &Availability, day: Date) -> Vec<DayInterval> {
    match avail.overrides.iter().find(|o| o.date == day) {
        Some(o) => o.intervals.clone(),
        None => avail
            .weekly
            .iter()
            .filter(|w| w.weekday == day.weekday())
            .map(|w| w.interval)
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn generated_slots_satisfy_the_invariants(c in case()) {
        let Case { avail, taken, window } = &c;
        prop_assert!(avail.validate().is_ok());
        let slots = free_slots(avail, taken, window);
        let tz = &avail.time_zone;
        let visit = SignedDuration::from_mins(i64::from(avail.visit_minutes));
        let step = avail.visit_minutes + avail.buffer_minutes;
        for pair in slots.windows(2) {
            prop_assert!(pair[0].start < pair[1].start);
            prop_assert!(pair[0].end <= pair[1].start);
        }
        for p in &slots {
            prop_assert_eq!(p.end - visit, p.start);
            prop_assert!(window.from <= p.start && p.start < window.to);
            prop_assert!(p.start >= window.now + window.min_notice);
            prop_assert!(p.start <= window.now + window.horizon);
            for blocked in taken.iter().chain(&avail.time_off) {
                prop_assert!(!p.overlaps(blocked), "{:?} overlaps {:?}", p, blocked);
            }
            // On the grid of its local date, at the earliest occurrence.
            let dt = tz.to_datetime(p.start);
            prop_assert_eq!((dt.second(), dt.subsec_nanosecond()), (0, 0));
            let minute = dt.hour() as u16 * 60 + dt.minute() as u16;
            let on_grid = intervals_on(avail, dt.date()).iter().any(|i| {
                minute >= i.start().get()
                    && (minute - i.start().get()).is_multiple_of(step)
                    && minute + avail.visit_minutes <= i.end().get()
            });
            prop_assert!(on_grid, "{:?} at {} is off the grid", p, dt);
            prop_assert_eq!(tz.to_ambiguous_timestamp(dt).earlier().unwrap(), p.start);
            // Found again one by one.
            prop_assert_eq!(
                free_slot_at(avail, taken, window.now, window.min_notice, window.horizon, p.start),
                Some(*p)
            );
            prop_assert_eq!(
                free_slot_at(
                    avail,
                    taken,
                    window.now,
                    window.min_notice,
                    window.horizon,
                    p.start + SignedDuration::from_mins(1)
                ),
                None
            );
        }
    }

    #[test]
    fn fast_path_agrees_with_the_reference(c in case()) {
        let Case { avail, taken, window } = &c;
        prop_assert_eq!(free_slots(avail, taken, window), reference(avail, taken, window));
    }

    #[test]
    fn free_slot_at_matches_free_slots_for_any_instant(
        c in case(),
        offsets in prop::collection::vec(0i64..8 * 86_400, 1..20),
    ) {
        let Case { avail, taken, window } = &c;
        let slots = free_slots(avail, taken, window);
        for offset in offsets {
            // Round to a whole quarter hour to hit the grid now and then.
            let secs = (window.from.as_second() + offset) / 900 * 900;
            let start = Timestamp::from_second(secs).unwrap();
            if start < window.from || start >= window.to {
                continue;
            }
            let listed = slots.iter().find(|p| p.start == start).copied();
            prop_assert_eq!(
                free_slot_at(avail, taken, window.now, window.min_notice, window.horizon, start),
                listed
            );
        }
    }
}
