//! The FHIR R4 face under `/fhir` (issue 11, decision 0015): Practitioner,
//! Patient, Schedule, Slot and Appointment, and the IHE ITI Scheduling
//! operations `$find`, `$hold` and `$book`, over the same use cases as the
//! JSON API. This module holds what every interaction shares: the caller
//! (bearer tokens), `_format`, search parameters, OperationOutcome errors and
//! the `application/fhir+json` answers.
//!
//! - [`resources`]: the resources as serde structs.
//! - [`directory`]: metadata, Practitioner, Patient, Schedule and Slot.
//! - [`appointments`]: Appointment and the scheduling operations.

mod appointments;
mod directory;
pub mod resources;

use crate::domain::caller::Caller;
use crate::http::AppState;
use crate::usecases::{Conflict, Error, Refusal};
use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use resources::{Issue, OperationOutcome};
use serde::Serialize;

/// The FHIR routes, to nest under `/fhir`: an unknown path or method
/// answers an OperationOutcome too.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(directory::metadata))
        .route("/Practitioner", get(directory::search_practitioners))
        .route("/Practitioner/{id}", get(directory::read_practitioner))
        .route("/Patient", get(directory::search_patients))
        .route("/Patient/{id}", get(directory::read_patient))
        .route("/Schedule", get(directory::search_schedules))
        .route("/Schedule/{id}", get(directory::read_schedule))
        .route("/Slot", get(directory::search_slots))
        .route("/Slot/{id}", get(directory::read_slot))
        .route(
            "/Appointment",
            get(appointments::search).post(appointments::create),
        )
        .route(
            "/Appointment/$find",
            get(appointments::find_get).post(appointments::find_post),
        )
        .route("/Appointment/$hold", post(appointments::hold))
        .route("/Appointment/$book", post(appointments::book))
        .route(
            "/Appointment/{id}",
            get(appointments::read)
                .put(appointments::update)
                .patch(appointments::patch),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(not_allowed)
}

async fn unknown() -> FhirError {
    FhirError::new(
        StatusCode::NOT_FOUND,
        "not-supported",
        "No such FHIR resource or operation here: GET /fhir/metadata lists what is.",
    )
}

async fn not_allowed() -> FhirError {
    FhirError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "That interaction is not supported: GET /fhir/metadata lists what is.",
    )
}

/// The media type of every answer.
pub const FHIR_JSON: &str = "application/fhir+json";

/// An error as FHIR answers it: an OperationOutcome with the HTTP status.
#[derive(Debug, Clone)]
pub struct FhirError {
    pub status: StatusCode,
    pub outcome: OperationOutcome,
}

impl FhirError {
    pub fn new(status: StatusCode, code: &'static str, diagnostics: impl Into<String>) -> Self {
        Self {
            status,
            outcome: OperationOutcome {
                resource_type: "OperationOutcome",
                issue: vec![Issue {
                    severity: "error",
                    code,
                    diagnostics: diagnostics.into(),
                    expression: Vec::new(),
                }],
            },
        }
    }

    pub fn bad_request(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", diagnostics)
    }

    pub fn invalid(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", diagnostics)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} is not known here"),
        )
    }
}

impl From<Error> for FhirError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let detail = e.detail();
        match &e {
            Error::Unauthenticated => Self::new(
                S::UNAUTHORIZED,
                "login",
                "Send an `Authorization: Bearer` token (POST /api/v1/sessions gives one).",
            ),
            Error::BadCredentials | Error::SecondFactorRequired | Error::BadSecondFactor => {
                Self::new(S::UNAUTHORIZED, "login", detail)
            }
            Error::SecondFactorSetupRequired => Self::new(S::FORBIDDEN, "forbidden", detail),
            Error::TooManyAttempts { .. }
            | Error::TooManyMessages { .. }
            | Error::RateLimited { .. } => Self::new(S::TOO_MANY_REQUESTS, "throttled", detail),
            Error::NotFound(_) => Self::new(S::NOT_FOUND, "not-found", detail),
            Error::Forbidden(_) => Self::new(S::FORBIDDEN, "forbidden", detail),
            Error::Invalid(fields) => {
                let mut err = Self::new(S::UNPROCESSABLE_ENTITY, "invalid", detail);
                err.outcome.issue = fields
                    .iter()
                    .map(|f| Issue {
                        severity: "error",
                        code: "invalid",
                        diagnostics: format!("{}: {}", f.field, f.message),
                        expression: vec![f.field.clone()],
                    })
                    .collect();
                if err.outcome.issue.is_empty() {
                    err = Self::new(S::UNPROCESSABLE_ENTITY, "invalid", e.detail());
                }
                err
            }
            Error::Conflict(Conflict::SlotTaken) => Self::new(S::CONFLICT, "conflict", detail),
            Error::Conflict(_) => Self::new(S::CONFLICT, "business-rule", detail),
            Error::Refused(Refusal::TooManyHolds) => {
                Self::new(S::CONFLICT, "business-rule", detail)
            }
            Error::Refused(_) => Self::new(S::UNPROCESSABLE_ENTITY, "business-rule", detail),
            Error::Busy => Self::new(S::SERVICE_UNAVAILABLE, "transient", detail),
            Error::Internal => Self::new(S::INTERNAL_SERVER_ERROR, "exception", detail),
        }
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let mut res = fhir_json(self.status, &self.outcome);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

pub type FhirResult<T = Response> = Result<T, FhirError>;

/// A resource (or bundle, or outcome) as `application/fhir+json`.
pub fn fhir_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut res = (status, bytes).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/fhir+json; charset=utf-8"),
            );
            res
        }
        Err(e) => Error::internal(&e).into_fhir_response(),
    }
}

trait IntoFhirResponse {
    fn into_fhir_response(self) -> Response;
}

impl IntoFhirResponse for Error {
    fn into_fhir_response(self) -> Response {
        FhirError::from(self).into_response()
    }
}

/// The caller of a FHIR interaction: the JSON API's bearer tokens (no
/// cookies: FHIR clients are programs), anonymous without one. A token that
/// is not (or no longer) valid is a 401, not anonymity.
pub struct FhirCaller(pub Caller);

impl FromRequestParts<AppState> for FhirCaller {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FhirError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self(Caller::Anonymous));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(crate::http::extract::bearer)
            .ok_or_else(|| FhirError::from(Error::Unauthenticated))?;
        match crate::usecases::sessions::session(&state.clinic, token).await? {
            // Staff held until they turn on a second factor (decision 0019).
            Some(session) if session.must_set_up_totp => {
                Err(Error::SecondFactorSetupRequired.into())
            }
            Some(session) => Ok(Self(session.caller)),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

/// The query's parameters in order (a name may repeat: `date=ge...&date=lt...`),
/// with the FHIR-wide ones checked: `_format` must ask for JSON.
pub struct Search {
    pub params: Vec<(String, String)>,
    /// `Prefer: handling=lenient`: unknown parameters are ignored instead of refused.
    pub lenient: bool,
    /// The request's own URL, for the bundle's `self` link.
    pub url: String,
    /// `<scheme>://<host>/fhir`, for full URLs.
    pub base: String,
}

/// The parameters every search takes besides its own.
const COMMON: [&str; 4] = ["_format", "_count", "_cursor", "_pretty"];

impl Search {
    /// The values of one parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn one(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Refuses (400) a parameter this search does not support, unless the
    /// client asked for lenient handling.
    pub fn only(&self, supported: &[&str]) -> FhirResult<()> {
        if self.lenient {
            return Ok(());
        }
        for (k, _) in &self.params {
            let name = k.split(':').next().unwrap_or(k);
            if !supported.contains(&name) && !COMMON.contains(&name) {
                return Err(FhirError::bad_request(format!(
                    "Unknown search parameter `{k}`; this search supports {} (or send `Prefer: handling=lenient`).",
                    supported.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// `_count`: 1 to 200, 50 by default.
    pub fn count(&self) -> FhirResult<i64> {
        match self.one("_count") {
            None => Ok(50),
            Some(c) => match c.parse::<i64>() {
                Ok(n) if (1..=200).contains(&n) => Ok(n),
                _ => Err(FhirError::bad_request(
                    "`_count` must be a number from 1 to 200.",
                )),
            },
        }
    }

    /// This search's URL with `_cursor` set (the `next` link).
    pub fn next_url(&self, cursor: &str) -> String {
        let mut pairs: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| k != "_cursor")
            .cloned()
            .collect();
        pairs.push(("_cursor".into(), cursor.to_owned()));
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let path = self.url.split('?').next().unwrap_or(&self.url);
        format!("{path}?{query}")
    }
}

impl FromRequestParts<AppState> for Search {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FhirError> {
        let raw = parts.uri.query().unwrap_or("");
        let params: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect();
        if crate::http::extract::control_in_query(&parts.uri).is_some() {
            return Err(FhirError::bad_request(
                "Control characters (such as NUL) are not allowed in parameters.",
            ));
        }
        check_format(&params)?;
        let lenient = parts
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split([',', ';']).any(|p| p.trim() == "handling=lenient"));
        let base = base_url(&parts.headers, state);
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.to_string(), |u| u.0.to_string());
        let origin = base.trim_end_matches("/fhir").to_owned();
        Ok(Self {
            params,
            lenient,
            url: format!("{origin}{path}"),
            base,
        })
    }
}

/// `_format` may ask for JSON only (406 otherwise).
fn check_format(params: &[(String, String)]) -> FhirResult<()> {
    for (k, v) in params {
        if k == "_format"
            && !matches!(
                v.as_str(),
                "json" | "application/json" | "application/fhir+json" | "application/json+fhir"
            )
        {
            return Err(FhirError::new(
                StatusCode::NOT_ACCEPTABLE,
                "not-supported",
                format!("`_format={v}` is not served: this server speaks JSON only."),
            ));
        }
    }
    Ok(())
}

/// The FHIR base URL: `--public-url` and `/fhir`, else the request's host.
fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    if let Some(public) = &state.clinic.settings().public_url {
        return format!("{}/fhir", public.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}/fhir")
}

/// An instant as FHIR writes it (`2027-01-15T09:00:00Z`).
pub fn instant(t: Timestamp) -> String {
    crate::http::api::instant_text(t)
}

/// A FHIR `dateTime` or `instant` with a time and zone; a bare date means
/// its midnight UTC.
/// Out of [`crate::domain::reach`] it is no instant at all.
pub fn parse_instant(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t).filter(|t| crate::domain::reach::instant(*t));
    }
    let date: jiff::civil::Date = s.parse().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()
        .filter(|t| crate::domain::reach::instant(*t))
}

/// The number in a local reference `Type/123` (or a bare `123`), or the
/// whole URL's last two segments.
pub fn reference_id<'a>(reference: &'a str, kind: &str) -> Option<&'a str> {
    let tail = reference.trim_end_matches('/');
    let mut parts = tail.rsplitn(2, '/');
    let id = parts.next()?;
    match parts.next() {
        None => Some(id),
        Some(rest) => {
            let typ = rest.rsplit('/').next().unwrap_or(rest);
            (typ == kind).then_some(id)
        }
    }
}

/// A numeric id, or 404 (FHIR ids here are the API's numbers).
pub fn number(id: &str, what: &str) -> FhirResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| FhirError::not_found(&format!("{what}/{id}")))
}
