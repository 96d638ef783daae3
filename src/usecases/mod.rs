//! The clinic's operations: every face calls these, and only these.
//!
//! One rule of the house: **faces parse and render, the use cases decide with
//! the domain, the store persists.** A face (the JSON API, the web pages, and
//! later the FHIR API, the visit's WebSocket and the notification worker) turns
//! its input into the typed values taken here (ids, instants, plain text as a
//! person typed it), calls one operation with the [`Caller`], and renders the
//! answer or the one [`Error`]. Here each operation:
//!
//! 1. authorizes the caller with the rules of [`crate::domain::caller`];
//! 2. validates its input with the domain's parsers, reporting every bad field;
//! 3. decides with the domain (slot generation, the visit lifecycle);
//! 4. asks the [`Store`] to persist, inside one doctor's data.
//!
//! Nothing here knows HTTP, serde wire shapes or SQL.
//!
//! - [`appointments`]: book, list, read, cancel, reschedule, start/complete/no-show.
//! - [`calendar`]: the calendar feeds' URLs and events, and one visit's entry.
//! - [`doctors`]: the directory, onboarding and editing doctors.
//! - [`schedule`]: working hours, time off and free slots.
//! - [`patients`]: registration and profiles.
//! - [`patient_data`]: a patient's download of their data, and closing their account.
//! - [`sessions`]: logging in (throttled) and out, and who the caller is.
//! - [`security`]: the security log (authentication events, refused access).
//! - [`totp`]: the second factor of doctors and admins (decision 0019).
//! - [`codes`]: one-time codes: a forgotten password, a new phone number.
//! - [`clinic`]: the admin's figures and the audit log.
//! - [`admin`]: payments, admin accounts, removing the demo clinic.
//! - [`visits`]: the video visit's room, signaling, chat and note.
//! - [`notifications`]: who hears of a change, when, and what a failure means.
//! - [`webhooks`]: the clinic's webhook endpoints and the delivery queue (admins).
//! - [`operations`]: the figures `GET /metrics` shows (queue, database pools).

pub mod admin;
pub mod appointments;
pub mod calendar;
pub mod clinic;
pub mod codes;
pub mod doctors;
pub mod error;
pub mod forms;
pub mod limits;
pub mod notifications;
pub mod operations;
pub mod patient_data;
pub mod patients;
pub mod schedule;
pub mod security;
pub mod sessions;
pub mod signup;
pub mod totp;
pub mod visits;
pub mod webhooks;

pub use crate::domain::caller::Caller;
pub use error::{AffectedVisit, Conflict, Error, Refusal, Result, Thing};

use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::{Metrics, MetricsError};
use crate::store::{Hub, Store};
use jiff::Timestamp;
use std::sync::Arc;

/// Everything the operations need: the store, the clock and the clinic's
/// settings. Cheap to clone.
#[derive(Clone)]
pub struct Clinic {
    store: Store,
    clock: Clock,
    settings: Arc<Settings>,
    /// This instance's delivery of the video visits' relayed signals.
    hub: Hub,
    /// This instance's counters (bookings, logins, requests) for `/metrics`.
    metrics: Metrics,
    /// This instance's abuse limits' counts.
    limiter: Arc<limits::Limiter>,
    /// The key of the anonymous forms' CSRF tokens, once read ([`forms`]).
    form_key: Arc<tokio::sync::OnceCell<String>>,
}

impl Clinic {
    /// Fails only if the metrics registry cannot be built (a bug).
    pub fn new(
        store: Store,
        clock: Clock,
        settings: Arc<Settings>,
    ) -> std::result::Result<Self, MetricsError> {
        Ok(Self {
            store,
            clock,
            settings,
            hub: Hub::new(),
            metrics: Metrics::new()?,
            limiter: Arc::default(),
            form_key: Arc::default(),
        })
    }

    /// This instance's counters, for the faces that count requests.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn limiter(&self) -> &limits::Limiter {
        &self.limiter
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves the clock of every operation by `secs` (back if negative): the
    /// test clock of the browser tests, absent from production builds.
    #[cfg(feature = "test-clock")]
    pub fn advance_clock(&self, secs: i64) {
        self.clock.advance(secs);
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The database behind the clinic, for start-up and shutdown (closing
    /// the pools); operations never hand it to a face.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Stops this instance's background work (the signal listener) and
    /// closes the database (on shutdown, after the last request).
    pub async fn close(&self) {
        self.hub.close();
        self.store.close().await;
    }

    /// Whether the database answers (readiness checks).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "database not reachable");
            Error::Busy
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }
}

/// A stored instant (Unix seconds); one out of range is impossible data.
pub(crate) fn stored_instant(secs: i64) -> Result<Timestamp> {
    Timestamp::from_second(secs).map_err(|e| Error::internal(&e))
}

/// How many items a list returns at most, 1 to 200 (default 50).
pub fn page_limit(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("limit", "must be between 1 and 200")),
    }
}

/// The first `limit` of `items` (fetched as `limit + 1`), and whether there
/// were more.
fn first_page<T>(mut items: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    (items, more)
}

/// The stored hash of a validated password (Argon2id, off the async runtime).
pub(crate) async fn password_hash(password: &crate::domain::person::Password) -> Result<String> {
    crate::auth::hash_password_async(password.expose().to_owned())
        .await
        .map_err(|e| Error::internal(&e))
}

/// Optional free text (a visit's reason, a cancellation reason, a time-off
/// note): trimmed, empty means none, at most 500 characters.
pub fn note(field: &str, text: Option<&str>) -> Result<Option<String>> {
    let text = text
        .map(crate::domain::text::free_text)
        .transpose()
        .map_err(|why| Error::invalid(field, why))?;
    let text = text.filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
        return Err(Error::invalid(field, "must be at most 500 characters"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
