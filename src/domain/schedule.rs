//! Slot generation: a doctor's weekly hours, date overrides and time off,
//! turned into bookable visit slots.
//!
//! Everything here is pure: no I/O and no clock (the caller passes `now`).
//!
//! # How slots are cut
//!
//! For every local date (in the doctor's time zone) the working intervals
//! are the date's override if there is one, else the weekly intervals of
//! that weekday. Each interval is cut in *wall-clock* time: local starts at
//! `interval.start`, `+ step`, `+ 2 step`, ... with
//! `step = visit_minutes + buffer_minutes`, keeping a start only if
//! `start + visit_minutes <= interval.end`. Each local start becomes an
//! instant in the doctor's zone: a local time inside a spring-forward gap is
//! skipped, a local time inside a fall-back fold is taken once, at its
//! earlier occurrence. A slot lasts exactly `visit_minutes` of real time.
//!
//! Candidate slots are then ordered by instant; a candidate that overlaps the
//! previous kept candidate (this only happens when a slot straddles a
//! spring-forward gap, or with overlapping, i.e. invalid, intervals) is
//! dropped, so the output never contains overlapping slots. Finally slots
//! overlapping time off or taken periods, or outside the notice / horizon /
//! window limits, are removed.
//!
//! # Performance
//!
//! The zone's transitions around the requested range are fetched once. A
//! local time `L` (seconds since the epoch, read as if it were UTC) maps to
//! the single instant `L - offset` whenever no transition lies within
//! `max_offset` of `L`, where `max_offset` is the largest absolute offset
//! the zone uses in the range: every instant `t` whose local time is `L`
//! satisfies `|t - L| <= max_offset`, so a transition-free neighbourhood
//! means a constant offset and exactly one occurrence. Such intervals are
//! cut with plain `i64` arithmetic; only intervals near a transition go
//! through the time zone database slot by slot.

use std::fmt;
use std::str::FromStr;

use jiff::{
    SignedDuration, Timestamp,
    civil::{Date, Time, Weekday},
    tz::{AmbiguousOffset, Offset, TimeZone},
};

/// Minutes in a day; also the largest valid [`MinuteOfDay`] (end of day).
pub const MINUTES_PER_DAY: u16 = 1440;
/// Shortest allowed visit, in minutes.
pub const MIN_VISIT_MINUTES: u16 = 5;
/// Longest allowed visit, in minutes.
pub const MAX_VISIT_MINUTES: u16 = 240;
/// Longest allowed buffer after a visit, in minutes.
pub const MAX_BUFFER_MINUTES: u16 = 120;
/// Most working intervals allowed on one weekday or one override date.
pub const MAX_INTERVALS_PER_DAY: usize = 8;
/// Most date overrides allowed for one doctor.
pub const MAX_OVERRIDES: usize = 366;

const SECS_PER_DAY: i64 = 86_400;
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Minutes after local midnight, 0..=1440 (1440 = end of day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinuteOfDay(u16);

impl MinuteOfDay {
    /// Local midnight at the start of the day (00:00).
    pub const MIDNIGHT: MinuteOfDay = MinuteOfDay(0);
    /// The end of the day (24:00).
    pub const END_OF_DAY: MinuteOfDay = MinuteOfDay(MINUTES_PER_DAY);

    /// A minute of the day, 0..=1440.
    pub fn new(m: u16) -> Result<Self, ScheduleError> {
        if m <= MINUTES_PER_DAY {
            Ok(MinuteOfDay(m))
        } else {
            Err(ScheduleError::InvalidMinute(m))
        }
    }

    /// The number of minutes after local midnight.
    pub fn get(self) -> u16 {
        self.0
    }

    /// Parses `"HH:MM"` (exactly two digits each, 00:00..=24:00).
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let bad = || ScheduleError::InvalidTimeOfDay(s.to_owned());
        let &[h1, h2, b':', m1, m2] = s.as_bytes() else {
            return Err(bad());
        };
        let digit = |b: u8| {
            if b.is_ascii_digit() {
                Some(u16::from(b - b'0'))
            } else {
                None
            }
        };
        let (Some(h1), Some(h2), Some(m1), Some(m2)) = (digit(h1), digit(h2), digit(m1), digit(m2))
        else {
            return Err(bad());
        };
        let (hours, minutes) = (h1 * 10 + h2, m1 * 10 + m2);
        if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
            return Err(bad());
        }
        Ok(MinuteOfDay(hours * 60 + minutes))
    }

    /// Formats as `"HH:MM"` (`"24:00"` for the end of the day).
    pub fn to_hhmm(self) -> String {
        format!("{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Display for MinuteOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl FromStr for MinuteOfDay {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MinuteOfDay::parse(s)
    }
}

/// A wall-clock interval within one local day, start < end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayInterval {
    start: MinuteOfDay,
    end: MinuteOfDay,
}

impl DayInterval {
    /// An interval; `start` must be strictly before `end`.
    pub fn new(start: MinuteOfDay, end: MinuteOfDay) -> Result<Self, ScheduleError> {
        if start < end {
            Ok(DayInterval { start, end })
        } else {
            Err(ScheduleError::InvalidInterval { start, end })
        }
    }

    /// Parses `"HH:MM-HH:MM"`, e.g. `"08:00-12:30"`.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let Some((start, end)) = s.split_once('-') else {
            return Err(ScheduleError::InvalidTimeOfDay(s.to_owned()));
        };
        DayInterval::new(MinuteOfDay::parse(start)?, MinuteOfDay::parse(end)?)
    }

    /// The first minute of the interval.
    pub fn start(&self) -> MinuteOfDay {
        self.start
    }

    /// The end of the interval (exclusive).
    pub fn end(&self) -> MinuteOfDay {
        self.end
    }

    /// Whether the two intervals share at least one minute (touching
    /// intervals such as 08:00-12:00 and 12:00-13:00 do not overlap).
    pub fn overlaps(&self, other: &DayInterval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for DayInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Working hours on one weekday.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeeklyInterval {
    pub weekday: Weekday,
    pub interval: DayInterval,
}

/// Replaces the weekly hours on one local date; empty intervals = closed that day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateOverride {
    pub date: Date,
    pub intervals: Vec<DayInterval>,
}

/// Half-open instant interval [start, end), start < end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Period {
    /// A period; `start` must be strictly before `end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, ScheduleError> {
        if start < end {
            Ok(Period { start, end })
        } else {
            Err(ScheduleError::InvalidPeriod { start, end })
        }
    }

    /// Whether the two half-open periods share at least one instant.
    pub fn overlaps(&self, other: &Period) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `ts` lies in `[start, end)`.
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.start <= ts && ts < self.end
    }

    /// The length of the period.
    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }
}

/// Everything that determines a doctor's bookable slots, apart from the
/// visits already taken.
#[derive(Clone, Debug)]
pub struct Availability {
    pub time_zone: TimeZone,
    pub weekly: Vec<WeeklyInterval>,
    pub overrides: Vec<DateOverride>,
    pub time_off: Vec<Period>,
    /// Visit length in minutes, 5..=240.
    pub visit_minutes: u16,
    /// Gap after each visit in minutes, 0..=120.
    pub buffer_minutes: u16,
}

impl Availability {
    /// [`validate`] applied to this availability.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        validate(
            &self.weekly,
            &self.overrides,
            self.visit_minutes,
            self.buffer_minutes,
        )
    }
}

/// Which slots to list: starts in `[from, to)`, at least `min_notice` after
/// `now` and at most `horizon` after `now`.
#[derive(Clone, Copy, Debug)]
pub struct SlotWindow {
    pub from: Timestamp,
    pub to: Timestamp,
    pub now: Timestamp,
    pub min_notice: SignedDuration,
    pub horizon: SignedDuration,
}

/// The day a schedule error refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleDay {
    /// A day of the weekly hours.
    Weekday(Weekday),
    /// A date override.
    Date(Date),
}

impl fmt::Display for ScheduleDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleDay::Weekday(w) => f.write_str(weekday_name(*w)),
            ScheduleDay::Date(d) => write!(f, "{d}"),
        }
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// Why a schedule (or one of its parts) is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("minute of day {0} is out of range: it must be between 0 and 1440")]
    InvalidMinute(u16),
    #[error("invalid time of day {0:?}: expected HH:MM between 00:00 and 24:00")]
    InvalidTimeOfDay(String),
    #[error("invalid interval {start}-{end}: the start must be before the end")]
    InvalidInterval {
        start: MinuteOfDay,
        end: MinuteOfDay,
    },
    #[error("the working intervals on {day} overlap")]
    OverlappingIntervals { day: ScheduleDay },
    #[error("{day} has {count} working intervals; at most 8 are allowed")]
    TooManyIntervals { day: ScheduleDay, count: usize },
    #[error("{count} date overrides given; at most 366 are allowed")]
    TooManyOverrides { count: usize },
    #[error("there is more than one override for {date}")]
    DuplicateOverride { date: Date },
    #[error("a visit of {0} minutes is not allowed: it must last between 5 and 240 minutes")]
    InvalidVisitLength(u16),
    #[error("a buffer of {0} minutes is not allowed: it must be between 0 and 120 minutes")]
    InvalidBuffer(u16),
    #[error("invalid period from {start} to {end}: the start must be before the end")]
    InvalidPeriod { start: Timestamp, end: Timestamp },
}

/// Validates a doctor's weekly hours + overrides + visit/buffer: each
/// interval start<end, intervals of one weekday (and of one override date)
/// must not overlap, at most 8 intervals per weekday/date, at most 366
/// overrides (one per date), visit 5..=240, buffer 0..=120.
pub fn validate(
    weekly: &[WeeklyInterval],
    overrides: &[DateOverride],
    visit_minutes: u16,
    buffer_minutes: u16,
) -> Result<(), ScheduleError> {
    if !(MIN_VISIT_MINUTES..=MAX_VISIT_MINUTES).contains(&visit_minutes) {
        return Err(ScheduleError::InvalidVisitLength(visit_minutes));
    }
    if buffer_minutes > MAX_BUFFER_MINUTES {
        return Err(ScheduleError::InvalidBuffer(buffer_minutes));
    }
    if overrides.len() > MAX_OVERRIDES {
        return Err(ScheduleError::TooManyOverrides {
            count: overrides.len(),
        });
    }
    let mut day: Vec<DayInterval> = Vec::with_capacity(MAX_INTERVALS_PER_DAY);
    for offset in 0..7 {
        let Ok(weekday) = Weekday::from_monday_zero_offset(offset) else {
            continue;
        };
        day.clear();
        day.extend(
            weekly
                .iter()
                .filter(|w| w.weekday == weekday)
                .map(|w| w.interval),
        );
        check_day(&mut day, ScheduleDay::Weekday(weekday))?;
    }
    let mut dates: Vec<Date> = overrides.iter().map(|o| o.date).collect();
    dates.sort_unstable();
    if let Some(pair) = dates.windows(2).find(|p| p[0] == p[1]) {
        return Err(ScheduleError::DuplicateOverride { date: pair[0] });
    }
    for o in overrides {
        day.clear();
        day.extend_from_slice(&o.intervals);
        check_day(&mut day, ScheduleDay::Date(o.date))?;
    }
    Ok(())
}

fn check_day(intervals: &mut [DayInterval], day: ScheduleDay) -> Result<(), ScheduleError> {
    if intervals.len() > MAX_INTERVALS_PER_DAY {
        return Err(ScheduleError::TooManyIntervals {
            day,
            count: intervals.len(),
        });
    }
    if let Some(bad) = intervals.iter().find(|i| i.start >= i.end) {
        return Err(ScheduleError::InvalidInterval {
            start: bad.start,
            end: bad.end,
        });
    }
    intervals.sort_unstable_by_key(|i| (i.start, i.end));
    if intervals.windows(2).any(|p| p[0].overlaps(&p[1])) {
        return Err(ScheduleError::OverlappingIntervals { day });
    }
    Ok(())
}

/// The doctor's local calendar date of an instant.
pub fn local_date(ts: Timestamp, tz: &TimeZone) -> Date {
    tz.to_datetime(ts).date()
}

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

/// Days since 1970-01-01 of the local date of the instant `secs`.
fn local_epoch_day(secs: i64, tz: &TimeZone) -> Option<i64> {
    let ts = Timestamp::from_second(secs).ok()?;
    let offset = i64::from(tz.to_offset(ts).seconds());
    Some((secs + offset).div_euclid(SECS_PER_DAY))
}

fn epoch_day(date: Date) -> Option<i64> {
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
fn weekday_of_epoch_day(day: i64) -> usize {
    // rem_euclid(7) is in 0..7, so the cast is lossless.
    (day + 3).rem_euclid(7) as usize
}

/// The zone's offsets over a range of instants.
struct ZoneSegments {
    /// Offset (seconds) before the first transition.
    initial: i64,
    /// Transitions in the range: (instant, offset from then on), sorted.
    transitions: Vec<(i64, i64)>,
    /// The largest absolute offset in use in the range.
    max_offset: i64,
}

impl ZoneSegments {
    fn new(tz: &TimeZone, start: i64, end: i64) -> Option<ZoneSegments> {
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
struct Cutter<'a> {
    tz: &'a TimeZone,
    zone: ZoneSegments,
    visit: i64,
    step: i64,
    starts: Vec<i64>,
}

impl Cutter<'_> {
    /// Adds the slot starts of the interval `[start, end)` (minutes) on the
    /// local day `day` (days since the epoch).
    fn cut(&mut self, day: i64, start: u16, end: u16) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

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
}
