//! The clinic as a whole, for admins: the dashboard's figures and the audit log.

use super::schedule::{DoctorSchedule, load_schedule};
use super::{Caller, Clinic, Error, Result, Thing};
use crate::domain::appointment::Status;
use crate::domain::audit::AuditRecord;
use crate::domain::doctor::Doctor;
use crate::domain::ids::AccountId;
use crate::domain::schedule::{self, SlotWindow};
use crate::store::{AuditFilter, DoctorSeconds};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The dashboard looks back this many days ...
pub const PAST_DAYS: i64 = 30;
/// ... and ahead this many.
pub const NEXT_DAYS: i64 = 14;

/// Visits by how they ended, over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusMix {
    pub completed: i64,
    pub no_show: i64,
    pub cancelled: i64,
    /// Booked or in progress: not closed yet.
    pub open: i64,
}

impl StatusMix {
    pub fn total(&self) -> i64 {
        self.completed + self.no_show + self.cancelled + self.open
    }

    /// Visits that took place or should have: the no-show rate's base.
    pub fn held(&self) -> i64 {
        self.completed + self.no_show
    }

    fn of(counts: &[(Status, i64)]) -> Self {
        let count = |want: &[Status]| {
            counts
                .iter()
                .filter(|(s, _)| want.contains(s))
                .map(|(_, n)| *n)
                .sum()
        };
        Self {
            completed: count(&[Status::Completed]),
            no_show: count(&[Status::NoShow]),
            cancelled: count(&[Status::Cancelled]),
            open: count(&[Status::Booked, Status::InProgress]),
        }
    }
}

/// A part of a whole, e.g. booked of offered seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub part: i64,
    pub whole: i64,
}

impl Ratio {
    /// The share in percent, `None` for an empty whole.
    pub fn percent(&self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 * 100.0 / self.whole as f64)
    }
}

/// One active doctor's booked time against the time they offered.
#[derive(Debug, Clone)]
pub struct Utilization {
    pub doctor: Doctor,
    /// Seconds booked of seconds offered over the last [`PAST_DAYS`].
    pub past: Ratio,
    /// Seconds booked of seconds offered over the next [`NEXT_DAYS`].
    pub next: Ratio,
}

/// The admin dashboard's figures.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The first of the [`PAST_DAYS`] days counted, in the viewer's zone.
    pub first_day: Date,
    /// Bookings made on each of the last [`PAST_DAYS`] days, oldest first.
    pub bookings_per_day: Vec<(Date, i64)>,
    /// How visits that started in the last [`PAST_DAYS`] days went.
    pub mix: StatusMix,
    /// Cancelled of all visits in that window.
    pub cancellation_rate: Ratio,
    /// No-shows of held visits in that window.
    pub no_show_rate: Ratio,
    /// Open visits starting in the next [`NEXT_DAYS`] days.
    pub upcoming: i64,
    /// Their booked seconds.
    pub upcoming_seconds: i64,
    pub utilization: Vec<Utilization>,
    /// Paid and outstanding money per doctor (all time; doctors with
    /// neither are left out), by doctor.
    pub money: Vec<Money>,
}

/// One doctor's money (see [`crate::domain::payment`]).
#[derive(Debug, Clone)]
pub struct Money {
    pub doctor: Doctor,
    pub paid_visits: i64,
    /// The sums recorded when visits were marked paid (refunds excluded).
    pub revenue_cents: i64,
    /// Visits that took place and were neither paid nor waived ...
    pub outstanding_visits: i64,
    /// ... at the doctor's fee now.
    pub outstanding_cents: i64,
}

/// Offered time of one doctor in a window: the free slots the domain's
/// generator gives, plus the time already taken.
fn offered_seconds(sched: &DoctorSchedule, from: Timestamp, to: Timestamp) -> i64 {
    let window = SlotWindow {
        from,
        to,
        // The generator only offers slots after `now`; to count a past window
        // we ask as if it were its start.
        now: from,
        min_notice: SignedDuration::ZERO,
        horizon: to.duration_since(from) + SignedDuration::from_secs(1),
    };
    let free: i64 = schedule::free_slots(&sched.availability, &sched.taken, &window)
        .iter()
        .map(|p| p.duration().as_secs())
        .sum();
    let taken: i64 = sched
        .taken
        .iter()
        .filter(|p| p.start >= from && p.start < to)
        .map(|p| p.duration().as_secs())
        .sum();
    free + taken
}

fn booked_of(rows: &[DoctorSeconds], doctor: &Doctor) -> i64 {
    rows.iter()
        .find(|r| r.doctor_id == doctor.id)
        .map(|r| r.seconds)
        .unwrap_or(0)
}

/// The dashboard's figures, with days counted in `tz` (the viewer's zone).
pub async fn dashboard(clinic: &Clinic, caller: &Caller, tz: &TimeZone) -> Result<Dashboard> {
    super::doctors::require_admin(caller)?;
    let now = clinic.now();
    let store = &clinic.store;
    let day = SignedDuration::from_hours(24);
    let today = now.to_zoned_datetime(tz.clone()).date();
    let first_day = today
        .checked_sub(SignedDuration::from_hours(24 * (PAST_DAYS - 1)))
        .map_err(|e| Error::internal(&e))?;
    let from = first_day
        .to_zoned_datetime(tz.clone())
        .map_err(|e| Error::internal(&e))?
        .timestamp();
    let past_from = now - day * PAST_DAYS as i32;
    let next_to = now + day * NEXT_DAYS as i32;
    // Days are counted in the viewer's zone (its offset now).
    let offset = i64::from(now.to_zoned_datetime(tz.clone()).offset().seconds());

    let counts = store
        .bookings_per_day(from.as_second(), now.as_second() + 1, offset)
        .await?;
    let epoch = jiff::civil::date(1970, 1, 1);
    let mut bookings_per_day = Vec::new();
    for i in 0..PAST_DAYS {
        let d = first_day
            .checked_add(day * i as i32)
            .map_err(|e| Error::internal(&e))?;
        let day_no = i64::from((d - epoch).get_days());
        let count = counts
            .iter()
            .find(|c| c.day == day_no)
            .map(|c| c.count)
            .unwrap_or(0);
        bookings_per_day.push((d, count));
    }

    let mix = StatusMix::of(
        &store
            .status_counts(past_from.as_second(), now.as_second())
            .await?,
    );
    let upcoming = StatusMix::of(
        &store
            .status_counts(now.as_second(), next_to.as_second())
            .await?,
    )
    .open;

    let past_booked = store
        .booked_seconds_per_doctor(past_from.as_second(), now.as_second())
        .await?;
    let next_booked = store
        .booked_seconds_per_doctor(now.as_second(), next_to.as_second())
        .await?;
    let mut utilization = Vec::new();
    let mut upcoming_seconds = 0;
    let doctors = super::doctors::all(clinic, caller).await?;
    let money = store
        .money_per_doctor(now.as_second())
        .await?
        .into_iter()
        .filter_map(|m| {
            let doctor = doctors.iter().find(|d| d.id == m.doctor_id)?.clone();
            Some(Money {
                doctor,
                paid_visits: m.paid_visits,
                revenue_cents: m.revenue_cents,
                outstanding_visits: m.outstanding_visits,
                outstanding_cents: m.outstanding_cents,
            })
        })
        .collect();
    for d in doctors {
        if !d.active {
            continue;
        }
        let sched = load_schedule(clinic, d.id, past_from, next_to).await?;
        let past = Ratio {
            part: booked_of(&past_booked, &d),
            whole: offered_seconds(&sched, past_from, now),
        };
        let next = Ratio {
            part: booked_of(&next_booked, &d),
            whole: offered_seconds(&sched, now, next_to),
        };
        upcoming_seconds += next.part;
        utilization.push(Utilization {
            doctor: d,
            past,
            next,
        });
    }

    Ok(Dashboard {
        first_day,
        bookings_per_day,
        cancellation_rate: Ratio {
            part: mix.cancelled,
            whole: mix.total(),
        },
        no_show_rate: Ratio {
            part: mix.no_show,
            whole: mix.held(),
        },
        mix,
        upcoming,
        upcoming_seconds,
        utilization,
        money,
    })
}

/// Which part of the audit log to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Who acted (an account id).
    pub actor: Option<AccountId>,
    /// What they did (`create`, `payment`, `read`, ...).
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    /// Entries at or after this instant ...
    pub from: Option<Timestamp>,
    /// ... and before this one.
    pub to: Option<Timestamp>,
    /// Older than this entry (the last of the previous page).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// The most entries one CSV export holds.
pub const EXPORT_MAX: i64 = 50_000;

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(Error::invalid("to", "must be after from"));
        }
        let text = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        Ok(AuditFilter {
            actor: self.actor,
            action: text(&self.action),
            entity: text(&self.entity),
            entity_id: self.entity_id,
            from: self.from.map(Timestamp::as_second),
            to: self.to.map(Timestamp::as_second),
        })
    }
}

/// The audit log, newest first (admins; for anyone else it does not exist).
pub async fn audit_log(
    clinic: &Clinic,
    caller: &Caller,
    q: &AuditQuery,
) -> Result<(Vec<AuditRecord>, bool)> {
    if !caller.sees_everything() {
        return Err(Error::NotFound(Thing::Resource));
    }
    let limit = super::page_limit(q.limit)?;
    let rows = clinic
        .store
        .list_audit(&q.filter()?, q.before.unwrap_or(i64::MAX), limit + 1)
        .await?;
    Ok(super::first_page(rows, limit))
}

/// Every entry matching the filters (not paged), newest first, for a CSV
/// export; more than [`EXPORT_MAX`] is refused (narrow the filters).
pub async fn audit_export(
    clinic: &Clinic,
    caller: &Caller,
    q: &AuditQuery,
) -> Result<Vec<AuditRecord>> {
    if !caller.sees_everything() {
        return Err(Error::NotFound(Thing::Resource));
    }
    let rows = clinic
        .store
        .list_audit(&q.filter()?, i64::MAX, EXPORT_MAX + 1)
        .await?;
    if rows.len() as i64 > EXPORT_MAX {
        return Err(Error::invalid(
            "to",
            "more than 50000 entries match: narrow the filters (a shorter period)",
        ));
    }
    Ok(rows)
}

/// The actions the log holds (for the audit page's filter).
pub async fn audit_actions(clinic: &Clinic, caller: &Caller) -> Result<Vec<String>> {
    if !caller.sees_everything() {
        return Err(Error::NotFound(Thing::Resource));
    }
    Ok(clinic.store.audit_actions().await?)
}
