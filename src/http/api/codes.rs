//! One-time codes (decision 0018): a forgotten password, and a patient's new
//! phone number.

use super::patients::PatientView;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ClientAddr, CurrentUser};
use crate::usecases::codes::{self, CodeSent, ResetRequest};
use crate::usecases::patients;
use crate::usecases::sessions::Login;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
        .routes(routes!(request_phone_change))
        .routes(routes!(confirm_phone_change))
}

/// Who forgot their password: a patient's `phone` or a doctor's or admin's
/// `email` (exactly one).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "+12025550143")]
    pub phone: Option<String>,
    #[schema(example = "doctor@clinic.example")]
    pub email: Option<String>,
}

/// A new password with the code that was sent.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    #[schema(example = "+12025550143")]
    pub phone: Option<String>,
    #[schema(example = "doctor@clinic.example")]
    pub email: Option<String>,
    /// The 6-digit code (spaces and dashes are ignored).
    #[schema(example = "042917")]
    pub code: String,
    /// 10 to 256 characters, not easy to guess, as at registration.
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

impl std::fmt::Debug for PasswordResetConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetConfirm")
            .finish_non_exhaustive()
    }
}

/// A code is on its way, if there is anyone to send it to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeRequested {
    pub message: String,
    /// How long the code works.
    pub expires_in_seconds: i64,
}

fn login_of(phone: Option<String>, email: Option<String>) -> Result<Login, ApiError> {
    match (phone, email) {
        (Some(p), None) => Ok(Login::Phone(p)),
        (None, Some(e)) => Ok(Login::Email(e)),
        _ => Err(ApiError::invalid(
            "phone",
            "give either phone (patients) or email (doctors and admins)",
        )),
    }
}

fn requested(sent: &CodeSent, message: &str) -> (StatusCode, Json<CodeRequested>) {
    (
        StatusCode::ACCEPTED,
        Json(CodeRequested {
            message: message.to_owned(),
            expires_in_seconds: sent.expires_in_secs,
        }),
    )
}

/// Forgot my password: send a code.
///
/// The answer is the same whether or not the phone or email is anyone's.
#[utoipa::path(
    post, path = "/password-reset", tag = "sessions",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If an active account has this login, a code is on its way (by SMS to a phone, by email to an email)", body = CodeRequested),
        (status = 422, description = "Neither or both of phone and email, or not a phone number or email (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many codes asked for this login or from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(addr, _): ClientAddr,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> ApiResult<(StatusCode, Json<CodeRequested>)> {
    let login = login_of(req.phone, req.email)?;
    let sent = codes::request_password_reset(&state.clinic, &login, &addr).await?;
    Ok(requested(
        &sent,
        "If an account has this phone number or email, a code is on its way to it.",
    ))
}

/// Set a new password with the code; every session of the account ends.
#[utoipa::path(
    post, path = "/password-reset/confirm", tag = "sessions",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session of the account is ended"),
        (status = 422, description = "`validation_failed`: the code is wrong, used or expired (the same for a login that is no account's), or the new password too short; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: too many wrong codes for this login or from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_reset(
    State(state): State<AppState>,
    ClientAddr(addr, _): ClientAddr,
    ApiJson(req): ApiJson<PasswordResetConfirm>,
) -> ApiResult<StatusCode> {
    let login = login_of(req.phone, req.email)?;
    codes::reset_password(
        &state.clinic,
        ResetRequest {
            login,
            code: req.code,
            new_password: req.new_password,
            client: addr,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A patient's new phone number.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneChange {
    /// Any common format; stored as E.164.
    #[schema(example = "+12025550177")]
    pub phone: String,
}

/// The code sent to the new phone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneChangeConfirm {
    #[schema(example = "042917")]
    pub code: String,
}

impl std::fmt::Debug for PhoneChangeConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneChangeConfirm").finish_non_exhaustive()
    }
}

/// Change my phone (patients): a code goes by SMS to the new number.
///
/// The phone (and login) stays as it is until the code is confirmed.
#[utoipa::path(
    post, path = "/me/phone", tag = "patients",
    security(("bearer" = [])),
    request_body = PhoneChange,
    responses(
        (status = 202, description = "A code is on its way to the new number", body = CodeRequested),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_registered`: the number is another account's login", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a phone number, or already yours (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many codes asked; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request_phone_change(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(addr, _): ClientAddr,
    ApiJson(req): ApiJson<PhoneChange>,
) -> ApiResult<(StatusCode, Json<CodeRequested>)> {
    let sent = codes::request_phone_change(&state.clinic, &user.caller, &req.phone, &addr).await?;
    Ok(requested(&sent, "A code is on its way to the new number."))
}

/// Confirm my new phone with the code it received (patients).
#[utoipa::path(
    post, path = "/me/phone/confirm", tag = "patients",
    security(("bearer" = [])),
    request_body = PhoneChangeConfirm,
    responses(
        (status = 200, description = "The new phone is the patient's phone and login", body = PatientView),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_registered`: the number became another account's login meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the code is wrong, used or expired; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: too many wrong codes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_phone_change(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(addr, _): ClientAddr,
    ApiJson(req): ApiJson<PhoneChangeConfirm>,
) -> ApiResult<Json<PatientView>> {
    let row = codes::confirm_phone_change(&state.clinic, &user.caller, &req.code, &addr).await?;
    Ok(Json(PatientView::from_row(
        row,
        patients::today(&state.clinic),
    )))
}
