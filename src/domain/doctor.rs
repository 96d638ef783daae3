//! A doctor's record and their time off, as the clinic knows them.

use super::ids::{AccountId, DoctorId, TimeOffId};
use jiff::Timestamp;

/// A doctor with their login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doctor {
    pub id: DoctorId,
    pub account_id: AccountId,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub specialty: String,
    pub experience_years: i32,
    /// IANA time zone name (checked when written).
    pub timezone: String,
    pub visit_minutes: i32,
    pub buffer_minutes: i32,
    pub fee_cents: i64,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Doctor {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// One stretch of a doctor's time off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOff {
    pub id: TimeOffId,
    pub doctor_id: DoctorId,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    pub reason: Option<String>,
}
