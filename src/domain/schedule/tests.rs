//! Unit tests of slot generation: the value types, ordinary days, DST
//! transitions in several zones, overrides, time off, notice and horizon,
//! validation. The property tests against a slow reference are in [`props`].

use super::*;
use jiff::civil::date;

mod props;

// ----- helpers -------------------------------------------------------

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn iv(s: &str) -> DayInterval {
    DayInterval::parse(s).unwrap()
}

fn weekly(days: &[Weekday], intervals: &[&str]) -> Vec<WeeklyInterval> {
    days.iter()
        .flat_map(|&weekday| {
            intervals.iter().map(move |s| WeeklyInterval {
                weekday,
                interval: iv(s),
            })
        })
        .collect()
}

fn avail(zone: &str, weekly: Vec<WeeklyInterval>, visit: u16, buffer: u16) -> Availability {
    Availability {
        time_zone: TimeZone::get(zone).unwrap(),
        weekly,
        overrides: vec![],
        time_off: vec![],
        visit_minutes: visit,
        buffer_minutes: buffer,
    }
}

/// A window with no notice / horizon restrictions.
fn open_window(from: &str, to: &str) -> SlotWindow {
    SlotWindow {
        from: t(from),
        to: t(to),
        now: t("2000-01-01T00:00:00Z"),
        min_notice: SignedDuration::ZERO,
        horizon: SignedDuration::from_hours(24 * 365 * 50),
    }
}

fn starts(slots: &[Period]) -> Vec<Timestamp> {
    slots.iter().map(|p| p.start).collect()
}

fn ts_list(list: &[&str]) -> Vec<Timestamp> {
    list.iter().map(|s| t(s)).collect()
}

fn period(start: &str, end: &str) -> Period {
    Period::new(t(start), t(end)).unwrap()
}

/// Invariants every output must satisfy.
fn assert_well_formed(avail: &Availability, slots: &[Period]) {
    let visit = SignedDuration::from_mins(i64::from(avail.visit_minutes));
    for p in slots {
        assert_eq!(p.duration(), visit, "{p:?}");
    }
    for pair in slots.windows(2) {
        assert!(pair[0].end <= pair[1].start, "{pair:?}");
    }
}

const SUNDAY_NIGHT: &[&str] = &["00:00-05:00"];

// ----- value types ---------------------------------------------------

#[test]
fn minute_of_day_parses_and_formats() {
    assert_eq!(MinuteOfDay::parse("00:00").unwrap().get(), 0);
    assert_eq!(MinuteOfDay::parse("08:05").unwrap().get(), 485);
    assert_eq!(MinuteOfDay::parse("23:59").unwrap().get(), 1439);
    assert_eq!(
        MinuteOfDay::parse("24:00").unwrap(),
        MinuteOfDay::END_OF_DAY
    );
    for bad in [
        "24:01", "7:00", "07:0", "12:60", "25:00", "ab:cd", "", "12:00 ", "12-00", "+1:00",
    ] {
        assert_eq!(
            MinuteOfDay::parse(bad),
            Err(ScheduleError::InvalidTimeOfDay(bad.to_owned())),
            "{bad}"
        );
    }
    for m in [0, 1, 59, 60, 485, 1439, 1440] {
        let mod_ = MinuteOfDay::new(m).unwrap();
        assert_eq!(MinuteOfDay::parse(&mod_.to_hhmm()), Ok(mod_));
        assert_eq!(mod_.to_string(), mod_.to_hhmm());
    }
    assert_eq!(MinuteOfDay::new(485).unwrap().to_hhmm(), "08:05");
    assert_eq!(MinuteOfDay::END_OF_DAY.to_hhmm(), "24:00");
    assert_eq!(
        MinuteOfDay::new(1441),
        Err(ScheduleError::InvalidMinute(1441))
    );
    assert_eq!("13:30".parse::<MinuteOfDay>().unwrap().get(), 810);
}

#[test]
fn day_interval_needs_start_before_end() {
    let m = |s| MinuteOfDay::parse(s).unwrap();
    assert!(DayInterval::new(m("08:00"), m("12:00")).is_ok());
    assert!(DayInterval::new(m("23:00"), m("24:00")).is_ok());
    assert_eq!(
        DayInterval::new(m("12:00"), m("12:00")),
        Err(ScheduleError::InvalidInterval {
            start: m("12:00"),
            end: m("12:00")
        })
    );
    assert!(DayInterval::new(m("13:00"), m("12:00")).is_err());
    assert!(DayInterval::parse("0800-1200").is_err());
    let i = iv("08:00-12:30");
    assert_eq!((i.start().get(), i.end().get()), (480, 750));
    assert_eq!(i.to_string(), "08:00-12:30");
    assert!(!iv("08:00-12:00").overlaps(&iv("12:00-13:00")));
    assert!(iv("08:00-12:01").overlaps(&iv("12:00-13:00")));
}

#[test]
fn period_needs_start_before_end_and_overlap_is_half_open() {
    let a = t("2026-06-10T08:00:00Z");
    let b = t("2026-06-10T09:00:00Z");
    assert!(Period::new(a, b).is_ok());
    assert_eq!(
        Period::new(b, a),
        Err(ScheduleError::InvalidPeriod { start: b, end: a })
    );
    assert!(Period::new(a, a).is_err());
    let p = period("2026-06-10T08:00:00Z", "2026-06-10T09:00:00Z");
    let touching = period("2026-06-10T09:00:00Z", "2026-06-10T10:00:00Z");
    let inside = period("2026-06-10T08:10:00Z", "2026-06-10T08:20:00Z");
    let crossing = period("2026-06-10T08:59:59Z", "2026-06-10T09:30:00Z");
    assert!(!p.overlaps(&touching) && !touching.overlaps(&p));
    assert!(p.overlaps(&inside) && inside.overlaps(&p));
    assert!(p.overlaps(&crossing) && crossing.overlaps(&p));
    assert!(p.overlaps(&p));
    assert!(p.contains(a) && !p.contains(b));
}

#[test]
fn local_date_uses_the_doctors_zone() {
    let ts = t("2026-06-10T02:00:00Z");
    assert_eq!(local_date(ts, &TimeZone::UTC), date(2026, 6, 10));
    let la = TimeZone::get("America/Los_Angeles").unwrap();
    assert_eq!(local_date(ts, &la), date(2026, 6, 9));
    let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
    assert_eq!(
        local_date(t("2026-06-10T15:00:00Z"), &tokyo),
        date(2026, 6, 11)
    );
}

// ----- ordinary days ---------------------------------------------------

#[test]
fn ordinary_weekday_with_several_intervals_buffer_and_unfit_tail() {
    // Wednesday 2026-06-10, Berlin is at +02:00.
    let a = avail(
        "Europe/Berlin",
        weekly(&[Weekday::Wednesday], &["13:00-14:10", "08:00-10:00"]),
        25,
        5,
    );
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-14T00:00:00Z"),
    );
    // Step 30 min; 09:30 + 25 = 09:55 fits, 14:00 + 25 = 14:25 does not.
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-06-10T06:00:00Z",
            "2026-06-10T06:30:00Z",
            "2026-06-10T07:00:00Z",
            "2026-06-10T07:30:00Z",
            "2026-06-10T11:00:00Z",
            "2026-06-10T11:30:00Z",
        ])
    );
    assert_eq!(slots[0].end, t("2026-06-10T06:25:00Z"));
    assert_well_formed(&a, &slots);
}

#[test]
fn every_configured_weekday_gets_slots_and_others_none() {
    let a = avail(
        "UTC",
        weekly(
            &[Weekday::Monday, Weekday::Tuesday, Weekday::Saturday],
            &["09:00-10:00"],
        ),
        60,
        0,
    );
    // 2026-06-08 is a Monday.
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-15T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-06-08T09:00:00Z",
            "2026-06-09T09:00:00Z",
            "2026-06-13T09:00:00Z",
        ])
    );
}

#[test]
fn interval_ending_at_midnight_and_exact_fit() {
    let a = avail("UTC", weekly(&[Weekday::Friday], &["22:00-24:00"]), 60, 0);
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-12T00:00:00Z", "2026-06-13T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&["2026-06-12T22:00:00Z", "2026-06-12T23:00:00Z"])
    );
    assert_eq!(slots[1].end, t("2026-06-13T00:00:00Z"));
}

#[test]
fn window_is_half_open_and_sub_second_bounds_work() {
    let a = avail("UTC", weekly(&[Weekday::Monday], &["09:00-11:00"]), 30, 0);
    let w = open_window("2026-06-08T09:30:00Z", "2026-06-08T10:30:00Z");
    assert_eq!(
        starts(&free_slots(&a, &[], &w)),
        ts_list(&["2026-06-08T09:30:00Z", "2026-06-08T10:00:00Z"])
    );
    let w = open_window("2026-06-08T09:29:59.5Z", "2026-06-08T10:30:00.000000001Z");
    assert_eq!(
        starts(&free_slots(&a, &[], &w)),
        ts_list(&[
            "2026-06-08T09:30:00Z",
            "2026-06-08T10:00:00Z",
            "2026-06-08T10:30:00Z"
        ])
    );
    let w = open_window("2026-06-08T09:30:00.000000001Z", "2026-06-08T10:00:00Z");
    assert!(free_slots(&a, &[], &w).is_empty());
    // Empty and reversed windows.
    let w = open_window("2026-06-08T10:00:00Z", "2026-06-08T10:00:00Z");
    assert!(free_slots(&a, &[], &w).is_empty());
    let w = open_window("2026-06-09T10:00:00Z", "2026-06-08T10:00:00Z");
    assert!(free_slots(&a, &[], &w).is_empty());
}

#[test]
fn invalid_visit_or_buffer_yields_nothing() {
    let w = open_window("2026-06-08T00:00:00Z", "2026-06-09T00:00:00Z");
    for (visit, buffer) in [(0, 0), (4, 0), (241, 0), (30, 121)] {
        let a = avail(
            "UTC",
            weekly(&[Weekday::Monday], &["09:00-11:00"]),
            visit,
            buffer,
        );
        assert!(free_slots(&a, &[], &w).is_empty(), "{visit} {buffer}");
    }
}

#[test]
fn fixed_offset_zone_with_odd_offset() {
    // Asia/Kolkata is +05:30 all year.
    let a = avail(
        "Asia/Kolkata",
        weekly(&[Weekday::Monday], &["09:00-10:00"]),
        30,
        0,
    );
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-09T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&["2026-06-08T03:30:00Z", "2026-06-08T04:00:00Z"])
    );
}

// ----- daylight saving time -----------------------------------------------

fn sunday_night(zone: &str, visit: u16, from: &str, to: &str) -> Vec<Period> {
    let a = avail(zone, weekly(&[Weekday::Sunday], SUNDAY_NIGHT), visit, 0);
    let slots = free_slots(&a, &[], &open_window(from, to));
    assert_well_formed(&a, &slots);
    slots
}

#[test]
fn new_york_spring_forward_skips_the_gap() {
    // 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
    let slots = sunday_night(
        "America/New_York",
        30,
        "2026-03-07T00:00:00Z",
        "2026-03-10T00:00:00Z",
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-03-08T05:00:00Z", // 00:00 EST
            "2026-03-08T05:30:00Z",
            "2026-03-08T06:00:00Z",
            "2026-03-08T06:30:00Z", // 01:30 EST
            // 02:00 and 02:30 do not exist
            "2026-03-08T07:00:00Z", // 03:00 EDT
            "2026-03-08T07:30:00Z",
            "2026-03-08T08:00:00Z",
            "2026-03-08T08:30:00Z", // 04:30 EDT
        ])
    );
    assert_eq!(slots[3].end, t("2026-03-08T07:00:00Z"));
}

#[test]
fn new_york_fall_back_takes_the_fold_once() {
    // 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z): 01:00-02:00 occurs twice.
    let slots = sunday_night(
        "America/New_York",
        30,
        "2026-10-31T00:00:00Z",
        "2026-11-03T00:00:00Z",
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-11-01T04:00:00Z", // 00:00 EDT
            "2026-11-01T04:30:00Z",
            "2026-11-01T05:00:00Z", // 01:00 EDT (earlier occurrence)
            "2026-11-01T05:30:00Z", // 01:30 EDT
            // the second 01:00-02:00 (EST, 06:00Z-07:00Z) is not offered
            "2026-11-01T07:00:00Z", // 02:00 EST
            "2026-11-01T07:30:00Z",
            "2026-11-01T08:00:00Z",
            "2026-11-01T08:30:00Z",
            "2026-11-01T09:00:00Z",
            "2026-11-01T09:30:00Z", // 04:30 EST
        ])
    );
}

#[test]
fn berlin_spring_forward_skips_the_gap() {
    // 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
    let slots = sunday_night(
        "Europe/Berlin",
        30,
        "2026-03-28T00:00:00Z",
        "2026-03-31T00:00:00Z",
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-03-28T23:00:00Z", // 00:00 CET
            "2026-03-28T23:30:00Z",
            "2026-03-29T00:00:00Z",
            "2026-03-29T00:30:00Z", // 01:30 CET
            "2026-03-29T01:00:00Z", // 03:00 CEST
            "2026-03-29T01:30:00Z",
            "2026-03-29T02:00:00Z",
            "2026-03-29T02:30:00Z", // 04:30 CEST
        ])
    );
}

#[test]
fn berlin_fall_back_takes_the_fold_once() {
    // 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z): 02:00-03:00 occurs twice.
    let slots = sunday_night(
        "Europe/Berlin",
        30,
        "2026-10-24T00:00:00Z",
        "2026-10-27T00:00:00Z",
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-10-24T22:00:00Z", // 00:00 CEST
            "2026-10-24T22:30:00Z",
            "2026-10-24T23:00:00Z",
            "2026-10-24T23:30:00Z",
            "2026-10-25T00:00:00Z", // 02:00 CEST (earlier occurrence)
            "2026-10-25T00:30:00Z", // 02:30 CEST
            "2026-10-25T02:00:00Z", // 03:00 CET
            "2026-10-25T02:30:00Z",
            "2026-10-25T03:00:00Z",
            "2026-10-25T03:30:00Z", // 04:30 CET
        ])
    );
}

#[test]
fn slot_straddling_the_gap_suppresses_the_overlapping_next_one() {
    // 45-minute visits in New York on 2026-03-08: 01:30 EST (06:30Z) lasts
    // until 07:15Z, but 03:00 EDT is 07:00Z, so that one is dropped.
    let slots = sunday_night(
        "America/New_York",
        45,
        "2026-03-07T00:00:00Z",
        "2026-03-10T00:00:00Z",
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-03-08T05:00:00Z", // 00:00 EST
            "2026-03-08T05:45:00Z", // 00:45 EST
            "2026-03-08T06:30:00Z", // 01:30 EST, ends 07:15Z
            // 02:15 does not exist, 03:00 EDT (07:00Z) overlaps
            "2026-03-08T07:45:00Z", // 03:45 EDT
        ])
    );
}

#[test]
fn lord_howe_half_hour_shift() {
    // 2026-10-04 02:00 +10:30 -> 02:30 +11 (15:30Z on 10-03).
    let slots = free_slots(
        &avail(
            "Australia/Lord_Howe",
            weekly(&[Weekday::Sunday], &["01:00-04:00"]),
            30,
            0,
        ),
        &[],
        &open_window("2026-10-02T00:00:00Z", "2026-10-05T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-10-03T14:30:00Z", // 01:00 +10:30
            "2026-10-03T15:00:00Z", // 01:30 +10:30
            // 02:00 does not exist
            "2026-10-03T15:30:00Z", // 02:30 +11
            "2026-10-03T16:00:00Z",
            "2026-10-03T16:30:00Z", // 03:30 +11
        ])
    );
}

#[test]
fn ordinary_days_next_to_transitions_use_the_right_offset() {
    // Saturday before and Monday after the Berlin spring transition.
    let a = avail(
        "Europe/Berlin",
        weekly(&[Weekday::Saturday, Weekday::Monday], &["08:00-09:00"]),
        60,
        0,
    );
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-03-27T00:00:00Z", "2026-04-01T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&["2026-03-28T07:00:00Z", "2026-03-30T06:00:00Z"])
    );
}

#[test]
fn los_angeles_evening_hours_cross_utc_midnight() {
    // 14:00-20:00 PDT (-07:00) = 21:00Z - 03:00Z next day.
    let weekdays = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    let a = avail(
        "America/Los_Angeles",
        weekly(&weekdays, &["14:00-20:00"]),
        30,
        0,
    );
    // The UTC day 2026-06-10 (a Wednesday).
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-10T00:00:00Z", "2026-06-11T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            // Tuesday 2026-06-09, 17:00-19:30 local
            "2026-06-10T00:00:00Z",
            "2026-06-10T00:30:00Z",
            "2026-06-10T01:00:00Z",
            "2026-06-10T01:30:00Z",
            "2026-06-10T02:00:00Z",
            "2026-06-10T02:30:00Z",
            // Wednesday 2026-06-10, 14:00-16:30 local
            "2026-06-10T21:00:00Z",
            "2026-06-10T21:30:00Z",
            "2026-06-10T22:00:00Z",
            "2026-06-10T22:30:00Z",
            "2026-06-10T23:00:00Z",
            "2026-06-10T23:30:00Z",
        ])
    );
    // Monday 2026-06-08 in UTC only has Monday-evening-local slots from
    // the previous (Sunday) local day: none, since Sunday is off.
    let monday = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-08T12:00:00Z"),
    );
    assert!(monday.is_empty(), "{monday:?}");
    // Saturday UTC morning still holds Friday-evening local slots.
    let saturday = free_slots(
        &a,
        &[],
        &open_window("2026-06-13T00:00:00Z", "2026-06-14T00:00:00Z"),
    );
    assert_eq!(saturday.len(), 6);
    assert_eq!(saturday[0].start, t("2026-06-13T00:00:00Z"));
}

// ----- overrides, time off, taken --------------------------------------------

#[test]
fn override_replaces_the_weekday() {
    let mut a = avail("UTC", weekly(&[Weekday::Monday], &["09:00-12:00"]), 60, 0);
    a.overrides.push(DateOverride {
        date: date(2026, 6, 8),
        intervals: vec![iv("14:00-16:00")],
    });
    // An override on a day that is normally off opens it.
    a.overrides.push(DateOverride {
        date: date(2026, 6, 9),
        intervals: vec![iv("10:00-11:00")],
    });
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-16T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-06-08T14:00:00Z",
            "2026-06-08T15:00:00Z",
            "2026-06-09T10:00:00Z",
            // the next Monday is back to weekly hours
            "2026-06-15T09:00:00Z",
            "2026-06-15T10:00:00Z",
            "2026-06-15T11:00:00Z",
        ])
    );
}

#[test]
fn empty_override_closes_the_day() {
    let mut a = avail(
        "Europe/Berlin",
        weekly(&[Weekday::Monday, Weekday::Tuesday], &["09:00-10:00"]),
        60,
        0,
    );
    a.overrides.push(DateOverride {
        date: date(2026, 6, 8),
        intervals: vec![],
    });
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-10T00:00:00Z"),
    );
    assert_eq!(starts(&slots), ts_list(&["2026-06-09T07:00:00Z"]));
}

#[test]
fn time_off_covering_part_of_a_day() {
    let mut a = avail("UTC", weekly(&[Weekday::Monday], &["09:00-13:00"]), 60, 0);
    a.time_off
        .push(period("2026-06-08T10:30:00Z", "2026-06-08T12:00:00Z"));
    let slots = free_slots(
        &a,
        &[],
        &open_window("2026-06-08T00:00:00Z", "2026-06-09T00:00:00Z"),
    );
    assert_eq!(
        starts(&slots),
        ts_list(&["2026-06-08T09:00:00Z", "2026-06-08T12:00:00Z"])
    );
}

#[test]
fn taken_periods_of_another_length_remove_every_overlapped_slot() {
    let a = avail("UTC", weekly(&[Weekday::Monday], &["09:00-12:00"]), 30, 0);
    // Unsorted, and of different lengths than the current 30 minutes.
    let taken = [
        period("2026-06-08T11:00:00Z", "2026-06-08T11:45:00Z"),
        period("2026-06-08T09:35:00Z", "2026-06-08T10:15:00Z"),
        // Ends exactly where a slot starts: does not block it.
        period("2026-06-08T08:00:00Z", "2026-06-08T09:00:00Z"),
    ];
    let slots = free_slots(
        &a,
        &taken,
        &open_window("2026-06-08T00:00:00Z", "2026-06-09T00:00:00Z"),
    );
    // Grid 09:00 ... 11:30; 09:35-10:15 removes 09:30 and 10:00,
    // 11:00-11:45 removes 11:00 and 11:30.
    assert_eq!(
        starts(&slots),
        ts_list(&["2026-06-08T09:00:00Z", "2026-06-08T10:30:00Z"])
    );
}

#[test]
fn minimum_notice_and_horizon() {
    let weekdays = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    let a = avail("UTC", weekly(&weekdays, &["09:00-10:00"]), 30, 0);
    let window = SlotWindow {
        from: t("2026-06-01T00:00:00Z"),
        to: t("2026-07-01T00:00:00Z"),
        now: t("2026-06-08T07:10:00Z"),
        min_notice: SignedDuration::from_hours(2),
        horizon: SignedDuration::from_hours(72),
    };
    // Earliest start 09:10 Monday; latest start 07:10 Thursday.
    let slots = free_slots(&a, &[], &window);
    assert_eq!(
        starts(&slots),
        ts_list(&[
            "2026-06-08T09:30:00Z",
            "2026-06-09T09:00:00Z",
            "2026-06-09T09:30:00Z",
            "2026-06-10T09:00:00Z",
            "2026-06-10T09:30:00Z",
        ])
    );
    // The horizon bound is inclusive, the notice bound too.
    let window = SlotWindow {
        now: t("2026-06-08T07:00:00Z"),
        horizon: SignedDuration::from_hours(50),
        ..window
    };
    let slots = free_slots(&a, &[], &window);
    assert_eq!(
        slots.first().map(|p| p.start),
        Some(t("2026-06-08T09:00:00Z"))
    );
    assert_eq!(
        slots.last().map(|p| p.start),
        Some(t("2026-06-10T09:00:00Z"))
    );
    // Notice beyond the horizon: nothing.
    let window = SlotWindow {
        min_notice: SignedDuration::from_hours(100),
        ..window
    };
    assert!(free_slots(&a, &[], &window).is_empty());
}

#[test]
fn free_slot_at_agrees_with_free_slots() {
    let mut a = avail(
        "America/New_York",
        weekly(
            &[Weekday::Sunday, Weekday::Monday],
            &["00:00-05:00", "09:00-12:00"],
        ),
        45,
        5,
    );
    a.time_off
        .push(period("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z"));
    let taken = [period("2026-03-09T13:50:00Z", "2026-03-09T14:35:00Z")];
    let now = t("2026-03-01T00:00:00Z");
    let notice = SignedDuration::from_hours(1);
    let horizon = SignedDuration::from_hours(24 * 30);
    let window = SlotWindow {
        from: t("2026-03-07T00:00:00Z"),
        to: t("2026-03-11T00:00:00Z"),
        now,
        min_notice: notice,
        horizon,
    };
    let slots = free_slots(&a, &taken, &window);
    assert!(slots.len() > 10);
    for p in &slots {
        assert_eq!(
            free_slot_at(&a, &taken, now, notice, horizon, p.start),
            Some(*p)
        );
        let off_grid = p.start + SignedDuration::from_mins(1);
        assert_eq!(
            free_slot_at(&a, &taken, now, notice, horizon, off_grid),
            None
        );
        let sub_second = p.start + SignedDuration::from_nanos(1);
        assert_eq!(
            free_slot_at(&a, &taken, now, notice, horizon, sub_second),
            None
        );
    }
    // Monday 09:00 EDT = 13:00Z is free, 09:50 EDT = 13:50Z is taken,
    // 10:40 EDT = 14:40Z is in time off.
    let free = t("2026-03-09T13:00:00Z");
    assert!(free_slot_at(&a, &taken, now, notice, horizon, free).is_some());
    for blocked in ["2026-03-09T13:50:00Z", "2026-03-09T14:40:00Z"] {
        assert_eq!(
            free_slot_at(&a, &taken, now, notice, horizon, t(blocked)),
            None
        );
    }
    // Too soon, and too far.
    assert_eq!(
        free_slot_at(&a, &taken, t("2026-03-09T12:30:00Z"), notice, horizon, free),
        None
    );
    assert_eq!(
        free_slot_at(
            &a,
            &taken,
            now,
            notice,
            SignedDuration::from_hours(24),
            free
        ),
        None
    );
    // Inside the spring-forward gap, and the dropped overlapping slot.
    assert_eq!(
        free_slot_at(&a, &taken, now, notice, horizon, t("2026-03-08T07:00:00Z")),
        None
    );
    assert_eq!(
        free_slot_at(&a, &taken, now, notice, horizon, t("2026-03-08T07:30:00Z")),
        None
    );
}

// ----- validation ---------------------------------------------------------

#[test]
fn validate_accepts_a_sane_schedule() {
    let mut w = weekly(
        &[Weekday::Monday, Weekday::Saturday],
        &["08:00-12:00", "12:00-13:00", "18:00-24:00"],
    );
    w.push(WeeklyInterval {
        weekday: Weekday::Sunday,
        interval: iv("00:00-24:00"),
    });
    let overrides = vec![
        DateOverride {
            date: date(2026, 12, 24),
            intervals: vec![],
        },
        DateOverride {
            date: date(2026, 12, 31),
            intervals: vec![iv("10:00-11:00"), iv("08:00-10:00")],
        },
    ];
    assert_eq!(validate(&w, &overrides, 5, 0), Ok(()));
    assert_eq!(validate(&w, &overrides, 240, 120), Ok(()));
}

#[test]
fn validate_rejects_overlaps_counts_and_lengths() {
    let overlapping = weekly(&[Weekday::Tuesday], &["08:00-12:00", "11:59-13:00"]);
    assert_eq!(
        validate(&overlapping, &[], 30, 0),
        Err(ScheduleError::OverlappingIntervals {
            day: ScheduleDay::Weekday(Weekday::Tuesday)
        })
    );
    let duplicate = weekly(&[Weekday::Friday], &["08:00-12:00", "08:00-12:00"]);
    assert!(matches!(
        validate(&duplicate, &[], 30, 0),
        Err(ScheduleError::OverlappingIntervals { .. })
    ));
    let bad_override = [DateOverride {
        date: date(2026, 7, 1),
        intervals: vec![iv("08:00-12:00"), iv("09:00-10:00")],
    }];
    assert_eq!(
        validate(&[], &bad_override, 30, 0),
        Err(ScheduleError::OverlappingIntervals {
            day: ScheduleDay::Date(date(2026, 7, 1))
        })
    );
    let nine: Vec<String> = (0..9).map(|h| format!("{:02}:00-{:02}:30", h, h)).collect();
    let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
    assert_eq!(
        validate(&weekly(&[Weekday::Monday], &nine), &[], 30, 0),
        Err(ScheduleError::TooManyIntervals {
            day: ScheduleDay::Weekday(Weekday::Monday),
            count: 9
        })
    );
    assert!(validate(&weekly(&[Weekday::Monday], &nine[..8]), &[], 30, 0).is_ok());
    let nine_override = [DateOverride {
        date: date(2026, 7, 1),
        intervals: nine.iter().map(|s| iv(s)).collect(),
    }];
    assert!(matches!(
        validate(&[], &nine_override, 30, 0),
        Err(ScheduleError::TooManyIntervals { .. })
    ));
    for visit in [0, 4, 241, 1000] {
        assert_eq!(
            validate(&[], &[], visit, 0),
            Err(ScheduleError::InvalidVisitLength(visit))
        );
    }
    assert_eq!(
        validate(&[], &[], 30, 121),
        Err(ScheduleError::InvalidBuffer(121))
    );
    let many: Vec<DateOverride> = (0..367)
        .map(|i| DateOverride {
            date: date(2026, 1, 1) + SignedDuration::from_hours(24 * i),
            intervals: vec![],
        })
        .collect();
    assert_eq!(
        validate(&[], &many, 30, 0),
        Err(ScheduleError::TooManyOverrides { count: 367 })
    );
    assert!(validate(&[], &many[..366], 30, 0).is_ok());
    let twice = [
        DateOverride {
            date: date(2026, 7, 1),
            intervals: vec![],
        },
        DateOverride {
            date: date(2026, 7, 1),
            intervals: vec![iv("08:00-09:00")],
        },
    ];
    assert_eq!(
        validate(&[], &twice, 30, 0),
        Err(ScheduleError::DuplicateOverride {
            date: date(2026, 7, 1)
        })
    );
}

#[test]
fn errors_have_human_messages() {
    assert_eq!(
        ScheduleError::OverlappingIntervals {
            day: ScheduleDay::Weekday(Weekday::Tuesday)
        }
        .to_string(),
        "the working intervals on Tuesday overlap"
    );
    assert_eq!(
        ScheduleError::OverlappingIntervals {
            day: ScheduleDay::Date(date(2026, 7, 1))
        }
        .to_string(),
        "the working intervals on 2026-07-01 overlap"
    );
    assert_eq!(
        ScheduleError::InvalidVisitLength(3).to_string(),
        "a visit of 3 minutes is not allowed: it must last between 5 and 240 minutes"
    );
    let m = |s| MinuteOfDay::parse(s).unwrap();
    assert_eq!(
        ScheduleError::InvalidInterval {
            start: m("12:00"),
            end: m("08:00")
        }
        .to_string(),
        "invalid interval 12:00-08:00: the start must be before the end"
    );
}
