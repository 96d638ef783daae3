//! Appointments: book, list, read, cancel, reschedule, and the visit flow.

use super::schedule::load_schedule;
use super::{Caller, Clinic, Conflict, Error, Refusal, Result, Thing, note};
use crate::domain::appointment::{Action, Appointment, Status};
use crate::domain::ids::{AppointmentId, DoctorId, PatientId};
use crate::domain::schedule::{self, Period};
use crate::store::{AppointmentFilter, BookOutcome, NewBooking, Reschedule, Transition};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

/// A patient's request for a visit.
#[derive(Debug, Clone)]
pub struct Booking {
    pub doctor_id: DoctorId,
    /// The slot's start, as the free-slots list gave it.
    pub start: Timestamp,
    /// Why the patient comes (free text, up to 500 characters).
    pub reason: Option<String>,
    /// A retry-safe key: a repeat with the same key and request gets the
    /// first answer.
    pub idempotency_key: Option<String>,
}

impl Booking {
    /// What makes two requests under one Idempotency-Key "the same": doctor,
    /// start and reason.
    fn fingerprint(&self, reason: Option<&str>) -> String {
        let text = format!(
            "{}|{}|{}",
            self.doctor_id,
            self.start.as_second(),
            reason.unwrap_or("")
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
    }
}

/// Finds the free slot starting at `start`, telling "taken" (a conflict) from
/// "never a slot" (a refusal). `ignore` is a period that does not count as
/// taken (a visit's own slot when it moves).
async fn slot_at(
    clinic: &Clinic,
    doctor_id: DoctorId,
    start: Timestamp,
    ignore: Option<Period>,
    inactive: Error,
) -> Result<(Period, Date)> {
    let now = clinic.now();
    // The doctor's row comes with the schedule: one query.
    let sched = load_schedule(
        clinic,
        doctor_id,
        start,
        start
            .checked_add(SignedDuration::from_secs(1))
            .map_err(|_| Error::Refused(Refusal::NotAFreeSlot))?,
    )
    .await?;
    if !sched.active {
        return Err(inactive);
    }
    let taken: Vec<Period> = sched
        .taken
        .iter()
        .copied()
        .filter(|p| Some(*p) != ignore)
        .collect();
    let settings = clinic.settings();
    let (notice, horizon) = (settings.min_notice(), settings.horizon());
    let a = &sched.availability;
    match schedule::free_slot_at(a, &taken, now, notice, horizon, start) {
        Some(p) => Ok((p, schedule::local_date(p.start, &a.time_zone))),
        None if schedule::free_slot_at(a, &[], now, notice, horizon, start).is_some() => {
            Err(Error::Conflict(Conflict::SlotTaken))
        }
        None => Err(Error::Refused(Refusal::NotAFreeSlot)),
    }
}

/// Books one of the doctor's free slots for the calling patient: the slot must
/// be one the generator offers (`NotAFreeSlot`) and still free (`SlotTaken`,
/// also when the database catches a racing booking). With an idempotency key
/// a retry gets the first answer.
pub async fn book(clinic: &Clinic, caller: &Caller, req: &Booking) -> Result<Appointment> {
    let Caller::Patient { account, patient } = *caller else {
        return Err(Error::Forbidden("Only patients can book visits."));
    };
    let reason = note("reason", req.reason.as_deref())?;
    let fingerprint = req.fingerprint(reason.as_deref());
    let idempotency = req
        .idempotency_key
        .as_deref()
        .map(|k| (account, k, fingerprint.as_str()));
    let (slot, local_date) = match slot_at(
        clinic,
        req.doctor_id,
        req.start,
        None,
        Error::NotFound(Thing::Doctor),
    )
    .await
    {
        Ok(found) => found,
        // A retry of a booking that went through finds its own slot taken:
        // answer it from the key before calling it a conflict.
        Err(Error::Conflict(Conflict::SlotTaken)) if idempotency.is_some() => {
            if let Some((account, key, hash)) = idempotency
                && let Some(outcome) = clinic.store.replay_booking(account, key, hash).await?
            {
                return booked(outcome);
            }
            return Err(Error::Conflict(Conflict::SlotTaken));
        }
        Err(e) => return Err(e),
    };
    let booking = NewBooking {
        doctor_id: req.doctor_id,
        patient_id: patient,
        start_at: slot.start,
        end_at: slot.end,
        local_date,
        reason: reason.as_deref(),
        idempotency,
    };
    let now = clinic.now().as_second();
    booked(clinic.store.book(&booking, caller.account(), now).await?)
}

fn booked(outcome: BookOutcome) -> Result<Appointment> {
    match outcome {
        BookOutcome::Created(row) => {
            tracing::info!(appointment_id = %row.id, doctor_id = %row.doctor_id, "booked");
            Ok(row)
        }
        BookOutcome::Replayed(row) => Ok(row),
        BookOutcome::KeyReused => Err(Error::Refused(Refusal::IdempotencyKeyReused)),
    }
}

/// Which appointments to list.
#[derive(Debug, Clone, Default)]
pub struct AppointmentQuery {
    /// Any of these statuses (none: all).
    pub statuses: Vec<Status>,
    /// Visits starting at or after this instant.
    pub from: Option<Timestamp>,
    /// Visits starting before this instant.
    pub to: Option<Timestamp>,
    /// One doctor's visits (admins).
    pub doctor_id: Option<DoctorId>,
    /// One patient's visits (admins; a doctor only for a patient they treat).
    pub patient_id: Option<PatientId>,
    /// Start after this visit (the last of the previous page).
    pub after: Option<(Timestamp, AppointmentId)>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// One page of appointments: up to `limit` of them, and whether there are more.
#[derive(Debug, Clone)]
pub struct AppointmentPage {
    pub items: Vec<Appointment>,
    pub more: bool,
}

/// The appointments the caller may see (a patient's own, a doctor's
/// schedule, anything for an admin) that match the query, ordered by start.
pub async fn list(
    clinic: &Clinic,
    caller: &Caller,
    q: &AppointmentQuery,
) -> Result<AppointmentPage> {
    let limit = super::page_limit(q.limit)?;
    let mut filter = AppointmentFilter {
        statuses: q.statuses.clone(),
        from: q.from,
        to: q.to,
        ..AppointmentFilter::default()
    };
    match *caller {
        Caller::Patient { patient, .. } => filter.patient_id = Some(patient),
        Caller::Doctor { doctor, .. } => {
            filter.doctor_id = Some(doctor);
            // One of the doctor's patients: their visits with this doctor.
            // Anyone else's is not there for the doctor (404, like their profile).
            if let Some(patient) = q.patient_id {
                if !clinic.store.doctor_has_patient(doctor, patient).await? {
                    return Err(Error::NotFound(Thing::Patient));
                }
                filter.patient_id = Some(patient);
            }
        }
        Caller::Admin { .. } | Caller::System => {
            filter.doctor_id = q.doctor_id;
            filter.patient_id = q.patient_id;
        }
        Caller::Anonymous => return Err(Error::Unauthenticated),
    }
    let found = clinic
        .store
        .list_appointments(&filter, q.after, limit + 1)
        .await?;
    let (items, more) = super::first_page(found, limit);
    Ok(AppointmentPage { items, more })
}

/// An appointment the caller may see (their own, their patient's, or any for
/// an admin); `NotFound` otherwise.
async fn visible(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<Appointment> {
    match clinic.store.get_appointment(id).await? {
        Some(a) if caller.may_see_appointment(a.doctor_id, a.patient_id) => Ok(a),
        _ => Err(Error::NotFound(Thing::Appointment)),
    }
}

/// One appointment the caller may see; reads by staff are audited.
pub async fn read(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<Appointment> {
    let a = visible(clinic, caller, id).await?;
    if caller.reads_are_audited()
        && let Some(account) = caller.account()
    {
        clinic
            .store
            .audit_read(account, "appointment", id.get(), clinic.now().as_second())
            .await?;
    }
    Ok(a)
}

/// Whether the caller could apply `action` to this appointment now (for
/// showing or hiding a button; the operation itself decides again).
pub fn allowed(clinic: &Clinic, caller: &Caller, a: &Appointment, action: Action) -> bool {
    caller.may_see_appointment(a.doctor_id, a.patient_id)
        && clinic
            .settings()
            .policy()
            .apply(caller, action, a.status, a.start_at, clinic.now())
            .is_ok()
}

/// Applies a status action (start, complete, no-show, cancel) to an
/// appointment the caller may see, after the domain policy agreed.
pub async fn act(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    action: Action,
    cancel_reason: Option<String>,
) -> Result<Appointment> {
    let a = visible(clinic, caller, id).await?;
    let now = clinic.now();
    let next = clinic
        .settings()
        .policy()
        .apply(caller, action, a.status, a.start_at, now)?;
    let row = clinic
        .store
        .transition(
            &Transition {
                id,
                doctor_id: a.doctor_id,
                from_status: a.status,
                to_status: next,
                cancel_reason: cancel_reason.as_deref(),
                release_slot: next == Status::Cancelled,
            },
            caller.account(),
            now.as_second(),
        )
        .await?;
    tracing::info!(appointment_id = %id, status = next.as_str(), "appointment status changed");
    // The people in its video room see the visit start, end or be cancelled.
    if super::visits::room_is_open(clinic, &a) {
        super::visits::announce_status(clinic, &row, caller.account()).await;
    }
    Ok(row)
}

/// Cancels a visit with an optional reason (the policy decides who may, and
/// until when).
pub async fn cancel(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    reason: Option<&str>,
) -> Result<Appointment> {
    let reason = note("reason", reason)?;
    act(clinic, caller, id, Action::Cancel, reason).await
}

/// The doctor starts the visit (doctor or admin, from its start time).
pub async fn start(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<Appointment> {
    act(clinic, caller, id, Action::Start, None).await
}

/// The visit took place (doctor or admin, from its start time).
pub async fn complete(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<Appointment> {
    act(clinic, caller, id, Action::Complete, None).await
}

/// The patient did not come (doctor or admin, from its start time).
pub async fn no_show(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<Appointment> {
    act(clinic, caller, id, Action::NoShow, None).await
}

/// Moves a visit to another free slot of its doctor in one atomic step.
pub async fn reschedule(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    new_start: Timestamp,
) -> Result<Appointment> {
    let a = visible(clinic, caller, id).await?;
    let now = clinic.now();
    let policy = clinic.settings().policy();
    policy.apply(caller, Action::Reschedule, a.status, a.start_at, now)?;
    if new_start == a.start_at {
        return Err(Error::invalid("start", "is the visit's current time"));
    }
    // The visit's own slot does not block its move to an overlapping time.
    let own = Period::new(a.start_at, a.end_at).ok();
    let (slot, local_date) = slot_at(
        clinic,
        a.doctor_id,
        new_start,
        own,
        Error::Refused(Refusal::DoctorInactive),
    )
    .await?;
    policy.check_new_time(caller, slot.start, now)?;
    let row = clinic
        .store
        .reschedule(
            &Reschedule {
                id,
                doctor_id: a.doctor_id,
                old_slot_id: a.slot_id,
                start_at: slot.start,
                end_at: slot.end,
                local_date,
            },
            caller.account(),
            now.as_second(),
        )
        .await?;
    tracing::info!(appointment_id = %id, "rescheduled");
    Ok(row)
}
