//! Settings of a running clinic: every one a flag and an environment variable.

use jiff::SignedDuration;

/// Policy and behaviour settings shared by `serve` and the tests.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Hours before a visit after which a patient can no longer cancel or reschedule.
    #[arg(long, env = "MEDIMEET_CANCEL_WINDOW_HOURS", default_value_t = 24)]
    pub cancel_window_hours: i64,

    /// Minimum notice for a booking, in minutes: slots starting sooner are not offered.
    /// A negative value also offers slots that started up to that long ago (the
    /// browser tests use it to book a visit that is already under way).
    #[arg(long, env = "MEDIMEET_MIN_NOTICE_MINUTES", default_value_t = 60)]
    pub min_notice_minutes: i64,

    /// How many days ahead patients can book.
    #[arg(long, env = "MEDIMEET_HORIZON_DAYS", default_value_t = 90)]
    pub horizon_days: i64,

    /// How long a login session lasts, in hours.
    #[arg(long, env = "MEDIMEET_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: i64,

    /// Region (ISO 3166 code) assumed for phone numbers written without +country code.
    #[arg(long, env = "MEDIMEET_PHONE_REGION", default_value = "US")]
    pub phone_region: String,

    /// Mark the session cookie Secure (set this when serving over HTTPS).
    #[arg(long, env = "MEDIMEET_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Take the client address for login throttling from X-Forwarded-For
    /// (only behind a reverse proxy you trust).
    #[arg(long, env = "MEDIMEET_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cancel_window_hours: 24,
            min_notice_minutes: 60,
            horizon_days: 90,
            session_hours: 12,
            phone_region: "US".into(),
            secure_cookies: false,
            trust_forwarded_for: false,
        }
    }
}

impl Settings {
    pub fn min_notice(&self) -> SignedDuration {
        SignedDuration::from_mins(self.min_notice_minutes)
    }

    pub fn horizon(&self) -> SignedDuration {
        SignedDuration::from_hours(self.horizon_days.saturating_mul(24))
    }

    pub fn policy(&self) -> crate::domain::appointment::Policy {
        crate::domain::appointment::Policy {
            cancel_window: SignedDuration::from_hours(self.cancel_window_hours),
        }
    }
}
