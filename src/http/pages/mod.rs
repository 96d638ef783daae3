//! The web pages for patients, doctors and admins: server-rendered HTML from
//! compile-time checked templates (`templates/`), with a little optional
//! JavaScript (`static/app.js`).
//!
//! The pages hold no business rules of their own. Every change and every read of
//! a record goes through the clinic's operations ([`crate::usecases`]), exactly
//! as the JSON API does: the page parses a form into the operation's input,
//! calls it, and renders its error as a friendly message (field errors next to
//! their fields; [`status_of`] is the one mapping of error to page status). So a
//! page shows exactly what the API would allow, and another person's
//! appointment is a 404 page just as it is a 404 problem.
//!
//! Security, in one place:
//! - The session is the API's session cookie (`HttpOnly; SameSite=Lax`, plus
//!   `Secure` when `secure_cookies` is set); logging out deletes it on the server.
//! - Every form carries a CSRF token that [`UserForm`] / [`AnonForm`] check before
//!   a handler runs: the session's own token for signed-in users, and a
//!   double-submit cookie for the anonymous login and sign-up forms.
//! - Every page is sent with a strict Content-Security-Policy (scripts and styles
//!   only from our own embedded files, no inline script or style) and
//!   `Cache-Control: no-store`, since pages carry health data.
//! - Templates escape everything they print (askama's default for `.html`).

pub mod admin;
pub mod assets;
pub mod charts;
pub mod doctor;
pub mod fmt;
pub mod patient;
pub mod public;
pub mod visits;

use super::AppState;
use super::extract::{CurrentUser, SESSION_COOKIE, session_of};
use crate::auth;
use crate::domain::caller::Role;
use crate::usecases::{Caller, Error as UseCaseError, Thing, doctors, patients};
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use jiff::tz::TimeZone;
use serde::de::DeserializeOwned;

/// The Content-Security-Policy of every page: nothing inline, nothing foreign.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Double-submit cookie guarding the forms of people not yet signed in.
pub const CSRF_COOKIE: &str = "medimeet_csrf";
/// A one-shot message for the page after a redirect (a code, never free text).
pub const FLASH_COOKIE: &str = "medimeet_flash";
/// The browser's IANA time zone, set by `static/app.js`.
pub const TZ_COOKIE: &str = "medimeet_tz";

/// All pages, with their security headers.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(public::router())
        .merge(patient::router())
        .merge(visits::router())
        .merge(doctor::router())
        .merge(admin::router())
        .merge(assets::router())
        .layer(middleware::from_fn_with_state(state.clone(), page_layer))
}

/// Headers every page gets, the anonymous CSRF cookie, and clearing a flash
/// message once a page has shown it.
async fn page_layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let secure = state.clinic.settings().secure_cookies;
    // A visitor without the double-submit cookie gets one now; the handler sees
    // it as if the browser had sent it, so the form it renders carries it.
    let new_csrf = if cookie(req.headers(), CSRF_COOKIE).is_none() {
        let token = auth::new_token();
        let mut cookies = req
            .headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default();
        if !cookies.is_empty() {
            cookies.push_str("; ");
        }
        cookies.push_str(&format!("{CSRF_COOKIE}={token}"));
        if let Ok(v) = HeaderValue::from_str(&cookies) {
            req.headers_mut().insert(header::COOKIE, v);
        }
        Some(token)
    } else {
        None
    };
    let had_flash = cookie(req.headers(), FLASH_COOKIE).is_some();
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(token) = new_csrf {
        append_cookie(
            headers,
            &format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"),
            secure,
        );
    }
    if had_flash && !res.status().is_redirection() {
        append_cookie(
            res.headers_mut(),
            &format!("{FLASH_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
            secure,
        );
    }
    res
}

fn append_cookie(headers: &mut HeaderMap, cookie: &str, secure: bool) {
    let value = if secure {
        format!("{cookie}; Secure")
    } else {
        cookie.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == name
                && !val.is_empty()
            {
                return Some(val.to_owned());
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Flash messages

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
}

impl Flash {
    const ALL: [Flash; 16] = [
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
    ];

    fn code(self) -> &'static str {
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
        }
    }

    fn parse(code: &str) -> Option<Self> {
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
        }
    }
}

/// A flash message as the layout shows it.
#[derive(Debug, Clone)]
pub struct FlashView {
    pub text: &'static str,
}

// ---------------------------------------------------------------------------
// Redirects

/// A 303 redirect to a local path, optionally with a flash message.
pub fn see_other(location: &str, flash: Option<Flash>, secure: bool) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let location = safe_local_path(location).unwrap_or("/");
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(f) = flash {
        append_cookie(
            res.headers_mut(),
            &format!(
                "{FLASH_COOKIE}={}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
                f.code()
            ),
            secure,
        );
    }
    res
}

/// `path` if it is a path on this site (so a `next=` parameter cannot send
/// people elsewhere after logging in).
pub fn safe_local_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 512
        && !path.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(path)
}

// ---------------------------------------------------------------------------
// Errors

/// Why a page could not be shown as asked.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): to the login page, then back.
    Login { next: String, expired: bool },
    /// A form whose CSRF token is missing or wrong.
    Csrf,
    /// A form that could not be read at all (too large, malformed).
    BadForm(&'static str),
    /// The clinic said no, or failed: shown as an error page.
    Failed(UseCaseError),
}

impl From<UseCaseError> for PageError {
    fn from(e: UseCaseError) -> Self {
        match e {
            UseCaseError::Unauthenticated => PageError::Login {
                next: String::new(),
                expired: true,
            },
            e => PageError::Failed(e),
        }
    }
}

impl PageError {
    pub fn not_found() -> Self {
        PageError::Failed(UseCaseError::NotFound(Thing::Resource))
    }
}

/// The one mapping of the use cases' error to what a page answers: the HTTP
/// status of the page (or of a form shown again with its errors).
pub fn status_of(e: &UseCaseError) -> StatusCode {
    use StatusCode as S;
    match e {
        UseCaseError::Unauthenticated | UseCaseError::BadCredentials => S::UNAUTHORIZED,
        UseCaseError::TooManyAttempts { .. } => S::TOO_MANY_REQUESTS,
        UseCaseError::NotFound(_) => S::NOT_FOUND,
        UseCaseError::Forbidden(_) => S::FORBIDDEN,
        UseCaseError::Invalid(_) | UseCaseError::Refused(_) => S::UNPROCESSABLE_ENTITY,
        UseCaseError::Conflict(_) => S::CONFLICT,
        UseCaseError::Busy => S::SERVICE_UNAVAILABLE,
        UseCaseError::Internal => S::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login { next, expired } => {
                let mut url = String::from("/login");
                let mut sep = '?';
                if expired {
                    url.push_str("?expired=1");
                    sep = '&';
                }
                if let Some(n) = safe_local_path(&next).filter(|n| *n != "/") {
                    url.push(sep);
                    url.push_str("next=");
                    url.push_str(&fmt::url_encode(n));
                }
                see_other(&url, None, false)
            }
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety we could not accept that form: it was missing its security \
                 token or it has expired. Go back, reload the page and try again.",
            ),
            PageError::BadForm(why) => error_page(StatusCode::BAD_REQUEST, "Bad request", why),
            PageError::Failed(e) => {
                let status = status_of(&e);
                let (heading, message) = match status {
                    StatusCode::NOT_FOUND => (
                        "Page not found".to_owned(),
                        "There is nothing here, or it is not yours to see. Check the address, \
                         or go back to your home page."
                            .to_owned(),
                    ),
                    s if s.is_server_error() => (
                        "Something went wrong".to_owned(),
                        "Something went wrong on our side. Please try again in a moment."
                            .to_owned(),
                    ),
                    _ => (e.title().to_owned(), e.detail()),
                };
                error_page(status, &heading, &message)
            }
        }
    }
}

fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout::bare(heading),
        heading: heading.to_owned(),
        message: message.to_owned(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    res
}

/// The HTML 404 page for unknown addresses outside the API.
pub async fn not_found_page() -> Response {
    let mut res = PageError::not_found().into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Renders a template; a template that fails to render is a logged 500.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong.</p>"),
            )
                .into_response()
        }
    }
}

/// Renders a template with a status other than 200 (a form with errors).
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    let mut res = render(t);
    if res.status() == StatusCode::OK {
        *res.status_mut() = status;
    }
    res
}

pub type PageResult = Result<Response, PageError>;

// ---------------------------------------------------------------------------
// Form errors

/// One field's message, as the error summary and the field show it.
#[derive(Debug, Clone)]
pub struct FieldMsg {
    pub field: String,
    pub message: String,
}

/// What went wrong with a form: a message for the whole form and/or per field.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub alert: Option<String>,
    pub fields: Vec<FieldMsg>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.alert.is_none() && self.fields.is_empty()
    }

    /// The message for a field, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.has(field) {
            self.fields.push(FieldMsg {
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    pub fn alert(message: impl Into<String>) -> Self {
        Self {
            alert: Some(message.into()),
            fields: Vec::new(),
        }
    }

    /// The clinic's error as form errors: each field error under its field,
    /// with the field's label in front ("First name is required"); any other
    /// error as the form's alert.
    pub fn from_error(e: &UseCaseError, label: impl Fn(&str) -> Option<&'static str>) -> Self {
        let mut out = FormErrors::default();
        if e.fields().is_empty() {
            out.alert = Some(e.detail());
        }
        for f in e.fields() {
            match label(&f.field) {
                Some(l) => out.add(&f.field, format!("{l} {}", f.message)),
                None => {
                    let msg = capitalize(&f.message);
                    match &mut out.alert {
                        Some(a) => {
                            a.push(' ');
                            a.push_str(&msg);
                        }
                        None => out.alert = Some(msg),
                    }
                }
            }
        }
        out
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The status a form with these errors is answered with.
pub fn form_status(e: &UseCaseError) -> StatusCode {
    let status = status_of(e);
    if status.is_client_error() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

// ---------------------------------------------------------------------------
// Layout

/// A link in the site navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What the shared page frame (`templates/base.html`) needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub nav: Vec<NavLink>,
    /// The signed-in person's name, for the header.
    pub user_name: Option<String>,
    pub role_label: &'static str,
    /// The session's CSRF token, for the log-out form.
    pub csrf: String,
    pub flash: Option<FlashView>,
    /// The time zone the page's times are shown in.
    pub tz: String,
    /// Whether the page shows times in the visitor's zone (the script reloads
    /// it once when it learns the browser's zone).
    pub tz_sensitive: bool,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
}

impl Layout {
    /// A frame with no navigation state, for error pages.
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            nav: Vec::new(),
            user_name: None,
            role_label: "",
            csrf: String::new(),
            flash: None,
            tz: "UTC".to_owned(),
            tz_sensitive: false,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
        }
    }
}

// ---------------------------------------------------------------------------
// Who is looking

/// The visitor of a page: the signed-in user if any, their time zone, the
/// pending flash message. Never fails: a page decides what it needs.
pub struct Viewer {
    pub user: Option<CurrentUser>,
    /// The request carried a session cookie that no longer works.
    pub stale_session: bool,
    pub name: Option<String>,
    pub tz: TimeZone,
    pub tz_name: String,
    pub flash: Option<Flash>,
    pub anon_csrf: String,
    pub path: String,
    pub is_get: bool,
    pub secure: bool,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let user = session_of(parts, state).await?;
        let stale_session = user.is_none() && cookie(&parts.headers, SESSION_COOKIE).is_some();
        let name = match &user {
            Some(u) => display_name(state, u).await?,
            None => None,
        };
        let (tz, tz_name) = browser_zone(&parts.headers);
        let flash = cookie(&parts.headers, FLASH_COOKIE).and_then(|c| Flash::parse(&c));
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Viewer {
            user,
            stale_session,
            name,
            tz,
            tz_name,
            flash,
            anon_csrf: cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default(),
            path,
            is_get: parts.method == Method::GET || parts.method == Method::HEAD,
            secure: state.clinic.settings().secure_cookies,
        })
    }
}

async fn display_name(state: &AppState, u: &CurrentUser) -> Result<Option<String>, PageError> {
    let clinic = &state.clinic;
    Ok(match u.caller {
        Caller::Patient { .. } => patients::own(clinic, &u.caller)
            .await?
            .map(|p| format!("{} {}", p.first_name, p.last_name)),
        Caller::Doctor { doctor, .. } => {
            let d = doctors::visible(clinic, &u.caller, doctor).await?;
            Some(format!("Dr. {}", d.full_name()))
        }
        _ => Some(u.login.clone()),
    })
}

/// The browser's zone from its cookie, or UTC.
pub fn browser_zone(headers: &HeaderMap) -> (TimeZone, String) {
    cookie(headers, TZ_COOKIE)
        .map(|raw| fmt::url_decode(&raw))
        .filter(|name| {
            name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
        })
        .and_then(|name| TimeZone::get(&name).ok().map(|tz| (tz, name)))
        .unwrap_or_else(|| (TimeZone::UTC, "UTC".to_owned()))
}

impl Viewer {
    /// The signed-in user in `role`. Not signed in: to the login page (saying
    /// the session expired if it did). Another role: this page does not exist
    /// for them.
    pub fn require(&self, role: Role) -> Result<&CurrentUser, PageError> {
        match &self.user {
            None => Err(self.login_redirect()),
            Some(u) if u.role() == Some(role) => Ok(u),
            Some(_) => Err(PageError::not_found()),
        }
    }

    /// The signed-in user, whatever their role.
    pub fn signed_in(&self) -> Result<&CurrentUser, PageError> {
        self.user.as_ref().ok_or_else(|| self.login_redirect())
    }

    pub fn login_redirect(&self) -> PageError {
        PageError::Login {
            next: if self.is_get {
                self.path.clone()
            } else {
                String::new()
            },
            expired: self.stale_session,
        }
    }

    /// The page frame for this visitor. `active` names the current nav entry.
    pub fn layout(&self, title: &str, active: &str) -> Layout {
        let links: &[(&'static str, &'static str, &str)] =
            match self.user.as_ref().and_then(CurrentUser::role) {
                None => &[("/doctors", "Find a doctor", "doctors")],
                Some(Role::Patient) => &[
                    ("/doctors", "Find a doctor", "doctors"),
                    ("/appointments", "My appointments", "appointments"),
                ],
                Some(Role::Doctor) => &[
                    ("/doctor/week", "My week", "week"),
                    ("/doctor/hours", "Working hours", "hours"),
                ],
                Some(Role::Admin) => &[
                    ("/admin", "Dashboard", "dashboard"),
                    ("/admin/doctors", "Doctors", "admin-doctors"),
                    ("/admin/appointments", "Appointments", "admin-appointments"),
                ],
            };
        Layout {
            title: title.to_owned(),
            nav: links
                .iter()
                .map(|(href, label, key)| NavLink {
                    href,
                    label,
                    current: *key == active,
                })
                .collect(),
            user_name: self
                .user
                .as_ref()
                .map(|u| self.name.clone().unwrap_or_else(|| u.login.clone())),
            role_label: match self.user.as_ref().and_then(CurrentUser::role) {
                Some(Role::Patient) => "Patient",
                Some(Role::Doctor) => "Doctor",
                Some(Role::Admin) => "Admin",
                None => "",
            },
            csrf: self
                .user
                .as_ref()
                .map(|u| u.csrf_token().to_owned())
                .unwrap_or_default(),
            flash: self.flash.map(|f| FlashView { text: f.text() }),
            tz: self.tz_name.clone(),
            tz_sensitive: false,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
        }
    }

    /// Like [`Viewer::layout`], for a page that shows times in the visitor's
    /// zone.
    pub fn layout_tz(&self, title: &str, active: &str) -> Layout {
        let mut l = self.layout(title, active);
        l.tz_sensitive = self.is_get;
        l
    }

    pub fn redirect(&self, location: &str, flash: Option<Flash>) -> Response {
        see_other(location, flash, self.secure)
    }
}

// ---------------------------------------------------------------------------
// Forms

/// Reads a urlencoded form body into `T` (and the raw pairs, for the token).
async fn read_form<T: DeserializeOwned>(
    body: Body,
) -> Result<(T, Vec<(String, String)>), PageError> {
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| PageError::BadForm("Form too large."))?;
    let pairs = parse_form::<Vec<(String, String)>>(bytes.clone()).await?;
    let data = parse_form::<T>(bytes).await?;
    Ok((data, pairs))
}

async fn parse_form<T: DeserializeOwned>(bytes: axum::body::Bytes) -> Result<T, PageError> {
    let req = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(bytes))
        .map_err(|e| PageError::Failed(UseCaseError::internal(&e)))?;
    axum::Form::<T>::from_request(req, &())
        .await
        .map(|f| f.0)
        .map_err(|_| {
            PageError::BadForm(
                "The form could not be read. Go back, reload the page and try again.",
            )
        })
}

fn token_of(pairs: &[(String, String)]) -> &str {
    pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The path of a same-site `Referer`, to return to after logging in again.
fn referer_path(headers: &HeaderMap) -> String {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            let rest = r.split_once("://").map(|(_, rest)| rest)?;
            let host = headers.get(header::HOST)?.to_str().ok()?;
            rest.strip_prefix(host).map(str::to_owned)
        })
        .filter(|p| safe_local_path(p).is_some())
        .unwrap_or_default()
}

/// A form posted by a signed-in user, its CSRF token checked against the
/// session's. No session: to the login page ("your session expired").
pub struct UserForm<T> {
    pub user: CurrentUser,
    pub data: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for UserForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (parts, body) = req.into_parts();
        let Some(user) = session_of(&parts, state).await? else {
            return Err(PageError::Login {
                next: referer_path(&parts.headers),
                expired: cookie(&parts.headers, SESSION_COOKIE).is_some(),
            });
        };
        let (data, pairs) = read_form::<T>(body).await?;
        if !auth::same_secret(token_of(&pairs), user.csrf_token()) {
            tracing::info!("page form refused: bad CSRF token");
            return Err(PageError::Csrf);
        }
        Ok(UserForm { user, data })
    }
}

/// A form posted by someone who may not be signed in (log in, sign up), its
/// CSRF token checked against the double-submit cookie.
pub struct AnonForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AnonForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, PageError> {
        let (parts, body) = req.into_parts();
        let expected = cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default();
        let (data, pairs) = read_form::<T>(body).await?;
        if !auth::same_secret(token_of(&pairs), &expected) {
            tracing::info!("anonymous form refused: bad CSRF token");
            return Err(PageError::Csrf);
        }
        Ok(AnonForm(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            safe_local_path("/appointments?x=1"),
            Some("/appointments?x=1")
        );
        assert_eq!(safe_local_path("//evil.example"), None);
        assert_eq!(safe_local_path("/\\evil.example"), None);
        assert_eq!(safe_local_path("https://evil.example"), None);
        assert_eq!(safe_local_path("/a\nb"), None);
    }

    #[test]
    fn flash_codes_round_trip_and_strangers_are_ignored() {
        for f in Flash::ALL {
            assert_eq!(Flash::parse(f.code()), Some(f));
        }
        assert_eq!(Flash::parse("<script>"), None);
    }

    #[test]
    fn the_browser_zone_is_validated() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("medimeet_tz=America%2FNew_York"),
        );
        assert_eq!(browser_zone(&h).1, "America/New_York");
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("medimeet_tz=Mars%2FBase"),
        );
        assert_eq!(browser_zone(&h).1, "UTC");
        assert_eq!(browser_zone(&HeaderMap::new()).1, "UTC");
    }

    #[test]
    fn field_errors_get_their_labels() {
        let e = UseCaseError::Invalid(vec![
            crate::domain::person::FieldError::new("first_name", "is required"),
            crate::domain::person::FieldError::new("weird", "is odd"),
        ]);
        let f = FormErrors::from_error(&e, |f| (f == "first_name").then_some("First name"));
        assert_eq!(f.get("first_name"), Some("First name is required"));
        assert_eq!(f.alert.as_deref(), Some("Is odd"));
    }
}
