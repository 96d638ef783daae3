//! The doctor's pages: the week calendar (`week.rs`) with the doctor's
//! calendar subscription (its feed URL, and a new one), and the working hours
//! editor (`hours.rs`) with time off (`time_off.rs`) and a preview of the slots
//! they produce. Admins reach the same editor for any doctor under
//! `/admin/doctors/{id}/...`.

pub mod hours;
pub mod time_off;
mod week;

use crate::domain::caller::Role;
use crate::domain::doctor::Doctor;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::calendar::{self, RotateForm};
use crate::http::pages::errors::{PageError, PageResult};
use crate::http::pages::forms::UserForm;
use crate::http::pages::viewer::Viewer;
use crate::usecases::{Caller, doctors};
use axum::Router;
use axum::routing::{get, post};
use hours::HoursCtx;
use jiff::tz::TimeZone;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/doctor", get(doctor_home))
        .route("/doctor/week", get(week::week))
        .route(
            "/doctor/hours",
            get(hours::own_hours).post(hours::save_own_hours),
        )
        .route("/doctor/time-off", post(time_off::add_own_time_off))
        .route("/doctor/overrides", post(hours::save_own_override))
        .route("/doctor/overrides/delete", post(hours::remove_own_override))
        .route("/doctor/calendar", post(new_calendar_link))
        .route(
            "/doctor/time-off/{tid}/delete",
            post(time_off::remove_own_time_off),
        )
}

/// "Get a new link" of the week page's calendar card: the old feed URL
/// stops working.
async fn new_calendar_link(
    axum::extract::State(state): axum::extract::State<AppState>,
    viewer: Viewer,
    form: UserForm<RotateForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Doctor) {
        return Err(PageError::not_found());
    }
    calendar::rotate(&state, &viewer, &form, "/doctor/week").await
}

async fn doctor_home(viewer: Viewer) -> PageResult {
    viewer.require(Role::Doctor)?;
    Ok(viewer.redirect("/doctor/week", None))
}

/// The signed-in doctor's own record.
async fn own_doctor(state: &AppState, user: &CurrentUser) -> Result<Doctor, PageError> {
    let Caller::Doctor { doctor, .. } = user.caller else {
        return Err(PageError::not_found());
    };
    Ok(doctors::visible(&state.clinic, &user.caller, doctor).await?)
}

fn zone_of(d: &Doctor) -> TimeZone {
    TimeZone::get(&d.timezone).unwrap_or(TimeZone::UTC)
}

/// The editor of the signed-in doctor's own hours.
async fn own_ctx(state: &AppState, user: &CurrentUser) -> Result<HoursCtx, PageError> {
    Ok(HoursCtx {
        doctor: own_doctor(state, user).await?,
        base: "/doctor".to_owned(),
        admin: false,
    })
}
