//! Calendar feeds (decision 0015): a private subscription URL per patient
//! (their visits) and per doctor (their schedule), and one visit as a
//! calendar entry ("Add to calendar").
//!
//! The URL's token is derived, never stored: `<account>.<generation>.<sig>`,
//! the signature an HMAC of the account and the generation with the clinic's
//! link key (the key of the emails' unsubscribe links). The account stores
//! only its generation; rotating increments it, so every URL made before
//! stops verifying at once. A token that does not verify, names an old
//! generation, or names an account that has no feed is `NotFound`, one
//! answer for all, so nobody learns whether an account exists.
//!
//! What a feed carries is decided here, not by the face: the visits with
//! their versions, and no reason or note text (cleared before it leaves).

use super::notifications::link_key;
use super::{Caller, Clinic, Error, Result, Thing, appointments};
use crate::domain::appointment::Appointment;
use crate::domain::caller::Role;
use crate::domain::ids::{AccountId, AppointmentId};
use crate::store::FeedOf;
use jiff::SignedDuration;

/// How far back a feed reaches, and how long a cancelled visit stays in it
/// (so subscribed calendars see the cancellation and remove the event).
pub const FEED_DAYS: i64 = 30;

/// Whose calendar: the words of each event depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// "Video visit with Dr. X".
    Patient,
    /// "Video visit: <patient>" (doctors, and admins downloading a visit).
    Doctor,
}

/// One visit as a calendar event.
#[derive(Debug, Clone)]
pub struct VisitEvent {
    /// The visit, with its reason and cancellation reason cleared.
    pub appointment: Appointment,
    /// 1 when booked, one more at each change (its notification events).
    pub version: i64,
}

impl VisitEvent {
    fn new(mut appointment: Appointment, version: i64) -> Self {
        appointment.reason = None;
        appointment.cancel_reason = None;
        Self {
            appointment,
            version,
        }
    }

    /// The event's `SEQUENCE`: the version − 1, as in the visit's emails.
    pub fn sequence(&self) -> u32 {
        u32::try_from(self.version.saturating_sub(1)).unwrap_or(0)
    }
}

/// A calendar's events and whose they are.
#[derive(Debug, Clone)]
pub struct CalendarEvents {
    pub audience: Audience,
    pub events: Vec<VisitEvent>,
}

/// What a signed feed token is for, at one generation.
fn purpose(generation: i64) -> String {
    format!("calendar:{generation}")
}

/// The feed's token for an account at a generation.
fn token(key: &str, account: AccountId, generation: i64) -> String {
    // `<account>.<sig>` with the generation in the signed purpose, then the
    // generation put between them so the token names it.
    let signed = crate::auth::signed_token(key, &purpose(generation), account.get());
    let sig = signed.split_once('.').map(|(_, s)| s).unwrap_or_default();
    format!("{}.{generation}.{sig}", account.get())
}

/// The account and generation a token names, if its signature is right.
fn verify(key: &str, token: &str) -> Option<(AccountId, i64)> {
    let mut parts = token.splitn(3, '.');
    let account = parts.next()?;
    let generation: i64 = parts.next()?.parse().ok()?;
    let sig = parts.next()?;
    // Exactly the text `token()` writes (no sign, no leading zeros).
    if generation < 0 || generation.to_string() != token.split('.').nth(1)? {
        return None;
    }
    let id =
        crate::auth::verify_signed_token(key, &purpose(generation), &format!("{account}.{sig}"))?;
    (id.to_string() == account).then_some((AccountId::new(id), generation))
}

/// The caller's own account, if they have a feed (patients and doctors).
fn feed_account(caller: &Caller) -> Result<AccountId> {
    match *caller {
        Caller::Patient { account, .. } | Caller::Doctor { account, .. } => Ok(account),
        Caller::Anonymous => Err(Error::Unauthenticated),
        Caller::Admin { .. } | Caller::System => Err(Error::Forbidden(
            "Only patients and doctors have a calendar feed.",
        )),
    }
}

/// The token of the caller's current feed URL (`/calendar/<token>.ics`).
pub async fn feed_url_token(clinic: &Clinic, caller: &Caller) -> Result<String> {
    let account = feed_account(caller)?;
    let owner = clinic
        .store
        .calendar_owner(account)
        .await?
        .ok_or(Error::NotFound(Thing::Resource))?;
    let key = link_key(clinic).await?;
    Ok(token(&key, account, owner.generation))
}

/// Replaces the caller's feed URL with a new one (the old one answers 404
/// from now on); the new token.
pub async fn rotate(clinic: &Clinic, caller: &Caller) -> Result<String> {
    let account = feed_account(caller)?;
    let generation = clinic
        .store
        .rotate_calendar(account, clinic.now().as_second())
        .await?;
    tracing::info!(account_id = account.get(), "calendar feed URL rotated");
    let key = link_key(clinic).await?;
    Ok(token(&key, account, generation))
}

/// The events of the feed a token opens: no login, the signature and the
/// current generation are the authority. `NotFound` for anything else.
pub async fn feed(clinic: &Clinic, token: &str) -> Result<CalendarEvents> {
    let not_found = Error::NotFound(Thing::Resource);
    let key = link_key(clinic).await?;
    let Some((account, generation)) = verify(&key, token.trim()) else {
        return Err(not_found);
    };
    let Some(owner) = clinic.store.calendar_owner(account).await? else {
        return Err(not_found);
    };
    if !owner.active || owner.generation != generation {
        return Err(not_found);
    }
    let (of, audience) = match (owner.role, owner.patient_id, owner.doctor_id) {
        (Role::Patient, Some(p), _) => (FeedOf::Patient(p), Audience::Patient),
        (Role::Doctor, _, Some(d)) => (FeedOf::Doctor(d), Audience::Doctor),
        _ => return Err(not_found),
    };
    let since = clinic
        .now()
        .checked_sub(SignedDuration::from_hours(FEED_DAYS * 24))
        .map_err(|e| Error::internal(&e))?;
    let events = clinic
        .store
        .feed_visits(of, since.as_second())
        .await?
        .into_iter()
        .map(|v| VisitEvent::new(v.appointment, v.version))
        .collect();
    Ok(CalendarEvents { audience, events })
}

/// One visit as a calendar entry, for whoever may read it (its patient, its
/// doctor, an admin; anyone else `NotFound`), audited as a read.
pub async fn visit_event(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
) -> Result<CalendarEvents> {
    let a = appointments::read(clinic, caller, id).await?;
    let version = clinic.store.event_count(id).await?;
    let audience = if matches!(caller, Caller::Patient { .. }) {
        Audience::Patient
    } else {
        Audience::Doctor
    };
    Ok(CalendarEvents {
        audience,
        events: vec![VisitEvent::new(a, version)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_account_and_generation_and_cannot_be_altered() {
        let key = "clinic link key";
        let t = token(key, AccountId::new(12), 3);
        assert!(t.starts_with("12.3."), "{t}");
        assert_eq!(verify(key, &t), Some((AccountId::new(12), 3)));
        // Another account, another generation, another key: nothing.
        let other_account = t.replacen("12.", "13.", 1);
        let other_generation = t.replacen(".3.", ".4.", 1);
        assert_eq!(verify(key, &other_account), None);
        assert_eq!(verify(key, &other_generation), None);
        assert_eq!(verify("another key", &t), None);
        // The same numbers written otherwise are not the token.
        for alias in [t.replacen("12.", "012.", 1), t.replacen(".3.", ".03.", 1)] {
            assert_eq!(verify(key, &alias), None, "{alias}");
        }
        for junk in [
            "",
            "12",
            "12.3",
            "12.3.",
            "x.3.abc",
            "12.x.abc",
            "..",
            "12.-1.abc",
        ] {
            assert_eq!(verify(key, junk), None, "{junk}");
        }
        // An unsubscribe token of the same account is no feed token.
        let unsubscribe = crate::auth::signed_token(key, "unsubscribe-email", 12);
        assert_eq!(verify(key, &unsubscribe), None);
    }
}
