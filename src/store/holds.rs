//! Holds on slots (FHIR `$hold`, decision 0015): a `slots` row of kind
//! `blocked`, so the no-overlap rule covers a hold as it covers a booking,
//! and a `slot_hold` row saying whose it is and until when.

use super::appointments::{BOOK_POSTGRES, BOOK_SQLITE, RawAppointment};
use super::{
    ActorId, NewBooking, Result, Store, StoreError, audit, begin_write, on_read, on_write,
};
use crate::domain::appointment::Appointment;
use crate::domain::ids::{DoctorId, PatientId};

/// A hold as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldRow {
    pub id: i64,
    pub doctor_id: DoctorId,
    pub patient_id: PatientId,
    pub start_at: i64,
    pub end_at: i64,
    pub expires_at: i64,
    pub released_at: Option<i64>,
}

/// Releases the slot of the caller's live hold at that start (if any) and
/// marks the hold used; the statements run inside the booking's transaction.
const RELEASE_OWN_SLOT: &str = "UPDATE slots SET released_at = $4 WHERE id IN (\
       SELECT slot_id FROM slot_hold WHERE doctor_id = $1 AND patient_id = $2 AND start_at = $3 \
       AND released_at IS NULL AND expires_at > $4)";
const RELEASE_OWN_HOLD: &str = "UPDATE slot_hold SET released_at = $4 \
     WHERE doctor_id = $1 AND patient_id = $2 AND start_at = $3 AND released_at IS NULL AND expires_at > $4";

/// A booking's query with its parameters bound, without an Idempotency-Key
/// (a held slot is booked once, by its holder).
macro_rules! bind_booking {
    ($sql:expr, $b:expr, $actor:expr, $now:expr) => {
        sqlx::query_as::<_, RawAppointment>($sql)
            .bind($b.doctor_id)
            .bind($b.patient_id)
            .bind($b.start_at.as_second())
            .bind($b.end_at.as_second())
            .bind($b.local_date.to_string())
            .bind($b.reason)
            .bind($actor)
            .bind($now)
            .bind(None::<i64>)
            .bind(None::<&str>)
            .bind(None::<&str>)
    };
}

/// Releases the patient's own live hold on the slot, inside `$tx`.
macro_rules! release_own_hold {
    ($tx:expr, $b:expr, $start:expr, $now:expr) => {
        for sql in [RELEASE_OWN_SLOT, RELEASE_OWN_HOLD] {
            sqlx::query(sql)
                .bind($b.doctor_id)
                .bind($b.patient_id)
                .bind($start)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

impl Store {
    /// Holds `[start, end)` of the doctor for the patient until `expires_at`
    /// (audited); `Conflict::SlotTaken` if anything overlaps it.
    pub async fn create_hold(
        &self,
        doctor_id: DoctorId,
        patient_id: PatientId,
        (start_at, end_at): (i64, i64),
        expires_at: i64,
        actor: ActorId,
        now: i64,
    ) -> Result<HoldRow> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            // The doctor's row first, as bookings do (PostgreSQL queues them).
            let locked: Option<(i64,)> = sqlx::query_as(lock_doctor_sql(self))
                .bind(doctor_id)
                .fetch_optional(&mut *tx)
                .await?;
            if locked.is_none() {
                return Err(StoreError::NotFound);
            }
            let (slot_id,): (i64,) = sqlx::query_as(
                "INSERT INTO slots (doctor_id, start_at, end_at, kind, released_at, created_at) \
                 VALUES ($1, $2, $3, 'blocked', NULL, $4) RETURNING id",
            )
            .bind(doctor_id)
            .bind(start_at)
            .bind(end_at)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row = sqlx::query_as::<_, HoldRow>(
                "INSERT INTO slot_hold (slot_id, doctor_id, patient_id, start_at, end_at, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 RETURNING id, doctor_id, patient_id, start_at, end_at, expires_at, released_at",
            )
            .bind(slot_id)
            .bind(doctor_id)
            .bind(patient_id)
            .bind(start_at)
            .bind(end_at)
            .bind(expires_at)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, actor, "hold", "slot", row.id, Some(format!("doctor {doctor_id} at {start_at}")));
            tx.commit().await?;
            Ok(row)
        })
    }

    pub async fn hold(&self, id: i64) -> Result<Option<HoldRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, HoldRow>(
                "SELECT id, doctor_id, patient_id, start_at, end_at, expires_at, released_at \
                 FROM slot_hold WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// How many live holds the patient has.
    pub async fn live_holds(&self, patient_id: PatientId, now: i64) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM slot_hold WHERE patient_id = $1 AND released_at IS NULL AND expires_at > $2",
            )
            .bind(patient_id)
            .bind(now)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    /// The patient's live hold on the doctor's slot at `start_at`, if any.
    pub async fn held_slot(
        &self,
        doctor_id: DoctorId,
        patient_id: PatientId,
        start_at: i64,
        now: i64,
    ) -> Result<Option<HoldRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, HoldRow>(
                "SELECT id, doctor_id, patient_id, start_at, end_at, expires_at, released_at \
                 FROM slot_hold WHERE doctor_id = $1 AND patient_id = $2 AND start_at = $3 \
                 AND released_at IS NULL AND expires_at > $4",
            )
            .bind(doctor_id)
            .bind(patient_id)
            .bind(start_at)
            .bind(now)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Frees the slots of holds that ran out; how many.
    pub async fn release_expired_holds(&self, now: i64) -> Result<u64> {
        // A read first: most rounds find nothing, and then write nothing.
        let due: Option<(i64,)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT id FROM slot_hold WHERE released_at IS NULL AND expires_at <= $1 LIMIT 1",
            )
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        if due.is_none() {
            return Ok(0);
        }
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            sqlx::query(
                "UPDATE slots SET released_at = $1 WHERE id IN (\
                   SELECT slot_id FROM slot_hold WHERE released_at IS NULL AND expires_at <= $1)",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let done = sqlx::query(
                "UPDATE slot_hold SET released_at = $1 WHERE released_at IS NULL AND expires_at <= $1",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        })
    }

    /// Books the slot the patient holds: the hold's row is released and the
    /// booking made in one transaction, so nobody can take the slot between
    /// the two. Without a live hold it is an ordinary booking.
    pub async fn book_held(
        &self,
        b: &NewBooking<'_>,
        actor: ActorId,
        now: i64,
    ) -> Result<Appointment> {
        let start = b.start_at.as_second();
        match self {
            Store::Sqlite { write, .. } => {
                let mut tx = begin_write!(write).await?;
                release_own_hold!(tx, b, start, now);
                let mut rows = bind_booking!(BOOK_SQLITE, b, actor, now)
                    .fetch_all(&mut *tx)
                    .await?;
                let row = rows.pop().ok_or(StoreError::NotFound)?;
                tx.commit().await?;
                row.try_into()
            }
            Store::Postgres(pool) => {
                let mut tx = begin_write!(pool).await?;
                sqlx::query("SELECT id FROM doctors WHERE id = $1 FOR NO KEY UPDATE")
                    .bind(b.doctor_id)
                    .execute(&mut *tx)
                    .await?;
                release_own_hold!(tx, b, start, now);
                let row = bind_booking!(BOOK_POSTGRES, b, actor, now)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                tx.commit().await?;
                row.try_into()
            }
        }
    }
}

/// Locks the doctor's row where the engine can (SQLite's write transaction
/// already serializes).
fn lock_doctor_sql(store: &Store) -> &'static str {
    match store {
        Store::Sqlite { .. } => "SELECT id FROM doctors WHERE id = $1",
        Store::Postgres(_) => "SELECT id FROM doctors WHERE id = $1 FOR NO KEY UPDATE",
    }
}
