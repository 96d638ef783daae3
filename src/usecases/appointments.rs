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
/// a retry gets the first answer. New bookings and conflicts are counted
/// (`/metrics`); a replayed answer is not a new booking.
pub async fn book(clinic: &Clinic, caller: &Caller, req: &Booking) -> Result<Appointment> {
    let result = try_book(clinic, caller, req).await;
    match &result {
        Ok((_, true)) => clinic.metrics().booked(),
        Err(Error::Conflict(Conflict::SlotTaken)) => clinic.metrics().booking_conflict(),
        _ => {}
    }
    result.map(|(a, _)| a)
}

/// [`book`], and whether the appointment is new (not a replay).
async fn try_book(clinic: &Clinic, caller: &Caller, req: &Booking) -> Result<(Appointment, bool)> {
    let Caller::Patient { account, patient } = *caller else {
        return Err(Error::Forbidden("Only patients can book visits."));
    };
    let reason = note("reason", req.reason.as_deref())?;
    let fingerprint = req.fingerprint(reason.as_deref());
    let idempotency = req
        .idempotency_key
        .as_deref()
        .map(|k| (account, k, fingerprint.as_str()));
    let mut held = false;
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
        Err(Error::Conflict(Conflict::SlotTaken)) => {
            // A retry of a booking that went through finds its own slot
            // taken: answer it from the key before calling it a conflict.
            if let Some((account, key, hash)) = idempotency
                && let Some(outcome) = clinic.store.replay_booking(account, key, hash).await?
            {
                return booked(outcome).map(|a| (a, false));
            }
            // The slot may be the caller's own hold ($hold), or a hold that
            // ran out and awaits the worker's sweep (decision 0015).
            match taken_by_a_hold(clinic, req.doctor_id, patient, req.start).await? {
                Some(found) => {
                    held = true;
                    found
                }
                None => return Err(Error::Conflict(Conflict::SlotTaken)),
            }
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
    if held {
        let row = clinic
            .store
            .book_held(&booking, caller.account(), now)
            .await?;
        tracing::info!(appointment_id = %row.id, doctor_id = %row.doctor_id, "booked a held slot");
        return Ok((row, true));
    }
    let outcome = clinic.store.book(&booking, caller.account(), now).await?;
    let new = matches!(outcome, BookOutcome::Created(_));
    booked(outcome).map(|a| (a, new))
}

/// The version of a visit the caller may see: how many changes it has had
/// (every change writes one notification event, decision 0015), from 1.
pub async fn version(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<i64> {
    let a = clinic
        .store
        .get_appointment(id)
        .await?
        .ok_or(Error::NotFound(Thing::Appointment))?;
    if !caller.may_see_appointment(a.doctor_id, a.patient_id) {
        super::security::refused(caller, "appointment", id.get());
        return Err(Error::NotFound(Thing::Appointment));
    }
    Ok(clinic.store.event_count(id).await?.max(1))
}

/// How long a `$hold` keeps a slot for its patient.
pub const HOLD_MINUTES: i64 = 5;

/// How many slots one patient may hold at once.
const MAX_HOLDS: i64 = 3;

/// A slot held for one patient for a few minutes (FHIR `$hold`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: i64,
    pub doctor_id: DoctorId,
    pub patient_id: PatientId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub expires: Timestamp,
    /// Booked or run out.
    pub released: bool,
}

fn hold_of(row: crate::store::HoldRow) -> Result<Hold> {
    let t = super::stored_instant;
    Ok(Hold {
        id: row.id,
        doctor_id: row.doctor_id,
        patient_id: row.patient_id,
        start: t(row.start_at)?,
        end: t(row.end_at)?,
        expires: t(row.expires_at)?,
        released: row.released_at.is_some(),
    })
}

/// When the free slot at `start` is taken by a hold: the slot, if the hold
/// is the patient's own, or if it ran out (then released now). `None`: a
/// real booking (or another's live hold) has it.
async fn taken_by_a_hold(
    clinic: &Clinic,
    doctor_id: DoctorId,
    patient: PatientId,
    start: Timestamp,
) -> Result<Option<(Period, Date)>> {
    let now = clinic.now().as_second();
    if let Some(own) = clinic
        .store
        .held_slot(doctor_id, patient, start.as_second(), now)
        .await?
    {
        let h = hold_of(own)?;
        let period = Period::new(h.start, h.end).map_err(|e| Error::internal(&e))?;
        return match slot_at(
            clinic,
            doctor_id,
            start,
            Some(period),
            Error::NotFound(Thing::Doctor),
        )
        .await
        {
            Ok(found) => Ok(Some(found)),
            Err(Error::Conflict(Conflict::SlotTaken)) => Ok(None),
            Err(e) => Err(e),
        };
    }
    if clinic.store.release_expired_holds(now).await? > 0 {
        return match slot_at(
            clinic,
            doctor_id,
            start,
            None,
            Error::NotFound(Thing::Doctor),
        )
        .await
        {
            Ok(found) => Ok(Some(found)),
            Err(Error::Conflict(Conflict::SlotTaken)) => Ok(None),
            Err(e) => Err(e),
        };
    }
    Ok(None)
}

/// Holds one of the doctor's free slots for the calling patient for
/// [`HOLD_MINUTES`]: nobody else can book it meanwhile; the patient's
/// booking of it releases the hold. At most three holds at once.
pub async fn hold(
    clinic: &Clinic,
    caller: &Caller,
    doctor_id: DoctorId,
    start: Timestamp,
) -> Result<Hold> {
    let Caller::Patient { patient, .. } = *caller else {
        return Err(Error::Forbidden("Only patients hold slots."));
    };
    let now = clinic.now();
    if clinic.store.live_holds(patient, now.as_second()).await? >= MAX_HOLDS {
        return Err(Error::Refused(Refusal::TooManyHolds));
    }
    let (slot, _) = slot_at(
        clinic,
        doctor_id,
        start,
        None,
        Error::NotFound(Thing::Doctor),
    )
    .await?;
    let expires = now.as_second() + HOLD_MINUTES * 60;
    let row = clinic
        .store
        .create_hold(
            doctor_id,
            patient,
            (slot.start.as_second(), slot.end.as_second()),
            expires,
            caller.account(),
            now.as_second(),
        )
        .await?;
    hold_of(row)
}

/// Frees the slots of holds that ran out (the worker's round); how many.
pub async fn release_expired_holds(clinic: &Clinic) -> Result<u64> {
    Ok(clinic
        .store
        .release_expired_holds(clinic.now().as_second())
        .await?)
}

/// A hold, for its patient and admins (others: not found).
pub async fn read_hold(clinic: &Clinic, caller: &Caller, id: i64) -> Result<Hold> {
    let row = clinic
        .store
        .hold(id)
        .await?
        .ok_or(Error::NotFound(Thing::Appointment))?;
    let mine = caller.patient_id() == Some(row.patient_id);
    if !mine && !caller.sees_everything() {
        super::security::refused(caller, "hold", id);
        return Err(Error::NotFound(Thing::Appointment));
    }
    hold_of(row)
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
        Some(_) => {
            super::security::refused(caller, "appointment", id.get());
            Err(Error::NotFound(Thing::Appointment))
        }
        None => Err(Error::NotFound(Thing::Appointment)),
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
