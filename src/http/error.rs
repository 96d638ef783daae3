//! One error type for the HTTP API, rendered as RFC 9457 problem details.
//!
//! Policy:
//! - Every 4xx carries a stable, machine-readable `code` (snake_case); clients
//!   branch on `code`, people read `title` and `detail`.
//! - Validation errors are 422 `validation_failed` and list every bad field.
//! - A record the caller may not see is 404, exactly like one that does not exist,
//!   so ids cannot be probed; 403 only for a record the caller can see but may not
//!   change in that way.
//! - Conflicts with the data (slot taken, one visit a day, login taken, state moved
//!   on) are 409 with their own code.
//! - Anything unexpected is logged with its cause and answered as a bare 500 whose
//!   body says nothing about the cause: internal errors can carry patient data.

use crate::domain::person::FieldError;
use crate::usecases::{AffectedVisit, Conflict, Error as UseCaseError, Refusal, Thing};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<i64>,
    /// For `visits_affected`: the visits a schedule change would affect.
    /// (A boxed slice, not a `Vec`: it keeps every `Result<_, ApiError>` small.)
    pub affected: Box<[AffectedVisit]>,
}

/// The problem document (RFC 9457) as the API sends it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:medimeet:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `slot_taken`.
    pub code: String,
    /// For `validation_failed`: each field and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For `visits_affected`: the future booked visits the change would
    /// affect (nothing was changed). Send `affected` (`keep`, or `cancel`
    /// with `cancel_reason`) to go ahead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affected_visits: Vec<ProblemVisit>,
    /// The id of the request this answers, as in its `X-Request-Id` header
    /// and the server's log: quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A visit named in a problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemVisit {
    /// The appointment's id.
    pub id: i64,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub start: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub end: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: title.to_owned(),
            errors: Vec::new(),
            retry_after: None,
            affected: Box::default(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// A 404 for an address or record that is not there for the caller.
    pub fn not_found() -> Self {
        Self::from(UseCaseError::NotFound(Thing::Resource))
    }

    pub fn unauthorized() -> Self {
        Self::from(UseCaseError::Unauthenticated)
    }

    pub fn forbidden(detail: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed").detail(detail)
    }

    pub fn invalid(field: &str, message: &str) -> Self {
        Self::from(UseCaseError::invalid(field, message))
    }

    pub fn unprocessable(
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, title).detail(detail)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request").detail(detail)
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            type_: format!("urn:medimeet:problem:{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self
                .errors
                .iter()
                .map(|e| ProblemField {
                    field: e.field.clone(),
                    message: e.message.clone(),
                })
                .collect(),
            affected_visits: self
                .affected
                .iter()
                .map(|v| ProblemVisit {
                    id: v.id.get(),
                    start: crate::http::api::instant_text(v.start),
                    end: crate::http::api::instant_text(v.end),
                })
                .collect(),
            request_id: crate::http::request_id::current(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.to_problem())).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// The one mapping of the use cases' error to the API's problems: statuses
/// and `code`s are the API's contract (docs/API.md); titles and details are
/// the error's own words.
impl From<UseCaseError> for ApiError {
    fn from(err: UseCaseError) -> Self {
        use StatusCode as S;
        let (status, code) = match &err {
            UseCaseError::Unauthenticated => (S::UNAUTHORIZED, "unauthenticated"),
            UseCaseError::BadCredentials => (S::UNAUTHORIZED, "invalid_credentials"),
            UseCaseError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too_many_attempts"),
            UseCaseError::SecondFactorRequired => (S::UNAUTHORIZED, "totp_required"),
            UseCaseError::BadSecondFactor => (S::UNAUTHORIZED, "totp_invalid"),
            UseCaseError::SecondFactorSetupRequired => (S::FORBIDDEN, "totp_setup_required"),
            UseCaseError::TooManyMessages { .. } => (S::TOO_MANY_REQUESTS, "too_many_messages"),
            UseCaseError::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limited"),
            UseCaseError::NotFound(_) => (S::NOT_FOUND, "not_found"),
            UseCaseError::Forbidden(_) => (S::FORBIDDEN, "forbidden"),
            UseCaseError::Invalid(_) => (S::UNPROCESSABLE_ENTITY, "validation_failed"),
            UseCaseError::Conflict(c) => (
                S::CONFLICT,
                match c {
                    Conflict::SlotTaken => "slot_taken",
                    Conflict::OneVisitPerDay => "one_visit_per_day",
                    Conflict::AlreadyRegistered => "already_registered",
                    Conflict::StateChanged => "state_changed",
                    Conflict::CancellationWindowPassed(_) => "cancellation_window_passed",
                    Conflict::InvalidTransition(_) => "invalid_transition",
                    Conflict::VisitNotStarted(_) => "visit_not_started",
                    Conflict::VisitNotOpen(_) => "visit_not_open",
                    Conflict::VisitClosed => "visit_closed",
                    Conflict::SecondFactorState(_) => "totp_state",
                    Conflict::VisitsAffected(_) => "visits_affected",
                },
            ),
            UseCaseError::Refused(r) => (
                S::UNPROCESSABLE_ENTITY,
                match r {
                    Refusal::NotAFreeSlot => "not_a_free_slot",
                    Refusal::DoctorInactive => "doctor_inactive",
                    Refusal::IdempotencyKeyReused => "idempotency_key_reused",
                    Refusal::TooManyHolds => "too_many_holds",
                    Refusal::OwnAccount => "own_account",
                    Refusal::LastActiveAdmin => "last_active_admin",
                },
            ),
            UseCaseError::Busy => (S::SERVICE_UNAVAILABLE, "busy"),
            UseCaseError::Internal => (S::INTERNAL_SERVER_ERROR, "internal_error"),
        };
        let mut e = ApiError::new(status, code, err.title()).detail(err.detail());
        e.retry_after = match err {
            UseCaseError::TooManyAttempts { retry_after_secs }
            | UseCaseError::TooManyMessages { retry_after_secs }
            | UseCaseError::RateLimited {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            UseCaseError::Busy => Some(1),
            _ => None,
        };
        match err {
            UseCaseError::Invalid(fields) => e.errors = fields,
            UseCaseError::Conflict(Conflict::VisitsAffected(visits)) => {
                e.affected = visits.into_boxed_slice();
            }
            _ => {}
        }
        e
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::unprocessable(
                "invalid_body",
                "The request body does not fit",
                e.body_text(),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected JSON",
            )
            .detail("Send the body as application/json."),
            JsonRejection::BytesRejection(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "Request body too large",
            ),
            other => ApiError::bad_request("malformed_json", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        // An id that does not parse names nothing that exists.
        ApiError::not_found()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
