//! The admin's doctor pages: the list, adding and editing a doctor,
//! deactivating and activating one, and their working hours and time off (the
//! doctor's own editor, [`crate::http::pages::doctor::hours`] and
//! [`crate::http::pages::doctor::time_off`], under `/admin/doctors/{id}/...`).

use super::admin_form;
use crate::domain::caller::Role;
use crate::domain::ids::DoctorId;
use crate::domain::person::format_fee;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::affected::{AffectedPanel, PageChoice};
use crate::http::pages::doctor::hours::{HoursCtx, Pairs, post_hours, post_override, show_hours};
use crate::http::pages::doctor::time_off::{Empty, TimeOffForm, delete_time_off, post_time_off};
use crate::http::pages::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use crate::http::pages::flash::Flash;
use crate::http::pages::fmt;
use crate::http::pages::forms::UserForm;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::id_of;
use crate::http::pages::patient::today_in;
use crate::http::pages::render::{render, render_status};
use crate::http::pages::viewer::Viewer;
use crate::usecases::doctors::{self, DoctorChanges, NewDoctorForm};
use crate::usecases::{Conflict, Error};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

pub struct DoctorLine {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub specialty: String,
    pub experience: i32,
    pub timezone: String,
    pub visit: String,
    pub fee: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_doctors.html")]
struct DoctorsPage {
    layout: Layout,
    doctors: Vec<DoctorLine>,
}

pub(super) async fn doctors(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let doctors = doctors::all(&state.clinic, &user.caller)
        .await?
        .into_iter()
        .map(|d| DoctorLine {
            id: d.id.get(),
            name: format!("Dr. {}", d.full_name()),
            email: d.login,
            specialty: d.specialty,
            experience: d.experience_years,
            timezone: d.timezone,
            visit: fmt::minutes(i64::from(d.visit_minutes)),
            fee: format_fee(d.fee_cents),
            active: d.active,
        })
        .collect();
    let page = DoctorsPage {
        layout: viewer.layout("Doctors", "admin-doctors"),
        doctors,
    };
    Ok(render(&page))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoctorForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    specialty: String,
    #[serde(default)]
    experience_years: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    visit_minutes: String,
    #[serde(default)]
    fee: String,
    #[serde(default)]
    affected: String,
    #[serde(default)]
    cancel_reason: String,
}

#[derive(Template)]
#[template(path = "admin_doctor_form.html")]
struct DoctorFormPage {
    layout: Layout,
    id: Option<i64>,
    active: bool,
    heading: String,
    csrf: String,
    form: DoctorForm,
    specialties: Vec<String>,
    zones: Vec<String>,
    errors: FormErrors,
    /// Set when a change was refused because it affects booked visits.
    affected: Option<AffectedPanel>,
}

fn doctor_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "first_name" => "First name",
        "last_name" => "Last name",
        "email" => "Email",
        "password" => "Password",
        "specialty" => "Specialty",
        "experience_years" => "Years of experience",
        "timezone" => "Time zone",
        "visit_minutes" => "Visit length",
        "fee" => "Fee",
        _ => return None,
    })
}

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    id: Option<i64>,
    active: bool,
    form: DoctorForm,
    errors: FormErrors,
) -> Result<DoctorFormPage, PageError> {
    let specialties = doctors::specialties(&state.clinic)
        .await?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let zones = jiff::tz::db()
        .available()
        .map(|z| z.as_str().to_owned())
        .filter(|z| z.contains('/') && !z.starts_with("Etc/"))
        .collect();
    let heading = match id {
        None => "Add a doctor".to_owned(),
        Some(_) => format!("Dr. {} {}", form.first_name, form.last_name),
    };
    Ok(DoctorFormPage {
        layout: viewer.layout(
            if id.is_some() {
                "Edit doctor"
            } else {
                "Add a doctor"
            },
            "admin-doctors",
        ),
        id,
        active,
        heading,
        csrf: user.csrf_token().to_owned(),
        form,
        specialties,
        zones,
        errors,
        affected: None,
    })
}

pub(super) async fn new_doctor(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let form = DoctorForm {
        timezone: viewer.tz_name.clone(),
        visit_minutes: "30".to_owned(),
        ..DoctorForm::default()
    };
    let page = form_page(
        &state,
        &viewer,
        user,
        None,
        true,
        form,
        FormErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

/// A whole number from a form field; a value the API is sure to refuse
/// otherwise, so the field still gets a message.
fn number_or_invalid(s: &str, errors: &mut FormErrors, field: &str, message: &str) -> i32 {
    match s.trim().parse::<i32>() {
        Ok(n) => n,
        Err(_) => {
            errors.add(field, message);
            -1
        }
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<DoctorForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let mut data = form.data;
    let mut page_errors = FormErrors::default();
    let experience_years = number_or_invalid(
        &data.experience_years,
        &mut page_errors,
        "experience_years",
        "Years of experience must be a whole number, e.g. 12",
    );
    let visit = number_or_invalid(
        &data.visit_minutes,
        &mut page_errors,
        "visit_minutes",
        "Visit length must be a number of minutes, e.g. 30",
    );
    let req = NewDoctorForm {
        email: data.email.clone(),
        password: data.password.clone(),
        first_name: data.first_name.clone(),
        last_name: data.last_name.clone(),
        specialty: data.specialty.clone(),
        experience_years,
        timezone: data.timezone.clone(),
        visit_minutes: Some(visit),
        fee: data.fee.clone(),
    };
    match doctors::onboard(&state.clinic, &user.caller, &req).await {
        Ok(row) => Ok(viewer.redirect(
            &format!("/admin/doctors/{}", row.id),
            Some(Flash::DoctorAdded),
        )),
        Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
            let mut errors = FormErrors::from_error(&e, doctor_label);
            if e == Error::Conflict(Conflict::AlreadyRegistered) {
                errors = FormErrors::default();
                errors.add(
                    "email",
                    "This email is already someone's login. Use another one.",
                );
            }
            // The page's own wording wins for fields it could not read.
            for f in page_errors.fields {
                errors.fields.retain(|x| x.field != f.field);
                errors.fields.push(f);
            }
            data.password.clear();
            let page = form_page(&state, &viewer, &user, None, true, data, errors).await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let id = DoctorId::new(id_of(&id)?);
    let d = doctors::visible(&state.clinic, &user.caller, id).await?;
    let form = DoctorForm {
        first_name: d.first_name.clone(),
        last_name: d.last_name.clone(),
        email: d.login.clone(),
        password: String::new(),
        specialty: d.specialty.clone(),
        experience_years: d.experience_years.to_string(),
        timezone: d.timezone.clone(),
        visit_minutes: d.visit_minutes.to_string(),
        fee: format_fee(d.fee_cents),
        ..DoctorForm::default()
    };
    let page = form_page(
        &state,
        &viewer,
        user,
        Some(id.get()),
        d.active,
        form,
        FormErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

pub(super) async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<DoctorForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let id = DoctorId::new(id_of(&id)?);
    let mut data = form.data;
    let mut page_errors = FormErrors::default();
    let experience_years = number_or_invalid(
        &data.experience_years,
        &mut page_errors,
        "experience_years",
        "Years of experience must be a whole number, e.g. 12",
    );
    let req = DoctorChanges {
        first_name: Some(data.first_name.clone()),
        last_name: Some(data.last_name.clone()),
        specialty: Some(data.specialty.clone()),
        experience_years: Some(experience_years),
        timezone: Some(data.timezone.clone()),
        fee: Some(data.fee.clone()),
        active: None,
    };
    let choice = PageChoice::new(&data.affected, &data.cancel_reason);
    match doctors::edit(&state.clinic, &user.caller, id, &req, &choice.on).await {
        Ok(_) => Ok(viewer.redirect(&format!("/admin/doctors/{id}"), Some(Flash::DoctorSaved))),
        Err(e @ Error::Conflict(Conflict::VisitsAffected(_))) => {
            let fields = [
                ("first_name", &data.first_name),
                ("last_name", &data.last_name),
                ("specialty", &data.specialty),
                ("experience_years", &data.experience_years),
                ("timezone", &data.timezone),
                ("fee", &data.fee),
            ]
            .map(|(k, v)| (k.to_owned(), v.clone()));
            let refused = Refused {
                action: format!("/admin/doctors/{id}"),
                fields: &fields,
                what: "The new time zone moves the doctor's wall-clock time of",
                choice: &choice,
            };
            refused.page(&state, &viewer, &user, id, &e).await
        }
        Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
            let mut errors = FormErrors::from_error(&e, doctor_label);
            for f in page_errors.fields {
                errors.fields.retain(|x| x.field != f.field);
                errors.fields.push(f);
            }
            let d = doctors::visible(&state.clinic, &user.caller, id).await?;
            data.email = d.login.clone();
            data.visit_minutes = d.visit_minutes.to_string();
            let page = form_page(
                &state,
                &viewer,
                &user,
                Some(id.get()),
                d.active,
                data,
                errors,
            )
            .await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    active: String,
    #[serde(default)]
    affected: String,
    #[serde(default)]
    cancel_reason: String,
}

/// A change of a doctor refused because it affects booked visits (decision
/// 0022), shown on the doctor's page with the choices.
struct Refused<'a> {
    action: String,
    fields: &'a [(String, String)],
    what: &'static str,
    choice: &'a PageChoice,
}

impl Refused<'_> {
    async fn page(
        &self,
        state: &AppState,
        viewer: &Viewer,
        user: &CurrentUser,
        id: DoctorId,
        e: &Error,
    ) -> PageResult {
        let d = doctors::visible(&state.clinic, &user.caller, id).await?;
        let tz = jiff::tz::TimeZone::get(&d.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        let today = today_in(state, &tz);
        let form = DoctorForm {
            first_name: d.first_name.clone(),
            last_name: d.last_name.clone(),
            email: d.login.clone(),
            specialty: d.specialty.clone(),
            experience_years: d.experience_years.to_string(),
            timezone: d.timezone.clone(),
            visit_minutes: d.visit_minutes.to_string(),
            fee: format_fee(d.fee_cents),
            ..DoctorForm::default()
        };
        let mut page = form_page(
            state,
            viewer,
            user,
            Some(id.get()),
            d.active,
            form,
            FormErrors::default(),
        )
        .await?;
        page.affected = AffectedPanel::of_error(
            e,
            self.action.clone(),
            user.csrf_token(),
            self.fields,
            self.what,
            &tz,
            today,
            self.choice,
        );
        Ok(render_status(StatusCode::CONFLICT, &page))
    }
}

pub(super) async fn set_active(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<ActiveForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let id = DoctorId::new(id_of(&id)?);
    let active = form.data.active == "true";
    let req = DoctorChanges {
        active: Some(active),
        ..DoctorChanges::default()
    };
    let choice = PageChoice::new(&form.data.affected, &form.data.cancel_reason);
    match doctors::edit(&state.clinic, &user.caller, id, &req, &choice.on).await {
        Ok(_) => {}
        Err(e @ Error::Conflict(Conflict::VisitsAffected(_))) => {
            let fields = [("active".to_owned(), form.data.active.clone())];
            let refused = Refused {
                action: format!("/admin/doctors/{id}/active"),
                fields: &fields,
                what: "Deactivating the doctor affects",
                choice: &choice,
            };
            return refused.page(&state, &viewer, &user, id, &e).await;
        }
        Err(e) => return Err(e.into()),
    }
    let flash = if active {
        Flash::DoctorActivated
    } else {
        Flash::DoctorDeactivated
    };
    Ok(viewer.redirect(&format!("/admin/doctors/{id}"), Some(flash)))
}

async fn ctx_for(state: &AppState, user: &CurrentUser, id: &str) -> Result<HoursCtx, PageError> {
    let id = DoctorId::new(id_of(id)?);
    Ok(HoursCtx {
        doctor: doctors::visible(&state.clinic, &user.caller, id).await?,
        base: format!("/admin/doctors/{id}"),
        admin: true,
    })
}

pub(super) async fn hours(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let ctx = ctx_for(&state, user, &id).await?;
    show_hours(&state, &viewer, user, &ctx).await
}

pub(super) async fn save_hours(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Pairs>,
) -> PageResult {
    let user = admin_form(&form)?;
    let ctx = ctx_for(&state, user, &id).await?;
    post_hours(&state, &viewer, user, &ctx, &form.data).await
}

pub(super) async fn add_time_off(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<TimeOffForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let ctx = ctx_for(&state, &user, &id).await?;
    post_time_off(&state, &viewer, &user, &ctx, form.data).await
}

pub(super) async fn remove_time_off(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, tid)): Path<(String, String)>,
    form: UserForm<Empty>,
) -> PageResult {
    let user = admin_form(&form)?;
    let ctx = ctx_for(&state, user, &id).await?;
    delete_time_off(&state, &viewer, user, &ctx, &tid).await
}

pub(super) async fn save_override(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Pairs>,
) -> PageResult {
    let user = admin_form(&form)?;
    let ctx = ctx_for(&state, user, &id).await?;
    post_override(&state, &viewer, user, &ctx, &form.data, false).await
}

pub(super) async fn remove_override(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Pairs>,
) -> PageResult {
    let user = admin_form(&form)?;
    let ctx = ctx_for(&state, user, &id).await?;
    post_override(&state, &viewer, user, &ctx, &form.data, true).await
}
