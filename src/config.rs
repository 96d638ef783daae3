//! The configuration of a running clinic, as one tree:
//!
//! - [`Config`]: what `medimeet serve` runs with: the address, the
//!   [`DatabaseConfig`] and the [`Settings`];
//! - [`DatabaseConfig`]: the one place the database URL and the connection
//!   count live (also flattened into `migrate`, `demo` and `admin create`);
//! - [`Settings`]: the clinic's policies, also built directly by the tests.
//!
//! Every leaf is a flag and an environment variable (README, "Configuration").
//! Each default is written once, in [`defaults`]: the flags' defaults and the
//! `Default` impls both read it. Ranges are checked by the flag parser, so a
//! bad value stops start-up with a message naming the flag.

use crate::domain::limits::RateLimit;
use crate::domain::person::PhoneRegion;
use clap::Args;
use jiff::SignedDuration;
use std::borrow::Cow;
use std::net::SocketAddr;

/// The default of every setting that has one.
pub mod defaults {
    use crate::domain::limits::RateLimit;
    use crate::domain::person::PhoneRegion;
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

    pub const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
    pub const DATABASE_URL: &str = "sqlite:medimeet.db";
    pub const CANCEL_WINDOW_HOURS: i64 = 24;
    pub const MIN_NOTICE_MINUTES: i64 = 60;
    pub const HORIZON_DAYS: i64 = 90;
    pub const SESSION_HOURS: i64 = 12;
    pub const STAFF_IDLE_MINUTES: i64 = 30;
    pub const VISIT_OPENS_MINUTES: i64 = 10;
    pub const VISIT_CLOSES_MINUTES: i64 = 30;
    pub const TURN_TTL_MINUTES: i64 = 240;
    pub const REMINDER_HOURS: [i64; 2] = [24, 1];
    pub const DELIVERY_LEASE_SECONDS: i64 = 120;
    pub const MAIL_FROM: &str = "medimeet <no-reply@medimeet.invalid>";
    pub const PHONE_REGION: PhoneRegion = PhoneRegion::US;
    // Abuse limits (decision 0023).
    pub const SIGNUPS_PER_ADDRESS: RateLimit = RateLimit::per_hour(10);
    pub const BOOKINGS_PER_ACCOUNT: RateLimit = RateLimit::per_hour(30);
    pub const BOOKINGS_PER_ADDRESS: RateLimit = RateLimit::per_hour(300);
    pub const CHAT_PER_ACCOUNT: RateLimit = RateLimit::per_minute(20);
    pub const CHAT_PER_ADDRESS: RateLimit = RateLimit::per_minute(120);
    // One-time codes (decision 0018).
    pub const CODES_PER_ACCOUNT: RateLimit = RateLimit::per_hour(5);
    pub const CODES_PER_ADDRESS: RateLimit = RateLimit::per_hour(20);
    // What one connection may hold (decision 0024).
    pub const HEADER_READ_TIMEOUT_SECONDS: u64 = 10;
    pub const BODY_READ_TIMEOUT_SECONDS: u64 = 30;
    pub const IDLE_TIMEOUT_SECONDS: u64 = 60;
}

/// Everything `serve` runs with.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "MEDIMEET_LISTEN", default_value_t = defaults::LISTEN)]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub settings: Settings,
}

/// Which database to open, and with how many connections.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DatabaseConfig {
    /// Database: `sqlite:PATH` (created if missing) or `postgres://user@host/db`.
    // `hide_env_values`: `--help` would otherwise print the URL, password and all.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = defaults::DATABASE_URL,
        hide_env_values = true
    )]
    pub url: DatabaseUrl,

    /// Database connections: the PostgreSQL pool size (default 16) or the
    /// SQLite reader connections (default 4).
    #[arg(
        long = "db-connections",
        env = "MEDIMEET_DB_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub connections: Option<u32>,
}

impl DatabaseConfig {
    /// `url` with the backend's default number of connections.
    pub fn new(url: impl Into<DatabaseUrl>) -> Self {
        Self {
            url: url.into(),
            connections: None,
        }
    }

    /// The same database with `n` connections.
    pub fn with_connections(self, n: u32) -> Self {
        Self {
            connections: Some(n),
            ..self
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self::new(defaults::DATABASE_URL)
    }
}

/// A database URL. It may hold a password, so it never shows one: `Debug`
/// and `Display` print `postgres://user:***@host/db`; only [`DatabaseUrl::expose`]
/// gives the URL itself, to open the connection.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as written, password included: for the database driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`: the password of the
    /// userinfo (`scheme://user:PASSWORD@host`) and the value of a `password=`
    /// query parameter (PostgreSQL accepts both). SQLite URLs and paths have
    /// neither and are shown as written.
    ///
    /// The userinfo ends at the last `@` after `://`, so a password holding
    /// `/`, `?`, `#` or `@` unescaped is hidden too; an `@` in the path or
    /// query hides more than the password, never less.
    pub fn redacted(&self) -> Cow<'_, str> {
        redact(&self.0)
    }
}

fn redact(url: &str) -> Cow<'_, str> {
    // SQLite paths (`sqlite:PATH`, a bare path) hold no password.
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    if url.starts_with("sqlite:") {
        return Cow::Borrowed(url);
    }
    let (head, rest) = url.split_at(scheme_end);
    let rest: Cow<'_, str> = match rest.rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => Cow::Owned(format!("{user}:***{}", &rest[at..])),
            None => Cow::Borrowed(rest),
        },
        None => Cow::Borrowed(rest),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(head);
    mask_password_params(&rest, &mut out);
    if out == url {
        Cow::Borrowed(url)
    } else {
        Cow::Owned(out)
    }
}

/// Appends `s` to `out` with the value of every `password=` parameter (after a
/// `?` or `&`) replaced by `***`, up to the next `&` (a `#` does not end it: an
/// unescaped `#` may be part of the password).
fn mask_password_params(s: &str, out: &mut String) {
    const KEY: &str = "password=";
    let mut rest = s;
    while let Some(i) = rest.find(['?', '&']) {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        if rest
            .get(..KEY.len())
            .is_some_and(|k| k.eq_ignore_ascii_case(KEY))
        {
            out.push_str(KEY);
            out.push_str("***");
            rest = &rest[rest.find('&').unwrap_or(rest.len())..];
        }
    }
    out.push_str(rest);
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

/// Any text is accepted here; [`crate::store::Store::connect`] says what it
/// cannot open (without echoing the URL).
impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(url))
    }
}

/// A secret setting: `Debug` never shows it, only [`Secret::expose`] does.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().len() < 16 {
            return Err("must be at least 16 characters".into());
        }
        Ok(Self(s.trim().to_owned()))
    }
}

/// A URL that may hold a password (the SMTP server's): never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretUrl(***)")
    }
}

impl std::str::FromStr for SecretUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with("smtp://") || s.starts_with("smtps://") {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be smtp://... or smtps://...".into())
        }
    }
}

/// An `http://` or `https://` URL with a host.
pub fn http_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || s.chars().any(char::is_whitespace) {
        return Err("must name a host, without spaces".into());
    }
    Ok(s.to_owned())
}

/// A header line `Name: value`, taken as it is: checked when the channels
/// are built, so that a mistyped secret is never echoed in an error.
fn auth_header(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s.trim()))
}

/// An SMS body template: it must place the number and the text.
fn sms_body(s: &str) -> Result<String, String> {
    if s.contains("{to}") && s.contains("{text}") {
        Ok(s.to_owned())
    } else {
        Err("must contain {to} and {text}".into())
    }
}

/// A STUN server's URL, as browsers take it (RFC 7064).
fn stun_url(s: &str) -> Result<String, String> {
    ice_url(s, &["stun:", "stuns:"])
}

/// A TURN server's URL, as browsers take it (RFC 7065).
fn turn_url(s: &str) -> Result<String, String> {
    ice_url(s, &["turn:", "turns:"])
}

fn ice_url(s: &str, schemes: &[&str]) -> Result<String, String> {
    let s = s.trim();
    let host = schemes.iter().find_map(|p| s.strip_prefix(p));
    match host {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => Ok(s.to_owned()),
        _ => Err(format!("must look like {}host:port", schemes[0])),
    }
}

/// Policy and behaviour settings shared by `serve` and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Settings {
    /// Hours before a visit after which a patient can no longer cancel or
    /// reschedule (0 to 720).
    #[arg(
        long,
        env = "MEDIMEET_CANCEL_WINDOW_HOURS",
        default_value_t = defaults::CANCEL_WINDOW_HOURS,
        value_parser = clap::value_parser!(i64).range(0..=720)
    )]
    pub cancel_window_hours: i64,

    /// Minimum notice for a booking, in minutes: slots starting sooner are not
    /// offered (0 to 10080, a week).
    #[arg(
        long,
        env = "MEDIMEET_MIN_NOTICE_MINUTES",
        default_value_t = defaults::MIN_NOTICE_MINUTES,
        value_parser = clap::value_parser!(i64).range(0..=10_080)
    )]
    pub min_notice_minutes: i64,

    /// How many days ahead patients can book (1 to 730).
    #[arg(
        long,
        env = "MEDIMEET_HORIZON_DAYS",
        default_value_t = defaults::HORIZON_DAYS,
        value_parser = clap::value_parser!(i64).range(1..=730)
    )]
    pub horizon_days: i64,

    /// How long a login session lasts, in hours (1 to 720).
    #[arg(
        long,
        env = "MEDIMEET_SESSION_HOURS",
        default_value_t = defaults::SESSION_HOURS,
        value_parser = clap::value_parser!(i64).range(1..=720)
    )]
    pub session_hours: i64,

    /// Minutes a doctor's or admin's session may go unused before it ends
    /// (1 to 43200); patients' sessions last --session-hours from login.
    #[arg(
        long,
        env = "MEDIMEET_STAFF_IDLE_MINUTES",
        default_value_t = defaults::STAFF_IDLE_MINUTES,
        value_parser = clap::value_parser!(i64).range(1..=43_200)
    )]
    pub staff_idle_minutes: i64,

    /// Minutes before a visit's start from which its two people can enter the
    /// video room (0 to 1440).
    #[arg(
        long,
        env = "MEDIMEET_VISIT_OPENS_MINUTES",
        default_value_t = defaults::VISIT_OPENS_MINUTES,
        value_parser = clap::value_parser!(i64).range(0..=1440)
    )]
    pub visit_opens_minutes: i64,

    /// Minutes after a visit's end until which the room can still be entered
    /// (0 to 1440).
    #[arg(
        long,
        env = "MEDIMEET_VISIT_CLOSES_MINUTES",
        default_value_t = defaults::VISIT_CLOSES_MINUTES,
        value_parser = clap::value_parser!(i64).range(0..=1440)
    )]
    pub visit_closes_minutes: i64,

    /// STUN servers the video visits' browsers may use to find their public
    /// address (`stun:host:port`; several separated by commas). None by
    /// default: browsers on one network need none.
    #[arg(long = "stun-url", env = "MEDIMEET_STUN_URL", value_delimiter = ',', value_parser = stun_url)]
    pub stun_urls: Vec<String>,

    /// TURN servers that relay a visit's media when the two browsers cannot
    /// reach each other (`turn:host:port?transport=udp`, `turns:...`; several
    /// separated by commas). Needs --turn-secret.
    #[arg(long = "turn-url", env = "MEDIMEET_TURN_URL", value_delimiter = ',', value_parser = turn_url, requires = "turn_secret")]
    pub turn_urls: Vec<String>,

    /// The secret shared with the TURN server (coturn's `static-auth-secret`),
    /// from which medimeet issues time-limited TURN logins.
    #[arg(long, env = "MEDIMEET_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<Secret>,

    /// How long an issued TURN login stays valid, in minutes (1 to 10080).
    #[arg(
        long,
        env = "MEDIMEET_TURN_TTL_MINUTES",
        default_value_t = defaults::TURN_TTL_MINUTES,
        value_parser = clap::value_parser!(i64).range(1..=10_080)
    )]
    pub turn_ttl_minutes: i64,

    /// Send every visit's media through the TURN server, never directly:
    /// neither person learns the other's network address.
    #[arg(
        long,
        env = "MEDIMEET_TURN_RELAY_ONLY",
        default_value_t = false,
        requires = "turn_urls"
    )]
    pub turn_relay_only: bool,

    /// When patients are reminded of a visit, in hours before it (1 to 720;
    /// several separated by commas; reminders whose time has passed at
    /// booking are skipped).
    #[arg(
        long = "reminder-hours",
        env = "MEDIMEET_REMINDER_HOURS",
        value_delimiter = ',',
        default_values_t = defaults::REMINDER_HOURS,
        value_parser = clap::value_parser!(i64).range(1..=720)
    )]
    pub reminder_hours: Vec<i64>,

    /// The SMTP server that sends the clinic's email, in lettre's URL form:
    /// `smtp://user:password@host:587?tls=required`, `smtps://...` for
    /// implicit TLS, `smtp://127.0.0.1:2525` for a local relay. None: email
    /// is kept as "not configured", never silently dropped.
    #[arg(long, env = "MEDIMEET_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretUrl>,

    /// The sender of the clinic's email (`Clinic <visits@clinic.example>`).
    #[arg(long, env = "MEDIMEET_MAIL_FROM", default_value = defaults::MAIL_FROM)]
    pub mail_from: String,

    /// How long a worker holds the deliveries it claimed, in seconds (5 to
    /// 3600): longer than the slowest send, since a worker that dies holding
    /// them delays them by this much.
    #[arg(
        long,
        env = "MEDIMEET_DELIVERY_LEASE_SECONDS",
        default_value_t = defaults::DELIVERY_LEASE_SECONDS,
        value_parser = clap::value_parser!(i64).range(5..=3600)
    )]
    pub delivery_lease_seconds: i64,

    /// The SMS provider's endpoint (HTTP POST); see --sms-body. None: text
    /// messages are kept as "not configured", never silently dropped.
    #[arg(long, env = "MEDIMEET_SMS_URL", value_parser = http_url, requires = "sms_body")]
    pub sms_url: Option<String>,

    /// The header that authenticates to the SMS provider, as `Name: value`
    /// (`Authorization: Basic ...`). A secret: never logged.
    #[arg(long, env = "MEDIMEET_SMS_AUTH_HEADER", hide_env_values = true, value_parser = auth_header)]
    pub sms_auth_header: Option<Secret>,

    /// The body of a request to the SMS provider, with `{to}`, `{text}` and
    /// `{id}` filled in: sent as JSON when it starts with `{`
    /// (`{"to":"{to}","text":"{text}"}`), else as a form
    /// (`To={to}&From=%2B15550100&Body={text}`).
    #[arg(long, env = "MEDIMEET_SMS_BODY", value_parser = sms_body)]
    pub sms_body: Option<String>,

    /// The address people reach this site at, for links in messages
    /// (default: http:// and the listen address).
    #[arg(long, env = "MEDIMEET_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Region (ISO 3166 code, such as US or DE) assumed for phone numbers
    /// written without +country code.
    #[arg(long, env = "MEDIMEET_PHONE_REGION", default_value_t = defaults::PHONE_REGION)]
    pub phone_region: PhoneRegion,

    /// Mark the session cookie Secure (set this when serving over HTTPS).
    #[arg(long, env = "MEDIMEET_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Take the client address for login throttling from X-Forwarded-For
    /// (only behind a reverse proxy you trust). Without it, the first
    /// request that carries X-Forwarded-For logs a warning.
    #[arg(long, env = "MEDIMEET_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// The bearer token Prometheus sends to read `GET /metrics` (at least 16
    /// characters). A secret: never logged. None: `/metrics` is not served
    /// (404).
    #[arg(long, env = "MEDIMEET_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,

    /// Sign-ups one client address may make: COUNT/PERIOD (10/h, 100/15m)
    /// or off. Counted per instance.
    #[arg(long = "limit-signups-per-address", env = "MEDIMEET_LIMIT_SIGNUPS_PER_ADDRESS", default_value_t = defaults::SIGNUPS_PER_ADDRESS)]
    pub signups_per_address: RateLimit,

    /// Bookings and moves one account may make (COUNT/PERIOD or off).
    #[arg(long = "limit-bookings-per-account", env = "MEDIMEET_LIMIT_BOOKINGS_PER_ACCOUNT", default_value_t = defaults::BOOKINGS_PER_ACCOUNT)]
    pub bookings_per_account: RateLimit,

    /// Bookings and moves one client address may make (COUNT/PERIOD or off).
    #[arg(long = "limit-bookings-per-address", env = "MEDIMEET_LIMIT_BOOKINGS_PER_ADDRESS", default_value_t = defaults::BOOKINGS_PER_ADDRESS)]
    pub bookings_per_address: RateLimit,

    /// Chat messages one person may send (COUNT/PERIOD or off); counted in
    /// the database, across instances.
    #[arg(long = "limit-chat-per-account", env = "MEDIMEET_LIMIT_CHAT_PER_ACCOUNT", default_value_t = defaults::CHAT_PER_ACCOUNT)]
    pub chat_per_account: RateLimit,

    /// Chat messages one client address may send (COUNT/PERIOD or off).
    #[arg(long = "limit-chat-per-address", env = "MEDIMEET_LIMIT_CHAT_PER_ADDRESS", default_value_t = defaults::CHAT_PER_ADDRESS)]
    pub chat_per_address: RateLimit,

    /// Doctors and admins must log in with a second factor (TOTP): one
    /// without it is sent to turn it on before anything else (decision 0019).
    #[arg(long, env = "MEDIMEET_REQUIRE_STAFF_TOTP", default_value_t = false)]
    pub require_staff_totp: bool,
    /// One-time codes (a forgotten password, a new phone) one login may be
    /// sent (COUNT/PERIOD or off): counted per login typed, whether or not
    /// it is anyone's, so the limit tells nothing about who has an account.
    #[arg(long = "limit-codes-per-account", env = "MEDIMEET_LIMIT_CODES_PER_ACCOUNT", default_value_t = defaults::CODES_PER_ACCOUNT)]
    pub codes_per_account: RateLimit,

    /// One-time codes one client address may ask for (COUNT/PERIOD or off).
    #[arg(long = "limit-codes-per-address", env = "MEDIMEET_LIMIT_CODES_PER_ADDRESS", default_value_t = defaults::CODES_PER_ADDRESS)]
    pub codes_per_address: RateLimit,

    #[command(flatten)]
    pub connections: ConnectionLimits,
}

/// What one client connection may hold (decision 0024).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's head (1 to 300).
    #[arg(
        long = "header-read-timeout-seconds",
        env = "MEDIMEET_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = defaults::HEADER_READ_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub header_read_timeout_seconds: u64,

    /// Seconds a client has to send a request's body (1 to 3600).
    #[arg(
        long = "body-read-timeout-seconds",
        env = "MEDIMEET_BODY_READ_TIMEOUT_SECONDS",
        default_value_t = defaults::BODY_READ_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_read_timeout_seconds: u64,

    /// Seconds a connection may pass with no byte either way before it is
    /// closed (1 to 3600): between keep-alive requests, a stalled upload, a
    /// client that stops reading.
    #[arg(
        long = "idle-timeout-seconds",
        env = "MEDIMEET_IDLE_TIMEOUT_SECONDS",
        default_value_t = defaults::IDLE_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub idle_timeout_seconds: u64,

    /// Client connections open at once (16 to 1000000). Default: the
    /// process's descriptor limit less 64.
    #[arg(
        long = "max-connections",
        env = "MEDIMEET_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(16..=1_000_000)
    )]
    pub max_connections: Option<u32>,

    /// Connections open at once from one client address (1 to 1000000; not
    /// applied with --trust-forwarded-for, where all are the proxy's).
    /// Default: a quarter of --max-connections, at most 256.
    #[arg(
        long = "max-connections-per-address",
        env = "MEDIMEET_MAX_CONNECTIONS_PER_ADDRESS",
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections_per_address: Option<u32>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout_seconds: defaults::HEADER_READ_TIMEOUT_SECONDS,
            body_read_timeout_seconds: defaults::BODY_READ_TIMEOUT_SECONDS,
            idle_timeout_seconds: defaults::IDLE_TIMEOUT_SECONDS,
            max_connections: None,
            max_connections_per_address: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cancel_window_hours: defaults::CANCEL_WINDOW_HOURS,
            min_notice_minutes: defaults::MIN_NOTICE_MINUTES,
            horizon_days: defaults::HORIZON_DAYS,
            session_hours: defaults::SESSION_HOURS,
            staff_idle_minutes: defaults::STAFF_IDLE_MINUTES,
            visit_opens_minutes: defaults::VISIT_OPENS_MINUTES,
            visit_closes_minutes: defaults::VISIT_CLOSES_MINUTES,
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_minutes: defaults::TURN_TTL_MINUTES,
            turn_relay_only: false,
            reminder_hours: defaults::REMINDER_HOURS.to_vec(),
            smtp_url: None,
            mail_from: defaults::MAIL_FROM.to_owned(),
            delivery_lease_seconds: defaults::DELIVERY_LEASE_SECONDS,
            sms_url: None,
            sms_auth_header: None,
            sms_body: None,
            public_url: None,
            phone_region: defaults::PHONE_REGION,
            secure_cookies: false,
            trust_forwarded_for: false,
            metrics_token: None,
            signups_per_address: defaults::SIGNUPS_PER_ADDRESS,
            bookings_per_account: defaults::BOOKINGS_PER_ACCOUNT,
            bookings_per_address: defaults::BOOKINGS_PER_ADDRESS,
            chat_per_account: defaults::CHAT_PER_ACCOUNT,
            chat_per_address: defaults::CHAT_PER_ADDRESS,
            require_staff_totp: false,
            codes_per_account: defaults::CODES_PER_ACCOUNT,
            codes_per_address: defaults::CODES_PER_ADDRESS,
            connections: ConnectionLimits::default(),
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

    /// When a visit's video room is open (decision 0011).
    pub fn visit_window(&self) -> crate::domain::visit::Window {
        crate::domain::visit::Window {
            opens_before: SignedDuration::from_mins(self.visit_opens_minutes),
            closes_after: SignedDuration::from_mins(self.visit_closes_minutes),
        }
    }

    /// The address people reach this site at, without a trailing `/`
    /// (`--public-url`; `serve` fills in http:// and the listen address when
    /// it is not set).
    pub fn site_url(&self) -> &str {
        self.public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .unwrap_or("http://localhost")
    }

    pub fn policy(&self) -> crate::domain::appointment::Policy {
        crate::domain::appointment::Policy {
            cancel_window: SignedDuration::from_hours(self.cancel_window_hours),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Command, FromArgMatches};

    /// What the flag parser makes of no arguments, with the environment
    /// variables switched off (so the test does not depend on them).
    fn parsed_defaults<T: Args + FromArgMatches>() -> T {
        let cmd = T::augment_args(Command::new("t")).mut_args(|a| a.env(None::<&str>));
        let matches = cmd.try_get_matches_from(["t"]).unwrap();
        T::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn the_defaults_are_the_flags_defaults() {
        assert_eq!(Settings::default(), parsed_defaults::<Settings>());
        assert_eq!(
            DatabaseConfig::default(),
            parsed_defaults::<DatabaseConfig>()
        );
        let cfg = parsed_defaults::<Config>();
        assert_eq!(cfg.listen, defaults::LISTEN);
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cfg.database.url.expose(), "sqlite:medimeet.db");
        assert_eq!(cfg.database.connections, None);
    }

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        let cases = [
            (
                "postgres://medimeet:s3cret@db.example:5432/clinic",
                "postgres://medimeet:***@db.example:5432/clinic",
            ),
            (
                "postgresql://u:s3cret@localhost/db?sslmode=require",
                "postgresql://u:***@localhost/db?sslmode=require",
            ),
            // An empty user, a password with URL characters left unescaped.
            ("postgres://:s3cret/x?y#z@h/db", "postgres://:***@h/db"),
            ("postgres://u:s3cr@t@h/db", "postgres://u:***@h/db"),
            // The password as a query parameter.
            (
                "postgres://u@h/db?sslmode=disable&password=s3cret&application_name=x",
                "postgres://u@h/db?sslmode=disable&password=***&application_name=x",
            ),
            (
                "postgres://h/db?PASSWORD=s3cret",
                "postgres://h/db?password=***",
            ),
            (
                "postgres://h/db?password=s3c#ret",
                "postgres://h/db?password=***",
            ),
            // An `@` after the userinfo.
            (
                "postgres://u@h/db?password=s3cret@x&sslmode=disable",
                "postgres://u@h/db?password=***&sslmode=disable",
            ),
            (
                "postgres://u:s3cret@h/db?password=s3cret",
                "postgres://u:***@h/db?password=***",
            ),
        ];
        for (raw, shown) in cases {
            let url = DatabaseUrl::from(raw);
            assert_eq!(url.to_string(), shown);
            assert_eq!(format!("{url:?}"), format!("DatabaseUrl({shown:?})"));
            for text in [url.to_string(), format!("{url:?}"), format!("{url:#?}")] {
                assert!(!text.contains("s3cr"), "{text}");
            }
            assert_eq!(url.expose(), raw, "the driver still gets the password");
        }
        let cfg = DatabaseConfig::new("postgres://u:s3cret@h/db").with_connections(3);
        assert!(!format!("{cfg:?}").contains("s3cret"), "{cfg:?}");
    }

    #[test]
    fn a_url_without_a_password_is_shown_as_written() {
        for raw in [
            "sqlite:medimeet.db",
            "sqlite:/var/lib/medimeet/clinic.db",
            "sqlite:///tmp/a:b@c.db",
            "/tmp/clinic.db",
            "relative/clinic.db",
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://localhost/db?sslmode=disable",
            "postgres:///db?host=/run/postgresql",
            "",
        ] {
            let url = DatabaseUrl::from(raw);
            assert_eq!(url.to_string(), raw);
            assert_eq!(format!("{url:?}"), format!("DatabaseUrl({raw:?})"));
        }
    }

    fn settings_from(args: &[&str]) -> Result<Settings, clap::Error> {
        let cmd = Settings::augment_args(Command::new("t")).mut_args(|a| a.env(None::<&str>));
        let matches = cmd.try_get_matches_from(std::iter::once("t").chain(args.iter().copied()))?;
        Settings::from_arg_matches(&matches)
    }

    #[test]
    fn ice_servers_are_checked_and_the_turn_secret_is_never_shown() {
        let s = settings_from(&[
            "--stun-url",
            "stun:stun.example:3478",
            "--turn-url",
            "turn:turn.example:3478?transport=udp,turns:turn.example:5349",
            "--turn-secret",
            "a-long-shared-secret",
            "--turn-relay-only",
        ])
        .unwrap();
        assert_eq!(s.stun_urls, ["stun:stun.example:3478"]);
        assert_eq!(s.turn_urls.len(), 2);
        assert_eq!(
            s.turn_secret.as_ref().map(Secret::expose),
            Some("a-long-shared-secret")
        );
        assert!(!format!("{s:?}").contains("a-long-shared"), "{s:?}");
        // A TURN server needs the secret; relay-only needs a TURN server.
        assert!(settings_from(&["--turn-url", "turn:t.example:3478"]).is_err());
        assert!(settings_from(&["--turn-relay-only"]).is_err());
        for bad in ["http://t.example", "turn:", "stun:x y"] {
            assert!(settings_from(&["--stun-url", bad]).is_err(), "{bad}");
        }
        assert!(
            settings_from(&[
                "--turn-url",
                "stun:x:1",
                "--turn-secret",
                "a-long-shared-secret"
            ])
            .is_err()
        );
        assert!(settings_from(&["--turn-secret", "short"]).is_err());
    }

    #[test]
    fn the_metrics_token_is_long_and_never_shown() {
        let s = settings_from(&["--metrics-token", "a-scraper-token-0123"]).unwrap();
        assert_eq!(
            s.metrics_token.as_ref().map(Secret::expose),
            Some("a-scraper-token-0123")
        );
        assert!(!format!("{s:?}").contains("a-scraper"), "{s:?}");
        assert!(settings_from(&["--metrics-token", "too-short"]).is_err());
        assert_eq!(settings_from(&[]).unwrap().metrics_token, None);
    }
}
