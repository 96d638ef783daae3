//! The audit log, for admins.

use super::{Page, instant_text, parse_cursor};
use crate::domain::audit::AuditRecord;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiQuery, CurrentUser};
use crate::usecases::clinic;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
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
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
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
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let query = clinic::AuditQuery {
        entity: q.entity,
        entity_id: q.entity_id,
        before: parse_cursor(q.cursor.as_deref())?.and_then(|c| c.first().copied()),
        limit: q.limit,
    };
    let (rows, more) = clinic::audit_log(&state.clinic, &user.caller, &query).await?;
    Ok(Json(Page::of(rows, more, |r| {
        super::encode_cursor(&[r.id])
    })))
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
