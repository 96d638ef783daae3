//! Appointments: book, list, read, cancel, reschedule, and the visit flow.

use super::schema::{AppointmentStatus, PaymentStatus};
use super::visits::NoteView;
use super::{Page, instant_text, parse_cursor, parse_instant};
use crate::domain::appointment::Appointment;
use crate::domain::appointment::Status;
use crate::domain::ids::{AppointmentId, DoctorId, PatientId};
use crate::domain::limits::Action;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiJsonOrDefault, ApiPath, ApiQuery, ClientAddr, CurrentUser};
use crate::usecases::appointments::{self as visits, Booking};
use crate::usecases::limits;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(book, list_appointments))
        .routes(routes!(get_appointment))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(start_visit))
        .routes(routes!(complete))
        .routes(routes!(no_show))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppointmentView {
    pub id: i64,
    #[schema(value_type = AppointmentStatus)]
    pub status: String,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub doctor_id: i64,
    pub patient_id: i64,
    pub doctor_name: String,
    pub patient_name: String,
    pub reason: Option<String>,
    pub cancel_reason: Option<String>,
    #[schema(value_type = PaymentStatus)]
    pub payment_status: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The visit's note, for its doctor and its patient, in
    /// `GET /appointments/{id}` only (`null` in lists, for admins, and
    /// before the doctor writes one).
    pub visit_note: Option<NoteView>,
}

impl From<Appointment> for AppointmentView {
    fn from(a: Appointment) -> Self {
        Self {
            id: a.id.get(),
            status: a.status.as_str().to_owned(),
            start: instant_text(a.start_at),
            end: instant_text(a.end_at),
            doctor_id: a.doctor_id.get(),
            patient_id: a.patient_id.get(),
            doctor_name: a.doctor_name(),
            patient_name: a.patient_name(),
            reason: a.reason,
            cancel_reason: a.cancel_reason,
            payment_status: a.payment_status.as_str().to_owned(),
            created_at: instant_text(a.created_at),
            updated_at: instant_text(a.updated_at),
            visit_note: None,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    #[schema(minimum = 1)]
    pub doctor_id: i64,
    /// The slot's start, RFC 3339 with offset, as listed by the slots endpoint.
    #[schema(format = DateTime)]
    pub start: String,
    /// Why the patient comes, up to 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Book a visit (patients).
#[utoipa::path(
    post, path = "/appointments", tag = "appointments",
    security(("bearer" = [])),
    request_body = BookRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$", description = "Retry-safe key: a repeat returns the first answer")),
    responses(
        (status = 201, description = "Booked", body = AppointmentView),
        (status = 403, description = "Only patients book", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such doctor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slot_taken` or `one_visit_per_day`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_a_free_slot`, `validation_failed` or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many bookings from this address or account; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn book(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(addr, _): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<BookRequest>,
) -> ApiResult<(StatusCode, Json<AppointmentView>)> {
    limits::admit(&state.clinic, Action::Booking, &user.caller, &addr)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= 200 => Some(k.to_owned()),
            _ => {
                return Err(ApiError::invalid(
                    "Idempotency-Key",
                    "must be 1 to 200 visible characters",
                ));
            }
        },
    };
    let booking = Booking {
        doctor_id: DoctorId::new(req.doctor_id),
        start: parse_instant("start", &req.start)?,
        reason: req.reason,
        idempotency_key: key,
    };
    let row = visits::book(&state.clinic, &user.caller, &booking).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// Comma-separated statuses, e.g. `booked,in_progress`.
    #[param(value_type = Option<Vec<AppointmentStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    /// Visits starting at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Visits starting before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Admins: one doctor's visits.
    pub doctor_id: Option<i64>,
    /// Admins: one patient's visits. Doctors: one of their patients' visits
    /// with them (404 for a patient who has none).
    pub patient_id: Option<i64>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// My appointments: a patient's own, a doctor's schedule, or all for an admin.
#[utoipa::path(
    get, path = "/appointments", tag = "appointments",
    security(("bearer" = [])),
    params(AppointmentQuery),
    responses(
        (status = 200, description = "One page of appointments, earliest first", body = Page<AppointmentView>),
    )
)]
pub async fn list_appointments(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<AppointmentQuery>,
) -> ApiResult<Json<Page<AppointmentView>>> {
    let query = appointment_query(&q)?;
    let found = visits::list(&state.clinic, &user.caller, &query).await?;
    Ok(Json(Page::of(found.items, found.more, |a| {
        super::encode_cursor(&[a.start_at.as_second(), a.id.get()])
    })))
}

/// The list query's parameters, parsed.
fn appointment_query(q: &AppointmentQuery) -> ApiResult<visits::AppointmentQuery> {
    let after = match parse_cursor(q.cursor.as_deref())? {
        None => None,
        Some(c) => match c.as_slice() {
            [start, id] => Some((
                jiff::Timestamp::from_second(*start).map_err(|_| super::bad_cursor())?,
                AppointmentId::new(*id),
            )),
            _ => return Err(super::bad_cursor()),
        },
    };
    let mut statuses = Vec::new();
    if let Some(s) = &q.status {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            statuses.push(Status::parse(part).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "must be booked, in_progress, completed, no_show or cancelled",
                )
            })?);
        }
    }
    Ok(visits::AppointmentQuery {
        statuses,
        from: q
            .from
            .as_deref()
            .map(|s| parse_instant("from", s))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .map(|s| parse_instant("to", s))
            .transpose()?,
        doctor_id: q.doctor_id.map(DoctorId::new),
        patient_id: q.patient_id.map(PatientId::new),
        after,
        limit: q.limit,
    })
}

/// One appointment.
#[utoipa::path(
    get, path = "/appointments/{id}", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    responses(
        (status = 200, description = "The appointment", body = AppointmentView),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_appointment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    let row = visits::read(&state.clinic, &user.caller, AppointmentId::new(id)).await?;
    let note = crate::usecases::visits::note_of(&state.clinic, &user.caller, &row).await?;
    let mut view = AppointmentView::from(row);
    view.visit_note = note.map(Into::into);
    Ok(Json(view))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why the visit is cancelled, up to 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Cancel a visit. Patients only up to the clinic's cancellation window before
/// the start (409 `cancellation_window_passed`); doctors and admins any time.
#[utoipa::path(
    post, path = "/appointments/{id}/cancel", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    request_body(content = Option<CancelRequest>, description = "Optional: an empty body cancels without a reason"),
    responses(
        (status = 200, description = "Cancelled", body = AppointmentView),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cancellation_window_passed`, `invalid_transition` or `state_changed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    // The body is optional: an empty one cancels without a reason.
    ApiJsonOrDefault(req): ApiJsonOrDefault<CancelRequest>,
) -> ApiResult<Json<AppointmentView>> {
    let id = AppointmentId::new(id);
    let row = visits::cancel(&state.clinic, &user.caller, id, req.reason.as_deref()).await?;
    Ok(Json(row.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The new slot's start, RFC 3339 with offset.
    #[schema(format = DateTime)]
    pub start: String,
}

/// Move a visit to another free slot of the same doctor, atomically.
#[utoipa::path(
    post, path = "/appointments/{id}/reschedule", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    request_body = RescheduleRequest,
    responses(
        (status = 200, description = "Moved to the new slot", body = AppointmentView),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slot_taken`, `one_visit_per_day`, `cancellation_window_passed`, `invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_a_free_slot` or `validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many bookings from this address or account; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reschedule(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(addr, _): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RescheduleRequest>,
) -> ApiResult<Json<AppointmentView>> {
    limits::admit(&state.clinic, Action::Booking, &user.caller, &addr)?;
    let start = parse_instant("start", &req.start)?;
    let id = AppointmentId::new(id);
    let row = visits::reschedule(&state.clinic, &user.caller, id, start).await?;
    Ok(Json(row.into()))
}

/// The doctor starts the visit (doctor or admin, from its start time).
#[utoipa::path(
    post, path = "/appointments/{id}/start", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    responses(
        (status = 200, description = "Started: the visit is in progress", body = AppointmentView),
        (status = 403, description = "Only the visit's doctor or an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too early (`visit_not_started`), or the visit is not in a state that allows it (`invalid_transition`, `state_changed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_visit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    let row = visits::start(&state.clinic, &user.caller, AppointmentId::new(id)).await?;
    Ok(Json(row.into()))
}

/// Mark the visit completed (doctor or admin, from its start time).
#[utoipa::path(
    post, path = "/appointments/{id}/complete", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    responses(
        (status = 200, description = "Completed", body = AppointmentView),
        (status = 403, description = "Only the visit's doctor or an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too early (`visit_not_started`), or the visit is not in a state that allows it (`invalid_transition`, `state_changed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    let row = visits::complete(&state.clinic, &user.caller, AppointmentId::new(id)).await?;
    Ok(Json(row.into()))
}

/// Mark that the patient did not come (doctor or admin, from its start time).
#[utoipa::path(
    post, path = "/appointments/{id}/no-show", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    responses(
        (status = 200, description = "Marked as a no-show", body = AppointmentView),
        (status = 403, description = "Only the visit's doctor or an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too early (`visit_not_started`), or the visit is not in a state that allows it (`invalid_transition`, `state_changed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn no_show(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    let row = visits::no_show(&state.clinic, &user.caller, AppointmentId::new(id)).await?;
    Ok(Json(row.into()))
}
