//! What the clinic holds about one patient, beyond their profile and
//! visits: the records of their export (decision 0020). Plain data.

use super::caller::Role;
use super::ids::{AccountId, AppointmentId};
use jiff::Timestamp;

/// Who did something to the patient's records, as the export names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub account_id: Option<AccountId>,
    /// `None` for the system (the worker) or a deleted account.
    pub role: Option<Role>,
    /// The doctor's name, for a doctor; staff and the system stay unnamed.
    pub doctor_name: Option<String>,
}

/// One change of one of the patient's visits (its notification event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitChange {
    pub appointment_id: AppointmentId,
    /// `booked`, `rescheduled`, `cancelled`, `status_changed`, `note_ready`.
    pub event: String,
    pub actor: Actor,
    /// The event's detail as stored (JSON: a reason, a status).
    pub detail: Option<String>,
    /// The visit's start as of this change.
    pub visit_start: Timestamp,
    pub at: Timestamp,
}

/// One message of one of the patient's visits' chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitChat {
    pub id: i64,
    pub appointment_id: AppointmentId,
    pub author_role: Role,
    pub body: String,
    pub at: Timestamp,
}

/// One message the clinic sent (or meant to send) to the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentToPatient {
    pub id: i64,
    pub appointment_id: Option<AppointmentId>,
    pub channel: String,
    pub kind: String,
    pub state: String,
    pub due_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One read of the patient's records, from the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRead {
    pub at: Timestamp,
    pub reader: Actor,
    /// `read`, `read note`, `read chat`, `read history`.
    pub action: String,
    /// `patient` (the profile), `appointment` or `visit`.
    pub entity: String,
    pub entity_id: i64,
}
