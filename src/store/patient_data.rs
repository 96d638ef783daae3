//! A patient's own data (decision 0020): everything held about one patient,
//! read for their export, and closing their account in one transaction.
//!
//! Every read here is keyed by the patient (their appointments, and rows
//! hanging off those appointments) or by their own account, so nothing of
//! another patient can come along: a doctor's other visits are never joined.

use super::outbox::record_event;
use super::{Result, Store, StoreError, audit, begin_write, instant, on_read, on_write};
use crate::domain::caller::Role;
use crate::domain::ids::{AccountId, AppointmentId, DoctorId, PatientId, SlotId};
use crate::domain::patient_data::{Actor, RecordRead, SentToPatient, VisitChange, VisitChat};
use jiff::Timestamp;

#[derive(sqlx::FromRow)]
struct RawChange {
    appointment_id: AppointmentId,
    event: String,
    actor_account_id: Option<AccountId>,
    actor_role: Option<String>,
    doctor_first_name: Option<String>,
    doctor_last_name: Option<String>,
    detail: Option<String>,
    visit_start: i64,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct RawChat {
    id: i64,
    appointment_id: AppointmentId,
    role: String,
    body: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct RawSent {
    id: i64,
    appointment_id: Option<AppointmentId>,
    channel: String,
    kind: String,
    state: String,
    due_at: i64,
    sent_at: Option<i64>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct RawRead {
    at: i64,
    actor_account_id: Option<AccountId>,
    actor_role: Option<String>,
    doctor_first_name: Option<String>,
    doctor_last_name: Option<String>,
    action: String,
    entity: String,
    entity_id: i64,
}

fn actor(
    account_id: Option<AccountId>,
    role: Option<&str>,
    first: Option<String>,
    last: Option<String>,
) -> Result<Actor> {
    let role = role
        .map(|r| Role::parse(r).ok_or_else(|| StoreError::corrupt(format_args!("role {r:?}"))))
        .transpose()?;
    let doctor_name = match (role, first, last) {
        (Some(Role::Doctor), Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => None,
    };
    Ok(Actor {
        account_id,
        role,
        doctor_name,
    })
}

/// The actor's role and, for a doctor, their name: joined on the actor column.
macro_rules! actor_join {
    ($column:literal) => {
        concat!(
            " LEFT JOIN accounts ac ON ac.id = ",
            $column,
            " LEFT JOIN doctors dd ON dd.account_id = ",
            $column,
            " "
        )
    };
}

/// The patient's appointment ids, as a subquery on `$1`.
macro_rules! own_visits {
    () => {
        "SELECT id FROM appointments WHERE patient_id = $1"
    };
}

/// What closing an account did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// The future visits cancelled, with their doctors.
    pub cancelled: Vec<(AppointmentId, DoctorId)>,
    /// Sessions ended.
    pub sessions_ended: u64,
}

impl Store {
    /// Every change of the patient's visits, oldest first.
    pub async fn visit_changes_of(&self, patient: PatientId) -> Result<Vec<VisitChange>> {
        const SQL: &str = concat!(
            "SELECT e.appointment_id, e.event, e.actor_account_id, ac.role AS actor_role, \
               dd.first_name AS doctor_first_name, dd.last_name AS doctor_last_name, \
               e.detail, e.visit_start, e.created_at \
             FROM notification_event e",
            actor_join!("e.actor_account_id"),
            "WHERE e.appointment_id IN (",
            own_visits!(),
            ") ORDER BY e.id"
        );
        let rows: Vec<RawChange> = on_read!(self, pool => {
            sqlx::query_as(SQL).bind(patient).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(VisitChange {
                    actor: actor(
                        r.actor_account_id,
                        r.actor_role.as_deref(),
                        r.doctor_first_name,
                        r.doctor_last_name,
                    )?,
                    appointment_id: r.appointment_id,
                    event: r.event,
                    detail: r.detail,
                    visit_start: instant(r.visit_start)?,
                    at: instant(r.created_at)?,
                })
            })
            .collect()
    }

    /// The chat of every visit of the patient, oldest first.
    pub async fn chat_of_patient(&self, patient: PatientId) -> Result<Vec<VisitChat>> {
        const SQL: &str = concat!(
            "SELECT m.id, m.appointment_id, a.role, m.body, m.created_at \
             FROM visit_message m JOIN accounts a ON a.id = m.author_account_id \
             WHERE m.appointment_id IN (",
            own_visits!(),
            ") ORDER BY m.id"
        );
        let rows: Vec<RawChat> = on_read!(self, pool => {
            sqlx::query_as(SQL).bind(patient).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(VisitChat {
                    author_role: Role::parse(&r.role)
                        .ok_or_else(|| StoreError::corrupt(format_args!("role {:?}", r.role)))?,
                    id: r.id,
                    appointment_id: r.appointment_id,
                    body: r.body,
                    at: instant(r.created_at)?,
                })
            })
            .collect()
    }

    /// The deliveries addressed to this account (email and text messages),
    /// oldest first. Webhook calls are the clinic's, not the patient's.
    pub async fn deliveries_to(&self, account: AccountId) -> Result<Vec<SentToPatient>> {
        let rows: Vec<RawSent> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT id, appointment_id, channel, kind, state, due_at, sent_at, created_at \
                 FROM delivery WHERE account_id = $1 ORDER BY id",
            )
            .bind(account)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(SentToPatient {
                    id: r.id,
                    appointment_id: r.appointment_id,
                    channel: r.channel,
                    kind: r.kind,
                    state: r.state,
                    due_at: instant(r.due_at)?,
                    sent_at: r.sent_at.map(instant).transpose()?,
                    created_at: instant(r.created_at)?,
                })
            })
            .collect()
    }

    /// Every read of the patient's profile, visits, notes and chats in the
    /// audit log, oldest first.
    pub async fn reads_of_patient(&self, patient: PatientId) -> Result<Vec<RecordRead>> {
        const SQL: &str = concat!(
            "SELECT l.at, l.actor_account_id, ac.role AS actor_role, \
               dd.first_name AS doctor_first_name, dd.last_name AS doctor_last_name, \
               l.action, l.entity, l.entity_id \
             FROM audit_log l",
            actor_join!("l.actor_account_id"),
            "WHERE l.action LIKE 'read%' AND ((l.entity = 'patient' AND l.entity_id = $1) \
               OR (l.entity IN ('appointment', 'visit') AND l.entity_id IN (",
            own_visits!(),
            "))) ORDER BY l.id"
        );
        let rows: Vec<RawRead> = on_read!(self, pool => {
            sqlx::query_as(SQL).bind(patient).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(RecordRead {
                    reader: actor(
                        r.actor_account_id,
                        r.actor_role.as_deref(),
                        r.doctor_first_name,
                        r.doctor_last_name,
                    )?,
                    at: instant(r.at)?,
                    action: r.action,
                    entity: r.entity,
                    entity_id: r.entity_id,
                })
            })
            .collect()
    }

    /// When the patient's account was closed, if it was.
    pub async fn patient_closed_at(&self, patient: PatientId) -> Result<Option<Timestamp>> {
        let row: Option<(Option<i64>,)> = on_read!(self, pool => {
            sqlx::query_as("SELECT closed_at FROM patients WHERE id = $1")
                .bind(patient)
                .fetch_optional(pool)
                .await?
        });
        row.and_then(|(c,)| c).map(instant).transpose()
    }

    /// Records that the patient downloaded their data.
    pub async fn audit_export(&self, actor: AccountId, patient: PatientId, now: i64) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            audit!(tx, now, Some(actor), "export", "patient", patient, None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Closes a patient's account, all in one transaction: the login is
    /// turned off and every session deleted, the calendar feed's URL
    /// retired, the visits booked to start after `now` cancelled (each as a
    /// cancellation by the patient: slot freed, audited, its notification
    /// event written, its reminders dropped), the patient's holds released,
    /// and the record marked closed. The record itself, its past visits,
    /// notes, chat, payments and audit stay. `NotFound` if the account is
    /// already closed.
    pub async fn close_patient(
        &self,
        patient: PatientId,
        account: AccountId,
        reason: &str,
        now: i64,
    ) -> Result<Closure> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "UPDATE accounts SET active = FALSE, calendar_generation = calendar_generation + 1 \
                 WHERE id = $1 AND active",
            )
            .bind(account)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(account)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE patients SET closed_at = $2, updated_at = $2 WHERE id = $1")
                .bind(patient)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let future: Vec<(AppointmentId, DoctorId, SlotId, i64)> = sqlx::query_as(
                "SELECT id, doctor_id, slot_id, start_at FROM appointments \
                 WHERE patient_id = $1 AND status = 'booked' AND start_at > $2 ORDER BY start_at, id",
            )
            .bind(patient)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            let detail = serde_json::json!({ "reason": reason, "by": account.get() }).to_string();
            for (id, doctor, slot, start) in &future {
                sqlx::query(
                    "UPDATE appointments SET status = 'cancelled', cancel_reason = $2, \
                       cancelled_by = $3, updated_at = $4 WHERE id = $1 AND status = 'booked'",
                )
                .bind(id)
                .bind(reason)
                .bind(account)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE slots SET released_at = $3 WHERE id = $1 AND doctor_id = $2 AND released_at IS NULL",
                )
                .bind(slot)
                .bind(doctor)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                audit!(tx, now, Some(account), "cancelled", "appointment", id, Some("from booked (account closed)".to_owned()));
                record_event!(tx, "cancelled", id, Some(account), Some(detail.clone()), *start, now);
            }
            sqlx::query(
                "UPDATE slots SET released_at = $2 WHERE released_at IS NULL AND id IN (\
                   SELECT slot_id FROM slot_hold WHERE patient_id = $1 AND released_at IS NULL)",
            )
            .bind(patient)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE slot_hold SET released_at = $2 WHERE patient_id = $1 AND released_at IS NULL",
            )
            .bind(patient)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            audit!(tx, now, Some(account), "close", "patient", patient, Some(format!("{} future visits cancelled", future.len())));
            tx.commit().await?;
            Ok(Closure {
                cancelled: future.into_iter().map(|(id, d, _, _)| (id, d)).collect(),
                sessions_ended: ended,
            })
        })
    }
}
