//! Notifications (decision 0013): who hears of a change, on which channel,
//! and when; whether a due message still goes out; and what a failure
//! means. The worker face ([`crate::notify`]) renders and sends; this
//! decides, with the domain's rules ([`crate::domain::notify`]).

use super::{Clinic, Result};
use crate::domain::appointment::Appointment;
use crate::domain::caller::Role;
use crate::domain::ids::AccountId;
use crate::domain::notify::{self, Backoff, ReminderFate};
use crate::store::{DeliveryRow, NewDelivery, Outcome, Recipients};
use jiff::Timestamp;

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
fn deliveries_of(
    event_id: i64,
    event: &str,
    appointment: &crate::domain::ids::AppointmentId,
    visit_start: i64,
    r: &Recipients,
    reminder_hours: &[i64],
    now: Timestamp,
) -> Vec<NewDelivery> {
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
        for (lead, due) in notify::reminders(start, reminder_hours, now) {
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
                    // reminder per time the visit is booked for.
                    message_id: format!(
                        "r{}.{visit_start}.{lead}.{}@medimeet",
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
    out
}

/// Expands the events written since the last call into their deliveries.
/// Safe to run from several workers at once: message ids are unique.
pub async fn expand(clinic: &Clinic) -> Result<usize> {
    let events = clinic.store.unexpanded_events(100).await?;
    let now = clinic.now();
    let n = events.len();
    for e in events {
        let deliveries = match clinic.store.recipients(e.appointment_id).await? {
            Some(r) => deliveries_of(
                e.id,
                &e.event,
                &e.appointment_id,
                e.visit_start,
                &r,
                &clinic.settings().reminder_hours,
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

/// Claims the due deliveries for the worker `owner` and decides each: what
/// is no longer wanted is dropped (recorded), what has no configured
/// channel is kept as `not_configured`, the rest is handed back to send.
pub async fn due(
    clinic: &Clinic,
    owner: &str,
    configured: &[Channel],
    limit: i64,
) -> Result<Vec<Outgoing>> {
    let now = clinic.now();
    let lease_until = now.as_second() + 120;
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
) -> Result<std::result::Result<Outgoing, Outcome>> {
    let Some(channel) = Channel::parse(&row.channel) else {
        return Ok(Err(Outcome::Dead {
            error: format!("unknown channel {}", row.channel),
        }));
    };
    let Some(appointment_id) = row.appointment_id else {
        return Ok(Err(dropped("no visit")));
    };
    let appointment = clinic.store.get_appointment(appointment_id).await?;
    let (what, detail, sequence, created) = if row.kind == "reminder" {
        let scheduled = row
            .visit_start
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or(now);
        let visit = appointment.as_ref().map(|a| (a.status, a.start_at));
        if let ReminderFate::Drop(why) = notify::reminder_fate(scheduled, visit, now) {
            return Ok(Err(dropped(why)));
        }
        ("reminder".to_owned(), None, 0, now)
    } else {
        match row.event_id {
            Some(id) => match clinic.store.event(id).await? {
                Some(e) => {
                    let seq = clinic.store.event_sequence(e.appointment_id, e.id).await?;
                    let at = Timestamp::from_second(e.created_at).unwrap_or(now);
                    (e.event, e.detail, seq, at)
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
    Ok(Ok(Outgoing {
        unsubscribe,
        id: row.id,
        message_id: row.message_id.clone(),
        channel,
        what,
        detail,
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
    }))
}

/// The message went out.
pub async fn sent(clinic: &Clinic, owner: &str, o: &Outgoing) -> Result<()> {
    let now = clinic.now().as_second();
    clinic
        .store
        .finish_delivery(o.id, owner, &Outcome::Sent, now)
        .await?;
    Ok(())
}

/// The message did not go out: tried again later with backoff, or dead when
/// the receiver refused it for good or it failed too often. `jitter` in
/// `[0, 1)`.
pub async fn failed(
    clinic: &Clinic,
    owner: &str,
    o: &Outgoing,
    error: &str,
    permanent: bool,
    jitter: f64,
) -> Result<()> {
    let now = clinic.now().as_second();
    let failures = u32::try_from(o.attempts + 1).unwrap_or(u32::MAX);
    let outcome = match Backoff::default().after(failures, jitter) {
        Some(wait) if !permanent => Outcome::Retry {
            due_at: now + wait.as_secs(),
            error: error.to_owned(),
        },
        _ => Outcome::Dead {
            error: error.to_owned(),
        },
    };
    tracing::warn!(
        delivery = o.id,
        channel = o.channel.as_str(),
        error,
        "delivery failed"
    );
    clinic
        .store
        .finish_delivery(o.id, owner, &outcome, now)
        .await?;
    Ok(())
}

/// What a signed unsubscribe token is for.
const UNSUBSCRIBE: &str = "unsubscribe-email";

/// The key that signs unsubscribe links, shared by every instance (made by
/// the first that needs it).
async fn link_key(clinic: &Clinic) -> Result<String> {
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
