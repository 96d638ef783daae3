//! Taken slots and appointments: booking, listing, status changes, rescheduling.
//!
//! Every transaction here touches one doctor's rows only (their slots and
//! appointments, plus the audit log), so the booking tables can be distributed by
//! doctor without changing this code.

use super::outbox::record_event;
use super::{
    ActorId, Conflict, LockDoctor, Result, Store, StoreError, audit, begin_write, instant, on_read,
    on_write,
};
use crate::domain::appointment::{Appointment, PaymentStatus, Status};
use crate::domain::ids::{AccountId, AppointmentId, DoctorId, PatientId, SlotId};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::QueryBuilder;

/// An appointment as stored; [`Appointment`] is what the rest of medimeet sees.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawAppointment {
    id: AppointmentId,
    doctor_id: DoctorId,
    patient_id: PatientId,
    slot_id: SlotId,
    start_at: i64,
    end_at: i64,
    local_date: String,
    status: String,
    reason: Option<String>,
    cancel_reason: Option<String>,
    payment_status: String,
    created_at: i64,
    updated_at: i64,
    doctor_first_name: String,
    doctor_last_name: String,
    patient_first_name: String,
    patient_last_name: String,
}

impl TryFrom<RawAppointment> for Appointment {
    type Error = StoreError;

    fn try_from(r: RawAppointment) -> Result<Self> {
        let bad = |what: &str, value: &str| {
            StoreError::corrupt(format_args!("appointment {}: {what} {value:?}", r.id))
        };
        Ok(Self {
            id: r.id,
            doctor_id: r.doctor_id,
            patient_id: r.patient_id,
            slot_id: r.slot_id,
            start_at: instant(r.start_at)?,
            end_at: instant(r.end_at)?,
            local_date: r
                .local_date
                .parse()
                .map_err(|_| bad("local date", &r.local_date))?,
            status: Status::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            payment_status: PaymentStatus::parse(&r.payment_status)
                .ok_or_else(|| bad("payment status", &r.payment_status))?,
            reason: r.reason,
            cancel_reason: r.cancel_reason,
            created_at: instant(r.created_at)?,
            updated_at: instant(r.updated_at)?,
            doctor_first_name: r.doctor_first_name,
            doctor_last_name: r.doctor_last_name,
            patient_first_name: r.patient_first_name,
            patient_last_name: r.patient_last_name,
        })
    }
}

/// What the booking transaction needs; the domain has already checked the time is
/// one of the doctor's free slots, the database checks nobody took it meanwhile.
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub doctor_id: DoctorId,
    pub patient_id: PatientId,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    pub local_date: Date,
    pub reason: Option<&'a str>,
    /// `(account id, Idempotency-Key, hash of the request)`.
    pub idempotency: Option<(AccountId, &'a str, &'a str)>,
}

#[derive(Debug)]
pub enum BookOutcome {
    Created(Appointment),
    /// The Idempotency-Key was seen before with the same request: the first answer.
    Replayed(Appointment),
    /// The Idempotency-Key was seen before with a different request.
    KeyReused,
}

#[derive(Debug, Default, Clone)]
pub struct AppointmentFilter {
    pub patient_id: Option<PatientId>,
    pub doctor_id: Option<DoctorId>,
    pub statuses: Vec<Status>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// A status change guarded by the status we decided on (optimistic concurrency).
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub id: AppointmentId,
    pub doctor_id: DoctorId,
    pub from_status: Status,
    pub to_status: Status,
    pub cancel_reason: Option<&'a str>,
    /// Frees the slot (on cancel) so it can be booked again.
    pub release_slot: bool,
}

pub struct Reschedule {
    pub id: AppointmentId,
    pub doctor_id: DoctorId,
    pub old_slot_id: SlotId,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    pub local_date: Date,
}

/// The shared SELECT of an appointment with the names people see (a macro so
/// that `concat!` can build whole static queries from it).
macro_rules! select_appointment {
    () => {
        "SELECT ap.id, ap.doctor_id, ap.patient_id, ap.slot_id, ap.start_at, ap.end_at, \
            ap.local_date, ap.status, ap.reason, ap.cancel_reason, ap.payment_status, \
            ap.created_at, ap.updated_at, \
            d.first_name AS doctor_first_name, d.last_name AS doctor_last_name, \
            p.first_name AS patient_first_name, p.last_name AS patient_last_name \
         FROM appointments ap \
         JOIN doctors d ON d.id = ap.doctor_id \
         JOIN patients p ON p.id = ap.patient_id "
    };
}
pub(crate) use select_appointment;

/// Runs one appointment SELECT by id on an executor.
macro_rules! fetch_appointment {
    ($exec:expr, $id:expr) => {
        sqlx::query_as::<_, RawAppointment>(concat!(select_appointment!(), " WHERE ap.id = $1"))
            .bind($id)
            .fetch_optional($exec)
            .await?
            .map(Appointment::try_from)
            .transpose()?
    };
}

/// One booking as a single SQLite call (see [`super::commit`]): savepoint,
/// slot, visit (its slot is the row just inserted), audit row (its entity the
/// visit just inserted), the visit read back with names, the Idempotency-Key
/// (when given) pointing at the visit, release. `$1` doctor, `$2` patient,
/// `$3` start, `$4` end, `$5` local date, `$6` reason, `$7` actor, `$8` now,
/// `$9` key's account, `$10` key, `$11` request hash. A key already taken (two
/// requests with one key racing) fails the savepoint like an overlap does.
/// Last, the notification event (decision 0013), its visit found by the
/// doctor's active slot at that start (unique by the no-overlap rule).
pub(crate) const BOOK_SQLITE: &str = concat!(
    "SAVEPOINT booking; \
     INSERT INTO slots (doctor_id, start_at, end_at, kind, released_at, created_at) \
       VALUES ($1, $3, $4, 'booked', NULL, $8); \
     INSERT INTO appointments (doctor_id, patient_id, slot_id, start_at, end_at, local_date, \
       status, reason, payment_status, created_at, updated_at) \
       VALUES ($1, $2, last_insert_rowid(), $3, $4, $5, 'booked', $6, 'unpaid', $8, $8); \
     INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, detail) \
       VALUES ($8, $7, 'book', 'appointment', last_insert_rowid(), NULL); ",
    select_appointment!(),
    "WHERE ap.id = (SELECT entity_id FROM audit_log WHERE id = last_insert_rowid()); \
     INSERT INTO idempotency_keys (account_id, key, request_hash, appointment_id, created_at) \
       SELECT $9, $10, $11, entity_id, $8 FROM audit_log \
       WHERE id = last_insert_rowid() AND $10 IS NOT NULL; \
     INSERT INTO notification_event (event, appointment_id, actor_account_id, detail, visit_start, created_at) \
       SELECT 'booked', ap.id, $7, NULL, $3, $8 FROM appointments ap JOIN slots s ON s.id = ap.slot_id \
       WHERE s.doctor_id = $1 AND s.start_at = $3 AND s.released_at IS NULL; \
     RELEASE booking"
);

/// One booking as a single PostgreSQL statement (same parameters as
/// [`BOOK_SQLITE`]), its own transaction: the doctor's row is locked first (the
/// slot insert reads from it), which queues a doctor's bookings instead of
/// letting them collide inside the exclusion index, as [`LockDoctor`] does. A
/// key already taken fails the whole statement.
pub(crate) const BOOK_POSTGRES: &str = "\
    WITH lk AS (SELECT id FROM doctors WHERE id = $1 FOR NO KEY UPDATE), \
    s AS (INSERT INTO slots (doctor_id, start_at, end_at, kind, released_at, created_at) \
          SELECT lk.id, $3, $4, 'booked', NULL, $8 FROM lk RETURNING id), \
    ap AS (INSERT INTO appointments (doctor_id, patient_id, slot_id, start_at, end_at, local_date, \
             status, reason, payment_status, created_at, updated_at) \
          SELECT $1, $2, s.id, $3, $4, $5, 'booked', $6, 'unpaid', $8, $8 FROM s RETURNING *), \
    lg AS (INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, detail) \
          SELECT $8, $7, 'book', 'appointment', ap.id, NULL FROM ap), \
    ik AS (INSERT INTO idempotency_keys (account_id, key, request_hash, appointment_id, created_at) \
          SELECT $9, $10, $11, ap.id, $8 FROM ap WHERE $10::TEXT IS NOT NULL), \
    ev AS (INSERT INTO notification_event (event, appointment_id, actor_account_id, detail, visit_start, created_at) \
          SELECT 'booked', ap.id, $7, NULL, $3, $8 FROM ap) \
    SELECT ap.id, ap.doctor_id, ap.patient_id, ap.slot_id, ap.start_at, ap.end_at, \
        ap.local_date, ap.status, ap.reason, ap.cancel_reason, ap.payment_status, \
        ap.created_at, ap.updated_at, \
        d.first_name AS doctor_first_name, d.last_name AS doctor_last_name, \
        p.first_name AS patient_first_name, p.last_name AS patient_last_name \
    FROM ap JOIN doctors d ON d.id = ap.doctor_id JOIN patients p ON p.id = ap.patient_id";

/// Periods taken by active visits of doctor `$1` overlapping `[$2, $3)`,
/// folded into one row as `start end,...` (sorted when parsed, see
/// [`super::schedule`]).
pub(crate) const TAKEN_PERIODS: &str = "\
    SELECT string_agg(CAST(start_at AS TEXT) || ' ' || CAST(end_at AS TEXT), ',') \
    FROM slots \
    WHERE doctor_id = $1 AND released_at IS NULL \
      AND start_at > $2 - 86400 AND start_at < $3 AND end_at > $2";

/// The list query of [`Store::list_appointments`] (also explained by the load tool).
pub(crate) fn list_query<DB>(
    filter: &AppointmentFilter,
    after: Option<(Timestamp, AppointmentId)>,
    limit: i64,
) -> QueryBuilder<DB>
where
    DB: sqlx::Database,
    DB::Arguments: Default,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> &'static str: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new(select_appointment!());
    q.push(" WHERE 1 = 1");
    if let Some(p) = filter.patient_id {
        q.push(" AND ap.patient_id = ").push_bind(p.get());
    }
    if let Some(d) = filter.doctor_id {
        q.push(" AND ap.doctor_id = ").push_bind(d.get());
    }
    if !filter.statuses.is_empty() {
        q.push(" AND ap.status IN (");
        let mut sep = q.separated(", ");
        for s in &filter.statuses {
            sep.push_bind(s.as_str());
        }
        q.push(")");
    }
    if let Some(from) = filter.from {
        q.push(" AND ap.start_at >= ").push_bind(from.as_second());
    }
    if let Some(to) = filter.to {
        q.push(" AND ap.start_at < ").push_bind(to.as_second());
    }
    if let Some((start, id)) = after {
        let start = start.as_second();
        q.push(" AND (ap.start_at > ").push_bind(start);
        q.push(" OR (ap.start_at = ").push_bind(start);
        q.push(" AND ap.id > ").push_bind(id.get());
        q.push("))");
    }
    q.push(" ORDER BY ap.start_at, ap.id LIMIT ")
        .push_bind(limit);
    q
}

impl Store {
    /// Periods taken by active visits of a doctor that overlap `[from, to)`.
    pub async fn taken_periods(
        &self,
        doctor_id: DoctorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(i64, i64)>> {
        let (from, to) = (from.as_second(), to.as_second());
        let (list,): (Option<String>,) = on_read!(self, pool => {
            sqlx::query_as(TAKEN_PERIODS)
                .bind(doctor_id)
                .bind(from)
                .bind(to)
                .fetch_one(pool)
                .await?
        });
        super::schedule::periods(list.as_deref())
    }

    /// Takes the slot and creates the appointment in one transaction. The
    /// database refuses an overlap (`Conflict::SlotTaken`) and a second active
    /// visit that day (`Conflict::OneVisitPerDay`); either way nothing is written.
    ///
    /// With an Idempotency-Key, a key seen before answers with its first
    /// booking (or `KeyReused` for a different request), and the key is stored
    /// in the booking's own transaction. Two requests with one key racing: the
    /// loser's insert of the key fails, and it reads the winner's answer.
    ///
    /// The fewest round trips each engine allows: the group-committing writer
    /// on SQLite, one statement on PostgreSQL (see [`super::commit`]).
    pub async fn book(&self, b: &NewBooking<'_>, actor: ActorId, now: i64) -> Result<BookOutcome> {
        if let Some((account, key, hash)) = b.idempotency
            && let Some(found) = self.replay_booking(account, key, hash).await?
        {
            return Ok(found);
        }
        let booked = match self {
            Store::Sqlite { booker, .. } => booker.book(b, actor, now).await,
            Store::Postgres(pool) => {
                let key = b.idempotency;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let row = sqlx::query_as::<_, RawAppointment>(BOOK_POSTGRES)
                        .bind(b.doctor_id)
                        .bind(b.patient_id)
                        .bind(b.start_at.as_second())
                        .bind(b.end_at.as_second())
                        .bind(b.local_date.to_string())
                        .bind(b.reason)
                        .bind(actor)
                        .bind(now)
                        .bind(key.map(|k| k.0))
                        .bind(key.map(|k| k.1))
                        .bind(key.map(|k| k.2))
                        .fetch_optional(pool)
                        .await
                        .map_err(StoreError::from);
                    match row {
                        Err(e) if e.is_retryable() && attempt < 5 => continue,
                        Err(e) => break Err(e),
                        Ok(row) => break row.ok_or(StoreError::NotFound)?.try_into(),
                    }
                }
            }
        };
        match booked {
            Ok(row) => Ok(BookOutcome::Created(row)),
            Err(StoreError::Conflict(c)) => {
                if let Some((account, key, hash)) = b.idempotency
                    && let Some(found) = self.replay_booking(account, key, hash).await?
                {
                    return Ok(found);
                }
                Err(StoreError::Conflict(c))
            }
            Err(e) => Err(e),
        }
    }

    /// The earlier answer to a booking made with this Idempotency-Key, if any.
    pub async fn replay_booking(
        &self,
        account_id: AccountId,
        key: &str,
        hash: &str,
    ) -> Result<Option<BookOutcome>> {
        on_write!(self, pool => {
            let seen: Option<(String, AppointmentId)> = sqlx::query_as(
                "SELECT request_hash, appointment_id FROM idempotency_keys WHERE account_id = $1 AND key = $2",
            )
            .bind(account_id)
            .bind(key)
            .fetch_optional(pool)
            .await?;
            let Some((seen_hash, appointment_id)) = seen else {
                return Ok(None);
            };
            if seen_hash != hash {
                return Ok(Some(BookOutcome::KeyReused));
            }
            let row = fetch_appointment!(pool, appointment_id);
            Ok(row.map(BookOutcome::Replayed))
        })
    }

    pub async fn get_appointment(&self, id: AppointmentId) -> Result<Option<Appointment>> {
        on_read!(self, pool => Ok(fetch_appointment!(pool, id)))
    }

    /// Appointments matching `filter`, ordered by start then id, after the
    /// cursor `(start_at, id)`, at most `limit`.
    pub async fn list_appointments(
        &self,
        filter: &AppointmentFilter,
        after: Option<(Timestamp, AppointmentId)>,
        limit: i64,
    ) -> Result<Vec<Appointment>> {
        on_read!(self, pool => {
            let mut q = list_query(filter, after, limit);
            q.build_query_as::<RawAppointment>()
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(Appointment::try_from)
                .collect()
        })
    }

    /// Moves an appointment from `from_status` to `to_status`; `Conflict::Stale`
    /// if it is no longer in `from_status`.
    pub async fn transition(
        &self,
        t: &Transition<'_>,
        actor: ActorId,
        now: i64,
    ) -> Result<Appointment> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let updated: Option<(SlotId,)> = sqlx::query_as(
                "UPDATE appointments SET status = $3, \
                   cancel_reason = COALESCE($4, cancel_reason), \
                   cancelled_by = CASE WHEN $3 = 'cancelled' THEN $5 ELSE cancelled_by END, \
                   updated_at = $6 \
                 WHERE id = $1 AND status = $2 RETURNING slot_id",
            )
            .bind(t.id)
            .bind(t.from_status.as_str())
            .bind(t.to_status.as_str())
            .bind(t.cancel_reason)
            .bind(actor)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((slot_id,)) = updated else {
                return Err(StoreError::Conflict(Conflict::Stale));
            };
            if t.release_slot {
                sqlx::query(
                    "UPDATE slots SET released_at = $3 WHERE id = $1 AND doctor_id = $2 AND released_at IS NULL",
                )
                .bind(slot_id)
                .bind(t.doctor_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            audit!(tx, now, actor, t.to_status.as_str(), "appointment", t.id, Some(format!("from {}", t.from_status)));
            let row = fetch_appointment!(&mut *tx, t.id).ok_or(StoreError::NotFound)?;
            let (event, detail) = if t.to_status == Status::Cancelled {
                ("cancelled", serde_json::json!({ "reason": t.cancel_reason, "by": actor.map(|a| a.get()) }))
            } else {
                ("status_changed", serde_json::json!({ "status": t.to_status.as_str(), "from": t.from_status.as_str() }))
            };
            record_event!(tx, event, t.id, actor, Some(detail.to_string()), row.start_at.as_second(), now);
            tx.commit().await?;
            Ok(row)
        })
    }

    /// One atomic move: the old slot is freed and the new one taken together, or
    /// nothing changes (`Conflict::SlotTaken`, `Conflict::OneVisitPerDay`,
    /// `Conflict::Stale`).
    pub async fn reschedule(
        &self,
        r: &Reschedule,
        actor: ActorId,
        now: i64,
    ) -> Result<Appointment> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.reschedule_once(r, actor, now).await {
                Err(e) if e.is_retryable() && attempt < 5 => continue,
                other => return other,
            }
        }
    }

    async fn reschedule_once(
        &self,
        r: &Reschedule,
        actor: ActorId,
        now: i64,
    ) -> Result<Appointment> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            tx.lock_doctor(r.doctor_id.get()).await?;
            // Free the old slot first: the new time may overlap the old one.
            let freed = sqlx::query(
                "UPDATE slots SET released_at = $3 \
                 WHERE id = $1 AND doctor_id = $2 AND released_at IS NULL",
            )
            .bind(r.old_slot_id)
            .bind(r.doctor_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if freed.rows_affected() == 0 {
                return Err(StoreError::Conflict(Conflict::Stale));
            }
            let (slot_id,): (SlotId,) = sqlx::query_as(
                "INSERT INTO slots (doctor_id, start_at, end_at, kind, released_at, created_at) \
                 VALUES ($1, $2, $3, 'booked', NULL, $4) RETURNING id",
            )
            .bind(r.doctor_id)
            .bind(r.start_at.as_second())
            .bind(r.end_at.as_second())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let moved = sqlx::query(
                "UPDATE appointments SET slot_id = $3, start_at = $4, end_at = $5, local_date = $6, updated_at = $7 \
                 WHERE id = $1 AND slot_id = $2 AND status = 'booked'",
            )
            .bind(r.id)
            .bind(r.old_slot_id)
            .bind(slot_id)
            .bind(r.start_at.as_second())
            .bind(r.end_at.as_second())
            .bind(r.local_date.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 0 {
                return Err(StoreError::Conflict(Conflict::Stale));
            }
            audit!(tx, now, actor, "reschedule", "appointment", r.id, Some(format!("slot {} -> {}", r.old_slot_id, slot_id)));
            let row = fetch_appointment!(&mut *tx, r.id).ok_or(StoreError::NotFound)?;
            record_event!(tx, "rescheduled", r.id, actor, None::<String>, r.start_at.as_second(), now);
            tx.commit().await?;
            Ok(row)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(status: &str, payment: &str, date: &str, start: i64) -> RawAppointment {
        RawAppointment {
            id: AppointmentId::new(7),
            doctor_id: DoctorId::new(1),
            patient_id: PatientId::new(2),
            slot_id: SlotId::new(3),
            start_at: start,
            end_at: start.saturating_add(1800),
            local_date: date.into(),
            status: status.into(),
            reason: None,
            cancel_reason: None,
            payment_status: payment.into(),
            created_at: 0,
            updated_at: 0,
            doctor_first_name: "D".into(),
            doctor_last_name: "R".into(),
            patient_first_name: "P".into(),
            patient_last_name: "T".into(),
        }
    }

    #[test]
    fn impossible_stored_appointments_are_corrupt_never_a_default() {
        let ok = Appointment::try_from(stored("booked", "unpaid", "2026-12-01", 1_800_000_000));
        assert_eq!(ok.map(|a| a.status).ok(), Some(Status::Booked));
        for bad in [
            stored("confirmed", "unpaid", "2026-12-01", 1_800_000_000),
            stored("booked", "free", "2026-12-01", 1_800_000_000),
            stored("booked", "unpaid", "yesterday", 1_800_000_000),
            stored("booked", "unpaid", "2026-12-01", i64::MAX),
        ] {
            assert!(
                matches!(Appointment::try_from(bad), Err(StoreError::Corrupt(_))),
                "accepted impossible stored data"
            );
        }
    }
}
