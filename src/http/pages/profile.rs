//! The patient's profile page: who the clinic has on file (name, email and
//! date of birth to edit, as `PATCH /api/v1/patients/{id}`; a new phone
//! number through a code sent to it, as `POST /api/v1/me/phone`), how the
//! clinic may reach them (email, text message), the same choice as
//! `notify_email` / `notify_sms`, and their visits' calendar subscription
//! (its URL, and a new one).

use super::calendar::{self, CalendarCard, RotateForm};
use super::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use super::flash::Flash;
use super::forms::UserForm;
use super::layout::Layout;
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::extract::{ClientAddr, CurrentUser};
use crate::usecases::patients::{self, ProfileChanges};
use crate::usecases::{Conflict, Error, codes};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile))
        .route("/profile/notifications", post(save_notifications))
        .route("/profile/details", post(save_details))
        .route("/profile/phone", post(change_phone))
        .route("/profile/phone/confirm", post(confirm_phone))
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
    /// The details form's values (as stored, or as typed when refused).
    details: DetailsForm,
    /// The new phone waiting for its code.
    pending_phone: Option<String>,
    /// The new phone as typed when refused.
    new_phone: String,
    errors: FormErrors,
}

/// The page, with the details form showing `typed` (or what is stored).
async fn page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    typed: Option<DetailsForm>,
    new_phone: String,
    errors: FormErrors,
) -> Result<ProfilePage, PageError> {
    let id = user.caller.patient_id().ok_or_else(PageError::not_found)?;
    let p = patients::read(&state.clinic, &user.caller, id).await?;
    let details = typed.unwrap_or_else(|| DetailsForm {
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        email: p.email.clone().unwrap_or_default(),
        date_of_birth: p.date_of_birth.to_string(),
    });
    Ok(ProfilePage {
        layout: viewer.layout("Profile", "profile"),
        csrf: user.csrf_token().to_owned(),
        name: format!("{} {}", p.first_name, p.last_name),
        phone: p.phone,
        notify_email: p.notify_email && p.email.is_some(),
        email: p.email,
        notify_sms: p.notify_sms,
        calendar: calendar::card(state, user, "/profile/calendar").await?,
        details,
        pending_phone: codes::pending_phone(&state.clinic, &user.caller).await?,
        new_phone,
        errors,
    })
}

async fn profile(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Patient)?;
    let p = page(
        &state,
        &viewer,
        user,
        None,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&p))
}

fn label(field: &str) -> Option<&'static str> {
    Some(match field {
        "first_name" => "First name",
        "last_name" => "Last name",
        "email" => "Email",
        "date_of_birth" => "Date of birth",
        "phone" => "New phone number",
        "code" => "The code",
        _ => return None,
    })
}

/// The profile again with the error of a refused form (nothing changed).
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    e: Error,
    typed: Option<DetailsForm>,
    new_phone: String,
) -> PageResult {
    if !status_of(&e).is_client_error() {
        return Err(e.into());
    }
    let mut errors = FormErrors::from_error(&e, label);
    if e == Error::Conflict(Conflict::AlreadyRegistered) {
        errors = FormErrors::default();
        errors.add(
            "phone",
            "This phone number is another account's login. Use another number.",
        );
    }
    let p = page(state, viewer, user, typed, new_phone, errors).await?;
    Ok(render_status(form_status(&e), &p))
}

/// The details form: every field posted, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
struct DetailsForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    date_of_birth: String,
}

async fn save_details(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<DetailsForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Patient) {
        return Err(PageError::not_found());
    }
    let caller = &form.user.caller;
    let id = caller.patient_id().ok_or_else(PageError::not_found)?;
    let f = form.data.clone();
    let changes = ProfileChanges {
        first_name: Some(f.first_name),
        last_name: Some(f.last_name),
        email: Some(f.email),
        date_of_birth: Some(f.date_of_birth),
        ..ProfileChanges::default()
    };
    match patients::update(&state.clinic, caller, id, &changes).await {
        Ok(_) => Ok(viewer.redirect("/profile", Some(Flash::ProfileSaved))),
        Err(e) => {
            refused(
                &state,
                &viewer,
                &form.user,
                e,
                Some(form.data),
                String::new(),
            )
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct PhoneForm {
    #[serde(default)]
    phone: String,
}

async fn change_phone(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    form: UserForm<PhoneForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Patient) {
        return Err(PageError::not_found());
    }
    let typed = form.data.phone.trim().to_owned();
    match codes::request_phone_change(&state.clinic, &form.user.caller, &typed, &client.0).await {
        Ok(_) => Ok(viewer.redirect("/profile", Some(Flash::PhoneCodeSent))),
        Err(e) => refused(&state, &viewer, &form.user, e, None, typed).await,
    }
}

#[derive(Default, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn confirm_phone(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    form: UserForm<CodeForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Patient) {
        return Err(PageError::not_found());
    }
    match codes::confirm_phone_change(&state.clinic, &form.user.caller, &form.data.code, &client.0)
        .await
    {
        Ok(_) => Ok(viewer.redirect("/profile", Some(Flash::PhoneChanged))),
        Err(e) => refused(&state, &viewer, &form.user, e, None, String::new()).await,
    }
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
