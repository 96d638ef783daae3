//! The patient's profile page: who the clinic has on file, how the
//! clinic may reach them (email, text message), the same choice as
//! `notify_email` / `notify_sms` on `PATCH /api/v1/patients/{id}`, and
//! their visits' calendar subscription (its URL, and a new one).

use super::calendar::{self, CalendarCard, RotateForm};
use super::errors::{PageError, PageResult};
use super::flash::Flash;
use super::forms::UserForm;
use super::layout::Layout;
use super::render::render;
use super::viewer::Viewer;
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::usecases::patients::{self, ProfileChanges};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile))
        .route("/profile/notifications", post(save_notifications))
        .route("/profile/calendar", post(new_calendar_link))
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    csrf: String,
    name: String,
    phone: String,
    email: Option<String>,
    /// The email box is ticked (only ever with an address to send to).
    notify_email: bool,
    notify_sms: bool,
    /// The "Calendar subscription" card.
    calendar: CalendarCard,
}

async fn profile(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Patient)?;
    let id = user.caller.patient_id().ok_or_else(PageError::not_found)?;
    let p = patients::read(&state.clinic, &user.caller, id).await?;
    let page = ProfilePage {
        layout: viewer.layout("Profile", "profile"),
        csrf: user.csrf_token().to_owned(),
        name: format!("{} {}", p.first_name, p.last_name),
        phone: p.phone,
        notify_email: p.notify_email && p.email.is_some(),
        email: p.email,
        notify_sms: p.notify_sms,
        calendar: calendar::card(&state, user, "/profile/calendar").await?,
    };
    Ok(render(&page))
}

/// The two boxes as posted: present (any value) when ticked, absent when not.
#[derive(Debug, Default, Deserialize)]
struct NotifyForm {
    #[serde(default)]
    notify_email: Option<String>,
    #[serde(default)]
    notify_sms: Option<String>,
}

async fn save_notifications(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<NotifyForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Patient) {
        return Err(PageError::not_found());
    }
    let caller = &form.user.caller;
    let id = caller.patient_id().ok_or_else(PageError::not_found)?;
    let p = patients::read(&state.clinic, caller, id).await?;
    let changes = ProfileChanges {
        // Without an address the email box is disabled (so never posted):
        // leave that choice as it is rather than read its absence as "off".
        notify_email: p
            .email
            .is_some()
            .then_some(form.data.notify_email.is_some()),
        notify_sms: Some(form.data.notify_sms.is_some()),
        ..ProfileChanges::default()
    };
    patients::update(&state.clinic, caller, id, &changes).await?;
    Ok(viewer.redirect("/profile", Some(Flash::NotifySaved)))
}

/// "Get a new link" of the calendar card: the old feed URL stops working.
async fn new_calendar_link(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<RotateForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Patient) {
        return Err(PageError::not_found());
    }
    calendar::rotate(&state, &viewer, &form, "/profile").await
}
