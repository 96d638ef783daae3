//! The notification outbox (decision 0013): the event row written in the
//! transaction of the change that causes it, and (later) the deliveries the
//! worker expands it into.

/// Writes the notification event of a change inside the change's own
/// transaction; a cancellation or a move also drops the visit's pending
/// reminders there (new ones follow the new time when the event is
/// expanded). `$event` is `booked`, `rescheduled`, `cancelled`,
/// `status_changed` or `note_ready`.
macro_rules! record_event {
    ($tx:expr, $event:expr, $appointment:expr, $actor:expr, $detail:expr, $visit_start:expr, $now:expr) => {{
        sqlx::query(
            "INSERT INTO notification_event (event, appointment_id, actor_account_id, detail, visit_start, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($event)
        .bind($appointment)
        .bind($actor)
        .bind($detail)
        .bind($visit_start)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        if matches!($event, "cancelled" | "rescheduled") {
            sqlx::query(
                "UPDATE delivery SET state = 'dropped', last_error = $2, lease_owner = NULL, lease_until = NULL \
                 WHERE appointment_id = $1 AND kind = 'reminder' AND state = 'pending'",
            )
            .bind($appointment)
            .bind(if $event == "cancelled" { "the visit was cancelled" } else { "the visit was moved" })
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use record_event;

use super::{Result, Store, StoreError, audit, begin_write, instant, on_read, on_write};
use crate::domain::ids::{AccountId, AppointmentId};
use jiff::Timestamp;

/// A change to tell people about, not yet expanded into deliveries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub event: String,
    pub appointment_id: AppointmentId,
    pub actor_account_id: Option<AccountId>,
    pub detail: Option<String>,
    pub visit_start: i64,
    pub created_at: i64,
}

/// One delivery to add when an event is expanded.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub channel: &'static str,
    pub kind: &'static str,
    pub appointment_id: Option<AppointmentId>,
    pub account_id: Option<AccountId>,
    pub webhook_id: Option<i64>,
    /// Derived from the event (or the reminder's visit, start, lead and
    /// channel): the same expansion twice inserts nothing twice.
    pub message_id: String,
    pub visit_start: Option<i64>,
    pub lead_hours: Option<i64>,
    pub due_at: i64,
}

/// Where a delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub kind: String,
    pub channel: String,
    pub state: String,
    pub account_id: Option<AccountId>,
    pub due_at: Timestamp,
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RawDeliveryState {
    kind: String,
    channel: String,
    state: String,
    account_id: Option<AccountId>,
    due_at: i64,
    last_error: Option<String>,
}

/// A delivery claimed by a worker.
#[derive(Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: Option<i64>,
    pub channel: String,
    pub kind: String,
    pub appointment_id: Option<AppointmentId>,
    pub account_id: Option<AccountId>,
    pub webhook_id: Option<i64>,
    pub message_id: String,
    pub visit_start: Option<i64>,
    pub lead_hours: Option<i64>,
    pub attempts: i64,
    pub due_at: i64,
    /// The one-time code it carries (decision 0018), if any.
    pub code_id: Option<i64>,
    /// That code itself, kept only until the delivery is sent or given up.
    pub code_text: Option<String>,
}

impl std::fmt::Debug for DeliveryRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the code.
        f.debug_struct("DeliveryRow")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .field("message_id", &self.message_id)
            .field("code_id", &self.code_id)
            .finish_non_exhaustive()
    }
}

/// How a claimed delivery ended this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Failed; tried again at `due_at`.
    Retry {
        due_at: i64,
        error: String,
    },
    /// Failed for good (too many tries, or refused for good).
    Dead {
        error: String,
    },
    /// Not sent, on purpose (the visit changed, the patient turned it off).
    Dropped {
        why: String,
    },
    /// The channel is not configured: kept, never silently lost.
    NotConfigured,
}

/// What the worker needs to know of a visit's two people.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipients {
    pub patient_account: AccountId,
    pub patient_email: Option<String>,
    pub patient_phone: String,
    pub notify_email: bool,
    pub notify_sms: bool,
    pub doctor_account: AccountId,
    pub doctor_email: String,
    pub doctor_timezone: String,
    /// When the patient closed their account (decision 0020): nothing
    /// made after that reaches them.
    pub patient_closed_at: Option<i64>,
}

/// Claims due deliveries: a lease on each, so no other worker takes them
/// until it runs out. PostgreSQL skips rows another worker is claiming.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE delivery SET lease_owner = $1, lease_until = $2 WHERE id IN (\
               SELECT id FROM delivery WHERE state = 'pending' AND due_at <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at, id LIMIT $4",
            $lock,
            ") RETURNING id, event_id, channel, kind, appointment_id, account_id, webhook_id, \
               message_id, visit_start, lead_hours, attempts, due_at, code_id, code_text"
        )
    };
}

impl Store {
    /// Events not yet expanded, oldest first.
    pub async fn unexpanded_events(&self, limit: i64) -> Result<Vec<EventRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, EventRow>(
                "SELECT id, event, appointment_id, actor_account_id, detail, visit_start, created_at \
                 FROM notification_event WHERE expanded_at IS NULL ORDER BY id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Adds an event's deliveries (those already there are left alone) and
    /// marks it expanded, in one transaction.
    pub async fn expand_event(
        &self,
        event_id: i64,
        deliveries: &[NewDelivery],
        now: i64,
    ) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            for d in deliveries {
                sqlx::query(
                    "INSERT INTO delivery (event_id, channel, kind, appointment_id, account_id, webhook_id, \
                       message_id, visit_start, lead_hours, due_at, state, attempts, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11) \
                     ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(event_id)
                .bind(d.channel)
                .bind(d.kind)
                .bind(d.appointment_id)
                .bind(d.account_id)
                .bind(d.webhook_id)
                .bind(&d.message_id)
                .bind(d.visit_start)
                .bind(d.lead_hours)
                .bind(d.due_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE notification_event SET expanded_at = $2 WHERE id = $1")
                .bind(event_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Leases up to `limit` due deliveries to `owner` until `lease_until`.
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let rows = match self {
            Store::Sqlite { write, .. } => {
                sqlx::query_as::<_, DeliveryRow>(claim_sql!(""))
                    .bind(owner)
                    .bind(lease_until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(write)
                    .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_as::<_, DeliveryRow>(claim_sql!(" FOR UPDATE SKIP LOCKED"))
                    .bind(owner)
                    .bind(lease_until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        };
        // RETURNING follows no order: send the earliest due first.
        let mut rows = rows;
        rows.sort_by_key(|r| (r.due_at, r.id));
        Ok(rows)
    }

    /// Records how a delivery went, if `owner` still holds its lease
    /// (`false`: the lease ran out and another worker has it now).
    pub async fn finish_delivery(
        &self,
        id: i64,
        owner: &str,
        outcome: &Outcome,
        now: i64,
    ) -> Result<bool> {
        let (state, due_at, error, sent_at) = match outcome {
            Outcome::Sent => ("sent", None, None, Some(now)),
            Outcome::Retry { due_at, error } => {
                ("pending", Some(*due_at), Some(error.as_str()), None)
            }
            Outcome::Dead { error } => ("dead", None, Some(error.as_str()), None),
            Outcome::Dropped { why } => ("dropped", None, Some(why.as_str()), None),
            Outcome::NotConfigured => (
                "not_configured",
                None,
                Some("the channel is not configured"),
                None,
            ),
        };
        let counts = matches!(
            outcome,
            Outcome::Sent | Outcome::Retry { .. } | Outcome::Dead { .. }
        );
        on_write!(self, pool => {
            let done = sqlx::query(
                "UPDATE delivery SET state = $3, due_at = COALESCE($4, due_at), last_error = $5, \
                   sent_at = $6, attempts = attempts + $7, lease_owner = NULL, lease_until = NULL, \
                   code_text = CASE WHEN $3 = 'pending' THEN code_text ELSE NULL END \
                 WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(owner)
            .bind(state)
            .bind(due_at)
            .bind(error)
            .bind(sent_at)
            .bind(i64::from(counts))
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// The patient's and the doctor's addresses and choices for a visit.
    pub async fn recipients(&self, appointment_id: AppointmentId) -> Result<Option<Recipients>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, Recipients>(
                "SELECT p.account_id AS patient_account, p.email AS patient_email, p.phone AS patient_phone, \
                   p.notify_email, p.notify_sms, d.account_id AS doctor_account, da.login AS doctor_email, \
                   d.timezone AS doctor_timezone, p.closed_at AS patient_closed_at \
                 FROM appointments ap JOIN patients p ON p.id = ap.patient_id \
                 JOIN doctors d ON d.id = ap.doctor_id JOIN accounts da ON da.id = d.account_id \
                 WHERE ap.id = $1",
            )
            .bind(appointment_id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// The deliveries of a visit, oldest first (for admins and the tests).
    pub async fn deliveries_of(&self, appointment_id: AppointmentId) -> Result<Vec<DeliveryState>> {
        let rows: Vec<RawDeliveryState> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT kind, channel, state, account_id, due_at, last_error FROM delivery \
                 WHERE appointment_id = $1 ORDER BY id",
            )
            .bind(appointment_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(DeliveryState {
                    due_at: instant(r.due_at)?,
                    kind: r.kind,
                    channel: r.channel,
                    state: r.state,
                    account_id: r.account_id,
                    last_error: r.last_error,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
    }
}

impl Store {
    /// Marks every event not yet expanded as expanded with no deliveries
    /// (the demo clinic's made-up history, whose addresses are not real);
    /// how many.
    pub async fn settle_events_unsent(&self, now: i64) -> Result<u64> {
        on_write!(self, pool => {
            let done = sqlx::query(
                "UPDATE notification_event SET expanded_at = $1 WHERE expanded_at IS NULL",
            )
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    /// One event (for rendering its deliveries).
    pub async fn event(&self, id: i64) -> Result<Option<EventRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, EventRow>(
                "SELECT id, event, appointment_id, actor_account_id, detail, visit_start, created_at \
                 FROM notification_event WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// How many events the visit has had: its version (decision 0015).
    pub async fn event_count(&self, appointment_id: AppointmentId) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM notification_event WHERE appointment_id = $1",
            )
            .bind(appointment_id)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    /// How many of the visit's events came before this one: the `SEQUENCE`
    /// of its calendar entry.
    pub async fn event_sequence(
        &self,
        appointment_id: AppointmentId,
        event_id: i64,
    ) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM notification_event WHERE appointment_id = $1 AND id < $2",
            )
            .bind(appointment_id)
            .bind(event_id)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    /// A secret all instances share, made by the first that asks.
    pub async fn clinic_secret(&self, name: &str, candidate: &str, now: i64) -> Result<String> {
        const READ: &str = "SELECT value FROM clinic_secret WHERE name = $1";
        // Made once; after that a plain read (no write per email).
        let found: Option<(String,)> = on_read!(self, pool => {
            sqlx::query_as(READ).bind(name).fetch_optional(pool).await?
        });
        if let Some((value,)) = found {
            return Ok(value);
        }
        on_write!(self, pool => {
            // Two instances making it at once: the first insert wins, and
            // both read the winner's.
            sqlx::query(
                "INSERT INTO clinic_secret (name, value, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(candidate)
            .bind(now)
            .execute(pool)
            .await?;
            let (value,): (String,) = sqlx::query_as(READ).bind(name).fetch_one(pool).await?;
            Ok(value)
        })
    }

    /// Turns the clinic's email off for the patient of this account,
    /// audited; `false` if the account is no patient's.
    pub async fn stop_patient_email(&self, account: AccountId, now: i64) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let row: Option<(i64,)> = sqlx::query_as(
                "UPDATE patients SET notify_email = FALSE, updated_at = $2 WHERE account_id = $1 RETURNING id",
            )
            .bind(account)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((id,)) = row {
                audit!(tx, now, Some(account), "unsubscribe", "patient", id, Some("email".to_owned()));
            }
            tx.commit().await?;
            Ok(row.is_some())
        })
    }
}
