//! The account page (`/account`, every role): change the password, see the
//! account's live sessions and end one or all others (decision 0017). The
//! same use cases as `POST /api/v1/me/password` and `/api/v1/sessions`.

use super::errors::{FormErrors, PageResult, form_status};
use super::flash::Flash;
use super::fmt;
use super::forms::UserForm;
use super::layout::Layout;
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::usecases::{Error, sessions};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_others))
}

/// One session as the page lists it.
pub struct SessionLine {
    pub id: String,
    pub device: String,
    pub address: String,
    pub created: String,
    pub last_used: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    csrf: String,
    login: String,
    sessions: Vec<SessionLine>,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    errors: FormErrors,
) -> Result<AccountPage, Error> {
    let today = fmt::zoned(state.clinic.now(), &viewer.tz).date();
    let when = |t| fmt::when(&fmt::zoned(t, &viewer.tz), today);
    let sessions = sessions::list(&state.clinic, &user.session)
        .await?
        .into_iter()
        .map(|s| SessionLine {
            id: s.id,
            device: s.device.unwrap_or_else(|| "Unknown device".into()),
            address: s.address.unwrap_or_default(),
            created: when(s.created),
            last_used: s.last_used.map(when).unwrap_or_default(),
            current: s.current,
        })
        .collect();
    Ok(AccountPage {
        layout: viewer.layout("Account", "account"),
        csrf: user.csrf_token().to_owned(),
        login: user.login.clone(),
        sessions,
        errors,
    })
}

async fn account(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.signed_in()?;
    Ok(render(
        &page(&state, &viewer, user, FormErrors::default()).await?,
    ))
}

#[derive(Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<PasswordForm>,
) -> PageResult {
    let user = &form.user;
    let f = &form.data;
    let label = |field: &str| match field {
        "current_password" => Some("Current password"),
        "new_password" => Some("New password"),
        "new_password_again" => Some("New password again"),
        _ => None,
    };
    let result = if f.new_password != f.new_password_again {
        Err(Error::invalid(
            "new_password_again",
            "must be the same as the new password",
        ))
    } else {
        sessions::change_password(
            &state.clinic,
            &user.session,
            &f.current_password,
            &f.new_password,
        )
        .await
    };
    match result {
        Ok(()) => Ok(viewer.redirect("/account", Some(Flash::PasswordChanged))),
        Err(e) if super::errors::status_of(&e).is_client_error() => {
            let errors = FormErrors::from_error(&e, label);
            let p = page(&state, &viewer, user, errors).await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Default, Deserialize)]
struct Empty {}

async fn end_session(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Empty>,
) -> PageResult {
    let current = sessions::list(&state.clinic, &form.user.session)
        .await?
        .into_iter()
        .any(|s| s.current && s.id == id);
    sessions::end(&state.clinic, &form.user.session, &id).await?;
    if current {
        return Ok(viewer.redirect("/login", Some(Flash::LoggedOut)));
    }
    Ok(viewer.redirect("/account", Some(Flash::SessionEnded)))
}

async fn end_others(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Empty>,
) -> PageResult {
    sessions::end_others(&state.clinic, &form.user.session).await?;
    Ok(viewer.redirect("/account", Some(Flash::OtherSessionsEnded)))
}
