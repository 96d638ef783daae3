//! The one error of the clinic's operations.
//!
//! Policy:
//! - It says *what* went wrong in the clinic's terms, never how a face shows
//!   it: each face (the JSON API, the pages, later FHIR and the worker) maps it
//!   exactly once, to a problem document, a page message or an OperationOutcome.
//!   No face matches on strings.
//! - A record the caller may not see is [`Error::NotFound`], exactly like one
//!   that does not exist, so ids cannot be probed. [`Error::Forbidden`] only for
//!   a record the caller can see but may not change in that way.
//! - Bad input is [`Error::Invalid`] with every field and what is wrong with
//!   it, found before anything is written.
//! - A clash with the data or with the visit's state is [`Error::Conflict`]; a
//!   request that is well formed but that the clinic cannot take is
//!   [`Error::Refused`]. Each kind names its rule.
//! - Anything unexpected (the database failing, impossible stored data) is
//!   logged with its cause where it happens and becomes [`Error::Internal`],
//!   which carries nothing of the cause: internal errors can hold patient data.

use crate::domain::appointment::PolicyError;
use crate::domain::person::FieldError;
use crate::store::{Conflict as StoreConflict, StoreError};

/// What kind of record was not found (or is not the caller's to see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thing {
    Doctor,
    Patient,
    Appointment,
    TimeOff,
    Record,
    Webhook,
    /// An address or list that is not there for this caller.
    Resource,
}

impl Thing {
    pub fn name(self) -> &'static str {
        match self {
            Thing::Doctor => "doctor",
            Thing::Patient => "patient",
            Thing::Appointment => "appointment",
            Thing::TimeOff => "time off",
            Thing::Record => "record",
            Thing::Webhook => "webhook endpoint",
            Thing::Resource => "such resource",
        }
    }
}

/// A future booked visit that a schedule change would affect (decision 0022).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedVisit {
    pub id: crate::domain::ids::AppointmentId,
    pub start: jiff::Timestamp,
    pub end: jiff::Timestamp,
    /// The patient's "first last" (the doctor and admins see their visits).
    pub patient_name: String,
}

/// A clash with the stored data or with the visit's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The time overlaps another active visit of the doctor.
    SlotTaken,
    /// The patient already has an active visit with this doctor that day.
    OneVisitPerDay,
    /// The phone or email is already someone's login.
    AlreadyRegistered,
    /// The appointment changed under us (another request moved it first).
    StateChanged,
    /// A patient is too close to the start to cancel or move the visit, or
    /// to move it to that new time.
    CancellationWindowPassed(String),
    /// The visit's status does not allow that.
    InvalidTransition(String),
    /// The visit has not started yet.
    VisitNotStarted(String),
    /// The visit's video room is not open yet; it opens at this instant.
    VisitNotOpen(jiff::Timestamp),
    /// The visit's video room has closed (or the visit is over or cancelled).
    VisitClosed,
    /// The account's second factor is not in the state this needs (on
    /// already, not started, not on); says which.
    SecondFactorState(&'static str),
    /// A schedule change would affect these future booked visits, and the
    /// request did not say whether to keep or cancel them; nothing changed.
    VisitsAffected(Vec<AffectedVisit>),
}

/// A well-formed request the clinic cannot take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The time is not one of the doctor's bookable slots.
    NotAFreeSlot,
    /// The doctor no longer takes bookings.
    DoctorInactive,
    /// The Idempotency-Key was used before for a different booking.
    IdempotencyKeyReused,
    /// The patient already holds as many slots as one may at once.
    TooManyHolds,
    /// An admin may not turn off their own account.
    OwnAccount,
    /// Turning this admin off would leave the clinic with no active admin.
    LastActiveAdmin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The operation needs a logged-in caller.
    #[error("not logged in")]
    Unauthenticated,
    /// Wrong login or password (never says which).
    #[error("wrong login or password")]
    BadCredentials,
    /// Too many failed logins; try again after this many seconds.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: i64 },
    /// The password was right; the account's second factor must follow.
    #[error("second factor required")]
    SecondFactorRequired,
    /// The second factor's code is wrong, used before, or a recovery code
    /// that is not (or no longer) the account's.
    #[error("wrong second factor")]
    BadSecondFactor,
    /// The clinic requires staff to turn on a second factor first.
    #[error("second factor setup required")]
    SecondFactorSetupRequired,
    /// Too many chat messages in a short time.
    #[error("too many messages")]
    TooManyMessages { retry_after_secs: i64 },
    /// An abuse limit (sign-ups, bookings, messages) is reached for now.
    #[error("rate limited")]
    RateLimited {
        action: crate::domain::limits::Action,
        retry_after_secs: i64,
    },
    #[error("no such {}", .0.name())]
    NotFound(Thing),
    /// The caller can see the record but may not do this to it.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// The database has no connection free for a while: try again shortly.
    #[error("busy")]
    Busy,
    /// Something unexpected, already logged where it happened.
    #[error("internal error")]
    Internal,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// One invalid field.
    pub fn invalid(field: &str, message: &str) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }

    /// Logs `cause` and returns [`Error::Internal`], which reveals nothing of it.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Error::Internal
    }

    /// A short title for people ("That slot was just taken"), the same in
    /// every face.
    pub fn title(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "You need to log in",
            Error::BadCredentials => "Wrong login or password",
            Error::TooManyAttempts { .. } => "Too many failed logins",
            Error::SecondFactorRequired => "Enter the code from your authenticator app",
            Error::BadSecondFactor => "Wrong code",
            Error::SecondFactorSetupRequired => "Turn on two-step login first",
            Error::TooManyMessages { .. } => "Too many messages",
            Error::RateLimited { .. } => "Too many requests",
            Error::NotFound(_) => "Not found",
            Error::Forbidden(_) => "Not allowed",
            Error::Invalid(_) => "Some fields are invalid",
            Error::Conflict(c) => match c {
                Conflict::SlotTaken => "That slot was just taken",
                Conflict::OneVisitPerDay => "You already have a visit that day",
                Conflict::AlreadyRegistered => "Already registered",
                Conflict::StateChanged => "The appointment changed",
                Conflict::CancellationWindowPassed(_) => "Too late to change",
                Conflict::InvalidTransition(_) => "Not possible in this status",
                Conflict::VisitNotStarted(_) => "Too early",
                Conflict::VisitNotOpen(_) => "The visit's room is not open yet",
                Conflict::VisitClosed => "The visit's room has closed",
                Conflict::SecondFactorState(_) => "Two-step login is not in that state",
                Conflict::VisitsAffected(_) => "Booked visits are affected",
            },
            Error::Refused(r) => match r {
                Refusal::NotAFreeSlot => "Not one of the doctor's slots",
                Refusal::DoctorInactive => "Doctor unavailable",
                Refusal::IdempotencyKeyReused => "Idempotency-Key reused",
                Refusal::TooManyHolds => "Too many holds",
                Refusal::OwnAccount => "Not your own account",
                Refusal::LastActiveAdmin => "The last active admin",
            },
            Error::Busy => "The clinic is very busy",
            Error::Internal => "Something went wrong",
        }
    }

    /// What happened and what to do, in a sentence or two for people.
    pub fn detail(&self) -> String {
        match self {
            Error::Unauthenticated => "Log in and send the session token or cookie.".into(),
            Error::BadCredentials => "The login or the password is wrong.".into(),
            Error::TooManyAttempts { retry_after_secs } => format!(
                "Too many failed logins. Try again in {} minutes.",
                (retry_after_secs + 59) / 60
            ),
            Error::SecondFactorRequired => "This account logs in with a second step: send the \
                current 6-digit code of its authenticator app (or a recovery code) as totp_code."
                .into(),
            Error::BadSecondFactor => "That code is wrong or was already used. Enter the \
                current code from your authenticator app, or an unused recovery code."
                .into(),
            Error::SecondFactorSetupRequired => "The clinic requires doctors and admins to log \
                in with a second step. Turn it on (POST /api/v1/me/totp, or the Account page) \
                before anything else."
                .into(),
            Error::TooManyMessages { retry_after_secs } => format!(
                "You sent many messages in a short time. Wait {retry_after_secs} seconds and send again."
            ),
            Error::RateLimited {
                action,
                retry_after_secs,
            } => format!(
                "There were many {} from here in a short time. Try again in {}.",
                action.noun(),
                wait_words(*retry_after_secs)
            ),
            Error::NotFound(thing) => format!("There is no {} here.", thing.name()),
            Error::Forbidden(why) => (*why).to_owned(),
            Error::Invalid(fields) => fields
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Error::Conflict(c) => match c {
                Conflict::SlotTaken => {
                    "Someone else booked this time a moment ago. Please pick another slot.".into()
                }
                Conflict::OneVisitPerDay => {
                    "You already have an active appointment with this doctor on that day.".into()
                }
                Conflict::AlreadyRegistered => {
                    "An account with this phone or email already exists.".into()
                }
                Conflict::StateChanged => "The appointment was changed by someone else just now. \
                    Reload and try again."
                    .into(),
                Conflict::CancellationWindowPassed(why)
                | Conflict::InvalidTransition(why)
                | Conflict::VisitNotStarted(why) => why.clone(),
                Conflict::VisitNotOpen(at) => {
                    format!("The visit's room opens at {at}.")
                }
                Conflict::VisitClosed => {
                    "The visit is over, cancelled, or its room closed after its end.".into()
                }
                Conflict::SecondFactorState(why) => (*why).to_owned(),
                Conflict::VisitsAffected(visits) => format!(
                    "This change affects {} booked visit{}. Nothing was changed: choose to \
                     keep them as booked or to cancel them with a reason.",
                    visits.len(),
                    if visits.len() == 1 { "" } else { "s" }
                ),
            },
            Error::Refused(r) => match r {
                Refusal::NotAFreeSlot => "That time is not one of the doctor's bookable slots. \
                    List the free slots and pick one."
                    .into(),
                Refusal::DoctorInactive => "The doctor no longer takes bookings.".into(),
                Refusal::IdempotencyKeyReused => {
                    "This Idempotency-Key was already used for a different booking.".into()
                }
                Refusal::TooManyHolds => "You already hold three slots: book or let one \
                    of them run out first."
                    .into(),
                Refusal::OwnAccount => {
                    "You cannot deactivate your own account: ask another admin.".into()
                }
                Refusal::LastActiveAdmin => "This is the clinic's last active admin: \
                    add or reactivate another admin first."
                    .into(),
            },
            Error::Busy => "Too many requests at once. Please try again in a moment.".into(),
            Error::Internal => "Something went wrong on our side. Please try again.".into(),
        }
    }

    /// The invalid fields, if this is [`Error::Invalid`].
    pub fn fields(&self) -> &[FieldError] {
        match self {
            Error::Invalid(fields) => fields,
            _ => &[],
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(StoreConflict::SlotTaken) => Error::Conflict(Conflict::SlotTaken),
            StoreError::Conflict(StoreConflict::OneVisitPerDay) => {
                Error::Conflict(Conflict::OneVisitPerDay)
            }
            StoreError::Conflict(StoreConflict::LoginTaken) => {
                Error::Conflict(Conflict::AlreadyRegistered)
            }
            StoreError::Conflict(StoreConflict::Stale) => Error::Conflict(Conflict::StateChanged),
            StoreError::NotFound => Error::NotFound(Thing::Record),
            StoreError::Busy => {
                tracing::warn!("database pool exhausted");
                Error::Busy
            }
            other => Error::internal(&other),
        }
    }
}

impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        let text = e.to_string();
        match e {
            PolicyError::WindowClosed { .. } | PolicyError::NewTimeInWindow { .. } => {
                Error::Conflict(Conflict::CancellationWindowPassed(text))
            }
            PolicyError::IllegalTransition { .. } => {
                Error::Conflict(Conflict::InvalidTransition(text))
            }
            PolicyError::TooEarly => Error::Conflict(Conflict::VisitNotStarted(text)),
            PolicyError::NotAllowedForRole => {
                Error::Forbidden("only the doctor or an admin can do that")
            }
        }
    }
}

/// A wait in words: "40 seconds", "1 minute", "12 minutes".
fn wait_words(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{} seconds", s.max(1)),
        s if s < 120 => "1 minute".to_owned(),
        s => format!("{} minutes", (s + 59) / 60),
    }
}
