//! A doctor's free slots, for anyone.

use crate::domain::ids::DoctorId;
use crate::http::AppState;
use crate::http::api::{Page, parse_instant};
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiPath, ApiQuery, CurrentUser};
use crate::usecases::schedule;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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
    #[serde(serialize_with = "crate::http::api::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[serde(serialize_with = "crate::http::api::serialize_instant")]
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
