//! The web pages for patients, doctors and admins: server-rendered HTML from
//! compile-time checked templates (`templates/`), with a little optional
//! JavaScript (`static/app.js`).
//!
//! The pages hold no business rules of their own. Every change and every read of
//! a record goes through the clinic's operations ([`crate::usecases`]), exactly
//! as the JSON API does: the page parses a form into the operation's input,
//! calls it, and renders its error as a friendly message (field errors next to
//! their fields; [`errors::status_of`] is the one mapping of error to page
//! status). So a page shows exactly what the API would allow, and another
//! person's appointment is a 404 page just as it is a 404 problem.
//!
//! Security, in one place:
//! - The session is the API's session cookie (`HttpOnly; SameSite=Lax`, plus
//!   `Secure` when `secure_cookies` is set); logging out deletes it on the server.
//! - Every form carries a CSRF token that [`forms::UserForm`] /
//!   [`forms::AnonForm`] check before a handler runs: the session's own token
//!   for signed-in users, and a double-submit cookie for the anonymous login
//!   and sign-up forms.
//! - Every page is sent with a strict Content-Security-Policy (scripts and styles
//!   only from our own embedded files, no inline script or style) and
//!   `Cache-Control: no-store`, since pages carry health data.
//! - Templates escape everything they print (askama's default for `.html`).
//!
//! This module holds the router and the layer every page passes through (the
//! headers above, the cookies). What the pages share is next to it:
//! [`viewer`] (who is looking), [`layout`] (the page frame), [`forms`] (reading
//! a form, checking its token), [`errors`] (the use cases' error as a page
//! status, an error page or form messages), [`render`], [`redirect`] and
//! [`flash`] (the one-shot message after a redirect). The video visit's room
//! page is [`room`]; its script is `static/visit.js`. The patient's profile
//! (their details and notification choices) is [`profile`]. The calendar
//! feeds, a visit's `.ics` download and the "Calendar subscription" card are
//! [`calendar`]; the feed itself is served outside the pages' layer
//! ([`calendar::feed_router`]), as a calendar app is no browser.

pub mod account;
pub mod admin;
pub mod affected;
pub mod assets;
pub mod calendar;
pub mod charts;
pub mod closure;
pub mod doctor;
pub mod errors;
pub mod flash;
pub mod fmt;
pub mod forms;
pub mod layout;
pub mod patient;
pub mod profile;
pub mod public;
pub mod redirect;
pub mod render;
pub mod reset;
pub mod room;
pub mod unsubscribe;
pub mod viewer;
pub mod visits;

use super::AppState;
use crate::http::extract::CookieNames;
use crate::usecases::forms as form_tokens;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;

/// The Content-Security-Policy of every page: nothing inline, nothing foreign.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

// The double-submit cookie guarding the forms of people not yet signed in,
// and the one-shot message for the page after a redirect (a code, never free
// text), are named by `CookieNames`: `__Host-` prefixed behind HTTPS.
/// The browser's IANA time zone, set by `static/app.js`.
pub const TZ_COOKIE: &str = "medimeet_tz";

/// All pages, with their security headers.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(public::router())
        .merge(patient::router())
        .merge(profile::router())
        .merge(account::router())
        .merge(closure::router())
        .merge(reset::router())
        .merge(visits::router())
        .merge(calendar::router())
        .merge(room::router())
        .merge(unsubscribe::router())
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
    let names = CookieNames { secure };
    // A visitor without a double-submit cookie the clinic signed gets one
    // now (a planted one is replaced); the handler sees it as if the
    // browser had sent it, so the form it renders carries it.
    let current = cookie(req.headers(), names.csrf());
    let ours = match &current {
        Some(t) => form_tokens::is_anonymous_token(&state.clinic, t)
            .await
            .unwrap_or(false),
        None => false,
    };
    let new_csrf = if ours {
        None
    } else {
        match form_tokens::anonymous_token(&state.clinic).await {
            Ok(token) => {
                set_request_cookie(req.headers_mut(), names.csrf(), &token);
                Some(token)
            }
            Err(e) => {
                tracing::warn!(error = %e, "no key for the anonymous forms' tokens");
                None
            }
        }
    };
    let had_flash = cookie(req.headers(), names.flash()).is_some();
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
            &format!("{}={token}; Path=/; HttpOnly; SameSite=Lax", names.csrf()),
            secure,
        );
    }
    if had_flash && !res.status().is_redirection() {
        append_cookie(
            res.headers_mut(),
            &format!(
                "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                names.flash()
            ),
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

/// Puts `name=value` among the request's cookies, replacing any cookie of
/// that name the browser sent.
fn set_request_cookie(headers: &mut HeaderMap, name: &str, value: &str) {
    let mut cookies: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(name))
        .map(str::to_owned)
        .collect();
    cookies.push(format!("{name}={value}"));
    if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
        headers.remove(header::COOKIE);
        headers.insert(header::COOKIE, v);
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
