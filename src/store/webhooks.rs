//! The clinic's webhook endpoints (decision 0014) and what admins see of the
//! delivery queue.

use super::{Result, Store, audit, begin_write, on_read, on_write};
use crate::domain::ids::AccountId;

/// A webhook endpoint as stored, with its secrets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    /// Comma-separated event types.
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

/// One delivery as admins see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryLog {
    pub id: i64,
    pub message_id: String,
    pub channel: String,
    pub kind: String,
    pub event: Option<String>,
    pub appointment_id: Option<i64>,
    pub webhook_id: Option<i64>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub due_at: i64,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

/// The delivery queue in figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Waiting, due now or later.
    pub pending: i64,
    /// Waiting and due now.
    pub due: i64,
    /// The due time of the oldest due one.
    pub oldest_due_at: Option<i64>,
    /// Pending ones that failed at least once.
    pub retrying: i64,
    pub sent: i64,
    pub dead: i64,
    pub dropped: i64,
    pub not_configured: i64,
    /// Events not yet expanded into deliveries.
    pub unexpanded: i64,
}

macro_rules! endpoint_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, url, events, secret, previous_secret, previous_until, active, disabled_reason, created_at \
             FROM webhook_endpoint ",
            $rest
        )
    };
}

macro_rules! log_sql {
    ($where:literal) => {
        concat!(
            "SELECT d.id, d.message_id, d.channel, d.kind, e.event, d.appointment_id, d.webhook_id, d.state, \
               d.attempts, d.last_error, d.due_at, d.sent_at, d.created_at \
             FROM delivery d LEFT JOIN notification_event e ON e.id = d.event_id ",
            $where,
            " ORDER BY d.id DESC LIMIT $2"
        )
    };
}

impl Store {
    /// Adds an endpoint (audited); its id.
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &str,
        secret: &str,
        actor: AccountId,
        now: i64,
    ) -> Result<i64> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO webhook_endpoint (url, events, secret, active, created_at) \
                 VALUES ($1, $2, $3, TRUE, $4) RETURNING id",
            )
            .bind(url)
            .bind(events)
            .bind(secret)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, Some(actor), "create", "webhook", id, Some(events.to_owned()));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Every endpoint, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, WebhookRow>(endpoint_sql!("ORDER BY id"))
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn webhook(&self, id: i64) -> Result<Option<WebhookRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, WebhookRow>(endpoint_sql!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Changes the events and/or turns the endpoint on or off (audited);
    /// `false` if there is no such endpoint.
    pub async fn update_webhook(
        &self,
        id: i64,
        events: Option<&str>,
        active: Option<bool>,
        actor: AccountId,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "UPDATE webhook_endpoint SET events = COALESCE($2, events), active = COALESCE($3, active), \
                   disabled_reason = CASE WHEN COALESCE($3, active) THEN NULL ELSE COALESCE(disabled_reason, 'turned off by an admin') END \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(events)
            .bind(active)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                let detail = format!("events={} active={}", events.unwrap_or("-"), active.map_or("-".to_owned(), |a| a.to_string()));
                audit!(tx, now, Some(actor), "update", "webhook", id, Some(detail));
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Removes an endpoint with its delivery log (audited); `false` if there
    /// is no such endpoint.
    pub async fn delete_webhook(&self, id: i64, actor: AccountId, now: i64) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            sqlx::query("DELETE FROM delivery WHERE webhook_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM webhook_endpoint WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                audit!(tx, now, Some(actor), "delete", "webhook", id, None::<String>);
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// A new secret; the current one keeps signing until `previous_until`
    /// (audited). `false` if there is no such endpoint.
    pub async fn rotate_webhook_secret(
        &self,
        id: i64,
        secret: &str,
        previous_until: i64,
        actor: AccountId,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "UPDATE webhook_endpoint SET previous_secret = secret, previous_until = $3, secret = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(secret)
            .bind(previous_until)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                audit!(tx, now, Some(actor), "rotate_secret", "webhook", id, None::<String>);
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Turns an endpoint off because its receiver said so, and drops what is
    /// still waiting for it.
    pub async fn disable_webhook(&self, id: i64, reason: &str, now: i64) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            sqlx::query("UPDATE webhook_endpoint SET active = FALSE, disabled_reason = $2 WHERE id = $1")
                .bind(id)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE delivery SET state = 'dropped', last_error = 'the endpoint was disabled', \
                   lease_owner = NULL, lease_until = NULL WHERE webhook_id = $1 AND state = 'pending'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(tx, now, None::<AccountId>, "disable", "webhook", id, Some(reason.to_owned()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Queues one delivery with no event behind it (a webhook's test call).
    pub async fn queue_webhook_test(&self, id: i64, message_id: &str, now: i64) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query(
                "INSERT INTO delivery (channel, kind, webhook_id, message_id, due_at, state, attempts, created_at) \
                 VALUES ('webhook', 'test', $1, $2, $3, 'pending', 0, $3)",
            )
            .bind(id)
            .bind(message_id)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// An endpoint's latest deliveries, newest first.
    pub async fn webhook_deliveries(&self, id: i64, limit: i64) -> Result<Vec<DeliveryLog>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, DeliveryLog>(log_sql!("WHERE d.webhook_id = $1"))
                .bind(id)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The latest deliveries in one state, newest first.
    pub async fn deliveries_in_state(&self, state: &str, limit: i64) -> Result<Vec<DeliveryLog>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, DeliveryLog>(log_sql!("WHERE d.state = $1"))
                .bind(state)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The queue in figures at `now`.
    pub async fn queue_figures(&self, now: i64) -> Result<QueueFigures> {
        on_read!(self, pool => {
            let (pending, due, oldest_due_at, retrying, sent, dead, dropped, not_configured): (
                i64, i64, Option<i64>, i64, i64, i64, i64, i64,
            ) = sqlx::query_as(
                "SELECT \
                   COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'pending' AND due_at <= $1 THEN 1 ELSE 0 END), 0), \
                   MIN(CASE WHEN state = 'pending' AND due_at <= $1 THEN due_at END), \
                   COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'dropped' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'not_configured' THEN 1 ELSE 0 END), 0) \
                 FROM delivery",
            )
            .bind(now)
            .fetch_one(pool)
            .await?;
            let (unexpanded,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM notification_event WHERE expanded_at IS NULL",
            )
            .fetch_one(pool)
            .await?;
            Ok(QueueFigures {
                pending,
                due,
                oldest_due_at,
                retrying,
                sent,
                dead,
                dropped,
                not_configured,
                unexpanded,
            })
        })
    }
}
