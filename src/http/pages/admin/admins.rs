//! The admin accounts: the list, adding one, and turning one off or on again
//! (never one's own, never the last active admin).

use super::admin_form;
use crate::domain::caller::Role;
use crate::domain::ids::AccountId;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::errors::{FormErrors, PageResult, form_status, status_of};
use crate::http::pages::flash::Flash;
use crate::http::pages::fmt;
use crate::http::pages::forms::UserForm;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::id_of;
use crate::http::pages::render::{render, render_status};
use crate::http::pages::viewer::Viewer;
use crate::usecases::admin::{self, NewAdminForm};
use crate::usecases::{Conflict, Error};
use askama::Template;
use axum::extract::{Path, State};
use serde::Deserialize;

pub struct AdminLine {
    pub id: i64,
    pub email: String,
    pub active: bool,
    pub demo: bool,
    pub you: bool,
    pub since: String,
}

#[derive(Template)]
#[template(path = "admin_admins.html")]
struct AdminsPage {
    layout: Layout,
    csrf: String,
    admins: Vec<AdminLine>,
    email: String,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    email: String,
    errors: FormErrors,
) -> Result<AdminsPage, crate::http::pages::errors::PageError> {
    let tz = viewer.tz.clone();
    let admins = admin::admins(&state.clinic, &user.caller)
        .await?
        .into_iter()
        .map(|a| AdminLine {
            id: a.id.get(),
            email: a.email,
            active: a.active,
            demo: a.demo,
            you: a.you,
            since: fmt::date_time(&fmt::zoned(a.created_at, &tz)),
        })
        .collect();
    Ok(AdminsPage {
        layout: viewer.layout_tz("Admins", "admin-admins"),
        csrf: user.csrf_token().to_owned(),
        admins,
        email,
        errors,
    })
}

pub(super) async fn admins_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let p = page(&state, &viewer, user, String::new(), FormErrors::default()).await?;
    Ok(render(&p))
}

pub(super) async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<AddForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let req = NewAdminForm {
        email: form.data.email.clone(),
        password: form.data.password.clone(),
    };
    match admin::add_admin(&state.clinic, &user.caller, &req).await {
        Ok(_) => Ok(viewer.redirect("/admin/admins", Some(Flash::AdminAdded))),
        Err(e) if status_of(&e).is_client_error() => {
            let mut errors = FormErrors::from_error(&e, |f| match f {
                "email" => Some("Email"),
                "password" => Some("Password"),
                _ => None,
            });
            if e == Error::Conflict(Conflict::AlreadyRegistered) {
                errors = FormErrors::default();
                errors.add(
                    "email",
                    "This email is already someone's login. Use another one.",
                );
            }
            let p = page(
                &state,
                &viewer,
                &user,
                form.data.email.trim().to_owned(),
                errors,
            )
            .await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    active: String,
}

pub(super) async fn set_active(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<ActiveForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let id = AccountId::new(id_of(&id)?);
    let active = form.data.active == "true";
    match admin::set_admin_active(&state.clinic, &user.caller, id, active).await {
        Ok(()) => {
            let flash = if active {
                Flash::AdminActivated
            } else {
                Flash::AdminDeactivated
            };
            Ok(viewer.redirect("/admin/admins", Some(flash)))
        }
        Err(e @ Error::Refused(_)) => {
            let p = page(
                &state,
                &viewer,
                &user,
                String::new(),
                FormErrors::alert(e.detail()),
            )
            .await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}
