//! Two-step login for doctors and admins (decision 0019): turning TOTP on
//! and off. Logging in with the code is `POST /sessions` with `totp_code`.

use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, SetupUser};
use crate::usecases::totp;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(totp_status, begin_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
}

/// Where my two-step login stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpStatus {
    pub enabled: bool,
    /// A key was made (`POST /me/totp`) and waits for its first code.
    pub pending: bool,
    /// Unused recovery codes (0 while it is off).
    pub recovery_codes_left: i64,
}

/// What an authenticator app needs. Shown once: keep it to yourself.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpSetup {
    /// The key to type into the app: base32 (RFC 4648), no padding.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// The same as a key URI (what the QR code of the Account page holds):
    /// SHA-1, 6 digits, 30-second steps.
    pub otpauth_uri: String,
}

/// A code from the app.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    /// The current 6-digit code of the app.
    #[schema(example = "123456")]
    pub code: String,
}

/// The recovery codes: each logs in once in place of a code. Shown only
/// now; only their hashes are kept.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    #[schema(example = json!(["ABCD-EFGH-IJKL-MNOP"]))]
    pub recovery_codes: Vec<String>,
}

/// Proof that I own the account: a current code (or a recovery code), or
/// my password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpDisable {
    pub code: Option<String>,
    pub password: Option<String>,
}

/// Where my two-step login stands (doctors and admins).
#[utoipa::path(
    get, path = "/me/totp", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "On, waiting for a code, or off", body = TotpStatus),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A patient: two-step login is for staff", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn totp_status(
    State(state): State<AppState>,
    SetupUser(user): SetupUser,
) -> ApiResult<axum::Json<TotpStatus>> {
    let s = totp::status(&state.clinic, &user.session).await?;
    Ok(axum::Json(TotpStatus {
        enabled: s.enabled,
        pending: s.pending,
        recovery_codes_left: s.recovery_codes_left,
    }))
}

/// Start turning on two-step login: a fresh key for the authenticator app
/// (replacing one that waited). It is on once confirmed with a code.
#[utoipa::path(
    post, path = "/me/totp", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A key that waits for its first code", body = TotpSetup),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A patient: two-step login is for staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already on (`totp_state`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn begin_totp(
    State(state): State<AppState>,
    SetupUser(user): SetupUser,
) -> ApiResult<(StatusCode, axum::Json<TotpSetup>)> {
    let e = totp::begin(&state.clinic, &user.session).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TotpSetup {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
        }),
    ))
}

/// Turn two-step login on with a current code of the app; answers the ten
/// recovery codes, once.
#[utoipa::path(
    post, path = "/me/totp/confirm", tag = "sessions",
    security(("bearer" = [])),
    request_body = TotpConfirm,
    responses(
        (status = 200, description = "On: from now on logins need a code", body = RecoveryCodes),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A patient: two-step login is for staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No key waits for a code (`totp_state`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not the current code (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    SetupUser(user): SetupUser,
    ApiJson(req): ApiJson<TotpConfirm>,
) -> ApiResult<axum::Json<RecoveryCodes>> {
    let recovery_codes = totp::confirm(&state.clinic, &user.session, &req.code).await?;
    Ok(axum::Json(RecoveryCodes { recovery_codes }))
}

/// Turn two-step login off, with a current code or the password.
#[utoipa::path(
    post, path = "/me/totp/disable", tag = "sessions",
    security(("bearer" = [])),
    request_body = TotpDisable,
    responses(
        (status = 204, description = "Off: the key and the recovery codes are gone"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A patient: two-step login is for staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not on (`totp_state`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither given, or wrong (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong answers; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable_totp(
    State(state): State<AppState>,
    SetupUser(user): SetupUser,
    ApiJson(req): ApiJson<TotpDisable>,
) -> ApiResult<StatusCode> {
    totp::disable(
        &state.clinic,
        &user.session,
        req.code.as_deref(),
        req.password.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
