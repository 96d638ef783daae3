//! Logging in and out, and "who am I".

use super::doctors::DoctorView;
use super::instant_text;
use super::patients::PatientView;
use super::schema::Role;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{
    ApiJson, ClientAddr, CurrentUser, SetupUser, session_cookie, session_token_in,
};
use crate::usecases::sessions::{self, Credentials, Login};
use crate::usecases::{doctors, patients};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_sessions, end_other_sessions))
        .routes(routes!(end_session))
        .routes(routes!(change_password))
}

/// Patients log in with `phone`, doctors and admins with `email`. The body is
/// read as one struct so that "both" or "neither" is answered field by field;
/// the document states the two shapes ([`LoginBody`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password: String,
    /// The second factor of a doctor or admin who turned it on.
    pub totp_code: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").finish_non_exhaustive()
    }
}

/// A login: a patient's phone or a doctor's or admin's email, with the password.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI document's view of `LoginRequest`.
#[serde(untagged)]
pub enum LoginBody {
    Phone(PhoneLogin),
    Email(EmailLogin),
}

/// A patient logs in with the phone they registered.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct PhoneLogin {
    /// Any common format, as at registration.
    #[schema(example = "+12025550143")]
    phone: String,
    password: String,
}

/// A doctor or an admin logs in with their email.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct EmailLogin {
    #[schema(example = "doctor@clinic.example")]
    email: String,
    password: String,
    /// Needed once the account has two-step login on (the login answers
    /// 401 `totp_required` without it): the current 6-digit code of its
    /// authenticator app, or one of its unused recovery codes.
    #[schema(example = "123456")]
    totp_code: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    /// Send as `Authorization: Bearer <token>`. Also set as an HttpOnly cookie.
    pub token: String,
    /// Send as `X-CSRF-Token` on state-changing calls authenticated by the cookie.
    pub csrf_token: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    #[schema(value_type = Role)]
    pub role: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub account_id: i64,
    #[schema(value_type = Role)]
    pub role: String,
    pub login: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doctor: Option<DoctorView>,
}

/// The submitted login; exactly one of phone and email.
fn login_of(req: &LoginRequest) -> Result<Login, ApiError> {
    match (&req.phone, &req.email) {
        (Some(p), None) => Ok(Login::Phone(p.clone())),
        (None, Some(e)) => Ok(Login::Email(e.clone())),
        _ => Err(ApiError::invalid(
            "phone",
            "give either phone (patients) or email (doctors and admins)",
        )),
    }
}

/// Checks the login and opens a session.
async fn start_session(
    state: &AppState,
    client: &ClientAddr,
    headers: &HeaderMap,
    req: LoginRequest,
) -> ApiResult<sessions::NewSession> {
    let creds = Credentials {
        login: login_of(&req)?,
        password: req.password,
        client: client.0.clone(),
        device: client.1.clone(),
        second_factor: req.totp_code,
        replaces: session_token_in(
            headers,
            crate::http::extract::CookieNames {
                secure: state.clinic.settings().secure_cookies,
            },
        )
        .map(|(t, _)| t),
    };
    Ok(sessions::log_in(&state.clinic, creds).await?)
}

/// Log in.
#[utoipa::path(
    post, path = "/sessions", tag = "sessions",
    request_body = LoginBody,
    responses(
        (status = 201, description = "Logged in; also sets the session cookie. A session the request came with (its bearer token or cookie) ends", body = SessionCreated),
        (status = 401, description = "Wrong login or password (`invalid_credentials`); the password is right but the account's second factor is missing (`totp_required`: send `totp_code`) or wrong or used before (`totp_invalid`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of phone and email given (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins or codes for this account; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let session = start_session(&state, &client, &headers, req).await?;
    let settings = state.clinic.settings();
    let cookie = session_cookie(
        &session.token,
        settings.session_hours * 3600,
        settings.secure_cookies,
    );
    let body = SessionCreated {
        token: session.token,
        csrf_token: session.csrf_token,
        expires_at: instant_text(session.expires_at),
        role: session.role.as_str().to_owned(),
    };
    let mut res = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// Log out: the token stops working at once.
#[utoipa::path(
    delete, path = "/sessions/current", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out; the session cookie is cleared"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    SetupUser(user): SetupUser,
) -> ApiResult<Response> {
    sessions::log_out(&state.clinic, &user.session).await?;
    let secure = state.clinic.settings().secure_cookies;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, secure)) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// Who am I.
#[utoipa::path(
    get, path = "/me", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account and, for a patient or doctor, their profile", body = Me),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    SetupUser(user): SetupUser,
) -> ApiResult<axum::Json<Me>> {
    let today = patients::today(&state.clinic);
    let patient = patients::own(&state.clinic, &user.caller)
        .await?
        .map(|p| PatientView::from_row(p, today));
    let doctor = match user.caller.doctor_id() {
        Some(id) => Some(DoctorView::from_row(
            doctors::visible(&state.clinic, &user.caller, id).await?,
            true,
        )),
        None => None,
    };
    Ok(axum::Json(Me {
        account_id: user.caller.account().map_or(0, |a| a.get()),
        role: user.role().map_or("", |r| r.as_str()).to_owned(),
        login: user.login,
        patient,
        doctor,
    }))
}

/// One of my live sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Names the session (not its token): `DELETE /api/v1/sessions/{id}` ends it.
    pub id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// The device, as its `User-Agent` told it.
    pub device: Option<String>,
    /// The address it logged in from.
    pub address: Option<String>,
    /// The session of this request.
    pub current: bool,
}

/// My live sessions, newest first.
#[utoipa::path(
    get, path = "/sessions", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every live session of my account, in one page", body = super::Page<SessionView>),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<axum::Json<super::Page<SessionView>>> {
    let items = sessions::list(&state.clinic, &user.session)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            created_at: instant_text(s.created),
            last_used_at: s.last_used.map(instant_text),
            device: s.device,
            address: s.address,
            current: s.current,
        })
        .collect();
    Ok(axum::Json(super::Page::all(items)))
}

/// How many sessions ended.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ended {
    pub ended: u64,
}

/// End every session of my account but this one.
#[utoipa::path(
    delete, path = "/sessions", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every other session ended; their tokens stop working at once", body = Ended),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn end_other_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<axum::Json<Ended>> {
    let ended = sessions::end_others(&state.clinic, &user.session).await?;
    Ok(axum::Json(Ended { ended }))
}

/// End one of my sessions (this one too, like logging out).
#[utoipa::path(
    delete, path = "/sessions/{id}", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id from GET /sessions")),
    responses(
        (status = 204, description = "Ended: its token stops working at once"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session of mine", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    user: CurrentUser,
    crate::http::extract::ApiPath(id): crate::http::extract::ApiPath<String>,
) -> ApiResult<StatusCode> {
    sessions::end(&state.clinic, &user.session, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 10 to 256 characters, not easy to guess, as at registration.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").finish_non_exhaustive()
    }
}

/// Change my password; every other session of my account ends.
#[utoipa::path(
    post, path = "/me/password", tag = "sessions",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; this session goes on, every other one ended"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password is wrong, or the new one too short (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    sessions::change_password(
        &state.clinic,
        &user.session,
        &req.current_password,
        &req.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
