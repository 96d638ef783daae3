//! Doctors: the public directory and onboarding by admins here; working hours
//! ([`hours`]), time off ([`time_off`]) and free slots ([`slots`]) beside.

pub mod hours;
pub mod slots;
pub mod time_off;

use super::{Page, parse_cursor};
use crate::domain::doctor::Doctor;
use crate::domain::ids::DoctorId;
use crate::domain::person::format_fee;
use crate::http::AppState;
use crate::http::api::schema::AffectedChoice;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::usecases::doctors::{self, DoctorChanges, NewDoctorForm};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_doctors, create_doctor))
        .routes(routes!(get_doctor, update_doctor))
        .routes(routes!(specialties))
        .routes(routes!(hours::get_availability, hours::put_availability))
        .routes(routes!(time_off::list_time_off, time_off::add_time_off))
        .routes(routes!(time_off::delete_time_off))
        .routes(routes!(slots::free_slots))
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
    /// 10 to 256 characters, not easy to guess (zxcvbn score 2 or more;
    /// decision 0025).
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
    /// What to do with future booked visits that deactivating or a new time
    /// zone affects. Without it such a change answers 409 `visits_affected`
    /// listing them, and changes nothing.
    #[schema(value_type = Option<AffectedChoice>)]
    pub affected: Option<String>,
    /// With `affected: cancel`: the reason the patients read.
    #[schema(max_length = 500)]
    pub cancel_reason: Option<String>,
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
        (status = 409, description = "Deactivating or the new time zone affects future booked visits and `affected` was not given (`visits_affected`, listed in `affected_visits`); nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_doctor(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateDoctor>,
) -> ApiResult<Json<DoctorView>> {
    let on = hours::on_affected(req.affected.as_deref(), req.cancel_reason)?;
    let changes = DoctorChanges {
        first_name: req.first_name,
        last_name: req.last_name,
        specialty: req.specialty,
        experience_years: req.experience_years,
        timezone: req.timezone,
        fee: req.fee,
        active: req.active,
    };
    let row = doctors::edit(
        &state.clinic,
        &user.caller,
        DoctorId::new(id),
        &changes,
        &on,
    )
    .await?;
    Ok(Json(DoctorView::from_row(row, true)))
}
