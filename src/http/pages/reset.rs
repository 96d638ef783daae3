//! A forgotten password (decision 0018): ask for a code with the phone or
//! email one logs in with, then set a new password with it. The same use
//! cases as `POST /api/v1/password-reset` and `.../confirm`; the page after
//! asking is the same whether or not the login is anyone's.

use super::errors::{FormErrors, PageResult, form_status, status_of};
use super::flash::Flash;
use super::forms::AnonForm;
use super::layout::Layout;
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::domain::person::FieldError;
use crate::http::AppState;
use crate::http::extract::ClientAddr;
use crate::usecases::Error;
use crate::usecases::codes::{self, ResetRequest};
use crate::usecases::sessions::Login;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password-reset", get(request_page).post(request))
        .route("/password-reset/confirm", post(confirm))
}

#[derive(Template)]
#[template(path = "reset_request.html")]
struct RequestPage {
    layout: Layout,
    csrf: String,
    login: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    csrf: String,
    login: String,
    errors: FormErrors,
}

/// The login as typed: an email has an `@`, anything else is a phone.
fn login_of(typed: &str) -> Login {
    let typed = typed.trim().to_owned();
    if typed.contains('@') {
        Login::Email(typed)
    } else {
        Login::Phone(typed)
    }
}

/// The use case's errors under the page's fields (`phone` and `email` are
/// the one `login` box here).
fn form_errors(e: &Error) -> FormErrors {
    let label = |field: &str| match field {
        "login" => Some("Phone number or email"),
        "code" => Some("The code"),
        "new_password" => Some("The new password"),
        "new_password_again" => Some("The new password again"),
        _ => None,
    };
    match e {
        Error::Invalid(fields) => {
            let renamed = fields
                .iter()
                .map(|f| match f.field.as_str() {
                    "phone" | "email" => FieldError::new("login", f.message.clone()),
                    _ => f.clone(),
                })
                .collect();
            FormErrors::from_error(&Error::Invalid(renamed), label)
        }
        other => FormErrors::from_error(other, label),
    }
}

async fn request_page(viewer: Viewer) -> PageResult {
    Ok(render(&RequestPage {
        layout: viewer.layout("Forgot your password?", "login"),
        csrf: viewer.anon_csrf.clone(),
        login: String::new(),
        errors: FormErrors::default(),
    }))
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    login: String,
}

async fn request(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    AnonForm(form): AnonForm<RequestForm>,
) -> PageResult {
    let typed = form.login.trim().to_owned();
    let result = if typed.is_empty() {
        Err(Error::invalid("login", "is required"))
    } else {
        codes::request_password_reset(&state.clinic, &login_of(&typed), &client.0).await
    };
    match result {
        Ok(_) => Ok(render(&ConfirmPage {
            layout: viewer.layout("Set a new password", "login"),
            csrf: viewer.anon_csrf.clone(),
            login: typed,
            errors: FormErrors::default(),
        })),
        Err(e) if status_of(&e).is_client_error() => Ok(render_status(
            form_status(&e),
            &RequestPage {
                layout: viewer.layout("Forgot your password?", "login"),
                csrf: viewer.anon_csrf.clone(),
                login: typed,
                errors: form_errors(&e),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    AnonForm(form): AnonForm<ConfirmForm>,
) -> PageResult {
    let typed = form.login.trim().to_owned();
    let result = if form.new_password != form.new_password_again {
        Err(Error::invalid(
            "new_password_again",
            "must be the same as the new password",
        ))
    } else {
        codes::reset_password(
            &state.clinic,
            ResetRequest {
                login: login_of(&typed),
                code: form.code,
                new_password: form.new_password,
                client: client.0,
            },
        )
        .await
    };
    match result {
        Ok(()) => Ok(viewer.redirect("/login", Some(Flash::PasswordReset))),
        Err(e) if status_of(&e).is_client_error() => Ok(render_status(
            form_status(&e),
            &ConfirmPage {
                layout: viewer.layout("Set a new password", "login"),
                csrf: viewer.anon_csrf.clone(),
                login: typed,
                errors: form_errors(&e),
            },
        )),
        Err(e) => Err(e.into()),
    }
}
