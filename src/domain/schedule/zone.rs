//! Local time in the doctor's zone: the local date of an instant, days since
//! the epoch, the zone's offsets over a range, and the cutting of wall-clock
//! intervals into instants, exactly around DST transitions and with plain
//! arithmetic away from them (see "Performance" in the parent module).
//!
//! Instants are whole seconds since the Unix epoch (`i64`); a local
//! wall-clock time is the same count read as if the local time were UTC.

use jiff::{
    Timestamp,
    civil::{Date, Time},
    tz::{AmbiguousOffset, Offset, TimeZone},
};

pub(super) const SECS_PER_DAY: i64 = 86_400;

/// The doctor's local calendar date of an instant.
pub fn local_date(ts: Timestamp, tz: &TimeZone) -> Date {
    tz.to_datetime(ts).date()
}

/// Days since 1970-01-01 of the local date of the instant `secs`.
pub(super) fn local_epoch_day(secs: i64, tz: &TimeZone) -> Option<i64> {
    let ts = Timestamp::from_second(secs).ok()?;
    let offset = i64::from(tz.to_offset(ts).seconds());
    Some((secs + offset).div_euclid(SECS_PER_DAY))
}

pub(super) fn epoch_day(date: Date) -> Option<i64> {
    let ts = Offset::UTC
        .to_timestamp(date.to_datetime(Time::midnight()))
        .ok()?;
    Some(ts.as_second().div_euclid(SECS_PER_DAY))
}

fn date_of_epoch_day(day: i64) -> Option<Date> {
    let ts = Timestamp::from_second(day.checked_mul(SECS_PER_DAY)?).ok()?;
    Some(Offset::UTC.to_datetime(ts).date())
}

/// Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday).
pub(super) fn weekday_of_epoch_day(day: i64) -> usize {
    // rem_euclid(7) is in 0..7, so the cast is lossless.
    (day + 3).rem_euclid(7) as usize
}

/// The zone's offsets over a range of instants.
pub(super) struct ZoneSegments {
    /// Offset (seconds) before the first transition.
    initial: i64,
    /// Transitions in the range: (instant, offset from then on), sorted.
    transitions: Vec<(i64, i64)>,
    /// The largest absolute offset in use in the range.
    max_offset: i64,
}

impl ZoneSegments {
    pub(super) fn new(tz: &TimeZone, start: i64, end: i64) -> Option<ZoneSegments> {
        let start_ts = Timestamp::from_second(start).ok()?;
        let initial = i64::from(tz.to_offset(start_ts).seconds());
        let mut transitions = Vec::new();
        let mut max_offset = initial.abs();
        for t in tz.following(start_ts) {
            let at = t.timestamp().as_second();
            if at > end {
                break;
            }
            let offset = i64::from(t.offset().seconds());
            max_offset = max_offset.max(offset.abs());
            transitions.push((at, offset));
        }
        Some(ZoneSegments {
            initial,
            transitions,
            max_offset,
        })
    }

    /// The constant offset used by every local time in `[first, last]`, if
    /// no transition is near enough to make any of them ambiguous or
    /// nonexistent.
    fn fixed_offset(&self, first: i64, last: i64) -> Option<i64> {
        let before = self
            .transitions
            .partition_point(|&(at, _)| at < first - self.max_offset);
        if let Some(&(at, _)) = self.transitions.get(before)
            && at <= last + self.max_offset
        {
            return None;
        }
        Some(match before.checked_sub(1) {
            Some(i) => self.transitions[i].1,
            None => self.initial,
        })
    }
}

/// Cuts intervals into candidate slot starts.
pub(super) struct Cutter<'a> {
    pub(super) tz: &'a TimeZone,
    pub(super) zone: ZoneSegments,
    pub(super) visit: i64,
    pub(super) step: i64,
    pub(super) starts: Vec<i64>,
}

impl Cutter<'_> {
    /// Adds the slot starts of the interval `[start, end)` (minutes) on the
    /// local day `day` (days since the epoch).
    pub(super) fn cut(&mut self, day: i64, start: u16, end: u16) {
        let (start, end) = (i64::from(start), i64::from(end));
        let last_minute = end - self.visit;
        if last_minute < start {
            return;
        }
        let last_minute = last_minute - (last_minute - start) % self.step;
        let base = day * SECS_PER_DAY;
        let (first, last) = (base + start * 60, base + last_minute * 60);
        if let Some(offset) = self.zone.fixed_offset(first, last) {
            let step = self.step * 60;
            let mut local = first;
            while local <= last {
                self.starts.push(local - offset);
                local += step;
            }
            return;
        }
        // Near a transition: ask the time zone database for every start.
        let Some(date) = date_of_epoch_day(day) else {
            return;
        };
        let mut minute = start;
        while minute <= last_minute {
            if let Some(instant) = self.resolve(date, minute) {
                self.starts.push(instant);
            }
            minute += self.step;
        }
    }

    /// The earliest instant of the local time `minute` on `date`, if that
    /// local time exists.
    fn resolve(&self, date: Date, minute: i64) -> Option<i64> {
        let hour = i8::try_from(minute / 60).ok()?;
        let min = i8::try_from(minute % 60).ok()?;
        let dt = date.to_datetime(Time::new(hour, min, 0, 0).ok()?);
        let local = Offset::UTC.to_timestamp(dt).ok()?.as_second();
        let offset = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.seconds(),
            AmbiguousOffset::Gap { .. } => return None,
            AmbiguousOffset::Fold { before, after } => before.seconds().max(after.seconds()),
        };
        Some(local - i64::from(offset))
    }
}
