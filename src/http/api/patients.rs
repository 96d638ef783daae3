//! Patient registration and profiles.

use super::codes::CodeRequested;
use super::instant_text;
use super::sessions::SessionCreated;
use crate::domain::ids::PatientId;
use crate::domain::limits::Action;
use crate::domain::person::DateOfBirth;
use crate::domain::person::Patient;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ClientAddr, CurrentUser, session_cookie};
use crate::usecases::patients::{self, ProfileChanges, Registration};
use crate::usecases::signup::{self, Confirmation, SignedUp};
use crate::usecases::{Caller, limits};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(confirm_signup))
        .routes(routes!(get_patient, update_patient))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "first_name": "Maria", "last_name": "Rossi", "phone": "+12025550199",
    "password": "correct horse battery", "date_of_birth": "1985-04-12",
    "email": "maria.rossi@example.com"
}))]
pub struct RegisterPatient {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub first_name: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub last_name: String,
    /// Any common format; stored as E.164. The patient's login.
    #[schema(
        format = "phone",
        min_length = 1,
        max_length = 40,
        example = "+12025550123"
    )]
    pub phone: String,
    /// 10 to 256 characters, not easy to guess (zxcvbn score 2 or more;
    /// decision 0025).
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// Not in the future, not before 1900.
    #[schema(format = Date, example = "1985-04-12")]
    pub date_of_birth: String,
    #[schema(format = Email, max_length = 254, example = "pat@example.com")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientView {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone: String,
    pub email: Option<String>,
    #[schema(format = Date)]
    pub date_of_birth: String,
    /// Derived from the date of birth, never stored.
    pub age: Option<i16>,
    /// Whether the clinic's email reaches the patient (confirmations,
    /// reminders); the patient's choice, also turned off by the one-click
    /// unsubscribe link in every email.
    pub notify_email: bool,
    /// Whether the clinic's text messages reach the patient.
    pub notify_sms: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl PatientView {
    pub fn from_row(p: Patient, today: Date) -> Self {
        let age = DateOfBirth::parse(&p.date_of_birth.to_string(), today)
            .ok()
            .map(|d| d.age_on(today));
        Self {
            id: p.id.get(),
            first_name: p.first_name,
            last_name: p.last_name,
            phone: p.phone,
            email: p.email,
            date_of_birth: p.date_of_birth.to_string(),
            age,
            notify_email: p.notify_email,
            notify_sms: p.notify_sms,
            created_at: instant_text(p.created_at),
        }
    }
}

/// Register as a patient.
///
/// Without text messages (no `--sms-url`) the patient exists at once:
/// `201`, or `409` for a number that already has an account. With text
/// messages the answer is `202` with the same body for a new and an
/// existing number: a new number gets a code to finish with
/// `POST /signup/confirm`; the owner of an existing one gets a warning by
/// text message instead (decision 0027).
#[utoipa::path(
    post, path = "/patients", tag = "patients",
    request_body = RegisterPatient,
    responses(
        (status = 201, description = "Registered (a clinic that sends no text messages)", body = PatientView),
        (status = 202, description = "A code is on its way to the phone (a clinic that sends text messages); the same for a number that already has an account", body = CodeRequested),
        (status = 409, description = "Phone already registered (`already_registered`; only a clinic that sends no text messages)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many sign-ups from this address, or codes to this number; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(addr, _): ClientAddr,
    ApiJson(req): ApiJson<RegisterPatient>,
) -> ApiResult<Response> {
    // The document says an email address or no field at all: an empty one is
    // neither (the sign-up page's empty field is the page's own matter).
    if req.email.as_deref().is_some_and(|e| e.trim().is_empty()) {
        return Err(ApiError::invalid(
            "email",
            "must be an email address; leave the field out for none",
        ));
    }
    limits::admit(&state.clinic, Action::SignUp, &Caller::Anonymous, &addr)?;
    let reg = Registration {
        first_name: req.first_name,
        last_name: req.last_name,
        phone: req.phone,
        password: req.password,
        date_of_birth: req.date_of_birth,
        email: req.email,
    };
    Ok(match signup::sign_up(&state.clinic, &reg, &addr).await? {
        SignedUp::Registered(row) => {
            let today = patients::today(&state.clinic);
            (StatusCode::CREATED, Json(PatientView::from_row(row, today))).into_response()
        }
        SignedUp::CodeSent(sent) => (
            StatusCode::ACCEPTED,
            Json(CodeRequested {
                message: "We sent a code to this phone number: enter it to finish signing up. \
                          If the number already has an account, its owner was told instead."
                    .to_owned(),
                expires_in_seconds: sent.expires_in_secs,
            }),
        )
            .into_response(),
    })
}

/// The second step of a sign-up by text message: the phone and the code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupConfirm {
    /// The phone the sign-up gave, in any common format.
    #[schema(
        format = "phone",
        min_length = 1,
        max_length = 40,
        example = "+12025550199"
    )]
    pub phone: String,
    /// The 6-digit code (spaces and dashes are ignored).
    #[schema(example = "042917")]
    pub code: String,
}

impl std::fmt::Debug for SignupConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupConfirm").finish_non_exhaustive()
    }
}

/// A finished sign-up: the new patient and their session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignupConfirmed {
    pub session: SessionCreated,
    pub patient: PatientView,
}

/// Finish a sign-up with the code sent by text message.
///
/// Makes the account and the patient, uses the code up and logs in (also
/// sets the session cookie).
#[utoipa::path(
    post, path = "/signup/confirm", tag = "patients",
    request_body = SignupConfirm,
    responses(
        (status = 201, description = "Registered and logged in; also sets the session cookie", body = SignupConfirmed),
        (status = 409, description = "`already_registered`: the number became an account's login meanwhile; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: not a phone number, or the code is wrong, used or expired (the same for a number with no sign-up waiting); nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: too many wrong codes for this number or from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_signup(
    State(state): State<AppState>,
    ClientAddr(addr, device): ClientAddr,
    ApiJson(req): ApiJson<SignupConfirm>,
) -> ApiResult<Response> {
    let (patient, session) = signup::confirm(
        &state.clinic,
        Confirmation {
            phone: req.phone,
            code: req.code,
            client: addr,
            device,
        },
    )
    .await?;
    let settings = state.clinic.settings();
    let cookie = session_cookie(
        &session.token,
        settings.session_hours * 3600,
        settings.secure_cookies,
    );
    let today = patients::today(&state.clinic);
    let body = SignupConfirmed {
        session: SessionCreated {
            token: session.token,
            csrf_token: session.csrf_token,
            expires_at: instant_text(session.expires_at),
            role: session.role.as_str().to_owned(),
        },
        patient: PatientView::from_row(patient, today),
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// A patient's profile.
#[utoipa::path(
    get, path = "/patients/{id}", tag = "patients",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Patient id")),
    responses(
        (status = 200, description = "The profile", body = PatientView),
        (status = 404, description = "No such patient, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_patient(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PatientView>> {
    let row = patients::read(&state.clinic, &user.caller, PatientId::new(id)).await?;
    let today = patients::today(&state.clinic);
    Ok(Json(PatientView::from_row(row, today)))
}

/// The fields a profile change may touch; any other (a phone, a password) is
/// refused, naming it. A new phone goes through `POST /me/phone` (a code to
/// the new number).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatient {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub first_name: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub last_name: Option<String>,
    /// An address, or an empty string to remove it. (Not `format: email`:
    /// the empty string is not one.)
    #[schema(max_length = 254, pattern = r"^$|^[^@\s]+@[^@\s]+$")]
    pub email: Option<String>,
    /// Not in the future, not before 1900.
    #[schema(format = Date, example = "1985-04-12")]
    pub date_of_birth: Option<String>,
    /// Whether the clinic's email reaches the patient.
    pub notify_email: Option<bool>,
    /// Whether the clinic's text messages reach the patient.
    pub notify_sms: Option<bool>,
}

/// Change a patient's profile (the patient or an admin).
#[utoipa::path(
    patch, path = "/patients/{id}", tag = "patients",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Patient id")),
    request_body = UpdatePatient,
    responses(
        (status = 200, description = "The profile as changed", body = PatientView),
        (status = 403, description = "A doctor cannot change a patient's profile", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`); nothing is changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_patient(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdatePatient>,
) -> ApiResult<Json<PatientView>> {
    let changes = ProfileChanges {
        first_name: req.first_name,
        last_name: req.last_name,
        email: req.email,
        date_of_birth: req.date_of_birth,
        notify_email: req.notify_email,
        notify_sms: req.notify_sms,
    };
    let id = PatientId::new(id);
    let row = patients::update(&state.clinic, &user.caller, id, &changes).await?;
    let today = patients::today(&state.clinic);
    Ok(Json(PatientView::from_row(row, today)))
}
