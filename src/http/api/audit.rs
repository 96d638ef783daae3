//! The audit log, for admins.

use super::{Page, instant_text, parse_cursor, parse_instant};
use crate::domain::audit::AuditRecord;
use crate::domain::ids::AccountId;
use crate::http::AppState;
use crate::http::audit_csv::audit_csv;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiQuery, CurrentUser};
use crate::usecases::Error;
use crate::usecases::clinic;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(export_audit))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// The account that acted; null for the system or an anonymous sign-up.
    pub actor_account_id: Option<i64>,
    /// e.g. `create`, `update`, `read`, `book`, `cancelled`, `reschedule`.
    pub action: String,
    /// `patient`, `doctor`, `appointment` or `admin`.
    pub entity: String,
    pub entity_id: i64,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who acted: an account id.
    pub actor_account_id: Option<i64>,
    /// What they did, e.g. `payment`, `create`, `read`.
    pub action: Option<String>,
    /// Which kind of record: `patient`, `doctor`, `appointment`, `admin`, ...
    pub entity: Option<String>,
    /// Which record.
    pub entity_id: Option<i64>,
    /// Entries at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Entries before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The audit log, newest first (admins).
#[utoipa::path(
    get, path = "/audit", tag = "admin",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the log, newest first", body = Page<AuditEntry>),
        (status = 404, description = "Not an admin: the log is not there for you", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad filter (`from`, `to`, `limit`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let before = parse_cursor(q.cursor.as_deref())?.and_then(|c| c.first().copied());
    let mut query = filters(q)?;
    query.before = before;
    let (rows, more) = clinic::audit_log(&state.clinic, &user.caller, &query).await?;
    Ok(Json(Page::of(rows, more, |r| {
        super::encode_cursor(&[r.id])
    })))
}

/// The query's filters (no page) as the use case takes them.
fn filters(q: AuditQuery) -> Result<clinic::AuditQuery, ApiError> {
    // An empty `from=` is no instant: refused like any other bad one (the
    // document says date-time), never read as "no filter".
    let instant = |field: &str, v: Option<String>| v.map(|s| parse_instant(field, &s)).transpose();
    // The page size is checked here too: the export has no pages, but the
    // same filter, and a limit out of range is still a mistake.
    if q.limit.is_some_and(|l| !(1..=200).contains(&l)) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    Ok(clinic::AuditQuery {
        actor: q.actor_account_id.map(AccountId::new),
        action: q.action,
        entity: q.entity,
        entity_id: q.entity_id,
        from: instant("from", q.from)?,
        to: instant("to", q.to)?,
        before: None,
        limit: q.limit,
    })
}

/// The audit log's entries matching the filters, all of them (no pages), as
/// CSV (admins). Cells that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`) are prefixed with `'`.
#[utoipa::path(
    get, path = "/audit/export", tag = "admin",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "CSV: id, at, actor_account_id, action, entity, entity_id, detail", content_type = "text/csv", body = String),
        (status = 404, description = "Not an admin: the log is not there for you", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad filter, or too many entries", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let rows = clinic::audit_export(&state.clinic, &user.caller, &filters(q)?).await?;
    let body = audit_csv(&rows).map_err(|e| ApiError::from(Error::internal(&e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: instant_text(r.at),
            actor_account_id: r.actor_account_id.map(i64::from),
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            detail: r.detail,
        }
    }
}
