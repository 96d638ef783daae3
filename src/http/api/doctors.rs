//! Doctors: the public directory, onboarding by admins, working hours, time off
//! and free slots.

use super::{Page, instant_text, parse_cursor, parse_instant};
use crate::domain::doctor::{Doctor, TimeOff};
use crate::domain::ids::{DoctorId, TimeOffId};
use crate::domain::person::format_fee;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::usecases::doctors::{self, DoctorChanges, NewDoctorForm};
use crate::usecases::schedule::{self, Hours};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_doctors, create_doctor))
        .routes(routes!(get_doctor, update_doctor))
        .routes(routes!(specialties))
        .routes(routes!(get_availability, put_availability))
        .routes(routes!(list_time_off, add_time_off))
        .routes(routes!(delete_time_off))
        .routes(routes!(free_slots))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorView {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub specialty: String,
    pub experience_years: i32,
    /// IANA time zone of the doctor's working hours.
    pub timezone: String,
    pub visit_minutes: i32,
    pub buffer_minutes: i32,
    /// Fee per visit, e.g. `"50.00"`.
    pub fee: String,
    pub active: bool,
    /// The doctor's login; shown to the doctor and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl DoctorView {
    pub fn from_row(d: Doctor, show_login: bool) -> Self {
        Self {
            id: d.id.get(),
            first_name: d.first_name,
            last_name: d.last_name,
            specialty: d.specialty,
            experience_years: d.experience_years,
            timezone: d.timezone,
            visit_minutes: d.visit_minutes,
            buffer_minutes: d.buffer_minutes,
            fee: format_fee(d.fee_cents),
            active: d.active,
            email: show_login.then_some(d.login),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorQuery {
    /// Exact specialty, any case.
    pub specialty: Option<String>,
    /// Part of the doctor's name.
    pub q: Option<String>,
    /// Admins only: include deactivated doctors.
    pub include_inactive: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Find doctors (public).
#[utoipa::path(
    get, path = "/doctors", tag = "doctors",
    params(DoctorQuery),
    responses(
        (status = 200, body = Page<DoctorView>),
    )
)]
pub async fn list_doctors(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiQuery(q): ApiQuery<DoctorQuery>,
) -> ApiResult<Json<Page<DoctorView>>> {
    let caller = CurrentUser::caller_of(user.as_ref());
    let query = doctors::DoctorQuery {
        specialty: q.specialty,
        q: q.q,
        include_inactive: q.include_inactive.unwrap_or(false),
        after: parse_cursor(q.cursor.as_deref())?
            .and_then(|c| c.first().copied())
            .map(DoctorId::new),
        limit: q.limit,
    };
    let found = doctors::find(&state.clinic, &caller, &query).await?;
    let items = found
        .items
        .into_iter()
        .map(|d| DoctorView::from_row(d, caller.is_admin()))
        .collect::<Vec<_>>();
    let next_cursor = if found.more {
        items.last().map(|d| super::encode_cursor(&[d.id]))
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

/// One doctor (public).
#[utoipa::path(
    get, path = "/doctors/{id}", tag = "doctors",
    params(("id" = i64, Path, description = "Doctor id")),
    responses(
        (status = 200, body = DoctorView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_doctor(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DoctorView>> {
    let caller = CurrentUser::caller_of(user.as_ref());
    let id = DoctorId::new(id);
    let d = doctors::visible(&state.clinic, &caller, id).await?;
    Ok(Json(DoctorView::from_row(
        d,
        doctors::shows_login(&caller, id),
    )))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Specialty {
    pub name: String,
    pub doctors: i64,
}

/// Specialties practised by active doctors (public).
#[utoipa::path(
    get, path = "/specialties", tag = "doctors",
    responses((status = 200, body = Page<Specialty>))
)]
pub async fn specialties(State(state): State<AppState>) -> ApiResult<Json<Page<Specialty>>> {
    let items = doctors::specialties(&state.clinic)
        .await?
        .into_iter()
        .map(|(name, doctors)| Specialty { name, doctors })
        .collect();
    Ok(Json(Page::all(items)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateDoctor {
    /// The doctor's login.
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub specialty: String,
    pub experience_years: i32,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Default 30.
    pub visit_minutes: Option<i32>,
    /// e.g. `"50.00"`.
    pub fee: String,
}

/// Onboard a doctor with their login (admins).
#[utoipa::path(
    post, path = "/doctors", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateDoctor,
    responses(
        (status = 201, body = DoctorView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email already used (`already_registered`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_doctor(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CreateDoctor>,
) -> ApiResult<(StatusCode, Json<DoctorView>)> {
    let form = NewDoctorForm {
        email: req.email,
        password: req.password,
        first_name: req.first_name,
        last_name: req.last_name,
        specialty: req.specialty,
        experience_years: req.experience_years,
        timezone: req.timezone,
        visit_minutes: req.visit_minutes,
        fee: req.fee,
    };
    let row = doctors::onboard(&state.clinic, &user.caller, &form).await?;
    Ok((StatusCode::CREATED, Json(DoctorView::from_row(row, true))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateDoctor {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub specialty: Option<String>,
    pub experience_years: Option<i32>,
    pub timezone: Option<String>,
    pub fee: Option<String>,
    /// `false` deactivates the doctor: hidden from patients, login disabled.
    pub active: Option<bool>,
}

/// Edit or deactivate a doctor (admins).
#[utoipa::path(
    patch, path = "/doctors/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    request_body = UpdateDoctor,
    responses(
        (status = 200, body = DoctorView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_doctor(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateDoctor>,
) -> ApiResult<Json<DoctorView>> {
    let changes = DoctorChanges {
        first_name: req.first_name,
        last_name: req.last_name,
        specialty: req.specialty,
        experience_years: req.experience_years,
        timezone: req.timezone,
        fee: req.fee,
        active: req.active,
    };
    let row = doctors::edit(&state.clinic, &user.caller, DoctorId::new(id), &changes).await?;
    Ok(Json(DoctorView::from_row(row, true)))
}

// ---------------------------------------------------------------------------
// Working hours

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoursInterval {
    /// `monday` .. `sunday`.
    pub weekday: String,
    /// `HH:MM`, local to the doctor's time zone.
    pub start: String,
    /// `HH:MM` (`24:00` for midnight at the end of the day).
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OverrideDay {
    /// `YYYY-MM-DD`, the doctor's local date.
    pub date: String,
    /// The hours that day instead of the weekly ones; empty = closed.
    pub intervals: Vec<TimeRange>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AvailabilityDoc {
    pub visit_minutes: i32,
    /// Gap after each visit, minutes.
    #[serde(default)]
    pub buffer_minutes: i32,
    pub weekly: Vec<HoursInterval>,
    #[serde(default)]
    pub overrides: Vec<OverrideDay>,
}

impl From<Hours> for AvailabilityDoc {
    fn from(h: Hours) -> Self {
        Self {
            visit_minutes: h.visit_minutes,
            buffer_minutes: h.buffer_minutes,
            weekly: h
                .weekly
                .into_iter()
                .map(|w| HoursInterval {
                    weekday: w.weekday,
                    start: w.start,
                    end: w.end,
                })
                .collect(),
            overrides: h
                .overrides
                .into_iter()
                .map(|o| OverrideDay {
                    date: o.date,
                    intervals: o
                        .intervals
                        .into_iter()
                        .map(|(start, end)| TimeRange { start, end })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<AvailabilityDoc> for Hours {
    fn from(d: AvailabilityDoc) -> Self {
        Self {
            visit_minutes: d.visit_minutes,
            buffer_minutes: d.buffer_minutes,
            weekly: d
                .weekly
                .into_iter()
                .map(|w| schedule::HoursInterval {
                    weekday: w.weekday,
                    start: w.start,
                    end: w.end,
                })
                .collect(),
            overrides: d
                .overrides
                .into_iter()
                .map(|o| schedule::OverrideDay {
                    date: o.date,
                    intervals: o.intervals.into_iter().map(|r| (r.start, r.end)).collect(),
                })
                .collect(),
        }
    }
}

/// A doctor's working hours and visit length (public).
#[utoipa::path(
    get, path = "/doctors/{id}/availability", tag = "doctors",
    params(("id" = i64, Path, description = "Doctor id")),
    responses(
        (status = 200, body = AvailabilityDoc),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_availability(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AvailabilityDoc>> {
    let caller = CurrentUser::caller_of(user.as_ref());
    let hours = schedule::hours(&state.clinic, &caller, DoctorId::new(id)).await?;
    Ok(Json(hours.into()))
}

/// Replace working hours, overrides and visit length (the doctor or an admin).
#[utoipa::path(
    put, path = "/doctors/{id}/availability", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    request_body = AvailabilityDoc,
    responses(
        (status = 200, body = AvailabilityDoc),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_availability(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(doc): ApiJson<AvailabilityDoc>,
) -> ApiResult<Json<AvailabilityDoc>> {
    let id = DoctorId::new(id);
    let hours = schedule::set_hours(&state.clinic, &user.caller, id, &doc.into()).await?;
    Ok(Json(hours.into()))
}

// ---------------------------------------------------------------------------
// Time off

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimeOffView {
    pub id: i64,
    pub start: String,
    pub end: String,
    pub reason: Option<String>,
}

impl From<TimeOff> for TimeOffView {
    fn from(t: TimeOff) -> Self {
        Self {
            id: t.id.get(),
            start: instant_text(t.start_at),
            end: instant_text(t.end_at),
            reason: t.reason,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTimeOff {
    /// RFC 3339 with offset.
    pub start: String,
    pub end: String,
    pub reason: Option<String>,
}

/// A doctor's current and future time off (the doctor or an admin).
#[utoipa::path(
    get, path = "/doctors/{id}/time-off", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    responses(
        (status = 200, body = Page<TimeOffView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_time_off(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<TimeOffView>>> {
    let rows = schedule::time_off(&state.clinic, &user.caller, DoctorId::new(id)).await?;
    Ok(Json(Page::all(
        rows.into_iter().map(TimeOffView::from).collect(),
    )))
}

/// Add time off (the doctor or an admin). Existing bookings are kept.
#[utoipa::path(
    post, path = "/doctors/{id}/time-off", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    request_body = NewTimeOff,
    responses(
        (status = 201, body = TimeOffView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_time_off(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<NewTimeOff>,
) -> ApiResult<(StatusCode, Json<TimeOffView>)> {
    let new = schedule::NewTimeOff {
        start: parse_instant("start", &req.start)?,
        end: parse_instant("end", &req.end)?,
        reason: req.reason,
    };
    let id = DoctorId::new(id);
    let row = schedule::add_time_off(&state.clinic, &user.caller, id, &new).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Remove time off (the doctor or an admin).
#[utoipa::path(
    delete, path = "/doctors/{id}/time-off/{time_off_id}", tag = "doctors",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Doctor id"),
        ("time_off_id" = i64, Path, description = "Time-off id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_time_off(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((id, time_off_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let (id, time_off_id) = (DoctorId::new(id), TimeOffId::new(time_off_id));
    schedule::remove_time_off(&state.clinic, &user.caller, id, time_off_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// RFC 3339; default now.
    pub from: Option<String>,
    /// RFC 3339; default `from` + 14 days; at most 62 days after `from`.
    pub to: Option<String>,
}

/// A free slot. The instants are written as RFC 3339 in UTC straight into the
/// response (no string per field: a page has hundreds of them).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    #[serde(serialize_with = "super::serialize_instant")]
    #[schema(value_type = String)]
    pub start: Timestamp,
    #[serde(serialize_with = "super::serialize_instant")]
    #[schema(value_type = String)]
    pub end: Timestamp,
}

/// A doctor's free slots (public).
#[utoipa::path(
    get, path = "/doctors/{id}/slots", tag = "doctors",
    params(("id" = i64, Path, description = "Doctor id"), SlotQuery),
    responses(
        (status = 200, body = Page<SlotView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn free_slots(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<SlotQuery>,
) -> ApiResult<Json<Page<SlotView>>> {
    let from = q
        .from
        .as_deref()
        .map(|s| parse_instant("from", s))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|s| parse_instant("to", s))
            .transpose()?;
    let caller = CurrentUser::caller_of(user.as_ref());
    let items = schedule::free_slots(&state.clinic, &caller, DoctorId::new(id), from, to)
        .await?
        .into_iter()
        .map(|p| SlotView {
            start: p.start,
            end: p.end,
        })
        .collect();
    Ok(Json(Page::all(items)))
}
