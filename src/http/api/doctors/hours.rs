//! A doctor's working hours: weekly intervals, dated overrides, visit length.

use crate::domain::ids::DoctorId;
use crate::http::AppState;
use crate::http::api::schema::AffectedChoice;
use crate::http::api::schema::Weekday;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, CurrentUser};
use crate::usecases::schedule::{self, Affected, Hours, OnAffected};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

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
    /// Requests only: what to do with future booked visits the new hours
    /// leave outside working time. Without it such a change answers 409
    /// `visits_affected` listing them, and changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AffectedChoice>)]
    pub affected: Option<String>,
    /// Requests only, with `affected: cancel`: the reason the patients read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub cancel_reason: Option<String>,
}

/// The use cases' choice for affected visits from a request's `affected`
/// and `cancel_reason` (decision 0022).
pub fn on_affected(
    affected: Option<&str>,
    cancel_reason: Option<String>,
) -> crate::http::error::ApiResult<OnAffected> {
    let choice = match affected {
        None => None,
        Some(s) => Some(Affected::parse(s).ok_or_else(|| {
            crate::http::error::ApiError::invalid("affected", "must be keep or cancel")
        })?),
    };
    Ok(OnAffected {
        choice,
        cancel_reason,
    })
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
            affected: None,
            cancel_reason: None,
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
        (status = 409, description = "Future booked visits would fall outside the new hours and `affected` was not given (`visits_affected`, listed in `affected_visits`); nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid hours, `affected` or `cancel_reason` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_availability(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(doc): ApiJson<AvailabilityDoc>,
) -> ApiResult<Json<AvailabilityDoc>> {
    let id = DoctorId::new(id);
    let on = on_affected(doc.affected.as_deref(), doc.cancel_reason.clone())?;
    let hours = schedule::set_hours(&state.clinic, &user.caller, id, &doc.into(), &on).await?;
    Ok(Json(hours.into()))
}
