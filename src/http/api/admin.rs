//! The admin's tools: a visit's payment, admin accounts, removing the demo.

use super::appointments::AppointmentView;
use super::instant_text;
use super::schema::PaymentStatus as PaymentSchema;
use crate::domain::appointment::PaymentStatus;
use crate::domain::ids::{AccountId, AppointmentId};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, CurrentUser};
use crate::usecases::admin::{self, NewAdminForm};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_payment))
        .routes(routes!(list_admins, add_admin))
        .routes(routes!(set_admin_active))
        .routes(routes!(remove_demo))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// `paid` (from unpaid), `waived` (from unpaid), `refunded` (from paid)
    /// or `unpaid` (a waiver withdrawn).
    #[schema(value_type = PaymentSchema)]
    pub payment_status: String,
}

/// Record a visit's payment (admins).
#[utoipa::path(
    put, path = "/appointments/{id}/payment", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    request_body = PaymentRequest,
    responses(
        (status = 200, description = "The visit with its new payment status", body = AppointmentView),
        (status = 403, description = "Its patient or doctor: only admins record payments", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (e.g. a refund of an unpaid visit) or `state_changed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: not a payment status", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PaymentRequest>,
) -> ApiResult<Json<AppointmentView>> {
    let Some(to) = PaymentStatus::parse(req.payment_status.trim()) else {
        return Err(ApiError::invalid(
            "payment_status",
            "must be one of unpaid, paid, refunded, waived",
        ));
    };
    let a = admin::set_payment(&state.clinic, &user.caller, AppointmentId::new(id), to).await?;
    Ok(Json(a.into()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminView {
    pub id: i64,
    pub email: String,
    pub active: bool,
    /// One of the demo clinic's accounts.
    pub demo: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The caller's own account.
    pub you: bool,
}

impl From<admin::AdminAccount> for AdminView {
    fn from(a: admin::AdminAccount) -> Self {
        Self {
            id: a.id.get(),
            email: a.email,
            active: a.active,
            demo: a.demo,
            created_at: instant_text(a.created_at),
            you: a.you,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminList {
    pub items: Vec<AdminView>,
}

/// Every admin account, oldest first (admins).
#[utoipa::path(
    get, path = "/admins", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The admins", body = AdminList),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_admins(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<AdminList>> {
    let items = admin::admins(&state.clinic, &user.caller)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(AdminList { items }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminRequest {
    /// The new admin's login.
    #[schema(format = Email)]
    pub email: String,
    /// 10 to 256 characters, not easy to guess, as every account's.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

/// Add an admin account (admins).
#[utoipa::path(
    post, path = "/admins", tag = "admin",
    security(("bearer" = [])),
    request_body = NewAdminRequest,
    responses(
        (status = 201, description = "Added", body = AdminView),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_registered`: the email is someone's login", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<NewAdminRequest>,
) -> ApiResult<(StatusCode, Json<AdminView>)> {
    let form = NewAdminForm {
        email: req.email,
        password: req.password,
    };
    let a = admin::add_admin(&state.clinic, &user.caller, &form).await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveRequest {
    pub active: bool,
}

/// Deactivate or reactivate an admin account (admins): never your own, never
/// the last active admin. Deactivating ends the account's sessions.
#[utoipa::path(
    put, path = "/admins/{id}/active", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The admin's account id")),
    request_body = ActiveRequest,
    responses(
        (status = 204, description = "Done"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such admin account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`own_account` or `last_active_admin`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_admin_active(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ActiveRequest>,
) -> ApiResult<StatusCode> {
    admin::set_admin_active(&state.clinic, &user.caller, AccountId::new(id), req.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RemovedRows {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DemoRemoval {
    /// Rows deleted per table (empty tables included).
    pub removed: Vec<RemovedRows>,
}

/// Remove the demo clinic: its accounts and all their data; real accounts
/// and their data stay (admins that are not demo accounts).
#[utoipa::path(
    delete, path = "/demo", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed (or nothing to remove)", body = DemoRemoval),
        (status = 403, description = "Not an admin, or the demo admin itself", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_demo(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<DemoRemoval>> {
    let removed = admin::remove_demo(&state.clinic, &user.caller)
        .await?
        .into_iter()
        .map(|(table, rows)| RemovedRows {
            table: table.to_owned(),
            rows,
        })
        .collect();
    Ok(Json(DemoRemoval { removed }))
}
