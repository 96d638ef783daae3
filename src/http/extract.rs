//! Request extractors: JSON, query and path that fail as problem+json, and the
//! signed-in user.

use super::AppState;
use super::error::ApiError;
use crate::auth::token_hash;
use crate::store::SessionUser;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

/// `axum::Json` whose rejections are problem documents.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections are problem documents.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are 404 problem documents.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

pub const SESSION_COOKIE: &str = "medimeet_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Patient,
    Doctor,
    Admin,
}

/// The caller, from a `Bearer` token or the session cookie.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub account_id: i64,
    pub role: Role,
    pub login: String,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub token_hash: String,
    pub csrf_token: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller is this doctor.
    pub fn is_doctor(&self, doctor_id: i64) -> bool {
        self.role == Role::Doctor && self.doctor_id == Some(doctor_id)
    }

    /// Whether the caller is this patient.
    pub fn is_patient(&self, patient_id: i64) -> bool {
        self.role == Role::Patient && self.patient_id == Some(patient_id)
    }

    pub fn actor(&self) -> Option<i64> {
        Some(self.account_id)
    }
}

/// Reads the session token from `Authorization: Bearer` or the session cookie;
/// the flag says whether it came from the cookie.
pub fn session_token(parts: &Parts) -> Option<(String, bool)> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION)
        && let Ok(s) = v.to_str()
        && let Some(t) = s.strip_prefix("Bearer ")
    {
        return Some((t.trim().to_owned(), false));
    }
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == SESSION_COOKIE
                && !val.is_empty()
            {
                return Some((val.to_owned(), true));
            }
        }
    }
    None
}

async fn load_user(parts: &Parts, state: &AppState) -> Result<Option<CurrentUser>, ApiError> {
    let Some((token, from_cookie)) = session_token(parts) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let now = state.clock.now().as_second();
    let Some(u) = state.store.session_user(&hash, now).await? else {
        return Ok(None);
    };
    // A browser's cookie rides along on cross-site requests; a state-changing
    // call authenticated by cookie must also prove it came from our pages.
    if from_cookie && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if sent != u.csrf_token {
            return Err(ApiError::forbidden(
                "A request authenticated by cookie must carry the X-CSRF-Token header.",
            )
            .detail("Missing or wrong X-CSRF-Token header."));
        }
    }
    Ok(Some(to_current(u, hash)))
}

fn to_current(u: SessionUser, token_hash: String) -> CurrentUser {
    let role = match u.role.as_str() {
        "admin" => Role::Admin,
        "doctor" => Role::Doctor,
        _ => Role::Patient,
    };
    CurrentUser {
        account_id: u.account_id,
        role,
        login: u.login,
        patient_id: u.patient_id,
        doctor_id: u.doctor_id,
        token_hash,
        csrf_token: u.csrf_token,
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        load_user(parts, state)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        load_user(parts, state).await
    }
}

/// The client's address, for login throttling.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        // Behind a trusted reverse proxy the client is the last X-Forwarded-For hop.
        if state.settings.trust_forwarded_for
            && let Some(v) = parts.headers.get("x-forwarded-for")
            && let Ok(s) = v.to_str()
            && let Some(last) = s.rsplit(',').next()
        {
            let ip = last.trim();
            if ip.parse::<std::net::IpAddr>().is_ok() {
                return Ok(ClientAddr(ip.to_owned()));
            }
        }
        Ok(ClientAddr(peer))
    }
}
