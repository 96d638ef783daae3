//! Patient registration and profiles.

use super::instant_text;
use crate::domain::ids::PatientId;
use crate::domain::person::DateOfBirth;
use crate::domain::person::Patient;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, CurrentUser};
use crate::usecases::patients::{self, ProfileChanges, Registration};
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
            created_at: instant_text(p.created_at),
        }
    }
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
    let reg = Registration {
        first_name: req.first_name,
        last_name: req.last_name,
        phone: req.phone,
        password: req.password,
        date_of_birth: req.date_of_birth,
        email: req.email,
    };
    let row = patients::register(&state.clinic, &reg).await?;
    let today = patients::today(&state.clinic);
    Ok((StatusCode::CREATED, Json(PatientView::from_row(row, today))))
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
    let row = patients::read(&state.clinic, &user.caller, PatientId::new(id)).await?;
    let today = patients::today(&state.clinic);
    Ok(Json(PatientView::from_row(row, today)))
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
    let changes = ProfileChanges {
        first_name: req.first_name,
        last_name: req.last_name,
        email: req.email,
    };
    let id = PatientId::new(id);
    let row = patients::update(&state.clinic, &user.caller, id, &changes).await?;
    let today = patients::today(&state.clinic);
    Ok(Json(PatientView::from_row(row, today)))
}
