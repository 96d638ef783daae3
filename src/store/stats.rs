//! Read-only figures for the clinic's admin dashboard and reports. Nothing here
//! writes; every query is one aggregate over one table (plus a lookup).

use super::{Result, Store, StoreError, on_read};
use crate::domain::appointment::Status;
use crate::domain::ids::{DoctorId, PatientId};

/// Appointments made on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DayCount {
    /// Days since 1970-01-01 in the caller's offset (see [`Store::bookings_per_day`]).
    pub day: i64,
    pub count: i64,
}

/// Visit time per doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DoctorSeconds {
    pub doctor_id: DoctorId,
    pub seconds: i64,
}

impl Store {
    /// How many appointments were made (by creation time) on each day of
    /// `[from, to)`; a day runs from midnight at `utc_offset` seconds east of
    /// UTC. Days with no booking are absent.
    pub async fn bookings_per_day(
        &self,
        from: i64,
        to: i64,
        utc_offset: i64,
    ) -> Result<Vec<DayCount>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, DayCount>(
                "SELECT (created_at + $3) / 86400 AS day, COUNT(*) AS count \
                 FROM appointments WHERE created_at >= $1 AND created_at < $2 \
                 GROUP BY 1 ORDER BY 1",
            )
            .bind(from)
            .bind(to)
            .bind(utc_offset)
            .fetch_all(pool)
            .await?)
        })
    }

    /// How many visits starting in `[from, to)` are in each status.
    pub async fn status_counts(&self, from: i64, to: i64) -> Result<Vec<(Status, i64)>> {
        let rows = on_read!(self, pool => {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT status, COUNT(*) FROM appointments \
                 WHERE start_at >= $1 AND start_at < $2 \
                 GROUP BY status ORDER BY status",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(s, n)| {
                Status::parse(&s)
                    .map(|st| (st, n))
                    .ok_or_else(|| StoreError::corrupt(format_args!("appointment status {s:?}")))
            })
            .collect()
    }

    /// Booked time per doctor: the length of every visit starting in
    /// `[from, to)` that was not cancelled (a no-show still took the slot).
    pub async fn booked_seconds_per_doctor(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<DoctorSeconds>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, DoctorSeconds>(
                "SELECT doctor_id, CAST(SUM(end_at - start_at) AS BIGINT) AS seconds \
                 FROM appointments \
                 WHERE status <> 'cancelled' AND start_at >= $1 AND start_at < $2 \
                 GROUP BY doctor_id ORDER BY doctor_id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The patient whose login is this E.164 phone, for the admin's filters.
    pub async fn patient_id_by_phone(&self, phone: &str) -> Result<Option<PatientId>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, (PatientId,)>("SELECT id FROM patients WHERE phone = $1")
                .bind(phone)
                .fetch_optional(pool)
                .await?
                .map(|(id,)| id))
        })
    }
}
