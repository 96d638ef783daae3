//! A doctor's time off: listed, added, removed.

use crate::domain::doctor::TimeOff;
use crate::domain::ids::{DoctorId, TimeOffId};
use crate::http::AppState;
use crate::http::api::doctors::hours::on_affected;
use crate::http::api::schema::AffectedChoice;
use crate::http::api::{Page, instant_text, parse_instant};
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, CurrentUser};
use crate::usecases::schedule;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

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
    /// What to do with future booked visits the time off overlaps. Without
    /// it such time off answers 409 `visits_affected` listing them, and
    /// nothing is added.
    #[serde(default)]
    #[schema(value_type = Option<AffectedChoice>)]
    pub affected: Option<String>,
    /// With `affected: cancel`: the reason the patients read (`reason` is
    /// the time off's own private note).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub cancel_reason: Option<String>,
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

/// Add time off (the doctor or an admin). Booked visits it overlaps are kept
/// or cancelled as `affected` says.
#[utoipa::path(
    post, path = "/doctors/{id}/time-off", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Doctor id")),
    request_body = NewTimeOff,
    responses(
        (status = 201, description = "Added", body = TimeOffView),
        (status = 404, description = "No such doctor, or not yours to manage", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The time off overlaps future booked visits and `affected` was not given (`visits_affected`, listed in `affected_visits`); nothing added", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid times, `affected` or `cancel_reason` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
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
    let on = on_affected(req.affected.as_deref(), req.cancel_reason)?;
    let id = DoctorId::new(id);
    let row = schedule::add_time_off(&state.clinic, &user.caller, id, &new, &on).await?;
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
