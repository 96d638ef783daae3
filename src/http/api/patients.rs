//! Patient registration and profiles.

use super::rfc3339;
use crate::auth;
use crate::domain::person::{DateOfBirth, Email, Errors, Name, Password, Phone};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, CurrentUser, Role};
use crate::store::{NewPatient, PatientPatch, PatientRow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(get_patient, update_patient))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterPatient {
    pub first_name: String,
    pub last_name: String,
    /// Any common format; stored as E.164. The patient's login.
    pub phone: String,
    /// At least 10 characters.
    pub password: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
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
    pub date_of_birth: String,
    /// Derived from the date of birth, never stored.
    pub age: Option<i16>,
    pub created_at: String,
}

impl PatientView {
    pub fn from_row(p: PatientRow, today: Date) -> Self {
        let age = DateOfBirth::parse(&p.date_of_birth, today)
            .ok()
            .map(|d| d.age_on(today));
        Self {
            id: p.id,
            first_name: p.first_name,
            last_name: p.last_name,
            phone: p.phone,
            email: p.email,
            date_of_birth: p.date_of_birth,
            age,
            created_at: rfc3339(p.created_at),
        }
    }
}

fn today(state: &AppState) -> Date {
    state
        .clock
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
}

/// Register as a patient.
#[utoipa::path(
    post, path = "/patients", tag = "patients",
    request_body = RegisterPatient,
    responses(
        (status = 201, description = "Registered", body = PatientView),
        (status = 409, description = "Phone already registered (`already_registered`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterPatient>,
) -> ApiResult<(StatusCode, Json<PatientView>)> {
    let row = register_patient(&state, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(PatientView::from_row(row, today(&state))),
    ))
}

/// Validates every field (all mistakes reported at once, per field) and creates
/// the patient with their login. Shared by the API and the sign-up page.
pub async fn register_patient(state: &AppState, req: &RegisterPatient) -> ApiResult<PatientRow> {
    let today = today(state);
    let mut errs = Errors::default();
    let first = errs.check(Name::parse("first_name", &req.first_name));
    let last = errs.check(Name::parse("last_name", &req.last_name));
    let phone = errs.check(Phone::parse(&req.phone, &state.settings.phone_region));
    let password = errs.check(Password::parse("password", &req.password));
    let dob = errs.check(DateOfBirth::parse(&req.date_of_birth, today));
    let email = match req.email.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(e) => errs.check(Email::parse("email", e)).map(Some),
    };
    let (Some(first), Some(last), Some(phone), Some(password), Some(dob), Some(email)) =
        (first, last, phone, password, dob, email)
    else {
        return Err(ApiError::validation(errs.0));
    };
    let hash = auth::hash_password_async(password.expose().to_owned())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let dob_text = dob.date().to_string();
    let row = state
        .store
        .create_patient(
            NewPatient {
                phone: phone.as_str(),
                password_hash: &hash,
                first_name: first.as_str(),
                last_name: last.as_str(),
                email: email.as_ref().map(Email::as_str),
                date_of_birth: &dob_text,
            },
            state.clock.now().as_second(),
        )
        .await?;
    tracing::info!(patient_id = row.id, "patient registered");
    Ok(row)
}

/// Loads a patient the caller may see: themselves, any for an admin, and for a
/// doctor only patients with a visit with them. Anything else is 404.
async fn visible_patient(state: &AppState, user: &CurrentUser, id: i64) -> ApiResult<PatientRow> {
    let allowed = match user.role {
        Role::Patient => user.patient_id == Some(id),
        Role::Admin => true,
        Role::Doctor => match user.doctor_id {
            Some(d) => state.store.doctor_has_patient(d, id).await?,
            None => false,
        },
    };
    if !allowed {
        return Err(ApiError::not_found("patient"));
    }
    state
        .store
        .get_patient(id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))
}

/// A patient's profile.
#[utoipa::path(
    get, path = "/patients/{id}", tag = "patients",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 200, body = PatientView),
        (status = 404, description = "No such patient, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_patient(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PatientView>> {
    let row = visible_patient(&state, &user, id).await?;
    if user.role != Role::Patient {
        state
            .store
            .audit_read(
                user.account_id,
                "patient",
                id,
                state.clock.now().as_second(),
            )
            .await?;
    }
    Ok(Json(PatientView::from_row(row, today(&state))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdatePatient {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// An address, or an empty string to remove it.
    pub email: Option<String>,
}

/// Change a patient's profile (the patient or an admin).
#[utoipa::path(
    patch, path = "/patients/{id}", tag = "patients",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")),
    request_body = UpdatePatient,
    responses(
        (status = 200, body = PatientView),
        (status = 403, description = "A doctor cannot change a patient's profile", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_patient(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdatePatient>,
) -> ApiResult<Json<PatientView>> {
    visible_patient(&state, &user, id).await?;
    if user.role == Role::Doctor {
        return Err(ApiError::forbidden(
            "Doctors cannot change a patient's profile.",
        ));
    }
    let mut errs = Errors::default();
    let mut patch = PatientPatch::default();
    if let Some(f) = &req.first_name {
        patch.first_name = errs
            .check(Name::parse("first_name", f))
            .map(Name::into_string);
    }
    if let Some(l) = &req.last_name {
        patch.last_name = errs
            .check(Name::parse("last_name", l))
            .map(Name::into_string);
    }
    if let Some(e) = &req.email {
        patch.email = if e.trim().is_empty() {
            Some(None)
        } else {
            errs.check(Email::parse("email", e))
                .map(|e| Some(e.as_str().to_owned()))
        };
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs.0));
    }
    let row = state
        .store
        .update_patient(id, &patch, user.actor(), state.clock.now().as_second())
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    Ok(Json(PatientView::from_row(row, today(&state))))
}
