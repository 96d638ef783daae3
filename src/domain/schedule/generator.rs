//! The slot generator: [`free_slots`] and [`free_slot_at`], cut by the rules
//! of the parent module's documentation, with the zone handling in
//! [`super::zone`].

use super::zone::{
    Cutter, SECS_PER_DAY, ZoneSegments, epoch_day, local_epoch_day, weekday_of_epoch_day,
};
use super::{
    Availability, MAX_BUFFER_MINUTES, MAX_VISIT_MINUTES, MIN_VISIT_MINUTES, Period, SlotWindow,
};
use jiff::{SignedDuration, Timestamp};

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// The free slots whose start lies in [window.from, window.to), sorted by
/// start, no duplicates, no two overlapping.
pub fn free_slots(avail: &Availability, taken: &[Period], window: &SlotWindow) -> Vec<Period> {
    match Bounds::new(window) {
        Some(bounds) => slots_within(avail, taken, bounds),
        None => Vec::new(),
    }
}

/// If `start` is exactly the start of a free slot (same rules as
/// [`free_slots`]), that slot.
pub fn free_slot_at(
    avail: &Availability,
    taken: &[Period],
    now: Timestamp,
    min_notice: SignedDuration,
    horizon: SignedDuration,
    start: Timestamp,
) -> Option<Period> {
    let to = start.checked_add(SignedDuration::from_nanos(1)).ok()?;
    let window = SlotWindow {
        from: start,
        to,
        now,
        min_notice,
        horizon,
    };
    free_slots(avail, taken, &window)
        .into_iter()
        .find(|p| p.start == start)
}

// ---------------------------------------------------------------------------
// Internals. Instants are whole seconds since the Unix epoch (`i64`); a local
// wall-clock time is the same count read as if the local time were UTC.

/// The accepted slot starts, `[lower, upper)` in whole seconds.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    lower: i64,
    upper: i64,
}

impl Bounds {
    fn new(w: &SlotWindow) -> Option<Bounds> {
        let now = w.now.as_nanosecond();
        let earliest = w.from.as_nanosecond().max(now + w.min_notice.as_nanos());
        let latest = now + w.horizon.as_nanos();
        // A whole second `s` satisfies `s >= x` iff `s >= ceil(x)`, `s < x`
        // iff `s < ceil(x)`, and `s <= x` iff `s < floor(x) + 1`.
        let lower = ceil_secs(earliest).max(Timestamp::MIN.as_second());
        let upper = ceil_secs(w.to.as_nanosecond())
            .min(floor_secs(latest).saturating_add(1))
            .min(Timestamp::MAX.as_second().saturating_add(1));
        (lower < upper).then_some(Bounds { lower, upper })
    }
}

fn saturate_i64(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

fn floor_secs(nanos: i128) -> i64 {
    saturate_i64(nanos.div_euclid(NANOS_PER_SEC))
}

fn ceil_secs(nanos: i128) -> i64 {
    saturate_i64(-((-nanos).div_euclid(NANOS_PER_SEC)))
}

/// The whole second at or before `ts` (no 128-bit division).
fn floor_second(ts: Timestamp) -> i64 {
    let second = ts.as_second();
    if ts.subsec_nanosecond() < 0 {
        second - 1
    } else {
        second
    }
}

/// The whole second at or after `ts`.
fn ceil_second(ts: Timestamp) -> i64 {
    let second = ts.as_second();
    if ts.subsec_nanosecond() > 0 {
        second + 1
    } else {
        second
    }
}

/// Working intervals as `(day key, start minute, end minute)`, sorted.
type DayIntervals<K> = Vec<(K, u16, u16)>;

fn slots_within(avail: &Availability, taken: &[Period], bounds: Bounds) -> Vec<Period> {
    let visit_minutes = avail.visit_minutes;
    if !(MIN_VISIT_MINUTES..=MAX_VISIT_MINUTES).contains(&visit_minutes)
        || avail.buffer_minutes > MAX_BUFFER_MINUTES
    {
        return Vec::new();
    }
    let tz = &avail.time_zone;
    let visit = i64::from(visit_minutes);
    let step = visit + i64::from(avail.buffer_minutes);
    let visit_secs = visit * 60;

    // Local days to cut: one extra day on each side because local dates can
    // move backwards around a transition, and one more before so that the
    // overlap rule sees the slots preceding the window.
    let (Some(first_day), Some(last_day)) = (
        local_epoch_day(bounds.lower, tz),
        local_epoch_day(bounds.upper - 1, tz),
    ) else {
        return Vec::new();
    };
    // Days whose midnight is a valid timestamp (and date).
    let min_day = Timestamp::MIN.as_second().div_euclid(SECS_PER_DAY) + 1;
    let max_day = Timestamp::MAX.as_second().div_euclid(SECS_PER_DAY) - 1;
    let first_day = (first_day - 2).max(min_day);
    let last_day = (last_day + 1).min(max_day);

    // Weekly hours grouped by weekday (Monday = 0).
    let mut weekly: DayIntervals<usize> = avail
        .weekly
        .iter()
        .map(|w| {
            let wd = usize::try_from(w.weekday.to_monday_zero_offset()).unwrap_or(0);
            (wd, w.interval.start.0, w.interval.end.0)
        })
        .collect();
    weekly.sort_unstable();
    let mut weekday_range = [0usize; 8];
    for (wd, slot) in weekday_range.iter_mut().enumerate().skip(1) {
        *slot = weekly.partition_point(|&(d, _, _)| d < wd);
    }

    // Overrides falling in the range of days.
    let mut override_days: Vec<i64> = Vec::new();
    let mut override_intervals: DayIntervals<i64> = Vec::new();
    for o in &avail.overrides {
        let Some(day) = epoch_day(o.date) else {
            continue;
        };
        if day < first_day || day > last_day {
            continue;
        }
        override_days.push(day);
        override_intervals.extend(o.intervals.iter().map(|i| (day, i.start.0, i.end.0)));
    }
    override_days.sort_unstable();
    override_days.dedup();
    override_intervals.sort_unstable();

    // Offsets of the zone: every instant whose local time falls in the
    // range of days lies within 26 hours of it.
    let margin = 2 * SECS_PER_DAY;
    let Some(zone) = ZoneSegments::new(
        tz,
        (first_day * SECS_PER_DAY - margin).max(Timestamp::MIN.as_second()),
        ((last_day + 1) * SECS_PER_DAY + margin).min(Timestamp::MAX.as_second()),
    ) else {
        return Vec::new();
    };

    let per_week: i64 = weekly
        .iter()
        .map(|&(_, s, e)| (i64::from(e) - i64::from(s) - visit).max(-step) / step + 1)
        .sum();
    let estimate = usize::try_from(per_week * (last_day - first_day + 8) / 7).unwrap_or(0);
    let mut cutter = Cutter {
        tz,
        zone,
        visit,
        step,
        starts: Vec::with_capacity(estimate),
    };

    let (mut next_override_day, mut next_override_interval) = (0, 0);
    for day in first_day..=last_day {
        while override_days
            .get(next_override_day)
            .is_some_and(|&d| d < day)
        {
            next_override_day += 1;
        }
        if override_days.get(next_override_day) == Some(&day) {
            while override_intervals
                .get(next_override_interval)
                .is_some_and(|&(d, _, _)| d < day)
            {
                next_override_interval += 1;
            }
            while let Some(&(d, s, e)) = override_intervals.get(next_override_interval)
                && d == day
            {
                cutter.cut(day, s, e);
                next_override_interval += 1;
            }
        } else {
            let wd = weekday_of_epoch_day(day);
            for &(_, s, e) in &weekly[weekday_range[wd]..weekday_range[wd + 1]] {
                cutter.cut(day, s, e);
            }
        }
    }

    let mut starts = cutter.starts;
    if !starts.is_sorted() {
        starts.sort_unstable();
    }

    let blocked = blocked_periods(taken, &avail.time_off, bounds, visit_secs);

    let in_window = starts.partition_point(|&s| s < bounds.upper)
        - starts.partition_point(|&s| s < bounds.lower);
    let mut out = Vec::with_capacity(in_window);
    let max_second = Timestamp::MAX.as_second();
    let mut kept_end = i64::MIN;
    let mut next_blocked = 0;
    for &start in &starts {
        if start < kept_end {
            // Overlaps the previous kept candidate (a slot straddling a
            // spring-forward gap, or a duplicate): drop it.
            continue;
        }
        let end = start + visit_secs;
        kept_end = end;
        if start < bounds.lower {
            continue;
        }
        if start >= bounds.upper {
            break;
        }
        while blocked
            .get(next_blocked)
            .is_some_and(|&(_, b_end)| b_end <= start)
        {
            next_blocked += 1;
        }
        if blocked
            .get(next_blocked)
            .is_some_and(|&(b_start, _)| b_start < end)
        {
            continue;
        }
        if end > max_second {
            break;
        }
        // Both are within the range of `Timestamp`: `start >= bounds.lower
        // >= Timestamp::MIN` and `end <= Timestamp::MAX`, so `constant`
        // cannot panic (`from_second` returning a `Result` is markedly slower
        // here).
        out.push(Period {
            start: Timestamp::constant(start, 0),
            end: Timestamp::constant(end, 0),
        });
    }
    out
}

/// Taken and time-off periods that can touch a slot starting in `bounds`,
/// as whole seconds `[floor(start), ceil(end))` (a slot of whole seconds
/// overlaps the period iff it overlaps this), sorted and merged.
fn blocked_periods(
    taken: &[Period],
    time_off: &[Period],
    bounds: Bounds,
    visit_secs: i64,
) -> Vec<(i64, i64)> {
    let reach = bounds.upper.saturating_add(visit_secs);
    // Each list is usually sorted already: sort them apart, then merge.
    let relevant = |periods: &[Period]| {
        let mut out: Vec<(i64, i64)> = periods
            .iter()
            .filter(|p| p.start < p.end)
            .map(|p| (floor_second(p.start), ceil_second(p.end)))
            .filter(|&(s, e)| e > bounds.lower && s < reach)
            .collect();
        if !out.is_sorted() {
            out.sort_unstable();
        }
        out
    };
    let (taken, time_off) = (relevant(taken), relevant(time_off));
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(taken.len() + time_off.len());
    let (mut i, mut j) = (0, 0);
    loop {
        let next = match (taken.get(i), time_off.get(j)) {
            (Some(&a), Some(&b)) if a <= b => {
                i += 1;
                a
            }
            (_, Some(&b)) => {
                j += 1;
                b
            }
            (Some(&a), None) => {
                i += 1;
                a
            }
            (None, None) => break,
        };
        match merged.last_mut() {
            Some(last) if next.0 <= last.1 => last.1 = last.1.max(next.1),
            _ => merged.push(next),
        }
    }
    merged
}
