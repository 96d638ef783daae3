//! Doctors, their working hours, date overrides and time off.

use super::{ActorId, Result, Store, StoreError, audit, begin_write, instant, on_read, on_write};
use crate::domain::doctor::{Doctor, TimeOff};
use crate::domain::ids::{AccountId, DoctorId, PatientId, TimeOffId};
use jiff::Timestamp;

#[derive(sqlx::FromRow)]
struct RawDoctor {
    id: DoctorId,
    account_id: AccountId,
    login: String,
    first_name: String,
    last_name: String,
    specialty: String,
    experience_years: i32,
    timezone: String,
    visit_minutes: i32,
    buffer_minutes: i32,
    fee_cents: i64,
    active: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<RawDoctor> for Doctor {
    type Error = StoreError;
    fn try_from(r: RawDoctor) -> Result<Self> {
        Ok(Self {
            created_at: instant(r.created_at)?,
            updated_at: instant(r.updated_at)?,
            id: r.id,
            account_id: r.account_id,
            login: r.login,
            first_name: r.first_name,
            last_name: r.last_name,
            specialty: r.specialty,
            experience_years: r.experience_years,
            timezone: r.timezone,
            visit_minutes: r.visit_minutes,
            buffer_minutes: r.buffer_minutes,
            fee_cents: r.fee_cents,
            active: r.active,
        })
    }
}

fn doctors(rows: Vec<RawDoctor>) -> Result<Vec<Doctor>> {
    rows.into_iter().map(Doctor::try_from).collect()
}

fn doctor(row: Option<RawDoctor>) -> Result<Option<Doctor>> {
    row.map(Doctor::try_from).transpose()
}

pub struct NewDoctor<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub specialty: &'a str,
    pub experience_years: i32,
    pub timezone: &'a str,
    pub visit_minutes: i32,
    pub fee_cents: i64,
}

#[derive(Debug, Default, Clone)]
pub struct DoctorPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub specialty: Option<String>,
    pub experience_years: Option<i32>,
    pub timezone: Option<String>,
    pub fee_cents: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Default, Clone)]
pub struct DoctorFilter {
    pub specialty: Option<String>,
    /// Matched case-insensitively against "first last".
    pub q: Option<String>,
    pub include_inactive: bool,
}

/// One stored working interval: weekday 1 = Monday .. 7 = Sunday, minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct HoursRow {
    pub weekday: i32,
    pub start_minute: i32,
    pub end_minute: i32,
}

/// One stored override interval; `start_minute`/`end_minute` NULL closes the day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OverrideRow {
    pub on_date: String,
    pub start_minute: Option<i32>,
    pub end_minute: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct AvailabilityRows {
    pub visit_minutes: i32,
    pub buffer_minutes: i32,
    pub weekly: Vec<HoursRow>,
    pub overrides: Vec<OverrideRow>,
}

#[derive(sqlx::FromRow)]
pub(super) struct RawTimeOff {
    id: TimeOffId,
    doctor_id: DoctorId,
    start_at: i64,
    end_at: i64,
    reason: Option<String>,
}

impl TryFrom<RawTimeOff> for TimeOff {
    type Error = StoreError;
    fn try_from(r: RawTimeOff) -> Result<Self> {
        Ok(Self {
            start_at: instant(r.start_at)?,
            end_at: instant(r.end_at)?,
            id: r.id,
            doctor_id: r.doctor_id,
            reason: r.reason,
        })
    }
}

/// The SELECT of a doctor with their login (a macro so `concat!` can build whole
/// static queries from it).
macro_rules! select_doctor {
    () => {
        "SELECT d.id, d.account_id, a.login, d.first_name, d.last_name, d.specialty, \
            d.experience_years, d.timezone, d.visit_minutes, d.buffer_minutes, d.fee_cents, \
            d.active, d.created_at, d.updated_at \
         FROM doctors d JOIN accounts a ON a.id = d.account_id "
    };
}

/// Escapes `%`, `_` and `\` so user text matches literally in LIKE.
fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// Replaces a doctor's visit length, buffer, weekly hours and overrides inside
/// the caller's transaction, audited; evaluates to whether the doctor exists
/// (if not, nothing was written).
macro_rules! write_availability {
    ($tx:expr, $doctor_id:expr, $a:expr, $actor:expr, $now:expr) => {{
        let (tx, doctor_id, a, actor, now) = (&mut $tx, $doctor_id, $a, $actor, $now);
            let done = sqlx::query(
                "UPDATE doctors SET visit_minutes = $2, buffer_minutes = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(doctor_id)
            .bind(a.visit_minutes)
            .bind(a.buffer_minutes)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let found = done.rows_affected() > 0;
            if found {
            sqlx::query("DELETE FROM working_hours WHERE doctor_id = $1")
                .bind(doctor_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM date_overrides WHERE doctor_id = $1")
                .bind(doctor_id)
                .execute(&mut **tx)
                .await?;
            for h in &a.weekly {
                sqlx::query(
                    "INSERT INTO working_hours (doctor_id, weekday, start_minute, end_minute) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(doctor_id)
                .bind(h.weekday)
                .bind(h.start_minute)
                .bind(h.end_minute)
                .execute(&mut **tx)
                .await?;
            }
            for o in &a.overrides {
                sqlx::query(
                    "INSERT INTO date_overrides (doctor_id, on_date, start_minute, end_minute) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(doctor_id)
                .bind(&o.on_date)
                .bind(o.start_minute)
                .bind(o.end_minute)
                .execute(&mut **tx)
                .await?;
            }
            audit!(*tx, now, actor, "update_availability", "doctor", doctor_id, None::<String>);
            }
            found
    }};
}
pub(crate) use write_availability;

impl Store {
    pub async fn create_doctor(
        &self,
        d: NewDoctor<'_>,
        actor: ActorId,
        now: i64,
    ) -> Result<Doctor> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (account_id,): (AccountId,) = sqlx::query_as(
                "INSERT INTO accounts (role, login, password_hash, active, created_at) \
                 VALUES ('doctor', $1, $2, TRUE, $3) RETURNING id",
            )
            .bind(d.email)
            .bind(d.password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let (id,): (DoctorId,) = sqlx::query_as(
                "INSERT INTO doctors (account_id, first_name, last_name, specialty, experience_years, \
                   timezone, visit_minutes, buffer_minutes, fee_cents, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, TRUE, $9, $9) RETURNING id",
            )
            .bind(account_id)
            .bind(d.first_name)
            .bind(d.last_name)
            .bind(d.specialty)
            .bind(d.experience_years)
            .bind(d.timezone)
            .bind(d.visit_minutes)
            .bind(d.fee_cents)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, actor, "create", "doctor", id, None::<String>);
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        // Read back through the same query every reader uses.
        self.find_doctor_by_login(d.email)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn find_doctor_by_login(&self, email: &str) -> Result<Option<Doctor>> {
        on_write!(self, pool => {
            doctor(sqlx::query_as::<_, RawDoctor>(
                concat!(select_doctor!(), "WHERE a.login = $1"),
            )
            .bind(email)
            .fetch_optional(pool)
            .await?)
        })
    }

    pub async fn get_doctor(&self, id: DoctorId) -> Result<Option<Doctor>> {
        on_read!(self, pool => {
            doctor(sqlx::query_as::<_, RawDoctor>(
                concat!(select_doctor!(), "WHERE d.id = $1"),
            )
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Doctors ordered by id, after `after_id`, at most `limit`.
    pub async fn list_doctors(
        &self,
        filter: &DoctorFilter,
        after_id: Option<DoctorId>,
        limit: i64,
    ) -> Result<Vec<Doctor>> {
        let pattern = filter.q.as_deref().map(like_pattern);
        let after_id = after_id.map_or(0, DoctorId::get);
        on_read!(self, pool => {
            doctors(sqlx::query_as::<_, RawDoctor>(
                concat!(select_doctor!(), "\
                 WHERE d.id > $1 \
                   AND ($2 OR d.active) \
                   AND ($3 IS NULL OR lower(d.specialty) = lower($3)) \
                   AND ($4 IS NULL OR lower(d.first_name || ' ' || d.last_name) LIKE $4 ESCAPE '\\') \
                 ORDER BY d.id LIMIT $5"),
            )
            .bind(after_id)
            .bind(filter.include_inactive)
            .bind(filter.specialty.as_deref())
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Specialties of active doctors, with how many doctors practise each.
    pub async fn specialties(&self) -> Result<Vec<(String, i64)>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, (String, i64)>(
                "SELECT specialty, COUNT(*) FROM doctors WHERE active \
                 GROUP BY specialty ORDER BY specialty",
            )
            .fetch_all(pool)
            .await?)
        })
    }

    /// Reads a doctor through the writer, so a read right after a write sees it.
    pub(super) async fn get_doctor_fresh(&self, id: DoctorId) -> Result<Option<Doctor>> {
        on_write!(self, pool => {
            doctor(sqlx::query_as::<_, RawDoctor>(
                concat!(select_doctor!(), "WHERE d.id = $1"),
            )
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// A doctor's visit length, weekly hours and overrides, in one query (see
    /// [`Store::schedule_rows`]); `None` if there is no such doctor.
    pub async fn get_availability(&self, doctor_id: DoctorId) -> Result<Option<AvailabilityRows>> {
        self.availability_rows(doctor_id).await
    }

    /// Replaces a doctor's visit length, buffer, weekly hours and overrides at once,
    /// whatever visits are booked (the demo loader; people go through
    /// [`Store::change_schedule`]).
    pub async fn replace_availability(
        &self,
        doctor_id: DoctorId,
        a: &AvailabilityRows,
        actor: ActorId,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let found = write_availability!(tx, doctor_id, a, actor, now);
            tx.commit().await?;
            Ok(found)
        })
    }

    /// Time off of a doctor that ends after `after`.
    pub async fn list_time_off(
        &self,
        doctor_id: DoctorId,
        after: Timestamp,
    ) -> Result<Vec<TimeOff>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawTimeOff>(
                "SELECT id, doctor_id, start_at, end_at, reason FROM time_off \
                 WHERE doctor_id = $1 AND end_at > $2 ORDER BY start_at, id",
            )
            .bind(doctor_id)
            .bind(after.as_second())
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(TimeOff::try_from)
            .collect()
        })
    }

    /// Removes one time-off period of this doctor; false if there was none.
    pub async fn delete_time_off(
        &self,
        doctor_id: DoctorId,
        id: TimeOffId,
        actor: ActorId,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query("DELETE FROM time_off WHERE id = $1 AND doctor_id = $2")
                .bind(id)
                .bind(doctor_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            audit!(tx, now, actor, "delete_time_off", "doctor", doctor_id, Some(id.to_string()));
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Whether the patient has (or had) any visit with the doctor: what lets a
    /// doctor read a patient's record.
    pub async fn doctor_has_patient(
        &self,
        doctor_id: DoctorId,
        patient_id: PatientId,
    ) -> Result<bool> {
        on_read!(self, pool => {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM appointments WHERE doctor_id = $1 AND patient_id = $2 LIMIT 1",
            )
            .bind(doctor_id)
            .bind(patient_id)
            .fetch_optional(pool)
            .await?;
            Ok(row.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Ann"), "%ann%");
        assert_eq!(like_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
