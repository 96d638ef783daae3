//! The admin's pages: the clinic dashboard, doctors (list, add, edit,
//! deactivate, their hours), and every appointment with filters.

use super::charts::{ColumnChart, Segment, Share, stacked};
use super::doctor::{
    Empty, HoursCtx, Pairs, TimeOffForm, delete_time_off, post_hours, post_time_off, show_hours,
};
use super::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use super::flash::Flash;
use super::fmt;
use super::forms::UserForm;
use super::layout::Layout;
use super::patient::{Choice, id_of, today_in};
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::domain::appointment::Status;
use crate::domain::caller::Role;
use crate::domain::ids::DoctorId;
use crate::domain::ids::{AppointmentId, PatientId};
use crate::domain::person::format_fee;
use crate::http::AppState;
use crate::http::cursor::{cursor_numbers, encode_cursor};
use crate::http::extract::CurrentUser;
use crate::usecases::appointments::{self as visits, AppointmentQuery};
use crate::usecases::doctors::{self, DoctorChanges, NewDoctorForm};
use crate::usecases::{Conflict, Error, clinic, patients};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::civil::Date;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/doctors", get(doctors).post(create))
        .route("/admin/doctors/new", get(new_doctor))
        .route("/admin/doctors/{id}", get(edit_page).post(update))
        .route("/admin/doctors/{id}/active", post(set_active))
        .route("/admin/doctors/{id}/hours", get(hours).post(save_hours))
        .route("/admin/doctors/{id}/time-off", post(add_time_off))
        .route(
            "/admin/doctors/{id}/time-off/{tid}/delete",
            post(remove_time_off),
        )
        .route("/admin/appointments", get(appointments))
}

fn admin_form<T>(form: &UserForm<T>) -> Result<&CurrentUser, PageError> {
    if form.user.role() == Some(Role::Admin) {
        Ok(&form.user)
    } else {
        Err(PageError::not_found())
    }
}

// ---------------------------------------------------------------------------
// Dashboard

pub struct Kpi {
    pub value: String,
    pub label: &'static str,
    pub note: String,
}

pub struct UtilRow {
    pub name: String,
    pub specialty: String,
    pub past: Share,
    pub past_note: String,
    pub next: Share,
    pub next_note: String,
}

pub struct DayRow {
    pub date: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    kpis: Vec<Kpi>,
    chart: ColumnChart,
    days: Vec<DayRow>,
    bookings_total: i64,
    util: Vec<UtilRow>,
    mix: Vec<Segment>,
    mix_total: i64,
    cancel: Share,
    no_show: Share,
}

fn hours_text(secs: i64) -> String {
    let h = secs as f64 / 3600.0;
    if h >= 10.0 {
        format!("{h:.0} h")
    } else {
        format!("{h:.1} h")
    }
}

fn share(r: clinic::Ratio) -> Share {
    Share::of(r.part, r.whole)
}

async fn dashboard(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let figures = clinic::dashboard(&state.clinic, &user.caller, &viewer.tz).await?;
    let mut days = Vec::new();
    let mut points = Vec::new();
    let mut bookings_total = 0;
    for &(d, count) in &figures.bookings_per_day {
        bookings_total += count;
        points.push((
            d.strftime("%-d %b").to_string(),
            format!(
                "{}: {count} booking{}",
                fmt::short_date(d),
                if count == 1 { "" } else { "s" }
            ),
            count,
        ));
        days.push(DayRow {
            date: fmt::short_date(d),
            count,
        });
    }
    let m = figures.mix;
    let mix_total = m.total();
    let mix = stacked(&[
        ("Completed", "seg-completed", m.completed),
        ("No-show", "seg-noshow", m.no_show),
        ("Cancelled", "seg-cancelled", m.cancelled),
        ("Not closed yet", "seg-open", m.open),
    ]);
    let cancel = share(figures.cancellation_rate);
    let no_show_share = share(figures.no_show_rate);
    let util = figures
        .utilization
        .iter()
        .map(|u| UtilRow {
            name: format!("Dr. {}", u.doctor.full_name()),
            specialty: u.doctor.specialty.clone(),
            past: share(u.past),
            past_note: format!(
                "{} of {}",
                hours_text(u.past.part),
                hours_text(u.past.whole)
            ),
            next: share(u.next),
            next_note: format!(
                "{} of {}",
                hours_text(u.next.part),
                hours_text(u.next.whole)
            ),
        })
        .collect();
    let kpis = vec![
        Kpi {
            value: bookings_total.to_string(),
            label: "bookings made",
            note: "last 30 days".to_owned(),
        },
        Kpi {
            value: figures.upcoming.to_string(),
            label: "upcoming visits",
            note: format!(
                "next 14 days, {} booked",
                hours_text(figures.upcoming_seconds)
            ),
        },
        Kpi {
            value: cancel.label.clone(),
            label: "cancellation rate",
            note: format!("{} of {mix_total} visits, last 30 days", m.cancelled),
        },
        Kpi {
            value: no_show_share.label.clone(),
            label: "no-show rate",
            note: format!("{} of {} held visits", m.no_show, m.held()),
        },
    ];
    let page = DashboardPage {
        layout: viewer.layout_tz("Dashboard", "dashboard"),
        kpis,
        chart: ColumnChart::new(&points, 5),
        days,
        bookings_total,
        util,
        mix,
        mix_total,
        cancel,
        no_show: no_show_share,
    };
    Ok(render(&page))
}

// ---------------------------------------------------------------------------
// Doctors

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

async fn doctors(State(state): State<AppState>, viewer: Viewer) -> PageResult {
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
struct DoctorForm {
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
    })
}

async fn new_doctor(State(state): State<AppState>, viewer: Viewer) -> PageResult {
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

async fn create(
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

async fn edit_page(
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

async fn update(
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
    match doctors::edit(&state.clinic, &user.caller, id, &req).await {
        Ok(_) => Ok(viewer.redirect(&format!("/admin/doctors/{id}"), Some(Flash::DoctorSaved))),
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
struct ActiveForm {
    #[serde(default)]
    active: String,
}

async fn set_active(
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
    doctors::edit(&state.clinic, &user.caller, id, &req).await?;
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

async fn hours(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let ctx = ctx_for(&state, user, &id).await?;
    show_hours(&state, &viewer, user, &ctx).await
}

async fn save_hours(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Pairs>,
) -> PageResult {
    let user = admin_form(&form)?;
    let ctx = ctx_for(&state, user, &id).await?;
    post_hours(&state, &viewer, user, &ctx, &form.data).await
}

async fn add_time_off(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<TimeOffForm>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let ctx = ctx_for(&state, &user, &id).await?;
    post_time_off(&state, &viewer, &user, &ctx, form.data).await
}

async fn remove_time_off(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, tid)): Path<(String, String)>,
    form: UserForm<Empty>,
) -> PageResult {
    let user = admin_form(&form)?;
    let ctx = ctx_for(&state, user, &id).await?;
    delete_time_off(&state, &viewer, user, &ctx, &tid).await
}

// ---------------------------------------------------------------------------
// All appointments

pub struct AdminVisit {
    pub id: i64,
    pub when: String,
    pub doctor: String,
    pub doctor_id: i64,
    pub patient: String,
    pub patient_id: i64,
    pub status: &'static str,
    pub status_class: &'static str,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "admin_appointments.html")]
struct AppointmentsPage {
    layout: Layout,
    doctors: Vec<Choice>,
    statuses: Vec<Choice>,
    patient: String,
    from: String,
    to: String,
    filtered: bool,
    visits: Vec<AdminVisit>,
    next: Option<String>,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    doctor: Option<String>,
    patient: Option<String>,
    patient_id: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

const STATUSES: [(&str, &str); 5] = [
    ("booked", "Booked"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
    ("no_show", "No-show"),
    ("cancelled", "Cancelled"),
];

async fn appointments(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let tz = viewer.tz.clone();
    let mut errors = FormErrors::default();
    let nonempty = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let doctor_id = nonempty(&f.doctor).and_then(|d| d.parse::<i64>().ok());
    let status = nonempty(&f.status).filter(|s| STATUSES.iter().any(|(k, _)| k == s));
    let patient_text = nonempty(&f.patient).unwrap_or_default();
    let mut patient_id = nonempty(&f.patient_id).and_then(|p| p.parse::<i64>().ok());
    let mut no_match = false;
    if !patient_text.is_empty() {
        match patients::find_by_phone(&state.clinic, &user.caller, &patient_text).await {
            Ok(Some(id)) => patient_id = Some(id.get()),
            Ok(None) => no_match = true,
            Err(Error::Invalid(_)) => {
                errors.add("patient", "Patient phone is not a valid phone number")
            }
            Err(e) => return Err(e.into()),
        }
    }
    let date = |field: &str, v: &Option<String>, errors: &mut FormErrors| -> Option<Date> {
        let s = nonempty(v)?;
        match s.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(field, "Dates must be written YYYY-MM-DD");
                None
            }
        }
    };
    let from = date("from", &f.from, &mut errors);
    let to = date("to", &f.to, &mut errors);
    let filtered = doctor_id.is_some()
        || status.is_some()
        || !patient_text.is_empty()
        || patient_id.is_some()
        || from.is_some()
        || to.is_some();
    let mut visits = Vec::new();
    let mut next = None;
    if errors.is_empty() && !no_match {
        let after = nonempty(&f.cursor)
            .as_deref()
            .and_then(cursor_numbers)
            .and_then(|c| match c.as_slice() {
                [start, id] => Some((
                    jiff::Timestamp::from_second(*start).ok()?,
                    AppointmentId::new(*id),
                )),
                _ => None,
            });
        let q = AppointmentQuery {
            statuses: status
                .as_deref()
                .and_then(Status::parse)
                .into_iter()
                .collect(),
            from: from.map(|d| fmt::start_of(d, &tz)),
            to: to.map(|d| fmt::start_of(fmt::add_days(d, 1), &tz)),
            doctor_id: doctor_id.map(DoctorId::new),
            patient_id: patient_id.map(PatientId::new),
            after,
            limit: Some(50),
        };
        match visits::list(&state.clinic, &user.caller, &q).await {
            Ok(found) => {
                let rows = found.items;
                if found.more {
                    next = rows.last().map(|a| {
                        format!(
                            "/admin/appointments?doctor={}&patient={}&patient_id={}&status={}&from={}&to={}&cursor={}",
                            doctor_id.map(|d| d.to_string()).unwrap_or_default(),
                            fmt::url_encode(&patient_text),
                            patient_id.map(|d| d.to_string()).unwrap_or_default(),
                            status.clone().unwrap_or_default(),
                            from.map(|d| d.to_string()).unwrap_or_default(),
                            to.map(|d| d.to_string()).unwrap_or_default(),
                            encode_cursor(&[a.start_at.as_second(), a.id.get()]),
                        )
                    });
                }
                let today = today_in(&state, &tz);
                visits = rows
                    .iter()
                    .map(|a| AdminVisit {
                        id: a.id.get(),
                        when: fmt::when(&fmt::zoned(a.start_at, &tz), today),
                        doctor: format!("Dr. {}", a.doctor_name()),
                        doctor_id: a.doctor_id.get(),
                        patient: a.patient_name(),
                        patient_id: a.patient_id.get(),
                        status: fmt::status_label(a.status),
                        status_class: fmt::status_class(a.status),
                        reason: a.reason.clone().unwrap_or_default(),
                    })
                    .collect();
            }
            Err(e) if status_of(&e).is_client_error() => {
                errors = FormErrors::from_error(&e, |_| None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let doctors = doctors::all(&state.clinic, &user.caller)
        .await?
        .into_iter()
        .map(|d| Choice {
            selected: Some(d.id.get()) == doctor_id,
            label: format!(
                "Dr. {}{}",
                d.full_name(),
                if d.active { "" } else { " (inactive)" }
            ),
            value: d.id.to_string(),
        })
        .collect();
    let statuses = STATUSES
        .iter()
        .map(|(k, l)| Choice {
            value: (*k).to_owned(),
            label: (*l).to_owned(),
            selected: status.as_deref() == Some(*k),
        })
        .collect();
    let status_code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AppointmentsPage {
        layout: viewer.layout_tz("All appointments", "admin-appointments"),
        doctors,
        statuses,
        patient: patient_text,
        from: from
            .map(|d| d.to_string())
            .unwrap_or_else(|| nonempty(&f.from).unwrap_or_default()),
        to: to
            .map(|d| d.to_string())
            .unwrap_or_else(|| nonempty(&f.to).unwrap_or_default()),
        filtered,
        visits,
        next,
        errors,
    };
    Ok(render_status(status_code, &page))
}
