//! The clinic's webhook endpoints and the delivery queue, for admins
//! (decision 0014): add, change, rotate, test and remove endpoints; see what
//! went out, what failed and what died.

use super::doctors::require_admin;
use super::{Clinic, Error, Result, Thing, stored_instant};
use crate::domain::caller::Caller;
use crate::store::{DeliveryLog, QueueFigures, WebhookRow};
use jiff::Timestamp;

/// The events an endpoint can subscribe to.
pub const EVENT_TYPES: [&str; 4] = [
    "appointment.booked",
    "appointment.cancelled",
    "appointment.rescheduled",
    "appointment.status_changed",
];

/// How long a rotated-out secret keeps signing beside the new one.
const ROTATION_HOURS: i64 = 24;

/// The longest endpoint URL taken.
const URL_MAX: usize = 2000;

/// An endpoint as admins see it (never its secret, which is shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// Why it is off (its receiver answered 410, or an admin turned it off).
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    /// Until when the previous secret still signs beside the current one.
    pub previous_secret_until: Option<Timestamp>,
}

/// One delivery as admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub message_id: String,
    pub channel: String,
    pub kind: String,
    pub event: Option<String>,
    pub appointment_id: Option<i64>,
    pub webhook_id: Option<i64>,
    /// `pending`, `sent`, `dead`, `dropped` or `not_configured`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When it is (or was last) due.
    pub due_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// The delivery queue now, and the latest deliveries that died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueReport {
    pub figures: QueueFigures,
    /// How long the oldest due delivery has waited, in seconds.
    pub oldest_due_age_secs: i64,
    pub dead: Vec<Delivery>,
}

fn webhook(row: WebhookRow, now: Timestamp) -> Result<Webhook> {
    Ok(Webhook {
        id: row.id,
        url: row.url,
        events: super::notifications::split_events(&row.events),
        active: row.active,
        disabled_reason: row.disabled_reason,
        created_at: stored_instant(row.created_at)?,
        previous_secret_until: row
            .previous_until
            .filter(|u| *u > now.as_second())
            .map(stored_instant)
            .transpose()?,
    })
}

fn delivery(row: DeliveryLog) -> Result<Delivery> {
    Ok(Delivery {
        id: row.id,
        message_id: row.message_id,
        channel: row.channel,
        kind: row.kind,
        event: row.event,
        appointment_id: row.appointment_id,
        webhook_id: row.webhook_id,
        state: row.state,
        attempts: row.attempts,
        last_error: row.last_error,
        due_at: stored_instant(row.due_at)?,
        sent_at: row.sent_at.map(stored_instant).transpose()?,
        created_at: stored_instant(row.created_at)?,
    })
}

/// The URL as given, if it is an `http(s)` URL with a host.
fn valid_url(url: &str) -> Result<String> {
    if url.len() > URL_MAX {
        return Err(Error::invalid("url", "must be at most 2000 characters"));
    }
    crate::config::http_url(url).map_err(|why| Error::invalid("url", &why))
}

/// The events as a stored list: known, at least one, each once.
fn valid_events(events: &[String]) -> Result<String> {
    let mut out: Vec<&str> = Vec::new();
    for e in events {
        let Some(known) = EVENT_TYPES.iter().find(|k| **k == e.trim()) else {
            return Err(Error::invalid(
                "events",
                &format!("unknown event {e:?}; known: {}", EVENT_TYPES.join(", ")),
            ));
        };
        if !out.contains(known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("events", "must name at least one event"));
    }
    Ok(out.join(","))
}

fn admin_account(caller: &Caller) -> Result<crate::domain::ids::AccountId> {
    require_admin(caller)?;
    caller
        .account()
        .ok_or(Error::Forbidden("Only an admin can do that."))
}

async fn found(clinic: &Clinic, id: i64) -> Result<WebhookRow> {
    clinic
        .store
        .webhook(id)
        .await?
        .ok_or(Error::NotFound(Thing::Webhook))
}

/// Adds an endpoint; answers it with its secret, which is never shown again.
pub async fn create(
    clinic: &Clinic,
    caller: &Caller,
    url: &str,
    events: &[String],
) -> Result<(Webhook, String)> {
    let actor = admin_account(caller)?;
    let (url, events) = match (valid_url(url), valid_events(events)) {
        (Ok(u), Ok(e)) => (u, e),
        (u, e) => {
            let mut fields = Vec::new();
            for r in [u.err(), e.err()].into_iter().flatten() {
                if let Error::Invalid(f) = r {
                    fields.extend(f);
                }
            }
            return Err(Error::Invalid(fields));
        }
    };
    let secret = crate::auth::new_webhook_secret();
    let now = clinic.now();
    let id = clinic
        .store
        .create_webhook(&url, &events, &secret, actor, now.as_second())
        .await?;
    Ok((webhook(found(clinic, id).await?, now)?, secret))
}

/// Every endpoint.
pub async fn list(clinic: &Clinic, caller: &Caller) -> Result<Vec<Webhook>> {
    require_admin(caller)?;
    let now = clinic.now();
    clinic
        .store
        .webhooks()
        .await?
        .into_iter()
        .map(|w| webhook(w, now))
        .collect()
}

pub async fn get(clinic: &Clinic, caller: &Caller, id: i64) -> Result<Webhook> {
    require_admin(caller)?;
    webhook(found(clinic, id).await?, clinic.now())
}

/// Changes the events, and turns the endpoint on or off.
pub async fn update(
    clinic: &Clinic,
    caller: &Caller,
    id: i64,
    events: Option<&[String]>,
    active: Option<bool>,
) -> Result<Webhook> {
    let actor = admin_account(caller)?;
    let events = events.map(valid_events).transpose()?;
    if !clinic
        .store
        .update_webhook(
            id,
            events.as_deref(),
            active,
            actor,
            clinic.now().as_second(),
        )
        .await?
    {
        return Err(Error::NotFound(Thing::Webhook));
    }
    get(clinic, caller, id).await
}

/// Removes an endpoint and its delivery log.
pub async fn delete(clinic: &Clinic, caller: &Caller, id: i64) -> Result<()> {
    let actor = admin_account(caller)?;
    if clinic
        .store
        .delete_webhook(id, actor, clinic.now().as_second())
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound(Thing::Webhook))
    }
}

/// A new secret (shown this once); the old one keeps signing beside it for
/// a day, so the receiver can switch without a gap.
pub async fn rotate(clinic: &Clinic, caller: &Caller, id: i64) -> Result<(Webhook, String)> {
    let actor = admin_account(caller)?;
    let secret = crate::auth::new_webhook_secret();
    let now = clinic.now().as_second();
    if !clinic
        .store
        .rotate_webhook_secret(id, &secret, now + ROTATION_HOURS * 3600, actor, now)
        .await?
    {
        return Err(Error::NotFound(Thing::Webhook));
    }
    Ok((get(clinic, caller, id).await?, secret))
}

/// Queues a `webhook.test` call to the endpoint; its message id.
pub async fn send_test(clinic: &Clinic, caller: &Caller, id: i64) -> Result<String> {
    require_admin(caller)?;
    found(clinic, id).await?;
    let message_id = format!("msg_test_{id}_{}", crate::auth::new_token());
    clinic
        .store
        .queue_webhook_test(id, &message_id, clinic.now().as_second())
        .await?;
    Ok(message_id)
}

/// The endpoint's latest deliveries, newest first.
pub async fn deliveries(
    clinic: &Clinic,
    caller: &Caller,
    id: i64,
    limit: Option<i64>,
) -> Result<Vec<Delivery>> {
    require_admin(caller)?;
    let limit = super::page_limit(limit)?;
    found(clinic, id).await?;
    clinic
        .store
        .webhook_deliveries(id, limit)
        .await?
        .into_iter()
        .map(delivery)
        .collect()
}

/// The queue now and the latest dead deliveries (admins).
pub async fn queue(clinic: &Clinic, caller: &Caller) -> Result<QueueReport> {
    require_admin(caller)?;
    queue_report(clinic).await
}

/// The queue now (for the worker's log line too).
pub(crate) async fn queue_report(clinic: &Clinic) -> Result<QueueReport> {
    let now = clinic.now().as_second();
    let figures = clinic.store.queue_figures(now).await?;
    let dead = clinic
        .store
        .deliveries_in_state("dead", 20)
        .await?
        .into_iter()
        .map(delivery)
        .collect::<Result<_>>()?;
    Ok(QueueReport {
        oldest_due_age_secs: figures.oldest_due_at.map_or(0, |d| (now - d).max(0)),
        figures,
        dead,
    })
}
