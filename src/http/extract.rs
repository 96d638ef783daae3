//! Request extractors: JSON, query and path that fail as problem+json, and the
//! signed-in user.

use super::AppState;
use super::error::ApiError;
use crate::domain::caller::{Caller, Role};
use crate::domain::text;
use crate::usecases::sessions::{self, Session};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

/// `axum::Json` whose rejections are problem documents, and which refuses
/// control characters anywhere in the body ([`text::control_in`]: NUL and the
/// rest of C0 but tab and line breaks, DEL, C1): no real input has them, and
/// PostgreSQL cannot store NUL in text.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        from_json_value(value).map(ApiJson)
    }
}

/// Checks a parsed body for control characters and gives it its type. A field the
/// operation does not know is a `validation_failed` naming it (the schemas say
/// `additionalProperties: false`), so a misspelt or read-only field is never
/// silently ignored. A whole number written as a float (`30.0`) counts as the
/// integer, as JSON Schema says it is.
fn from_json_value<T: serde::de::DeserializeOwned>(
    mut value: serde_json::Value,
) -> Result<T, ApiError> {
    if let Some(path) = control_in(&value, "") {
        return Err(ApiError::invalid(
            if path.is_empty() { "body" } else { &path },
            text::CONTROL_MESSAGE,
        ));
    }
    whole_floats_to_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        if let Some(field) = unknown_field(&message) {
            // The path ends at the unknown key itself.
            let field = match path.as_str() {
                "." | "" => field.to_owned(),
                at => at.to_owned(),
            };
            return ApiError::invalid(&field, "is not a field of this request");
        }
        let detail = match path.as_str() {
            "." | "" => message,
            at => format!("{at}: {message}"),
        };
        ApiError::unprocessable("invalid_body", "The request body does not fit", detail)
    })
}

/// The name in serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// `30.0` becomes `30`; other numbers are left alone.
fn whole_floats_to_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                // Exactly representable, so the cast below is exact.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    #[allow(clippy::cast_possible_truncation)]
                    let whole = f as i64;
                    *v = serde_json::Value::from(whole);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_floats_to_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_floats_to_integers),
        _ => {}
    }
}

/// Like [`ApiJson`], for a body that may be left out: an empty body is
/// `T::default()`.
pub struct ApiJsonOrDefault<T>(pub T);

impl<T, S> FromRequest<S> for ApiJsonOrDefault<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json") || ct.contains("+json")
            });
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "Request body too large",
                )
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrDefault(T::default()));
        }
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected JSON",
            )
            .detail("Send the body as application/json."));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
        from_json_value(value).map(ApiJsonOrDefault)
    }
}

/// The path of the first string (or key) holding a refused control character.
pub(crate) fn control_in(v: &serde_json::Value, at: &str) -> Option<String> {
    match v {
        serde_json::Value::String(s) => text::control_in(s).map(|_| at.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| control_in(x, &format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if text::control_in(k).is_some() {
                Some(here)
            } else {
                control_in(x, &here)
            }
        }),
        _ => None,
    }
}

/// `axum::extract::Query` whose rejections are problem documents, refusing
/// control characters like [`ApiJson`].
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(name) = control_in_query(&parts.uri) {
            return Err(ApiError::invalid(&name, text::CONTROL_MESSAGE));
        }
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// The name of the first query parameter whose name or value, decoded, holds
/// a refused control character ([`text::control_in`]); `query` when the
/// name itself is unprintable. The one check of every face's query string.
pub fn control_in_query(uri: &axum::http::Uri) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| {
        if text::control_in(&k).is_some() {
            Some("query".to_owned())
        } else {
            text::control_in(&v).map(|_| k.into_owned())
        }
    })
}

/// `axum::extract::Path` whose rejections are 404 problem documents.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

pub const SESSION_COOKIE: &str = "medimeet_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The names of medimeet's own cookies. With secure cookies on (behind
/// HTTPS) they carry the `__Host-` prefix: a browser then takes them only
/// when set over HTTPS by this very host, for `Path=/` and with no `Domain`,
/// so a neighbouring subdomain or a man in the middle on plain HTTP cannot
/// plant one (issue 13). A cookie under the other name is ignored.
/// Every request carries its names as an extension (put there by
/// [`crate::http::app`]); without one, the plain names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CookieNames {
    pub secure: bool,
}

impl CookieNames {
    /// The names a request's extensions say.
    pub fn of(extensions: &axum::http::Extensions) -> Self {
        extensions.get::<CookieNames>().copied().unwrap_or_default()
    }

    /// The session cookie.
    pub fn session(self) -> &'static str {
        if self.secure {
            "__Host-medimeet_session"
        } else {
            SESSION_COOKIE
        }
    }

    /// The anonymous visitor's double-submit CSRF cookie.
    pub fn csrf(self) -> &'static str {
        if self.secure {
            "__Host-medimeet_csrf"
        } else {
            "medimeet_csrf"
        }
    }

    /// A one-shot message for the page after a redirect.
    pub fn flash(self) -> &'static str {
        if self.secure {
            "__Host-medimeet_flash"
        } else {
            "medimeet_flash"
        }
    }
}

/// The `Set-Cookie` value for a session (`max_age` 0 deletes it).
pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    let name = CookieNames { secure }.session();
    let mut c = format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The caller, from a `Bearer` token or the session cookie: who they are for
/// the use cases ([`Caller`]), and what the HTTP layer needs of the session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub caller: Caller,
    pub login: String,
    pub session: Session,
}

impl CurrentUser {
    /// The caller behind a request that may or may not be signed in.
    pub fn caller_of(user: Option<&CurrentUser>) -> Caller {
        user.map_or(Caller::Anonymous, |u| u.caller)
    }

    pub fn is_admin(&self) -> bool {
        self.caller.is_admin()
    }

    /// The role of the person logged in.
    pub fn role(&self) -> Option<Role> {
        self.caller.role()
    }

    pub fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

/// The credentials of an `Authorization: Bearer <token>` header value; the
/// scheme's name is matched without regard to case (RFC 9110 §11.1).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Reads the session token from `Authorization: Bearer` or the session cookie;
/// the flag says whether it came from the cookie.
pub fn session_token(parts: &Parts) -> Option<(String, bool)> {
    session_token_in(&parts.headers, CookieNames::of(&parts.extensions))
}

/// [`session_token`] from a request's headers, the cookie under `names`.
pub fn session_token_in(
    headers: &axum::http::HeaderMap,
    names: CookieNames,
) -> Option<(String, bool)> {
    if let Some(v) = headers.get(header::AUTHORIZATION)
        && let Ok(s) = v.to_str()
        && let Some(t) = bearer(s)
    {
        return Some((t.to_owned(), false));
    }
    let name = names.session();
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == name
                && !val.is_empty()
            {
                return Some((val.to_owned(), true));
            }
        }
    }
    None
}

/// The signed-in user behind the request's token or cookie, if any, with *no*
/// CSRF check: for the web pages, whose forms carry the token in a field that
/// the page layer checks ([`crate::http::pages`]). API handlers use the
/// [`CurrentUser`] extractor, which checks the `X-CSRF-Token` header.
pub async fn session_of(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<CurrentUser>, crate::usecases::Error> {
    Ok(load_session(parts, state).await?.map(|(user, _)| user))
}

async fn load_session(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(CurrentUser, bool)>, crate::usecases::Error> {
    let Some((token, from_cookie)) = session_token(parts) else {
        return Ok(None);
    };
    let Some(session) = sessions::session(&state.clinic, &token).await? else {
        return Ok(None);
    };
    let user = CurrentUser {
        caller: session.caller,
        login: session.login.clone(),
        session,
    };
    Ok(Some((user, from_cookie)))
}

async fn load_user(
    parts: &Parts,
    state: &AppState,
    allow_setup: bool,
) -> Result<Option<CurrentUser>, ApiError> {
    let Some((u, from_cookie)) = load_session(parts, state).await? else {
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
        if !crate::auth::same_secret(sent, u.csrf_token()) {
            return Err(ApiError::forbidden(
                "A request authenticated by cookie must carry the X-CSRF-Token header.",
            )
            .detail("Missing or wrong X-CSRF-Token header."));
        }
    }
    // A staff member the clinic requires a second factor of, who has not
    // turned it on, may do only that (decision 0019).
    if u.session.must_set_up_totp && !allow_setup {
        return Err(crate::usecases::Error::SecondFactorSetupRequired.into());
    }
    Ok(Some(u))
}

/// The signed-in user like [`CurrentUser`], also while the clinic waits for
/// them to turn on a second factor: for turning it on, "who am I" and
/// logging out, the only calls open to them then.
pub struct SetupUser(pub CurrentUser);

impl FromRequestParts<AppState> for SetupUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        load_user(parts, state, true)
            .await?
            .map(SetupUser)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        load_user(parts, state, false)
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
        load_user(parts, state, false).await
    }
}

/// The client: its address (for login throttling and the session list) and
/// the `User-Agent` it says it is (the session list's device).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String, pub Option<String>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Behind a trusted reverse proxy the client is the last X-Forwarded-For hop.
        if state.clinic.settings().trust_forwarded_for
            && let Some(v) = parts.headers.get("x-forwarded-for")
            && let Ok(s) = v.to_str()
            && let Some(last) = s.rsplit(',').next()
        {
            let ip = last.trim();
            if ip.parse::<std::net::IpAddr>().is_ok() {
                return Ok(ClientAddr(ip.to_owned(), agent));
            }
        }
        Ok(ClientAddr(peer, agent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        for v in ["Bearer abc", "bearer abc", "BEARER  abc ", " Bearer abc"] {
            assert_eq!(bearer(v), Some("abc"), "{v:?}");
        }
        for v in ["Basic abc", "Bearer ", "Bearerabc", "", "Token abc"] {
            assert_eq!(bearer(v), None, "{v:?}");
        }
    }
    use crate::http::api::doctors::hours::AvailabilityDoc;
    use crate::http::api::patients::UpdatePatient;
    use serde_json::json;

    #[test]
    fn an_unknown_field_is_named() {
        let err = from_json_value::<UpdatePatient>(json!({"first_name": "Ann", "password": "x"}))
            .err()
            .unwrap();
        assert_eq!(err.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.code, "validation_failed");
        assert_eq!(err.errors.len(), 1);
        assert_eq!(err.errors[0].field, "password");

        let nested = json!({
            "visit_minutes": 30,
            "weekly": [{"weekday": "monday", "start": "09:00", "end": "12:00", "room": 4}],
        });
        let err = from_json_value::<AvailabilityDoc>(nested).err().unwrap();
        assert_eq!(err.errors[0].field, "weekly[0].room");
    }

    #[test]
    fn a_wrong_type_says_where() {
        let err =
            from_json_value::<AvailabilityDoc>(json!({"visit_minutes": "thirty", "weekly": []}))
                .err()
                .unwrap();
        assert_eq!(err.code, "invalid_body");
        assert!(err.detail.starts_with("visit_minutes: "), "{}", err.detail);
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        let doc = from_json_value::<AvailabilityDoc>(json!({"visit_minutes": 30.0, "weekly": []}));
        assert_eq!(doc.ok().map(|d| d.visit_minutes), Some(30));
        let err = from_json_value::<AvailabilityDoc>(json!({"visit_minutes": 30.5, "weekly": []}));
        assert_eq!(err.err().map(|e| e.code), Some("invalid_body"));
    }
}
