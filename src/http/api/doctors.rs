//! Doctors: the public directory, onboarding by admins, working hours, time off
//! and free slots.

use super::schema::Weekday;
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
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Find doctors (public).
#[utoipa::path(
    get, path = "/doctors", tag = "doctors",
    params(DoctorQuery),
    responses(
        (status = 200, description = "One page of doctors, by id", body = Page<DoctorView>),
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
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    responses(
        (status = 200, description = "The doctor", body = DoctorView),
        (status = 404, description = "No such doctor (or deactivated, for patients)", body = Problem, content_type = "application/problem+json"),
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
    responses((status = 200, description = "Every specialty with its number of active doctors, in one page", body = Page<Specialty>))
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
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "ana.lopez@clinic.example", "password": "a long doctor password",
    "first_name": "Ana", "last_name": "Lopez", "specialty": "Dermatology",
    "experience_years": 12, "timezone": "Europe/Madrid", "visit_minutes": 20,
    "fee": "65.00"
}))]
pub struct CreateDoctor {
    /// The doctor's login.
    #[schema(format = Email, max_length = 254, example = "ana.lopez@clinic.example")]
    pub email: String,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub first_name: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub last_name: String,
    #[schema(
        min_length = 2,
        max_length = 60,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        example = "Cardiology"
    )]
    pub specialty: String,
    #[schema(minimum = 0, maximum = 80)]
    pub experience_years: i32,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[schema(
        format = "iana-time-zone",
        max_length = 64,
        pattern = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
        example = "Europe/Berlin"
    )]
    pub timezone: String,
    /// Default 30.
    #[schema(minimum = 5, maximum = 240)]
    pub visit_minutes: Option<i32>,
    /// e.g. `"50.00"`.
    #[schema(pattern = r"^\s*[0-9]{1,9}(\.[0-9]{0,2})?\s*$", example = "50.00")]
    pub fee: String,
}

/// Onboard a doctor with their login (admins).
#[utoipa::path(
    post, path = "/doctors", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateDoctor,
    responses(
        (status = 201, description = "Onboarded: the doctor can log in", body = DoctorView),
        (status = 403, description = "Only admins onboard doctors (`forbidden`)", body = Problem, content_type = "application/problem+json"),
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
#[serde(deny_unknown_fields)]
pub struct UpdateDoctor {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub first_name: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub last_name: Option<String>,
    #[schema(
        min_length = 2,
        max_length = 60,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        example = "Cardiology"
    )]
    pub specialty: Option<String>,
    #[schema(minimum = 0, maximum = 80)]
    pub experience_years: Option<i32>,
    #[schema(
        format = "iana-time-zone",
        max_length = 64,
        pattern = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
        example = "Europe/Berlin"
    )]
    pub timezone: Option<String>,
    #[schema(pattern = r"^\s*[0-9]{1,9}(\.[0-9]{0,2})?\s*$", example = "50.00")]
    pub fee: Option<String>,
    /// `false` deactivates the doctor: hidden from patients, login disabled.
    pub active: Option<bool>,
}

/// Edit or deactivate a doctor (admins).
#[utoipa::path(
    patch, path = "/doctors/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    request_body = UpdateDoctor,
    responses(
        (status = 200, description = "The doctor as changed", body = DoctorView),
        (status = 403, description = "Only admins edit doctors (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such doctor", body = Problem, content_type = "application/problem+json"),
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
#[serde(deny_unknown_fields)]
pub struct HoursInterval {
    #[schema(value_type = Weekday)]
    pub weekday: String,
    /// `HH:MM`, local to the doctor's time zone.
    #[schema(
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        example = "09:00"
    )]
    pub start: String,
    /// `HH:MM` (`24:00` for midnight at the end of the day).
    #[schema(
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        example = "09:00"
    )]
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// `HH:MM`, local to the doctor's time zone.
    #[schema(
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        example = "09:00"
    )]
    pub start: String,
    /// `HH:MM` (`24:00` for midnight at the end of the day).
    #[schema(
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        example = "09:00"
    )]
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideDay {
    /// The doctor's local date.
    #[schema(format = Date, example = "2026-12-24")]
    pub date: String,
    /// The hours that day instead of the weekly ones (at most 8); empty = closed.
    #[schema(max_items = 8)]
    pub intervals: Vec<TimeRange>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "visit_minutes": 30, "buffer_minutes": 5,
    "weekly": [
        {"weekday": "monday", "start": "09:00", "end": "12:00"},
        {"weekday": "monday", "start": "13:00", "end": "17:00"},
        {"weekday": "wednesday", "start": "09:00", "end": "17:00"}
    ],
    "overrides": [{"date": "2026-12-24", "intervals": []}]
}))]
pub struct AvailabilityDoc {
    /// Length of a visit, 5 to 240 minutes.
    #[schema(minimum = 5, maximum = 240)]
    pub visit_minutes: i32,
    /// Gap after each visit, 0 to 120 minutes.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 120)]
    pub buffer_minutes: i32,
    /// Weekly hours: at most 8 non-overlapping intervals a weekday.
    #[schema(max_items = 56)]
    pub weekly: Vec<HoursInterval>,
    /// Dates whose hours differ from the week's, one entry a date.
    #[serde(default)]
    #[schema(max_items = 366)]
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
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    responses(
        (status = 200, description = "The doctor's hours", body = AvailabilityDoc),
        (status = 404, description = "No such doctor", body = Problem, content_type = "application/problem+json"),
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
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    request_body = AvailabilityDoc,
    responses(
        (status = 200, description = "The hours as saved", body = AvailabilityDoc),
        (status = 403, description = "Only the doctor or an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such doctor", body = Problem, content_type = "application/problem+json"),
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
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
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

/// At most 366 days, ending after it starts.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00", "reason": "Holidays"}))]
pub struct NewTimeOff {
    /// RFC 3339 with offset.
    #[schema(format = DateTime)]
    pub start: String,
    /// RFC 3339 with offset, after `start`.
    #[schema(format = DateTime)]
    pub end: String,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A doctor's current and future time off (the doctor or an admin).
#[utoipa::path(
    get, path = "/doctors/{id}/time-off", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    responses(
        (status = 200, description = "Current and future time off, in one page", body = Page<TimeOffView>),
        (status = 404, description = "No such doctor, or not yours to see", body = Problem, content_type = "application/problem+json"),
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
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    request_body = NewTimeOff,
    responses(
        (status = 201, description = "Added", body = TimeOffView),
        (status = 404, description = "No such doctor, or not yours to manage", body = Problem, content_type = "application/problem+json"),
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
        ("id" = i64, Path, minimum = 1, description = "Doctor id"),
        ("time_off_id" = i64, Path, minimum = 1, description = "Time-off id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such doctor or time off, or not yours to manage", body = Problem, content_type = "application/problem+json"),
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
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339; default `from` + 14 days; at most 62 days after `from`.
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// A free slot. The instants are written as RFC 3339 in UTC straight into the
/// response (no string per field: a page has hundreds of them).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    #[serde(serialize_with = "super::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[serde(serialize_with = "super::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// A doctor's free slots (public).
#[utoipa::path(
    get, path = "/doctors/{id}/slots", tag = "doctors",
    params(("id" = i64, Path, minimum = 1, description = "Doctor id"), SlotQuery),
    responses(
        (status = 200, description = "The free slots in the window, earliest first, in one page", body = Page<SlotView>),
        (status = 404, description = "No such doctor (or deactivated)", body = Problem, content_type = "application/problem+json"),
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
