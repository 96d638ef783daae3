//! Changes of a doctor's schedule that may strand booked visits (decision
//! 0022): new hours or overrides, new time off, a new time zone, deactivation.
//!
//! One transaction per change, holding the doctor's row (PostgreSQL; SQLite's
//! writer is serialized anyway), so no booking commits between the check and
//! the change: it reads the doctor's hours and future booked visits, asks the
//! caller's `judge` (the use case, with the pure rules of
//! `domain::schedule::change`) which visits the change affects, and then
//! either refuses (nothing written), keeps them, or cancels them with the
//! notification event a doctor's cancellation writes, before writing the
//! change and the visits' new local dates.

use super::doctors::{RawTimeOff, write_availability};
use super::outbox::record_event;
use super::schedule::{AVAILABILITY, AvailabilityRow, availability};
use super::{
    ActorId, AvailabilityRows, DoctorPatch, LockDoctor, Result, Store, audit, begin_write, instant,
    on_write,
};
use crate::domain::doctor::{Doctor, TimeOff};
use crate::domain::ids::{AccountId, AppointmentId, DoctorId, SlotId};
use jiff::Timestamp;
use jiff::civil::Date;

/// A future booked visit of the doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureVisit {
    pub id: AppointmentId,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    /// The patient's "first last".
    pub patient_name: String,
}

/// What the judge sees, read inside the change's transaction.
#[derive(Debug, Clone)]
pub struct GuardView {
    pub timezone: String,
    pub active: bool,
    /// The hours as stored before the change.
    pub availability: AvailabilityRows,
    /// Booked visits starting after now, by start.
    pub visits: Vec<FutureVisit>,
}

/// The judge's answer.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// The visits the change affects.
    pub affected: Vec<AppointmentId>,
    /// New stored local dates (a time zone change), applied to the visits
    /// that stay booked.
    pub local_dates: Vec<(AppointmentId, Date)>,
}

/// What to do when the change affects visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnAffected<'a> {
    /// Write nothing and answer [`Guarded::Affected`].
    Refuse,
    /// Leave them booked.
    Keep,
    /// Cancel them with this reason, notifying their patients.
    Cancel(&'a str),
}

/// The change itself.
#[derive(Debug, Clone, Copy)]
pub enum ScheduleChange<'a> {
    Availability(&'a AvailabilityRows),
    TimeOff {
        start: Timestamp,
        end: Timestamp,
        reason: Option<&'a str>,
    },
    Doctor(&'a DoctorPatch),
}

/// What was written.
#[derive(Debug, Clone)]
pub enum Changed {
    Availability,
    TimeOff(TimeOff),
    /// The doctor as changed.
    Doctor(Doctor),
}

#[derive(Debug, Clone)]
pub enum Guarded {
    /// Refused: these visits would be affected; nothing was written.
    Affected(Vec<FutureVisit>),
    Done {
        changed: Changed,
        cancelled: Vec<AppointmentId>,
    },
}

/// The judge: which visits a change affects, from the state read in the
/// transaction.
pub type Judge<'a> = &'a (dyn Fn(&GuardView) -> Result<Verdict> + Send + Sync);

type VisitRow = (AppointmentId, i64, i64, String, String);

impl Store {
    /// Applies a schedule change as the module documentation says; `None` if
    /// there is no such doctor.
    pub async fn change_schedule(
        &self,
        doctor_id: DoctorId,
        change: ScheduleChange<'_>,
        judge: Judge<'_>,
        on_affected: OnAffected<'_>,
        actor: ActorId,
        now: i64,
    ) -> Result<Option<Guarded>> {
        let done: Option<(Guarded, bool)> = on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            tx.lock_doctor(doctor_id.get()).await?;
            let head: Option<(String, bool)> =
                sqlx::query_as("SELECT timezone, active FROM doctors WHERE id = $1")
                    .bind(doctor_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((timezone, active)) = head else {
                return Ok(None);
            };
            let (v, b, w, o): AvailabilityRow = sqlx::query_as(AVAILABILITY)
                .bind(doctor_id)
                .fetch_one(&mut *tx)
                .await?;
            let rows: Vec<VisitRow> = sqlx::query_as(
                "SELECT ap.id, ap.start_at, ap.end_at, p.first_name, p.last_name \
                 FROM appointments ap JOIN patients p ON p.id = ap.patient_id \
                 WHERE ap.doctor_id = $1 AND ap.status = 'booked' AND ap.start_at > $2 \
                 ORDER BY ap.start_at, ap.id",
            )
            .bind(doctor_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            let mut visits = Vec::with_capacity(rows.len());
            for (id, s, e, first, last) in rows {
                visits.push(FutureVisit {
                    id,
                    start_at: instant(s)?,
                    end_at: instant(e)?,
                    patient_name: format!("{first} {last}"),
                });
            }
            let view = GuardView {
                timezone,
                active,
                availability: availability(v, b, w.as_deref(), o.as_deref())?,
                visits,
            };
            let verdict = judge(&view)?;
            let mut cancelled = Vec::new();
            if !verdict.affected.is_empty() {
                match on_affected {
                    OnAffected::Refuse => {
                        let list = view
                            .visits
                            .into_iter()
                            .filter(|v| verdict.affected.contains(&v.id))
                            .collect();
                        // Dropping the transaction rolls it back: nothing written.
                        return Ok(Some(Guarded::Affected(list)));
                    }
                    OnAffected::Keep => {}
                    OnAffected::Cancel(reason) => {
                        let detail = serde_json::json!({ "reason": reason, "by": actor.map(AccountId::get) })
                            .to_string();
                        for id in &verdict.affected {
                            let row: Option<(SlotId, i64)> = sqlx::query_as(
                                "UPDATE appointments SET status = 'cancelled', cancel_reason = $3, \
                                   cancelled_by = $4, updated_at = $5 \
                                 WHERE id = $1 AND doctor_id = $2 AND status = 'booked' \
                                 RETURNING slot_id, start_at",
                            )
                            .bind(*id)
                            .bind(doctor_id)
                            .bind(reason)
                            .bind(actor)
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                            // Gone meanwhile (its patient cancelled it): nothing to do.
                            let Some((slot_id, start_at)) = row else { continue };
                            sqlx::query(
                                "UPDATE slots SET released_at = $3 \
                                 WHERE id = $1 AND doctor_id = $2 AND released_at IS NULL",
                            )
                            .bind(slot_id)
                            .bind(doctor_id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            audit!(tx, now, actor, "cancelled", "appointment", *id, Some("from booked (schedule change)".to_owned()));
                            record_event!(tx, "cancelled", *id, actor, Some(detail.clone()), start_at, now);
                            cancelled.push(*id);
                        }
                    }
                }
            }
            let changed = match change {
                ScheduleChange::Availability(a) => {
                    if !write_availability!(tx, doctor_id, a, actor, now) {
                        return Ok(None);
                    }
                    Changed::Availability
                }
                ScheduleChange::TimeOff { start, end, reason } => {
                    let row = sqlx::query_as::<_, RawTimeOff>(
                        "INSERT INTO time_off (doctor_id, start_at, end_at, reason, created_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id, doctor_id, start_at, end_at, reason",
                    )
                    .bind(doctor_id)
                    .bind(start.as_second())
                    .bind(end.as_second())
                    .bind(reason)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let row = TimeOff::try_from(row)?;
                    audit!(tx, now, actor, "add_time_off", "doctor", doctor_id, Some(row.id.to_string()));
                    Changed::TimeOff(row)
                }
                ScheduleChange::Doctor(patch) => {
                    let account: Option<(AccountId,)> = sqlx::query_as(
                        "UPDATE doctors SET \
                           first_name = COALESCE($2, first_name), \
                           last_name = COALESCE($3, last_name), \
                           specialty = COALESCE($4, specialty), \
                           experience_years = COALESCE($5, experience_years), \
                           timezone = COALESCE($6, timezone), \
                           fee_cents = COALESCE($7, fee_cents), \
                           active = COALESCE($8, active), \
                           updated_at = $9 \
                         WHERE id = $1 RETURNING account_id",
                    )
                    .bind(doctor_id)
                    .bind(patch.first_name.as_deref())
                    .bind(patch.last_name.as_deref())
                    .bind(patch.specialty.as_deref())
                    .bind(patch.experience_years)
                    .bind(patch.timezone.as_deref())
                    .bind(patch.fee_cents)
                    .bind(patch.active)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((account_id,)) = account else {
                        return Ok(None);
                    };
                    if let Some(active) = patch.active {
                        sqlx::query("UPDATE accounts SET active = $2 WHERE id = $1")
                            .bind(account_id)
                            .bind(active)
                            .execute(&mut *tx)
                            .await?;
                        if !active {
                            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                                .bind(account_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    let action = match patch.active {
                        Some(false) => "deactivate",
                        Some(true) => "activate",
                        None => "update",
                    };
                    audit!(tx, now, actor, action, "doctor", doctor_id, None::<String>);
                    Changed::Availability
                }
            };
            let is_doctor = matches!(change, ScheduleChange::Doctor(_));
            for (id, date) in &verdict.local_dates {
                if cancelled.contains(id) {
                    continue;
                }
                sqlx::query(
                    "UPDATE appointments SET local_date = $3, updated_at = $4 \
                     WHERE id = $1 AND doctor_id = $2 AND status = 'booked' AND local_date <> $3",
                )
                .bind(*id)
                .bind(doctor_id)
                .bind(date.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Some((Guarded::Done { changed, cancelled }, is_doctor))
        });
        match done {
            Some((Guarded::Done { cancelled, .. }, true)) => Ok(self
                .get_doctor_fresh(doctor_id)
                .await?
                .map(|d| Guarded::Done {
                    changed: Changed::Doctor(d),
                    cancelled,
                })),
            other => Ok(other.map(|(g, _)| g)),
        }
    }
}
