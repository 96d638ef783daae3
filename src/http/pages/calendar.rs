//! Calendars (decision 0015): the private subscription feed
//! (`/calendar/<token>.ics`, no login: the signed token is the authority),
//! one visit's "Add to calendar" download (`/appointments/{id}/calendar.ics`,
//! for whoever may see the visit), and the "Calendar subscription" card of
//! the patient's profile and the doctor's week, with its "Get a new link"
//! form. The `.ics` text is [`crate::notify::ics`]'s, the same events as the
//! visit's emails (same `UID`, same `SEQUENCE`).

use super::errors::{PageError, PageResult};
use super::flash::Flash;
use super::forms::UserForm;
use super::patient::id_of;
use super::viewer::Viewer;
use crate::domain::ids::AppointmentId;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::notify::ics;
use crate::usecases::calendar::{self, Audience, CalendarEvents};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// The feed: outside the pages' layer (a calendar app gets no cookies).
pub fn feed_router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed))
}

/// The download of one visit, a page like the appointment's own.
pub fn router() -> Router<AppState> {
    Router::new().route("/appointments/{id}/calendar.ics", get(download))
}

/// What a feed is called in the calendar app that subscribes to it.
fn feed_name(audience: Audience) -> &'static str {
    match audience {
        Audience::Patient => "medimeet: my visits",
        Audience::Doctor => "medimeet: my schedule",
    }
}

/// The `.ics` text of a feed (named) or of a download (`name` `None`).
fn ics_text(state: &AppState, cal: &CalendarEvents, name: Option<&str>) -> String {
    let site = state.clinic.settings().site_url();
    let for_patient = cal.audience == Audience::Patient;
    let events: Vec<ics::FeedEvent> = cal
        .events
        .iter()
        .map(|e| ics::FeedEvent::of_visit(&e.appointment, e.sequence(), site, for_patient))
        .collect();
    ics::feed(name, &events)
}

fn calendar_response(body: String, attachment: Option<&str>) -> Response {
    let mut res = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            // Visits are health data: no shared cache keeps them.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response();
    if let Some(file) = attachment
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
    {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `GET /calendar/<token>.ics`: the owner's visits, or the 404 page for a
/// token that is not current (whether the account exists is never said).
async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(".ics") else {
        return PageError::not_found().into_response();
    };
    match calendar::feed(&state.clinic, token).await {
        Ok(cal) => {
            let name = feed_name(cal.audience);
            calendar_response(ics_text(&state, &cal, Some(name)), None)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `GET /appointments/{id}/calendar.ics`: the visit as a file to open in a
/// calendar app, for its patient, its doctor and admins (404 for others).
async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let user = viewer.signed_in()?;
    let id = AppointmentId::new(id_of(&id)?);
    let cal = calendar::visit_event(&state.clinic, &user.caller, id).await?;
    Ok(calendar_response(
        ics_text(&state, &cal, None),
        Some(&format!("visit-{id}.ics")),
    ))
}

/// The "Calendar subscription" card.
pub struct CalendarCard {
    /// The feed's full URL, to paste into a calendar app.
    pub url: String,
    /// The same as a `webcal://` link, which calendar apps open themselves.
    pub webcal: String,
    /// Where "Get a new link" posts.
    pub action: &'static str,
}

/// The card of the signed-in patient or doctor, its form posting to `action`.
pub async fn card(
    state: &AppState,
    user: &CurrentUser,
    action: &'static str,
) -> Result<CalendarCard, PageError> {
    let token = calendar::feed_url_token(&state.clinic, &user.caller).await?;
    let url = format!(
        "{}/calendar/{token}.ics",
        state.clinic.settings().site_url()
    );
    let webcal = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.clone(),
    };
    Ok(CalendarCard {
        url,
        webcal,
        action,
    })
}

/// The "Get a new link" form: its CSRF token is all it carries.
#[derive(Debug, Default, Deserialize)]
pub struct RotateForm {}

/// Replaces the caller's feed URL, then back to `back` (the page of the card).
pub async fn rotate(
    state: &AppState,
    viewer: &Viewer,
    form: &UserForm<RotateForm>,
    back: &str,
) -> PageResult {
    calendar::rotate(&state.clinic, &form.user.caller).await?;
    Ok(viewer.redirect(back, Some(Flash::CalendarRotated)))
}
