//! Notifications (decision 0013): who hears of a change, on which channel,
//! and when; whether a due message still goes out; and what a failure
//! means. The worker face ([`crate::notify`]) renders and sends; this
//! decides, with the domain's rules ([`crate::domain::notify`]).

use super::{Clinic, Result};
use crate::domain::appointment::{Appointment, Status};
use crate::domain::caller::Role;
use crate::domain::ids::AccountId;
use crate::domain::notify::{self, Backoff, ReminderFate};
use crate::store::{DeliveryRow, NewDelivery, Outcome, Recipients};
use jiff::{SignedDuration, Timestamp};

/// A channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Channel::Email, Channel::Sms, Channel::Webhook]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// The recipients' deliveries of one event: notices for the visit's people,
/// and for a booking or a move, the patient's reminders of the new time.
#[allow(clippy::too_many_arguments)]
fn deliveries_of(
    event_id: i64,
    event: &str,
    appointment: &crate::domain::ids::AppointmentId,
    visit_start: i64,
    r: &Recipients,
    settings: &crate::config::Settings,
    endpoints: &[(i64, Vec<String>)],
    now: Timestamp,
) -> Vec<NewDelivery> {
    let reminder_hours = &settings.reminder_hours;
    let mut out = Vec::new();
    let notice = |channel: Channel, account| NewDelivery {
        channel: channel.as_str(),
        kind: "notice",
        appointment_id: Some(*appointment),
        account_id: Some(account),
        webhook_id: None,
        message_id: format!("n{event_id}.{}.{account}@medimeet", channel.as_str()),
        visit_start: Some(visit_start),
        lead_hours: None,
        due_at: now.as_second(),
    };
    let to_people = matches!(event, "booked" | "rescheduled" | "cancelled");
    if to_people || event == "note_ready" {
        if r.patient_email.is_some() {
            out.push(notice(Channel::Email, r.patient_account));
        }
        out.push(notice(Channel::Sms, r.patient_account));
    }
    if to_people {
        out.push(notice(Channel::Email, r.doctor_account));
    }
    if matches!(event, "booked" | "rescheduled")
        && let Ok(start) = Timestamp::from_second(visit_start)
    {
        let mut leads = notify::reminders(start, reminder_hours, now);
        // "Your visit room is open": lead 0, due when the room opens.
        if let Ok(opens) =
            start.checked_sub(SignedDuration::from_mins(settings.visit_opens_minutes))
            && opens > now
        {
            leads.push((0, opens));
        }
        for (lead, due) in leads {
            let mut channels = vec![Channel::Sms];
            if r.patient_email.is_some() {
                channels.insert(0, Channel::Email);
            }
            for channel in channels {
                out.push(NewDelivery {
                    channel: channel.as_str(),
                    kind: "reminder",
                    appointment_id: Some(*appointment),
                    account_id: Some(r.patient_account),
                    webhook_id: None,
                    // The visit, its start, the lead and the channel: one
                    // reminder per time the visit is booked for ("o": the
                    // room-open notice).
                    message_id: format!(
                        "{}{}.{visit_start}.{lead}.{}@medimeet",
                        if lead == 0 { "o" } else { "r" },
                        appointment.get(),
                        channel.as_str()
                    ),
                    visit_start: Some(visit_start),
                    lead_hours: Some(lead),
                    due_at: due.as_second(),
                });
            }
        }
    }
    let kind = webhook_event_type(event);
    for (endpoint, events) in endpoints {
        if events.iter().any(|e| e == kind) {
            out.push(NewDelivery {
                channel: Channel::Webhook.as_str(),
                kind: "notice",
                appointment_id: Some(*appointment),
                account_id: None,
                webhook_id: Some(*endpoint),
                // The `webhook-id`: the same on every try.
                message_id: format!("msg_{event_id}_{endpoint}"),
                visit_start: Some(visit_start),
                lead_hours: None,
                due_at: now.as_second(),
            });
        }
    }
    out
}

/// The webhook event type of an outbox event.
fn webhook_event_type(event: &str) -> &'static str {
    match event {
        "booked" => "appointment.booked",
        "cancelled" => "appointment.cancelled",
        "rescheduled" => "appointment.rescheduled",
        "status_changed" => "appointment.status_changed",
        // Not offered to webhooks (a note is the patient's business).
        _ => "",
    }
}

/// Expands the events written since the last call into their deliveries.
/// Safe to run from several workers at once: message ids are unique.
pub async fn expand(clinic: &Clinic) -> Result<usize> {
    let events = clinic.store.unexpanded_events(100).await?;
    let now = clinic.now();
    let n = events.len();
    if n == 0 {
        return Ok(0);
    }
    let endpoints: Vec<(i64, Vec<String>)> = clinic
        .store
        .webhooks()
        .await?
        .into_iter()
        .filter(|w| w.active)
        .map(|w| (w.id, split_events(&w.events)))
        .collect();
    for e in events {
        let deliveries = match clinic.store.recipients(e.appointment_id).await? {
            Some(r) => deliveries_of(
                e.id,
                &e.event,
                &e.appointment_id,
                e.visit_start,
                &r,
                clinic.settings(),
                &endpoints,
                now,
            ),
            None => Vec::new(),
        };
        clinic
            .store
            .expand_event(e.id, &deliveries, now.as_second())
            .await?;
    }
    Ok(n)
}

/// A message to send now, with what its face needs to render it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub message_id: String,
    pub channel: Channel,
    /// `booked`, `rescheduled`, `cancelled`, `note_ready`, or `reminder`.
    pub what: String,
    /// The event's detail (the cancellation reason, who cancelled).
    pub detail: Option<String>,
    /// Who made the change: the visit's patient, its doctor, or the clinic
    /// (an admin, or the system); `None` for reminders.
    pub by: Option<Role>,
    pub appointment: Appointment,
    pub to_role: Role,
    /// An email address or a phone number.
    pub address: String,
    /// The zone the recipient reads times in (the doctor's, named).
    pub time_zone: String,
    pub lead_hours: Option<i64>,
    /// The calendar entry's `SEQUENCE`: how many changes came before.
    pub sequence: i64,
    /// When the change happened (the calendar entry's `DTSTAMP`).
    pub created: Timestamp,
    /// Failed tries so far.
    pub attempts: i64,
    /// For the patient's email: the token of its one-click unsubscribe link.
    pub unsubscribe: Option<String>,
}

/// A call to one of the clinic's webhook endpoints.
#[derive(Debug, Clone)]
pub struct WebhookCall {
    pub id: i64,
    pub attempts: i64,
    /// The `webhook-id`: the same on every try.
    pub message_id: String,
    pub endpoint_id: i64,
    pub url: String,
    /// The secrets to sign with: the current one, and during a rotation
    /// the previous one too.
    pub secrets: Vec<String>,
    /// `appointment.booked`, ..., or `webhook.test`.
    pub event_type: String,
    /// When the event happened.
    pub at: Timestamp,
    /// The visit, in ids, times and status only (no names, no reasons).
    pub visit: Option<WebhookVisit>,
}

/// What a webhook says of a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookVisit {
    pub appointment_id: i64,
    pub doctor_id: i64,
    pub patient_id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: crate::domain::appointment::Status,
}

/// A one-time code to send (decision 0018).
#[derive(Clone)]
pub struct CodeMessage {
    pub id: i64,
    pub attempts: i64,
    pub message_id: String,
    pub channel: Channel,
    /// An email address or a phone number.
    pub address: String,
    pub purpose: crate::domain::codes::Purpose,
    /// The code itself; `None` for the warning to a number's owner that
    /// someone tried to sign up with it (decision 0027).
    pub code: Option<String>,
    /// How many minutes it works from when it was made.
    pub minutes: i64,
}

impl std::fmt::Debug for CodeMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// A delivery to make now.
#[derive(Debug, Clone)]
pub enum Due {
    Person(Box<Outgoing>),
    Webhook(WebhookCall),
    Code(CodeMessage),
}

impl Due {
    fn claim(&self) -> (i64, i64, Channel) {
        match self {
            Due::Person(o) => (o.id, o.attempts, o.channel),
            Due::Webhook(w) => (w.id, w.attempts, Channel::Webhook),
            Due::Code(c) => (c.id, c.attempts, c.channel),
        }
    }
}

/// Claims the due deliveries for the worker `owner` and decides each: what
/// is no longer wanted is dropped (recorded), what has no configured
/// channel is kept as `not_configured`, the rest is handed back to send.
pub async fn due(
    clinic: &Clinic,
    owner: &str,
    configured: &[Channel],
    limit: i64,
) -> Result<Vec<Due>> {
    let now = clinic.now();
    let lease_until = now.as_second() + clinic.settings().delivery_lease_seconds;
    let rows = clinic
        .store
        .claim_deliveries(owner, now.as_second(), lease_until, limit)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        match decide(clinic, &row, configured, now).await? {
            Ok(o) => out.push(o),
            Err(outcome) => {
                clinic
                    .store
                    .finish_delivery(row.id, owner, &outcome, now.as_second())
                    .await?;
            }
        }
    }
    Ok(out)
}

fn dropped(why: &str) -> Outcome {
    Outcome::Dropped { why: why.into() }
}

/// What to do with one claimed delivery: send it, or the outcome instead.
async fn decide(
    clinic: &Clinic,
    row: &DeliveryRow,
    configured: &[Channel],
    now: Timestamp,
) -> Result<std::result::Result<Due, Outcome>> {
    let Some(channel) = Channel::parse(&row.channel) else {
        return Ok(Err(Outcome::Dead {
            error: format!("unknown channel {}", row.channel),
        }));
    };
    if channel == Channel::Webhook {
        return Ok(webhook_call(clinic, row, now).await?.map(Due::Webhook));
    }
    if let Some(code_id) = row.code_id {
        return code_message(clinic, row, code_id, channel, configured, now).await;
    }
    let Some(appointment_id) = row.appointment_id else {
        return Ok(Err(dropped("no visit")));
    };
    let appointment = clinic.store.get_appointment(appointment_id).await?;
    let (what, detail, sequence, created, actor) = if row.kind == "reminder" {
        let scheduled = row
            .visit_start
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or(now);
        let visit = appointment.as_ref().map(|a| (a.status, a.start_at));
        if let ReminderFate::Drop(why) = notify::reminder_fate(scheduled, visit, now) {
            return Ok(Err(dropped(why)));
        }
        ("reminder".to_owned(), None, 0, now, None)
    } else {
        match row.event_id {
            Some(id) => match clinic.store.event(id).await? {
                Some(e) => {
                    let seq = clinic.store.event_sequence(e.appointment_id, e.id).await?;
                    let at = Timestamp::from_second(e.created_at).unwrap_or(now);
                    (e.event, e.detail, seq, at, e.actor_account_id)
                }
                None => return Ok(Err(dropped("no event"))),
            },
            None => return Ok(Err(dropped("no event"))),
        }
    };
    let (Some(appointment), Some(r)) =
        (appointment, clinic.store.recipients(appointment_id).await?)
    else {
        return Ok(Err(dropped("the visit no longer exists")));
    };
    let for_patient = row.account_id == Some(r.patient_account);
    let by = (row.kind != "reminder").then(|| match actor {
        Some(a) if a == r.patient_account => Role::Patient,
        Some(a) if a == r.doctor_account => Role::Doctor,
        _ => Role::Admin,
    });
    // A closed account hears of its closure's cancellations, and of
    // nothing after it (decision 0020); a reminder is made "now".
    if for_patient
        && r.patient_closed_at
            .is_some_and(|closed| created.as_second() > closed)
    {
        return Ok(Err(dropped("the patient closed their account")));
    }
    // The patient's choices as they are now, not as they were at booking.
    if for_patient {
        let off = match channel {
            Channel::Email => !r.notify_email,
            Channel::Sms => !r.notify_sms,
            Channel::Webhook => false,
        };
        if off {
            return Ok(Err(dropped("turned off by the patient")));
        }
    }
    if !configured.contains(&channel) {
        return Ok(Err(Outcome::NotConfigured));
    }
    let address = match (channel, for_patient) {
        (Channel::Email, true) => match r.patient_email.clone() {
            Some(e) => e,
            None => return Ok(Err(dropped("the patient has no email address"))),
        },
        (Channel::Email, false) => r.doctor_email.clone(),
        (Channel::Sms, _) => r.patient_phone.clone(),
        (Channel::Webhook, _) => String::new(),
    };
    let unsubscribe = if for_patient && channel == Channel::Email {
        Some(unsubscribe_token(clinic, r.patient_account).await?)
    } else {
        None
    };
    Ok(Ok(Due::Person(Box::new(Outgoing {
        unsubscribe,
        id: row.id,
        message_id: row.message_id.clone(),
        channel,
        what,
        detail,
        by,
        to_role: if for_patient {
            Role::Patient
        } else {
            Role::Doctor
        },
        address,
        time_zone: r.doctor_timezone,
        lead_hours: row.lead_hours,
        sequence,
        created,
        appointment,
        attempts: row.attempts,
    }))))
}

/// The message that carries a one-time code, or why it no longer goes out
/// (the code was used, replaced or expired: nobody needs it any more).
async fn code_message(
    clinic: &Clinic,
    row: &DeliveryRow,
    code_id: i64,
    channel: Channel,
    configured: &[Channel],
    now: Timestamp,
) -> Result<std::result::Result<Due, Outcome>> {
    use crate::domain::codes::{self, Fate, Purpose};
    let Some(code) = clinic.store.code(code_id).await? else {
        return Ok(Err(dropped("no code")));
    };
    if codes::fate(code.stored(), now.as_second()) != Fate::Live {
        return Ok(Err(dropped("the code was used, replaced or expired")));
    }
    let Some(purpose) = Purpose::parse(&code.purpose) else {
        return Ok(Err(dropped("the code is gone")));
    };
    // A sign-up "code" of an existing account is the warning to its owner:
    // it carries no code (decision 0027).
    let warning = purpose == Purpose::SignUp && code.account_id.is_some();
    let text = match row.code_text.clone() {
        Some(t) if !warning => Some(t),
        None if warning => None,
        _ => return Ok(Err(dropped("the code is gone"))),
    };
    if !configured.contains(&channel) {
        return Ok(Err(Outcome::NotConfigured));
    }
    Ok(Ok(Due::Code(CodeMessage {
        id: row.id,
        attempts: row.attempts,
        message_id: row.message_id.clone(),
        channel,
        address: code.address,
        purpose,
        code: text,
        minutes: (code.expires_at - code.created_at) / 60,
    })))
}

/// The call a webhook delivery makes, or why it is no longer made.
async fn webhook_call(
    clinic: &Clinic,
    row: &DeliveryRow,
    now: Timestamp,
) -> Result<std::result::Result<WebhookCall, Outcome>> {
    let Some(endpoint) = (match row.webhook_id {
        Some(id) => clinic.store.webhook(id).await?,
        None => None,
    }) else {
        return Ok(Err(dropped("the endpoint was deleted")));
    };
    if !endpoint.active {
        return Ok(Err(dropped("the endpoint is disabled")));
    }
    let mut secrets = vec![endpoint.secret.clone()];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until)
        && until > now.as_second()
    {
        secrets.push(previous.clone());
    }
    let (event_type, at, visit) = if row.kind == "test" {
        ("webhook.test".to_owned(), now, None)
    } else {
        let (Some(event_id), Some(appointment_id)) = (row.event_id, row.appointment_id) else {
            return Ok(Err(dropped("no event")));
        };
        let (Some(e), Some(a)) = (
            clinic.store.event(event_id).await?,
            clinic.store.get_appointment(appointment_id).await?,
        ) else {
            return Ok(Err(dropped("the visit no longer exists")));
        };
        let status = match e.event.as_str() {
            "cancelled" => Status::Cancelled,
            "status_changed" => e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|v| Status::parse(v.get("status")?.as_str()?))
                .unwrap_or(a.status),
            _ => Status::Booked,
        };
        let start = Timestamp::from_second(e.visit_start).unwrap_or(a.start_at);
        let end = start
            .checked_add(a.end_at.duration_since(a.start_at))
            .unwrap_or(a.end_at);
        (
            webhook_event_type(&e.event).to_owned(),
            Timestamp::from_second(e.created_at).unwrap_or(now),
            Some(WebhookVisit {
                appointment_id: a.id.get(),
                doctor_id: a.doctor_id.get(),
                patient_id: a.patient_id.get(),
                start,
                end,
                status,
            }),
        )
    };
    Ok(Ok(WebhookCall {
        id: row.id,
        attempts: row.attempts,
        message_id: row.message_id.clone(),
        endpoint_id: endpoint.id,
        url: endpoint.url,
        secrets,
        event_type,
        at,
        visit,
    }))
}

/// The event types of an endpoint's stored list.
pub(crate) fn split_events(events: &str) -> Vec<String> {
    events
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The message went out.
pub async fn sent(clinic: &Clinic, owner: &str, d: &Due) -> Result<()> {
    let now = clinic.now().as_second();
    let (id, _, _) = d.claim();
    clinic
        .store
        .finish_delivery(id, owner, &Outcome::Sent, now)
        .await?;
    Ok(())
}

/// The webhook's receiver answered 410 Gone: the endpoint is disabled, this
/// delivery is dead and what else waits for the endpoint is dropped.
pub async fn gone(clinic: &Clinic, owner: &str, call: &WebhookCall, error: &str) -> Result<()> {
    let now = clinic.now().as_second();
    clinic
        .store
        .finish_delivery(
            call.id,
            owner,
            &Outcome::Dead {
                error: error.to_owned(),
            },
            now,
        )
        .await?;
    clinic
        .store
        .disable_webhook(
            call.endpoint_id,
            &format!(
                "the receiver answered 410 Gone ({})",
                Timestamp::from_second(now).unwrap_or_default()
            ),
            now,
        )
        .await?;
    tracing::warn!(
        webhook_id = call.endpoint_id,
        "webhook endpoint disabled: its receiver answered 410 Gone"
    );
    Ok(())
}

/// The message did not go out: tried again later with backoff, or dead when
/// the receiver refused it for good or it failed too often. `jitter` in
/// `[0, 1)`.
pub async fn failed(
    clinic: &Clinic,
    owner: &str,
    d: &Due,
    error: &str,
    permanent: bool,
    jitter: f64,
) -> Result<()> {
    let now = clinic.now().as_second();
    let (id, attempts, channel) = d.claim();
    let failures = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
    let outcome = match Backoff::default().after(failures, jitter) {
        Some(wait) if !permanent => Outcome::Retry {
            due_at: now + wait.as_secs(),
            error: error.to_owned(),
        },
        _ => Outcome::Dead {
            error: error.to_owned(),
        },
    };
    // Not the error itself: a receiver's answer may name the recipient.
    // Admins read it in the queue (`last_error`).
    tracing::warn!(
        delivery = id,
        channel = channel.as_str(),
        failures,
        retry = matches!(outcome, Outcome::Retry { .. }),
        "delivery failed"
    );
    clinic
        .store
        .finish_delivery(id, owner, &outcome, now)
        .await?;
    Ok(())
}

/// What a signed unsubscribe token is for.
const UNSUBSCRIBE: &str = "unsubscribe-email";

/// The key that signs the links that act without a login (unsubscribe
/// links, calendar feed URLs), shared by every instance (made by the first
/// that needs it).
pub(super) async fn link_key(clinic: &Clinic) -> Result<String> {
    let candidate = crate::auth::new_token();
    Ok(clinic
        .store
        .clinic_secret("link-signing", &candidate, clinic.now().as_second())
        .await?)
}

/// The token of a patient account's one-click unsubscribe link.
pub async fn unsubscribe_token(clinic: &Clinic, account: AccountId) -> Result<String> {
    let key = link_key(clinic).await?;
    Ok(crate::auth::signed_token(&key, UNSUBSCRIBE, account.get()))
}

/// Turns the clinic's email off for the patient the token names (the
/// email's one-click link: no login, the signature is the authority).
/// `NotFound` for a token that is not one of ours.
pub async fn unsubscribe(clinic: &Clinic, token: &str) -> Result<()> {
    let key = link_key(clinic).await?;
    let Some(account) = crate::auth::verify_signed_token(&key, UNSUBSCRIBE, token.trim()) else {
        return Err(super::Error::NotFound(super::Thing::Resource));
    };
    if !clinic
        .store
        .stop_patient_email(AccountId::new(account), clinic.now().as_second())
        .await?
    {
        return Err(super::Error::NotFound(super::Thing::Resource));
    }
    tracing::info!(account_id = account, "unsubscribed from email");
    Ok(())
}
