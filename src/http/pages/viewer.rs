//! Who is looking at a page: the signed-in user if any, their time zone and
//! pending flash message, and the page frame that follows from them.

use super::errors::PageError;
use super::flash::{Flash, FlashView};
use super::layout::{Layout, NavLink};
use super::redirect::see_other;
use super::{TZ_COOKIE, assets, cookie, fmt};
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::extract::{CookieNames, CurrentUser, session_of};
use crate::usecases::{Caller, doctors, patients};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use jiff::tz::TimeZone;

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
        // A staff member the clinic requires a second factor of goes to its
        // setup before any other page (decision 0019).
        if user.as_ref().is_some_and(|u| u.session.must_set_up_totp)
            && !parts
                .uri
                .path()
                .starts_with(super::account::TOTP_SETUP_PATH)
        {
            return Err(PageError::TotpSetup);
        }
        let names = CookieNames::of(&parts.extensions);
        let stale_session = user.is_none() && cookie(&parts.headers, names.session()).is_some();
        let name = match &user {
            Some(u) => display_name(state, u).await?,
            None => None,
        };
        let (tz, tz_name) = browser_zone(&parts.headers);
        let flash = cookie(&parts.headers, names.flash()).and_then(|c| Flash::parse(&c));
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
            anon_csrf: cookie(&parts.headers, names.csrf()).unwrap_or_default(),
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
            Some(u) if u.session.must_set_up_totp => Err(PageError::TotpSetup),
            Some(u) if u.role() == Some(role) => Ok(u),
            Some(_) => Err(PageError::not_found()),
        }
    }

    /// The signed-in user, whatever their role.
    pub fn signed_in(&self) -> Result<&CurrentUser, PageError> {
        match &self.user {
            None => Err(self.login_redirect()),
            Some(u) if u.session.must_set_up_totp => Err(PageError::TotpSetup),
            Some(u) => Ok(u),
        }
    }

    /// The signed-in user, also while the clinic waits for them to turn on
    /// a second factor: for its setup page only.
    pub fn signed_in_for_setup(&self) -> Result<&CurrentUser, PageError> {
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
                    ("/profile", "Profile", "profile"),
                    ("/account", "Account", "account"),
                ],
                Some(Role::Doctor) => &[
                    ("/doctor/week", "My week", "week"),
                    ("/doctor/hours", "Working hours", "hours"),
                    ("/account", "Account", "account"),
                ],
                Some(Role::Admin) => &[
                    ("/admin", "Dashboard", "dashboard"),
                    ("/admin/doctors", "Doctors", "admin-doctors"),
                    ("/admin/appointments", "Appointments", "admin-appointments"),
                    ("/admin/webhooks", "Webhooks", "admin-webhooks"),
                    ("/admin/audit", "Audit log", "admin-audit"),
                    ("/admin/admins", "Admins", "admin-admins"),
                    ("/account", "Account", "account"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};

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
}
