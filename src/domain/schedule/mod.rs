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

pub mod change;
mod generator;
#[cfg(test)]
mod tests;
mod zone;

pub use generator::{free_slot_at, free_slots};
pub use zone::local_date;

use std::fmt;
use std::str::FromStr;

use jiff::{
    SignedDuration, Timestamp,
    civil::{Date, Weekday},
    tz::TimeZone,
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

/// A weekday's English name (`Monday`).
pub fn weekday_name(w: Weekday) -> &'static str {
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
