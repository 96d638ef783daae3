//! Every appointment of the clinic for the admin, filtered by doctor, patient
//! (by phone), status and dates, fifty to a page.

use crate::domain::appointment::Status;
use crate::domain::caller::Role;
use crate::domain::ids::{AppointmentId, DoctorId, PatientId};
use crate::http::AppState;
use crate::http::cursor::{cursor_numbers, encode_cursor};
use crate::http::pages::errors::{FormErrors, PageResult, status_of};
use crate::http::pages::fmt;
use crate::http::pages::forms::PageQuery;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::{Choice, today_in};
use crate::http::pages::render::render_status;
use crate::http::pages::viewer::Viewer;
use crate::usecases::appointments::{self as visits, AppointmentQuery};
use crate::usecases::{Error, doctors, patients};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::Deserialize;

pub struct AdminVisit {
    pub id: i64,
    pub when: String,
    pub doctor: String,
    pub doctor_id: i64,
    pub patient: String,
    /// The patient's stable label (`P-000123`), shown next to the name.
    pub patient_label: String,
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
pub(super) struct Filters {
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

pub(super) async fn appointments(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(f): PageQuery<Filters>,
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
            Ok(d) if crate::domain::reach::date(d) => Some(d),
            Ok(_) => {
                errors.add(field, "Dates must be between the years 1900 and 2199");
                None
            }
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
                        patient_label: a.patient_id.label(),
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
