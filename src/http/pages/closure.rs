//! Closing a patient's account (`/account/close`, decision 0020): what
//! happens, and a form that confirms it with the password. The same use
//! case as `POST /api/v1/me/close`.

use super::errors::{FormErrors, PageResult, form_status};
use super::flash::Flash;
use super::forms::UserForm;
use super::layout::Layout;
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::extract::session_cookie;
use crate::usecases::patient_data;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/account/close", get(close_page).post(close))
}

#[derive(Template)]
#[template(path = "close_account.html")]
struct ClosePage {
    layout: Layout,
    csrf: String,
    errors: FormErrors,
}

async fn close_page(viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Patient)?;
    Ok(render(&ClosePage {
        layout: viewer.layout("Close your account", "profile"),
        csrf: user.csrf_token().to_owned(),
        errors: FormErrors::default(),
    }))
}

#[derive(Default, Deserialize)]
struct CloseForm {
    #[serde(default)]
    password: String,
}

async fn close(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<CloseForm>,
) -> PageResult {
    let user = &form.user;
    if user.role() != Some(Role::Patient) {
        return Err(super::errors::PageError::not_found());
    }
    match patient_data::close(&state.clinic, &user.session, &form.data.password).await {
        Ok(_) => {
            let secure = state.clinic.settings().secure_cookies;
            let mut res = viewer.redirect("/login", Some(Flash::AccountClosed));
            if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, secure)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(e) if super::errors::status_of(&e).is_client_error() => {
            let label = |field: &str| (field == "password").then_some("Your password");
            let errors = FormErrors::from_error(&e, label);
            let page = ClosePage {
                layout: viewer.layout("Close your account", "profile"),
                csrf: user.csrf_token().to_owned(),
                errors,
            };
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}
