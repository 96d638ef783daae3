//! Logging in and out, and "who am I".

use super::doctors::DoctorView;
use super::patients::PatientView;
use super::rfc3339;
use crate::auth;
use crate::domain::person::{Email, Phone};
use crate::domain::throttle::ThrottlePolicy;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ClientAddr, CurrentUser, Role, SESSION_COOKIE};
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
}

/// Patients log in with `phone`, doctors and admins with `email`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    /// Send as `Authorization: Bearer <token>`. Also set as an HttpOnly cookie.
    pub token: String,
    /// Send as `X-CSRF-Token` on state-changing calls authenticated by the cookie.
    pub csrf_token: String,
    pub expires_at: String,
    pub role: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub account_id: i64,
    /// `patient`, `doctor` or `admin`.
    pub role: String,
    pub login: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doctor: Option<DoctorView>,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Patient => "patient",
        Role::Doctor => "doctor",
        Role::Admin => "admin",
    }
}

/// Turns the submitted login into the stored form; `None` if it cannot be one.
fn normalize_login(req: &LoginRequest, region: &str) -> Result<Option<String>, ApiError> {
    match (&req.phone, &req.email) {
        (Some(p), None) => Ok(Phone::parse(p, region).ok().map(|p| p.as_str().to_owned())),
        (None, Some(e)) => Ok(Email::parse("email", e).ok().map(|e| e.as_str().to_owned())),
        _ => Err(ApiError::invalid(
            "phone",
            "give either phone (patients) or email (doctors and admins)",
        )),
    }
}

/// Log in.
#[utoipa::path(
    post, path = "/sessions", tag = "sessions",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "Logged in; also sets the session cookie", body = SessionCreated),
        (status = 401, description = "Wrong login or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither phone nor email given", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let session = start_session(&state, &client, req).await?;
    let cookie = session_cookie(
        &session.token,
        state.settings.session_hours * 3600,
        state.settings.secure_cookies,
    );
    let body = SessionCreated {
        token: session.token,
        csrf_token: session.csrf_token,
        expires_at: rfc3339(session.expires_at),
        role: session.role,
    };
    let mut res = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// A session that [`start_session`] opened.
#[derive(Debug)]
pub struct NewSession {
    /// The bearer token (also the cookie value); only its hash is stored.
    pub token: String,
    pub csrf_token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub role: String,
}

/// Checks the credentials (with login throttling per address and per account)
/// and opens a session. Shared by the API and the login page.
pub async fn start_session(
    state: &AppState,
    client: &ClientAddr,
    req: LoginRequest,
) -> ApiResult<NewSession> {
    let now = state.clock.now().as_second();
    let login = normalize_login(&req, &state.settings.phone_region)?;
    let addr_key = format!("addr:{}", client.0);
    let login_key = login.as_ref().map(|l| format!("login:{l}"));

    let mut keys = vec![(addr_key.as_str(), ThrottlePolicy::ADDRESS)];
    if let Some(k) = &login_key {
        keys.push((k.as_str(), ThrottlePolicy::ACCOUNT));
    }
    for (key, policy) in &keys {
        let st = state.store.throttle_get(key).await?;
        if let Some(wait) = policy.retry_after(st, now) {
            return Err(ApiError::too_many_attempts(wait));
        }
    }

    let account = match &login {
        Some(l) => state.store.find_account_by_login(l).await?,
        None => None,
    };
    let hash = account
        .as_ref()
        .filter(|a| a.active)
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| auth::DUMMY_HASH.to_owned());
    let password = req.password;
    let ok = auth::verify_password_async(password, hash).await;
    let account = match account {
        Some(a) if ok && a.active => a,
        _ => {
            for (key, policy) in &keys {
                let st = state.store.throttle_get(key).await?;
                state
                    .store
                    .throttle_put(key, policy.on_failure(st, now))
                    .await?;
            }
            tracing::info!("login failed");
            return Err(ApiError::bad_credentials());
        }
    };
    if let Some(k) = &login_key {
        state.store.throttle_clear(k).await?;
    }

    let token = auth::new_token();
    let csrf = auth::new_token();
    let expires_at = now + state.settings.session_hours * 3600;
    state
        .store
        .create_session(
            &auth::token_hash(&token),
            account.id,
            &csrf,
            now,
            expires_at,
        )
        .await?;
    tracing::info!(account_id = account.id, "logged in");
    Ok(NewSession {
        token,
        csrf_token: csrf,
        expires_at,
        role: account.role,
    })
}

/// Ends the caller's session on the server: its token stops working at once.
pub async fn end_session(state: &AppState, user: &CurrentUser) -> ApiResult<()> {
    state.store.delete_session(&user.token_hash).await?;
    Ok(())
}

/// The `Set-Cookie` value for a session (`max_age` 0 deletes it).
pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    let mut c =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    c
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
pub async fn logout(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Response> {
    end_session(&state, &user).await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, state.settings.secure_cookies)) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// Who am I.
#[utoipa::path(
    get, path = "/me", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<Me>> {
    let today = state
        .clock
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let patient = match user.patient_id {
        Some(id) => state
            .store
            .get_patient(id)
            .await?
            .map(|p| PatientView::from_row(p, today)),
        None => None,
    };
    let doctor = match user.doctor_id {
        Some(id) => state
            .store
            .get_doctor(id)
            .await?
            .map(|d| DoctorView::from_row(d, true)),
        None => None,
    };
    Ok(axum::Json(Me {
        account_id: user.account_id,
        role: role_name(user.role).to_owned(),
        login: user.login,
        patient,
        doctor,
    }))
}
