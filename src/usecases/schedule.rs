//! A doctor's working hours, time off and free slots.

use super::doctors::{managed, visible};
use super::{AffectedVisit, Caller, Clinic, Error, Result, Thing, note};
use crate::domain::doctor::TimeOff;
use crate::domain::ids::{AppointmentId, DoctorId, TimeOffId};
use crate::domain::person::{Errors, FieldError};
use crate::domain::schedule::change::fits_hours;
use crate::domain::schedule::{
    self, Availability, DateOverride, DayInterval, MinuteOfDay, Period, SlotWindow, WeeklyInterval,
};
use crate::store::{
    AvailabilityRows, Changed, GuardView, Guarded, HoursRow, OnAffected as StoreOnAffected,
    OverrideRow, ScheduleChange, StoreError, Verdict,
};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Free slots are listed for at most this long a window at once.
pub const MAX_SLOT_WINDOW: SignedDuration = SignedDuration::from_hours(62 * 24);
/// The window listed when none is asked for.
pub const DEFAULT_SLOT_WINDOW: SignedDuration = SignedDuration::from_hours(14 * 24);
/// One stretch of time off lasts at most this long.
pub const MAX_TIME_OFF: SignedDuration = SignedDuration::from_hours(366 * 24);

/// Weekday names as written in hours documents, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A doctor's working hours as people write them: weekday names and `HH:MM`
/// times in the doctor's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hours {
    pub visit_minutes: i32,
    /// Gap after each visit, minutes.
    pub buffer_minutes: i32,
    pub weekly: Vec<HoursInterval>,
    pub overrides: Vec<OverrideDay>,
}

/// One weekly working interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursInterval {
    /// `monday` .. `sunday`.
    pub weekday: String,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` (`24:00` for the end of the day).
    pub end: String,
}

/// The hours of one date instead of the weekly ones; none: closed that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideDay {
    /// `YYYY-MM-DD`, the doctor's local date.
    pub date: String,
    /// `(start, end)` as `HH:MM`.
    pub intervals: Vec<(String, String)>,
}

fn weekday_name(n: i32) -> Result<&'static str> {
    usize::try_from(n - 1)
        .ok()
        .and_then(|i| WEEKDAYS.get(i).copied())
        .ok_or_else(|| Error::internal(&format_args!("stored weekday {n}")))
}

/// A weekday name (`monday`, any case) as 1 = Monday .. 7 = Sunday.
pub fn weekday_number(s: &str) -> Option<i32> {
    let s = s.trim().to_lowercase();
    WEEKDAYS
        .iter()
        .position(|w| *w == s)
        .and_then(|i| i32::try_from(i + 1).ok())
}

fn weekday_of(n: i32) -> Result<Weekday> {
    i8::try_from(n)
        .ok()
        .and_then(|n| Weekday::from_monday_one_offset(n).ok())
        .ok_or_else(|| Error::internal(&format_args!("stored weekday {n}")))
}

fn minute(m: i32) -> Result<MinuteOfDay> {
    u16::try_from(m)
        .ok()
        .and_then(|m| MinuteOfDay::new(m).ok())
        .ok_or_else(|| Error::internal(&format_args!("stored minute of day {m}")))
}

fn interval(start: i32, end: i32) -> Result<DayInterval> {
    DayInterval::new(minute(start)?, minute(end)?)
        .map_err(|e| Error::internal(&format_args!("stored interval {start}-{end}: {e}")))
}

fn parse_range(start: &str, end: &str) -> std::result::Result<DayInterval, String> {
    let s = MinuteOfDay::parse(start).map_err(|e| e.to_string())?;
    let e = MinuteOfDay::parse(end).map_err(|e| e.to_string())?;
    DayInterval::new(s, e).map_err(|e| e.to_string())
}

impl Hours {
    /// The stored rows as people read them. Impossible stored values are an
    /// internal error, never dropped.
    pub fn from_rows(a: &AvailabilityRows) -> Result<Self> {
        let hhmm = |m: i32| minute(m).map(MinuteOfDay::to_hhmm);
        let mut overrides: Vec<OverrideDay> = Vec::new();
        for o in &a.overrides {
            if overrides.last().is_none_or(|last| last.date != o.on_date) {
                overrides.push(OverrideDay {
                    date: o.on_date.clone(),
                    intervals: Vec::new(),
                });
            }
            if let (Some(s), Some(e), Some(last)) =
                (o.start_minute, o.end_minute, overrides.last_mut())
            {
                last.intervals.push((hhmm(s)?, hhmm(e)?));
            }
        }
        let mut weekly = Vec::with_capacity(a.weekly.len());
        for h in &a.weekly {
            weekly.push(HoursInterval {
                weekday: weekday_name(h.weekday)?.to_owned(),
                start: hhmm(h.start_minute)?,
                end: hhmm(h.end_minute)?,
            });
        }
        Ok(Self {
            visit_minutes: a.visit_minutes,
            buffer_minutes: a.buffer_minutes,
            weekly,
            overrides,
        })
    }

    /// Checks the hours with the domain rules and returns the rows to store;
    /// every bad field is reported (`weekly[2].weekday`, `overrides[0].date`).
    pub fn to_rows(&self) -> std::result::Result<AvailabilityRows, Vec<FieldError>> {
        let mut errs = Errors::default();
        let mut weekly = Vec::new();
        let mut domain_weekly = Vec::new();
        for (i, h) in self.weekly.iter().enumerate() {
            let field = format!("weekly[{i}]");
            let Some(wd) = weekday_number(&h.weekday) else {
                errs.0.push(FieldError::new(
                    format!("{field}.weekday"),
                    "must be monday .. sunday",
                ));
                continue;
            };
            match parse_range(&h.start, &h.end) {
                Ok(iv) => {
                    weekly.push(HoursRow {
                        weekday: wd,
                        start_minute: i32::from(iv.start().get()),
                        end_minute: i32::from(iv.end().get()),
                    });
                    if let Ok(weekday) = weekday_of(wd) {
                        domain_weekly.push(WeeklyInterval {
                            weekday,
                            interval: iv,
                        });
                    }
                }
                Err(msg) => errs.0.push(FieldError::new(field, msg)),
            }
        }
        let mut overrides = Vec::new();
        let mut domain_overrides = Vec::new();
        for (i, o) in self.overrides.iter().enumerate() {
            let field = format!("overrides[{i}]");
            let Some(date) = o
                .date
                .trim()
                .parse::<Date>()
                .ok()
                .filter(|d| crate::domain::reach::date(*d))
            else {
                errs.0.push(FieldError::new(
                    format!("{field}.date"),
                    "must be a date YYYY-MM-DD between the years 1900 and 2199",
                ));
                continue;
            };
            let mut ivs = Vec::new();
            for (j, (start, end)) in o.intervals.iter().enumerate() {
                match parse_range(start, end) {
                    Ok(iv) => ivs.push(iv),
                    Err(msg) => errs
                        .0
                        .push(FieldError::new(format!("{field}.intervals[{j}]"), msg)),
                }
            }
            if ivs.is_empty() {
                overrides.push(OverrideRow {
                    on_date: date.to_string(),
                    start_minute: None,
                    end_minute: None,
                });
            }
            for iv in &ivs {
                overrides.push(OverrideRow {
                    on_date: date.to_string(),
                    start_minute: Some(i32::from(iv.start().get())),
                    end_minute: Some(i32::from(iv.end().get())),
                });
            }
            domain_overrides.push(DateOverride {
                date,
                intervals: ivs,
            });
        }
        if !errs.is_empty() {
            return Err(errs.0);
        }
        let visit = u16::try_from(self.visit_minutes).unwrap_or(0);
        let buffer = u16::try_from(self.buffer_minutes).unwrap_or(u16::MAX);
        if let Err(e) = schedule::validate(&domain_weekly, &domain_overrides, visit, buffer) {
            return Err(vec![FieldError::new("availability", e.to_string())]);
        }
        if domain_overrides
            .iter()
            .enumerate()
            .any(|(i, a)| domain_overrides[..i].iter().any(|b| b.date == a.date))
        {
            return Err(vec![FieldError::new(
                "overrides",
                "each date may appear only once",
            )]);
        }
        Ok(AvailabilityRows {
            visit_minutes: self.visit_minutes,
            buffer_minutes: self.buffer_minutes,
            weekly,
            overrides,
        })
    }
}

/// A visible doctor's working hours, overrides and visit length.
pub async fn hours(clinic: &Clinic, caller: &Caller, id: DoctorId) -> Result<Hours> {
    visible(clinic, caller, id).await?;
    let rows = clinic
        .store
        .get_availability(id)
        .await?
        .ok_or(Error::NotFound(Thing::Doctor))?;
    Hours::from_rows(&rows)
}

/// Validates and replaces a doctor's working hours, overrides and visit
/// length (the doctor or an admin). Future booked visits that no longer lie
/// in working time are affected (decision 0022): see [`OnAffected`].
pub async fn set_hours(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    h: &Hours,
    on: &OnAffected,
) -> Result<Hours> {
    managed(clinic, caller, id).await?;
    let rows = h.to_rows().map_err(Error::Invalid)?;
    let judge = |view: &GuardView| -> crate::store::Result<Verdict> {
        let corrupt = |_| StoreError::corrupt("stored hours or time zone");
        let new = availability_from_rows(&view.timezone, &rows, Vec::new()).map_err(corrupt)?;
        let old = availability_from_rows(&view.timezone, &view.availability, Vec::new())
            .map_err(corrupt)?;
        // Only visits these hours push out: one already outside working time
        // (kept through an earlier change) is not asked about again.
        Ok(Verdict {
            affected: affected_by(view, |p| fits_hours(&old, p) && !fits_hours(&new, p)),
            local_dates: Vec::new(),
        })
    };
    guarded(
        clinic,
        caller,
        id,
        ScheduleChange::Availability(&rows),
        &judge,
        on,
    )
    .await?;
    Hours::from_rows(&rows)
}

/// The free slots that `h` would produce for a doctor in `[from, to)`, with
/// their stored time off and taken visits, without saving anything: the hours
/// editor's preview. Same validation and slot generator as the real thing.
pub async fn preview_hours(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    h: &Hours,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Period>> {
    let doctor = managed(clinic, caller, id).await?;
    let rows = h.to_rows().map_err(Error::Invalid)?;
    let mut sched = load_schedule(clinic, doctor.id, from, to).await?;
    let stored = std::mem::replace(
        &mut sched.availability,
        availability_from_rows(&doctor.timezone, &rows, Vec::new())?,
    );
    sched.availability.time_off = stored.time_off;
    Ok(slots_in(clinic, &sched, from, to))
}

// ---------------------------------------------------------------------------
// Changes that may affect booked visits (decision 0022)

/// What to do with the future booked visits a change affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affected {
    /// They stay booked as they are.
    Keep,
    /// They are cancelled with the reason given, and their patients told.
    Cancel,
}

impl Affected {
    /// `keep` or `cancel`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "keep" => Some(Affected::Keep),
            "cancel" => Some(Affected::Cancel),
            _ => None,
        }
    }
}

/// The caller's choice for affected visits. With none, a change that affects
/// visits is refused with [`super::Conflict::VisitsAffected`] listing them
/// and changes nothing; a change that affects none needs no choice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnAffected {
    pub choice: Option<Affected>,
    /// Required with [`Affected::Cancel`]: the patients read it.
    pub cancel_reason: Option<String>,
}

impl OnAffected {
    /// Keep affected visits.
    pub fn keep() -> Self {
        OnAffected {
            choice: Some(Affected::Keep),
            cancel_reason: None,
        }
    }
}

/// The visits of `view` whose period `hit` says the change affects.
pub(crate) fn affected_by(view: &GuardView, hit: impl Fn(&Period) -> bool) -> Vec<AppointmentId> {
    view.visits
        .iter()
        .filter(|v| Period::new(v.start_at, v.end_at).is_ok_and(|p| hit(&p)))
        .map(|v| v.id)
        .collect()
}

/// Runs a schedule change in the store's guarded transaction with the
/// caller's choice for affected visits. `NotFound` if the doctor is gone.
pub(crate) async fn guarded(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    change: ScheduleChange<'_>,
    judge: &(dyn Fn(&GuardView) -> crate::store::Result<Verdict> + Send + Sync),
    on: &OnAffected,
) -> Result<Changed> {
    let reason = note("cancel_reason", on.cancel_reason.as_deref())?;
    let store_on = match on.choice {
        None => StoreOnAffected::Refuse,
        Some(Affected::Keep) => StoreOnAffected::Keep,
        Some(Affected::Cancel) => match reason.as_deref() {
            Some(r) => StoreOnAffected::Cancel(r),
            None => {
                return Err(Error::invalid(
                    "cancel_reason",
                    "is required to cancel the affected visits (the patients read it)",
                ));
            }
        },
    };
    let now = clinic.now().as_second();
    match clinic
        .store
        .change_schedule(id, change, judge, store_on, caller.account(), now)
        .await?
    {
        None => Err(Error::NotFound(Thing::Doctor)),
        Some(Guarded::Affected(visits)) => Err(Error::Conflict(super::Conflict::VisitsAffected(
            visits
                .into_iter()
                .map(|v| AffectedVisit {
                    id: v.id,
                    start: v.start_at,
                    end: v.end_at,
                    patient_name: v.patient_name,
                })
                .collect(),
        ))),
        Some(Guarded::Done { changed, cancelled }) => {
            if !cancelled.is_empty() {
                tracing::info!(doctor_id = %id, cancelled = cancelled.len(), "visits cancelled by a schedule change");
            }
            Ok(changed)
        }
    }
}

// ---------------------------------------------------------------------------
// Time off

/// Time off as asked for.
#[derive(Debug, Clone)]
pub struct NewTimeOff {
    pub start: Timestamp,
    pub end: Timestamp,
    pub reason: Option<String>,
}

/// Time off and its reasons are private: others get `NotFound`.
fn require_manager(caller: &Caller, id: DoctorId) -> Result<()> {
    if caller.may_manage_doctor(id) {
        Ok(())
    } else {
        Err(Error::NotFound(Thing::Doctor))
    }
}

/// A doctor's current and future time off (the doctor or an admin).
pub async fn time_off(clinic: &Clinic, caller: &Caller, id: DoctorId) -> Result<Vec<TimeOff>> {
    require_manager(caller, id)?;
    visible(clinic, caller, id).await?;
    Ok(clinic.store.list_time_off(id, clinic.now()).await?)
}

/// Validates and records time off for a doctor (the doctor or an admin).
/// Future booked visits it overlaps are affected (decision 0022): see
/// [`OnAffected`].
pub async fn add_time_off(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    req: &NewTimeOff,
    on: &OnAffected,
) -> Result<TimeOff> {
    require_manager(caller, id)?;
    visible(clinic, caller, id).await?;
    if req.end <= req.start {
        return Err(Error::invalid("end", "must be after start"));
    }
    if req.end.duration_since(req.start) > MAX_TIME_OFF {
        return Err(Error::invalid("end", "time off may last at most a year"));
    }
    let reason = note("reason", req.reason.as_deref())?;
    let off = Period::new(req.start, req.end).map_err(|e| Error::internal(&e))?;
    let judge = |view: &GuardView| -> crate::store::Result<Verdict> {
        Ok(Verdict {
            affected: affected_by(view, |p| p.overlaps(&off)),
            local_dates: Vec::new(),
        })
    };
    let change = ScheduleChange::TimeOff {
        start: req.start,
        end: req.end,
        reason: reason.as_deref(),
    };
    match guarded(clinic, caller, id, change, &judge, on).await? {
        Changed::TimeOff(row) => Ok(row),
        _ => Err(Error::internal(&"time off change wrote something else")),
    }
}

/// Removes one of a doctor's time-off entries (the doctor or an admin).
pub async fn remove_time_off(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    time_off_id: TimeOffId,
) -> Result<()> {
    require_manager(caller, id)?;
    let now = clinic.now().as_second();
    if !clinic
        .store
        .delete_time_off(id, time_off_id, caller.account(), now)
        .await?
    {
        return Err(Error::NotFound(Thing::TimeOff));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Free slots

/// Everything the slot generator needs about one doctor around `[from, to)`.
pub struct DoctorSchedule {
    /// Whether the doctor takes bookings.
    pub active: bool,
    pub availability: Availability,
    pub taken: Vec<Period>,
}

fn periods(pairs: Vec<(i64, i64)>) -> Result<Vec<Period>> {
    pairs
        .into_iter()
        .map(|(s, e)| {
            let (s, e) = (super::stored_instant(s)?, super::stored_instant(e)?);
            Period::new(s, e).map_err(|e| Error::internal(&e))
        })
        .collect()
}

/// The slot generator's view of stored working hours and overrides, with the
/// given time off. Impossible stored values are an internal error.
pub fn availability_from_rows(
    timezone: &str,
    rows: &AvailabilityRows,
    time_off: Vec<Period>,
) -> Result<Availability> {
    let tz = TimeZone::get(timezone).map_err(|e| Error::internal(&e))?;
    let mut weekly = Vec::with_capacity(rows.weekly.len());
    for h in &rows.weekly {
        weekly.push(WeeklyInterval {
            weekday: weekday_of(h.weekday)?,
            interval: interval(h.start_minute, h.end_minute)?,
        });
    }
    let mut overrides: Vec<DateOverride> = Vec::new();
    for o in &rows.overrides {
        let date = o.on_date.parse::<Date>().map_err(|e| Error::internal(&e))?;
        if overrides.last().is_none_or(|l| l.date != date) {
            overrides.push(DateOverride {
                date,
                intervals: Vec::new(),
            });
        }
        match (o.start_minute, o.end_minute, overrides.last_mut()) {
            (Some(s), Some(e), Some(last)) => last.intervals.push(interval(s, e)?),
            (None, None, _) => {}
            _ => return Err(Error::internal(&"half-open stored override")),
        }
    }
    let minutes = |m: i32| u16::try_from(m).map_err(|e| Error::internal(&e));
    Ok(Availability {
        time_zone: tz,
        weekly,
        overrides,
        time_off,
        visit_minutes: minutes(rows.visit_minutes)?,
        buffer_minutes: minutes(rows.buffer_minutes)?,
    })
}

/// Loads a doctor's hours, overrides, time off and taken slots around a
/// window, and whether the doctor is active; `NotFound` if there is no such
/// doctor. Callers decide what an inactive doctor means for them.
pub(crate) async fn load_schedule(
    clinic: &Clinic,
    doctor_id: DoctorId,
    from: Timestamp,
    to: Timestamp,
) -> Result<DoctorSchedule> {
    // One query for hours, overrides, time off and taken slots: the hot read
    // of the free-slots page and of every booking (docs/PERFORMANCE.md).
    let day = SignedDuration::from_hours(24);
    let sched = clinic
        .store
        .schedule_rows(
            doctor_id,
            from.checked_sub(day).unwrap_or(from),
            to.checked_add(day).unwrap_or(to),
        )
        .await?
        .ok_or(Error::NotFound(Thing::Doctor))?;
    Ok(DoctorSchedule {
        active: sched.active,
        availability: availability_from_rows(
            &sched.timezone,
            &sched.availability,
            periods(sched.time_off)?,
        )?,
        taken: periods(sched.taken)?,
    })
}

/// The free slots of a loaded schedule starting in `[from, to)`, under the
/// clinic's notice and horizon.
fn slots_in(
    clinic: &Clinic,
    sched: &DoctorSchedule,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Period> {
    let settings = clinic.settings();
    let window = SlotWindow {
        from,
        to,
        now: clinic.now(),
        min_notice: settings.min_notice(),
        horizon: settings.horizon(),
    };
    schedule::free_slots(&sched.availability, &sched.taken, &window)
}

/// A visible doctor's slots starting in `[from, to)`, each with whether it is
/// still free (`false`: booked or held). The same window rules as
/// [`free_slots`]; for faces that show busy slots too (FHIR's Slot).
pub async fn slots_with_status(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(Period, bool)>> {
    if to <= from {
        return Err(Error::invalid("end", "must be after the start"));
    }
    if to.duration_since(from) > MAX_SLOT_WINDOW {
        return Err(Error::invalid(
            "end",
            "must be at most 62 days after the start",
        ));
    }
    let sched = load_schedule(clinic, id, from, to).await?;
    if !sched.active {
        return if caller.may_manage_doctor(id) {
            Ok(Vec::new())
        } else {
            Err(Error::NotFound(Thing::Doctor))
        };
    }
    let free = slots_in(clinic, &sched, from, to);
    let everything = DoctorSchedule {
        active: true,
        availability: sched.availability,
        taken: Vec::new(),
    };
    Ok(slots_in(clinic, &everything, from, to)
        .into_iter()
        .map(|p| {
            let is_free = free.binary_search_by_key(&p.start, |f| f.start).is_ok();
            (p, is_free)
        })
        .collect())
}

/// A visible doctor's free slots starting in `[from, to)` (default: now and
/// [`DEFAULT_SLOT_WINDOW`] later; at most [`MAX_SLOT_WINDOW`]). An inactive
/// doctor has none.
pub async fn free_slots(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<Vec<Period>> {
    let from = from.unwrap_or_else(|| clinic.now());
    let to = match to {
        Some(to) => to,
        None => from
            .checked_add(DEFAULT_SLOT_WINDOW)
            .map_err(|_| Error::invalid("from", "is too far in the future"))?,
    };
    if to <= from {
        return Err(Error::invalid("to", "must be after from"));
    }
    if to.duration_since(from) > MAX_SLOT_WINDOW {
        return Err(Error::invalid("to", "must be at most 62 days after from"));
    }
    // The doctor's visibility comes with the schedule: one query (the hot read).
    let sched = load_schedule(clinic, id, from, to).await?;
    if !sched.active {
        return if caller.may_manage_doctor(id) {
            Ok(Vec::new())
        } else {
            Err(Error::NotFound(Thing::Doctor))
        };
    }
    Ok(slots_in(clinic, &sched, from, to))
}
