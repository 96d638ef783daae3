//! Calendar feeds (decision 0015): the generation an account's feed URL is
//! derived from, and the visits its feed shows, each with its version (the
//! number of its notification events, decision 0013).

use super::appointments::{RawAppointment, select_appointment};
use super::{Result, Store, StoreError, audit, begin_write, on_read, on_write};
use crate::domain::appointment::Appointment;
use crate::domain::caller::Role;
use crate::domain::ids::{AccountId, DoctorId, PatientId};

/// Whose feed an account would have, and which URL of it is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarOwner {
    pub account_id: AccountId,
    pub role: Role,
    pub active: bool,
    /// Increments at every rotation: only the URL made with this one works.
    pub generation: i64,
    pub patient_id: Option<PatientId>,
    pub doctor_id: Option<DoctorId>,
}

#[derive(sqlx::FromRow)]
struct RawOwner {
    id: AccountId,
    role: String,
    active: bool,
    calendar_generation: i64,
    patient_id: Option<PatientId>,
    doctor_id: Option<DoctorId>,
}

/// A visit with its version: 1 when booked, one more at each change.
#[derive(Debug, Clone)]
pub struct VersionedVisit {
    pub appointment: Appointment,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct RawVersioned {
    #[sqlx(flatten)]
    appointment: RawAppointment,
    version: i64,
}

impl TryFrom<RawVersioned> for VersionedVisit {
    type Error = StoreError;
    fn try_from(r: RawVersioned) -> Result<Self> {
        Ok(Self {
            appointment: r.appointment.try_into()?,
            version: r.version,
        })
    }
}

/// The feed's visits of one person (`$who` is `ap.patient_id` or
/// `ap.doctor_id`, `$1` its id, `$2` the cut-off instant): every visit that
/// starts at or after the cut-off, and the cancelled ones cancelled since
/// (a cancellation is the visit's last change, so `updated_at` is when it
/// was cancelled). Each with the count of its events, counted in one pass
/// over the events of just these visits.
macro_rules! feed_sql {
    ($who:literal) => {
        concat!(
            "WITH f AS (",
            select_appointment!(),
            " WHERE ",
            $who,
            " = $1 AND (ap.start_at >= $2 OR (ap.status = 'cancelled' AND ap.updated_at >= $2))), \
             ev AS (SELECT appointment_id, COUNT(*) AS n FROM notification_event \
                    WHERE appointment_id IN (SELECT id FROM f) GROUP BY appointment_id) \
             SELECT f.*, COALESCE(ev.n, 0) AS version FROM f \
             LEFT JOIN ev ON ev.appointment_id = f.id ORDER BY f.start_at, f.id"
        )
    };
}

/// Whose visits a feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOf {
    Patient(PatientId),
    Doctor(DoctorId),
}

impl Store {
    /// The account's role, its patient or doctor, and its calendar
    /// generation; `None` if there is no such account.
    pub async fn calendar_owner(&self, account: AccountId) -> Result<Option<CalendarOwner>> {
        let row: Option<RawOwner> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.role, a.active, a.calendar_generation, \
                        p.id AS patient_id, d.id AS doctor_id \
                 FROM accounts a \
                 LEFT JOIN patients p ON p.account_id = a.id \
                 LEFT JOIN doctors d ON d.account_id = a.id \
                 WHERE a.id = $1",
            )
            .bind(account)
            .fetch_optional(pool)
            .await?
        });
        row.map(|r| {
            Ok(CalendarOwner {
                role: Role::parse(&r.role).ok_or_else(|| {
                    StoreError::corrupt(format_args!("account {}: role {:?}", r.id, r.role))
                })?,
                account_id: r.id,
                active: r.active,
                generation: r.calendar_generation,
                patient_id: r.patient_id,
                doctor_id: r.doctor_id,
            })
        })
        .transpose()
    }

    /// Moves the account's calendar to its next generation (every URL made
    /// before stops working), audited; the new generation.
    pub async fn rotate_calendar(&self, account: AccountId, now: i64) -> Result<i64> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let row: Option<(i64,)> = sqlx::query_as(
                "UPDATE accounts SET calendar_generation = calendar_generation + 1 \
                 WHERE id = $1 RETURNING calendar_generation",
            )
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((generation,)) = row else {
                return Err(StoreError::NotFound);
            };
            audit!(tx, now, Some(account), "rotate", "calendar", account, Some(format!("generation {generation}")));
            tx.commit().await?;
            Ok(generation)
        })
    }

    /// A patient's or doctor's visits for their feed: from `since` on, and
    /// the cancelled ones cancelled since then; by start.
    pub async fn feed_visits(&self, of: FeedOf, since: i64) -> Result<Vec<VersionedVisit>> {
        let rows: Vec<RawVersioned> = on_read!(self, pool => {
            match of {
                FeedOf::Patient(id) => {
                    sqlx::query_as(feed_sql!("ap.patient_id"))
                        .bind(id)
                        .bind(since)
                        .fetch_all(pool)
                        .await?
                }
                FeedOf::Doctor(id) => {
                    sqlx::query_as(feed_sql!("ap.doctor_id"))
                        .bind(id)
                        .bind(since)
                        .fetch_all(pool)
                        .await?
                }
            }
        });
        rows.into_iter().map(VersionedVisit::try_from).collect()
    }
}
