//! Flash messages: what just happened, shown once on the page after a redirect
//! ([`super::redirect::see_other`] sets it, [`super::viewer::Viewer`] reads it,
//! the page layer clears it once shown).

/// What just happened, shown once on the next page. Only these codes travel in
/// the cookie, so nobody can make the page say something of their choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    Welcome,
    LoggedIn,
    LoggedOut,
    Booked,
    Rescheduled,
    Cancelled,
    Started,
    Completed,
    NoShow,
    HoursSaved,
    TimeOffAdded,
    TimeOffRemoved,
    DoctorAdded,
    DoctorSaved,
    DoctorDeactivated,
    DoctorActivated,
    NotifySaved,
    WebhookTestQueued,
    WebhookOn,
    WebhookOff,
    WebhookDeleted,
    CalendarRotated,
    PasswordChanged,
    SessionEnded,
    OtherSessionsEnded,
    TotpOff,
    AccountClosed,
    PasswordReset,
    ProfileSaved,
    PhoneCodeSent,
    PhoneChanged,
    OverrideSaved,
    OverrideRemoved,
    PaymentRecorded,
    AdminAdded,
    AdminActivated,
    AdminDeactivated,
    DemoRemoved,
}

impl Flash {
    const ALL: [Flash; 38] = [
        Flash::Welcome,
        Flash::LoggedIn,
        Flash::LoggedOut,
        Flash::Booked,
        Flash::Rescheduled,
        Flash::Cancelled,
        Flash::Started,
        Flash::Completed,
        Flash::NoShow,
        Flash::HoursSaved,
        Flash::TimeOffAdded,
        Flash::TimeOffRemoved,
        Flash::DoctorAdded,
        Flash::DoctorSaved,
        Flash::DoctorDeactivated,
        Flash::DoctorActivated,
        Flash::NotifySaved,
        Flash::WebhookTestQueued,
        Flash::WebhookOn,
        Flash::WebhookOff,
        Flash::WebhookDeleted,
        Flash::CalendarRotated,
        Flash::PasswordChanged,
        Flash::SessionEnded,
        Flash::OtherSessionsEnded,
        Flash::TotpOff,
        Flash::AccountClosed,
        Flash::PasswordReset,
        Flash::ProfileSaved,
        Flash::PhoneCodeSent,
        Flash::PhoneChanged,
        Flash::OverrideSaved,
        Flash::OverrideRemoved,
        Flash::PaymentRecorded,
        Flash::AdminAdded,
        Flash::AdminActivated,
        Flash::AdminDeactivated,
        Flash::DemoRemoved,
    ];

    pub(super) fn code(self) -> &'static str {
        match self {
            Flash::Welcome => "welcome",
            Flash::LoggedIn => "logged_in",
            Flash::LoggedOut => "logged_out",
            Flash::Booked => "booked",
            Flash::Rescheduled => "rescheduled",
            Flash::Cancelled => "cancelled",
            Flash::Started => "started",
            Flash::Completed => "completed",
            Flash::NoShow => "no_show",
            Flash::HoursSaved => "hours_saved",
            Flash::TimeOffAdded => "time_off_added",
            Flash::TimeOffRemoved => "time_off_removed",
            Flash::DoctorAdded => "doctor_added",
            Flash::DoctorSaved => "doctor_saved",
            Flash::DoctorDeactivated => "doctor_deactivated",
            Flash::DoctorActivated => "doctor_activated",
            Flash::NotifySaved => "notify_saved",
            Flash::WebhookTestQueued => "webhook_test_queued",
            Flash::WebhookOn => "webhook_on",
            Flash::WebhookOff => "webhook_off",
            Flash::WebhookDeleted => "webhook_deleted",
            Flash::CalendarRotated => "calendar_rotated",
            Flash::PasswordChanged => "password_changed",
            Flash::SessionEnded => "session_ended",
            Flash::OtherSessionsEnded => "other_sessions_ended",
            Flash::TotpOff => "totp_off",
            Flash::AccountClosed => "account_closed",
            Flash::PasswordReset => "password_reset",
            Flash::ProfileSaved => "profile_saved",
            Flash::PhoneCodeSent => "phone_code_sent",
            Flash::PhoneChanged => "phone_changed",
            Flash::OverrideSaved => "override_saved",
            Flash::OverrideRemoved => "override_removed",
            Flash::PaymentRecorded => "payment_recorded",
            Flash::AdminAdded => "admin_added",
            Flash::AdminActivated => "admin_activated",
            Flash::AdminDeactivated => "admin_deactivated",
            Flash::DemoRemoved => "demo_removed",
        }
    }

    pub(super) fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn text(self) -> &'static str {
        match self {
            Flash::Welcome => {
                "Welcome to medimeet! Your account is ready: find a doctor and book a visit."
            }
            Flash::LoggedIn => "You are logged in.",
            Flash::LoggedOut => "You have logged out.",
            Flash::Booked => "Your visit is booked. We look forward to seeing you.",
            Flash::Rescheduled => "Your visit has been moved to the new time.",
            Flash::Cancelled => "The visit has been cancelled.",
            Flash::Started => "The visit has started.",
            Flash::Completed => "The visit is marked as completed.",
            Flash::NoShow => "The visit is marked as a no-show.",
            Flash::HoursSaved => {
                "Your working hours are saved. Patients see the new times at once."
            }
            Flash::TimeOffAdded => "Time off added. Those hours are no longer offered to patients.",
            Flash::TimeOffRemoved => "Time off removed.",
            Flash::DoctorAdded => {
                "The doctor has been added. Set their working hours so patients can book."
            }
            Flash::DoctorSaved => "Changes saved.",
            Flash::DoctorDeactivated => {
                "The doctor is deactivated: hidden from patients and unable to log in."
            }
            Flash::DoctorActivated => "The doctor is active again.",
            Flash::NotifySaved => "Your notification choices are saved.",
            Flash::WebhookTestQueued => {
                "A test event is queued. Its delivery appears under the endpoint once the worker has tried it."
            }
            Flash::WebhookOn => "The endpoint is on again and receives new events.",
            Flash::WebhookOff => {
                "The endpoint is turned off: it receives no events until you turn it on."
            }
            Flash::WebhookDeleted => "The endpoint and its delivery log are deleted.",
            Flash::PasswordChanged => {
                "Your password is changed. Everywhere else you were logged in, you are logged out."
            }
            Flash::SessionEnded => "That session is ended: it is logged out.",
            Flash::OtherSessionsEnded => {
                "Every other session is ended: only this one is logged in."
            }
            Flash::TotpOff => {
                "Two-step login is off: you log in with your password alone. Its recovery codes no longer work."
            }
            Flash::AccountClosed => {
                "Your account is closed: you are logged out everywhere and can no longer log in. Your visits still to come are cancelled."
            }
            Flash::PasswordReset => {
                "Your new password is set, and you are logged out everywhere. Log in with it now."
            }
            Flash::ProfileSaved => "Your details are saved.",
            Flash::PhoneCodeSent => {
                "We sent a code by text message to the new number. Enter it below to make it your phone."
            }
            Flash::PhoneChanged => {
                "Your phone number is changed. Log in with the new number from now on."
            }
            Flash::OverrideSaved => "The hours of that date are saved.",
            Flash::OverrideRemoved => "That date has its weekly hours again.",
            Flash::PaymentRecorded => "The payment is recorded.",
            Flash::AdminAdded => "The admin is added and can log in now.",
            Flash::AdminActivated => "The admin account is active again.",
            Flash::AdminDeactivated => {
                "The admin account is deactivated and logged out everywhere."
            }
            Flash::DemoRemoved => {
                "The demo clinic is removed: its accounts and all their data. Your own data is untouched."
            }
            Flash::CalendarRotated => {
                "Your calendar has a new link. The old one no longer works: subscribe again with the new one."
            }
        }
    }
}

/// A flash message as the layout shows it.
#[derive(Debug, Clone)]
pub struct FlashView {
    pub text: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_codes_round_trip_and_strangers_are_ignored() {
        for f in Flash::ALL {
            assert_eq!(Flash::parse(f.code()), Some(f));
        }
        assert_eq!(Flash::parse("<script>"), None);
    }
}
