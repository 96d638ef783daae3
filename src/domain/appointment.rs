//! The appointment lifecycle and the booking policy.
//!
//! ```text
//! booked ──start──> in_progress ──complete──> completed
//!   │                   │
//!   ├──complete─────────┼──────────────────> completed
//!   ├──no_show──> no_show
//!   └──cancel───> cancelled
//! ```
//! `completed`, `no_show` and `cancelled` are final. Only `booked` and
//! `in_progress` hold the doctor's time.

use super::caller::Caller;
use super::ids::{AppointmentId, DoctorId, PatientId, SlotId};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Booked,
    InProgress,
    Completed,
    NoShow,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Booked,
        Status::InProgress,
        Status::Completed,
        Status::NoShow,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Booked => "booked",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::NoShow => "no_show",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether an appointment in this status holds its slot.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Booked | Status::InProgress)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Complete,
    NoShow,
    Cancel,
    Reschedule,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("an appointment that is {from} cannot be {action}")]
    IllegalTransition { from: Status, action: &'static str },
    #[error("only the doctor or an admin can do that")]
    NotAllowedForRole,
    #[error("it is too late to {action}: the clinic allows it up to {hours} h before the start")]
    WindowClosed { action: &'static str, hours: i64 },
    #[error("the visit has not started yet")]
    TooEarly,
    #[error("the new time is inside the clinic's cancellation window ({hours} h before the start)")]
    NewTimeInWindow { hours: i64 },
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Complete => "completed",
            Action::NoShow => "marked as a no-show",
            Action::Cancel => "cancelled",
            Action::Reschedule => "rescheduled",
        }
    }
}

/// Whether a visit's fee has been settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Unpaid,
    Paid,
    Refunded,
    Waived,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 4] = [
        PaymentStatus::Unpaid,
        PaymentStatus::Paid,
        PaymentStatus::Refunded,
        PaymentStatus::Waived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Waived => "waived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Settings of the clinic that shape what patients may do.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A patient may cancel or reschedule only this long before the start.
    pub cancel_window: SignedDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            cancel_window: SignedDuration::from_hours(24),
        }
    }
}

impl Policy {
    /// Decides whether `caller` may apply `action` to an appointment in `status`
    /// starting at `start`, at instant `now`; returns the new status. Whether
    /// the appointment is the caller's to act on at all is decided before
    /// ([`Caller::may_see_appointment`]); this is what each kind of caller may
    /// do to one they can see: staff (doctors, admins, the system) run visits,
    /// patients only cancel or move their own, and only before the window.
    pub fn apply(
        &self,
        caller: &Caller,
        action: Action,
        status: Status,
        start: Timestamp,
        now: Timestamp,
    ) -> Result<Status, PolicyError> {
        let illegal = || PolicyError::IllegalTransition {
            from: status,
            action: action.verb(),
        };
        let staff = caller.is_staff();
        match action {
            Action::Cancel | Action::Reschedule => {
                let allowed_from = match action {
                    Action::Cancel => status.is_active(),
                    _ => status == Status::Booked,
                };
                if !allowed_from {
                    return Err(illegal());
                }
                if !staff {
                    if status != Status::Booked {
                        return Err(illegal());
                    }
                    if now + self.cancel_window > start {
                        return Err(PolicyError::WindowClosed {
                            action: if action == Action::Cancel {
                                "cancel"
                            } else {
                                "reschedule"
                            },
                            hours: self.cancel_window.as_hours(),
                        });
                    }
                }
                Ok(if action == Action::Cancel {
                    Status::Cancelled
                } else {
                    Status::Booked
                })
            }
            Action::Start | Action::Complete | Action::NoShow => {
                if !staff {
                    return Err(PolicyError::NotAllowedForRole);
                }
                let next = match (action, status) {
                    (Action::Start, Status::Booked) => Status::InProgress,
                    (Action::Complete, Status::Booked | Status::InProgress) => Status::Completed,
                    // The doctor's presence in the video room starts the visit
                    // (decision 0011); a patient who never came is still a no-show.
                    (Action::NoShow, Status::Booked | Status::InProgress) => Status::NoShow,
                    _ => return Err(illegal()),
                };
                // A visit cannot be held, finished or missed before it begins.
                if now < start {
                    return Err(PolicyError::TooEarly);
                }
                Ok(next)
            }
        }
    }

    /// Whether `caller` may move a visit to a new time starting at
    /// `new_start`: a patient may not move one into the cancellation window
    /// either (they could not cancel it there), staff may.
    pub fn check_new_time(
        &self,
        caller: &Caller,
        new_start: Timestamp,
        now: Timestamp,
    ) -> Result<(), PolicyError> {
        if !caller.is_staff() && now + self.cancel_window > new_start {
            return Err(PolicyError::NewTimeInWindow {
                hours: self.cancel_window.as_hours(),
            });
        }
        Ok(())
    }
}

/// An appointment with the names people see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub doctor_id: DoctorId,
    pub patient_id: PatientId,
    pub slot_id: SlotId,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    /// The visit's date in the doctor's time zone (one visit a day per doctor).
    pub local_date: Date,
    pub status: Status,
    pub reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub payment_status: PaymentStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
}

impl Appointment {
    pub fn doctor_name(&self) -> String {
        format!("{} {}", self.doctor_first_name, self.doctor_last_name)
    }

    pub fn patient_name(&self) -> String {
        format!("{} {}", self.patient_first_name, self.patient_last_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AccountId, DoctorId, PatientId};

    const PATIENT: Caller = Caller::Patient {
        account: AccountId::new(1),
        patient: PatientId::new(1),
    };
    const DOCTOR: Caller = Caller::Doctor {
        account: AccountId::new(2),
        doctor: DoctorId::new(1),
    };
    const ADMIN: Caller = Caller::Admin {
        account: AccountId::new(3),
    };
    use proptest::prelude::*;

    fn t(h: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + h * 3600).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_patient_can_cancel_before_the_window_but_not_inside_it() {
        let p = Policy::default();
        let start = t(48);
        assert_eq!(
            p.apply(&PATIENT, Action::Cancel, Status::Booked, start, t(0)),
            Ok(Status::Cancelled)
        );
        assert_eq!(
            p.apply(&PATIENT, Action::Cancel, Status::Booked, start, t(24)),
            Ok(Status::Cancelled),
            "exactly 24 h before is still allowed"
        );
        assert!(matches!(
            p.apply(&PATIENT, Action::Cancel, Status::Booked, start, t(25)),
            Err(PolicyError::WindowClosed { hours: 24, .. })
        ));
    }

    #[test]
    fn doctors_and_admins_can_cancel_any_time() {
        let p = Policy::default();
        for actor in [&DOCTOR, &ADMIN, &Caller::System] {
            assert_eq!(
                p.apply(actor, Action::Cancel, Status::Booked, t(1), t(0)),
                Ok(Status::Cancelled)
            );
        }
    }

    #[test]
    fn patients_cannot_complete_or_mark_no_show() {
        let p = Policy::default();
        for action in [Action::Start, Action::Complete, Action::NoShow] {
            assert_eq!(
                p.apply(&PATIENT, action, Status::Booked, t(0), t(1)),
                Err(PolicyError::NotAllowedForRole)
            );
        }
    }

    #[test]
    fn a_visit_cannot_be_completed_before_it_starts() {
        let p = Policy::default();
        assert_eq!(
            p.apply(&DOCTOR, Action::Complete, Status::Booked, t(2), t(1)),
            Err(PolicyError::TooEarly)
        );
        assert_eq!(
            p.apply(&DOCTOR, Action::Complete, Status::Booked, t(1), t(1)),
            Ok(Status::Completed)
        );
    }

    #[test]
    fn the_visit_flow_goes_through_in_progress() {
        let p = Policy::default();
        let s = p.apply(&DOCTOR, Action::Start, Status::Booked, t(0), t(0));
        assert_eq!(s, Ok(Status::InProgress));
        assert_eq!(
            p.apply(&DOCTOR, Action::Complete, Status::InProgress, t(0), t(0)),
            Ok(Status::Completed)
        );
        // The doctor waited in the room (which started the visit) and the
        // patient never came.
        assert_eq!(
            p.apply(&DOCTOR, Action::NoShow, Status::InProgress, t(0), t(0)),
            Ok(Status::NoShow)
        );
    }

    fn any_status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }
    fn any_actor() -> impl Strategy<Value = Caller> {
        prop::sample::select(vec![PATIENT, DOCTOR, ADMIN, Caller::System])
    }
    fn any_action() -> impl Strategy<Value = Action> {
        prop::sample::select(vec![
            Action::Start,
            Action::Complete,
            Action::NoShow,
            Action::Cancel,
            Action::Reschedule,
        ])
    }

    proptest! {
        #[test]
        fn final_states_never_change(
            status in any_status(), actor in any_actor(), action in any_action(),
            start_h in -100i64..100, now_h in -100i64..100,
        ) {
            let r = Policy::default().apply(&actor, action, status, t(start_h), t(now_h));
            if !status.is_active() {
                prop_assert!(r.is_err());
            }
            if let Ok(next) = r {
                // Every accepted move goes forward or keeps a booking booked.
                prop_assert!(status.is_active());
                if action == Action::Reschedule {
                    prop_assert_eq!(next, Status::Booked);
                }
                if actor == PATIENT {
                    prop_assert!(matches!(next, Status::Cancelled | Status::Booked));
                    prop_assert!(t(now_h) + SignedDuration::from_hours(24) <= t(start_h));
                }
            }
        }
    }

    #[test]
    fn a_patient_cannot_move_a_visit_into_the_window_but_staff_can() {
        let p = Policy::default();
        assert!(matches!(
            p.check_new_time(&PATIENT, t(23), t(0)),
            Err(PolicyError::NewTimeInWindow { hours: 24 })
        ));
        assert_eq!(p.check_new_time(&PATIENT, t(24), t(0)), Ok(()));
        assert_eq!(p.check_new_time(&DOCTOR, t(1), t(0)), Ok(()));
        assert_eq!(p.check_new_time(&ADMIN, t(1), t(0)), Ok(()));
    }

    #[test]
    fn payment_statuses_round_trip_and_unknown_ones_are_refused() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PaymentStatus::parse("free"), None);
    }
}
