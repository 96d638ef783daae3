//! Appointments: book, list, read, cancel, reschedule, and the visit flow.

use super::doctors::load_schedule;
use super::{Page, Paging, page, parse_instant, rfc3339};
use crate::auth;
use crate::domain::appointment::{Action, Actor, Status};
use crate::domain::schedule::{self, Period};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiJsonOrDefault, ApiPath, ApiQuery, CurrentUser, Role};
use crate::store::{
    AppointmentFilter, AppointmentRow, BookOutcome, NewBooking, Reschedule, Transition,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::{SignedDuration, Timestamp};
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
    /// `booked`, `in_progress`, `completed`, `no_show` or `cancelled`.
    pub status: String,
    pub start: String,
    pub end: String,
    pub doctor_id: i64,
    pub patient_id: i64,
    pub doctor_name: String,
    pub patient_name: String,
    pub reason: Option<String>,
    pub cancel_reason: Option<String>,
    /// `unpaid`, `paid`, `refunded` or `waived`.
    pub payment_status: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<AppointmentRow> for AppointmentView {
    fn from(a: AppointmentRow) -> Self {
        Self {
            id: a.id,
            status: a.status,
            start: rfc3339(a.start_at),
            end: rfc3339(a.end_at),
            doctor_id: a.doctor_id,
            patient_id: a.patient_id,
            doctor_name: format!("{} {}", a.doctor_first_name, a.doctor_last_name),
            patient_name: format!("{} {}", a.patient_first_name, a.patient_last_name),
            reason: a.reason,
            cancel_reason: a.cancel_reason,
            payment_status: a.payment_status,
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BookRequest {
    pub doctor_id: i64,
    /// The slot's start, RFC 3339 with offset, as listed by the slots endpoint.
    pub start: String,
    /// Why the patient comes, up to 500 characters.
    pub reason: Option<String>,
}

fn parse_reason(field: &str, r: Option<&str>) -> ApiResult<Option<String>> {
    let r = r.map(str::trim).filter(|r| !r.is_empty());
    if r.is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid(field, "must be at most 500 characters"));
    }
    Ok(r.map(str::to_owned))
}

/// Finds the free slot starting at `start`, telling "taken" (409) from "never a
/// slot" (422).
/// `inactive` is the error for a doctor who takes no bookings.
async fn slot_at(
    state: &AppState,
    doctor_id: i64,
    start: Timestamp,
    ignore_slot: Option<(i64, i64)>,
    inactive: fn() -> ApiError,
) -> ApiResult<(Period, String)> {
    let now = state.clock.now();
    // The doctor's row comes with the schedule: one query.
    let sched = load_schedule(
        state,
        doctor_id,
        start,
        start + SignedDuration::from_secs(1),
    )
    .await?;
    if !sched.active {
        return Err(inactive());
    }
    let taken: Vec<Period> = sched
        .taken
        .iter()
        .copied()
        .filter(|p| Some((p.start.as_second(), p.end.as_second())) != ignore_slot)
        .collect();
    let (notice, horizon) = (state.settings.min_notice(), state.settings.horizon());
    let a = &sched.availability;
    match schedule::free_slot_at(a, &taken, now, notice, horizon, start) {
        Some(p) => Ok((p, schedule::local_date(p.start, &a.time_zone).to_string())),
        None if schedule::free_slot_at(a, &[], now, notice, horizon, start).is_some() => {
            Err(ApiError::slot_taken())
        }
        None => Err(ApiError::unprocessable(
            "not_a_free_slot",
            "Not one of the doctor's slots",
            "That time is not one of the doctor's bookable slots. List the free slots and pick one.",
        )),
    }
}

fn doctor_not_found() -> ApiError {
    ApiError::not_found("doctor")
}

fn doctor_inactive() -> ApiError {
    ApiError::unprocessable(
        "doctor_inactive",
        "Doctor unavailable",
        "The doctor no longer takes bookings.",
    )
}

/// Book a visit (patients).
#[utoipa::path(
    post, path = "/appointments", tag = "appointments",
    security(("bearer" = [])),
    request_body = BookRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key: a repeat returns the first answer")),
    responses(
        (status = 201, description = "Booked", body = AppointmentView),
        (status = 403, description = "Only patients book", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such doctor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slot_taken` or `one_visit_per_day`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_a_free_slot`, `validation_failed` or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn book(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<BookRequest>,
) -> ApiResult<(StatusCode, Json<AppointmentView>)> {
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
    let row = book_visit(&state, &user, &req, key.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Books one of the doctor's free slots for the calling patient: the slot must be
/// one the generator offers (422 `not_a_free_slot`) and still free (409
/// `slot_taken`, also when the database catches a racing booking). With an
/// idempotency key a retry gets the first answer. Shared by the API and the
/// booking page.
pub async fn book_visit(
    state: &AppState,
    user: &CurrentUser,
    req: &BookRequest,
    key: Option<&str>,
) -> ApiResult<AppointmentRow> {
    let Some(patient_id) = user.patient_id.filter(|_| user.role == Role::Patient) else {
        return Err(ApiError::forbidden("Only patients can book visits."));
    };
    let start = parse_instant("start", &req.start)?;
    let reason = parse_reason("reason", req.reason.as_deref())?;
    let fingerprint = auth::fingerprint(
        format!(
            "{}|{}|{}",
            req.doctor_id,
            start.as_second(),
            reason.as_deref().unwrap_or("")
        )
        .as_bytes(),
    );
    let idempotency = key.map(|k| (user.account_id, k, fingerprint.as_str()));
    let (slot, local_date) = match slot_at(state, req.doctor_id, start, None, doctor_not_found)
        .await
    {
        Ok(found) => found,
        // A retry of a booking that went through finds its own slot taken:
        // answer it from the key before calling it a conflict.
        Err(e) if e.code == "slot_taken" => match idempotency {
            Some((account, k, hash)) => match state.store.replay_booking(account, k, hash).await? {
                Some(outcome) => return booked(outcome),
                None => return Err(e),
            },
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let booking = NewBooking {
        doctor_id: req.doctor_id,
        patient_id,
        start_at: slot.start.as_second(),
        end_at: slot.end.as_second(),
        local_date: &local_date,
        reason: reason.as_deref(),
        idempotency,
    };
    let now = state.clock.now().as_second();
    booked(state.store.book(&booking, user.actor(), now).await?)
}

fn booked(outcome: BookOutcome) -> ApiResult<AppointmentRow> {
    match outcome {
        BookOutcome::Created(row) => {
            tracing::info!(appointment_id = row.id, doctor_id = row.doctor_id, "booked");
            Ok(row)
        }
        BookOutcome::Replayed(row) => Ok(row),
        BookOutcome::KeyReused => Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was already used for a different booking.",
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// Comma-separated statuses, e.g. `booked,in_progress`.
    pub status: Option<String>,
    /// Visits starting at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Visits starting before this instant (RFC 3339).
    pub to: Option<String>,
    /// Admins: one doctor's visits.
    pub doctor_id: Option<i64>,
    /// Admins: one patient's visits.
    pub patient_id: Option<i64>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// My appointments: a patient's own, a doctor's schedule, or all for an admin.
#[utoipa::path(
    get, path = "/appointments", tag = "appointments",
    security(("bearer" = [])),
    params(AppointmentQuery),
    responses(
        (status = 200, body = Page<AppointmentView>),
    )
)]
pub async fn list_appointments(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<AppointmentQuery>,
) -> ApiResult<Json<Page<AppointmentView>>> {
    let (rows, limit) = find_appointments(&state, &user, &q).await?;
    Ok(Json(page(
        rows,
        limit,
        |a| vec![a.start_at, a.id],
        AppointmentView::from,
    )))
}

/// The appointments the caller may see (a patient's own, a doctor's schedule,
/// anything for an admin) that match the query, ordered by start. Returns up to
/// `limit + 1` rows (the extra one only says there is a next page) and `limit`.
/// Shared by the API and the pages.
pub async fn find_appointments(
    state: &AppState,
    user: &CurrentUser,
    q: &AppointmentQuery,
) -> ApiResult<(Vec<AppointmentRow>, i64)> {
    let paging = Paging {
        cursor: q.cursor.clone(),
        limit: q.limit,
    };
    let limit = paging.limit()?;
    let after = match paging.cursor()? {
        None => None,
        Some(c) if c.len() == 2 => Some((c[0], c[1])),
        Some(_) => {
            return Err(ApiError::invalid(
                "cursor",
                "is not a cursor this API gave out",
            ));
        }
    };
    let mut filter = AppointmentFilter::default();
    match user.role {
        Role::Patient => filter.patient_id = Some(user.patient_id.unwrap_or(-1)),
        Role::Doctor => filter.doctor_id = Some(user.doctor_id.unwrap_or(-1)),
        Role::Admin => {
            filter.doctor_id = q.doctor_id;
            filter.patient_id = q.patient_id;
        }
    }
    if let Some(s) = &q.status {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let st = Status::parse(part).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "must be booked, in_progress, completed, no_show or cancelled",
                )
            })?;
            filter.statuses.push(st.as_str().to_owned());
        }
    }
    filter.from = q
        .from
        .as_deref()
        .map(|s| parse_instant("from", s))
        .transpose()?
        .map(|t| t.as_second());
    filter.to =
        q.to.as_deref()
            .map(|s| parse_instant("to", s))
            .transpose()?
            .map(|t| t.as_second());
    let rows = state
        .store
        .list_appointments(&filter, after, limit + 1)
        .await?;
    Ok((rows, limit))
}

/// An appointment the caller may see (their own, their patient's, or any for an
/// admin); 404 otherwise.
pub async fn visible_appointment(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> ApiResult<AppointmentRow> {
    match state.store.get_appointment(id).await? {
        Some(a)
            if user.is_admin() || user.is_patient(a.patient_id) || user.is_doctor(a.doctor_id) =>
        {
            Ok(a)
        }
        _ => Err(ApiError::not_found("appointment")),
    }
}

/// One appointment.
#[utoipa::path(
    get, path = "/appointments/{id}", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Appointment id")),
    responses(
        (status = 200, body = AppointmentView),
        (status = 404, description = "No such appointment, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_appointment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    Ok(Json(read_appointment(&state, &user, id).await?.into()))
}

/// One appointment the caller may see (404 otherwise); reads by staff are
/// audited. Shared by the API and the pages.
pub async fn read_appointment(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> ApiResult<AppointmentRow> {
    let a = visible_appointment(state, user, id).await?;
    if user.role != Role::Patient {
        state
            .store
            .audit_read(
                user.account_id,
                "appointment",
                id,
                state.clock.now().as_second(),
            )
            .await?;
    }
    Ok(a)
}

fn actor(user: &CurrentUser) -> Actor {
    match user.role {
        Role::Patient => Actor::Patient,
        Role::Doctor => Actor::Doctor,
        Role::Admin => Actor::Admin,
    }
}

/// Applies a status action (start, complete, no-show, cancel) to an appointment
/// the caller may see, after the domain policy agreed. Shared by the API and
/// the pages.
pub async fn act(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    action: Action,
    cancel_reason: Option<String>,
) -> ApiResult<AppointmentRow> {
    let a = visible_appointment(state, user, id).await?;
    let status = Status::parse(&a.status)
        .ok_or_else(|| ApiError::internal(&"unknown status in database"))?;
    let start = Timestamp::from_second(a.start_at).map_err(|e| ApiError::internal(&e))?;
    let now = state.clock.now();
    let next = state
        .settings
        .policy()
        .apply(actor(user), action, status, start, now)?;
    let row = state
        .store
        .transition(
            &Transition {
                id,
                doctor_id: a.doctor_id,
                from_status: status.as_str(),
                to_status: next.as_str(),
                cancel_reason: cancel_reason.as_deref(),
                release_slot: next == Status::Cancelled,
            },
            user.actor(),
            now.as_second(),
        )
        .await?;
    tracing::info!(
        appointment_id = id,
        status = next.as_str(),
        "appointment status changed"
    );
    Ok(row)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    pub reason: Option<String>,
}

/// Cancel a visit. Patients only up to the clinic's cancellation window before
/// the start (409 `cancellation_window_passed`); doctors and admins any time.
#[utoipa::path(
    post, path = "/appointments/{id}/cancel", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Appointment id")),
    request_body(content = Option<CancelRequest>),
    responses(
        (status = 200, body = AppointmentView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
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
    Ok(Json(cancel_visit(&state, &user, id, &req).await?.into()))
}

/// Cancels a visit with an optional reason (the policy decides who may, and
/// until when). Shared by the API and the pages.
pub async fn cancel_visit(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    req: &CancelRequest,
) -> ApiResult<AppointmentRow> {
    let reason = parse_reason("reason", req.reason.as_deref())?;
    act(state, user, id, Action::Cancel, reason).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RescheduleRequest {
    /// The new slot's start, RFC 3339 with offset.
    pub start: String,
}

/// Move a visit to another free slot of the same doctor, atomically.
#[utoipa::path(
    post, path = "/appointments/{id}/reschedule", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Appointment id")),
    request_body = RescheduleRequest,
    responses(
        (status = 200, body = AppointmentView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slot_taken`, `one_visit_per_day`, `cancellation_window_passed`, `invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_a_free_slot` or `validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reschedule(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RescheduleRequest>,
) -> ApiResult<Json<AppointmentView>> {
    Ok(Json(
        reschedule_visit(&state, &user, id, &req).await?.into(),
    ))
}

/// Moves a visit to another free slot of its doctor in one atomic step. Shared
/// by the API and the pages.
pub async fn reschedule_visit(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    req: &RescheduleRequest,
) -> ApiResult<AppointmentRow> {
    let new_start = parse_instant("start", &req.start)?;
    let a = visible_appointment(state, user, id).await?;
    let status = Status::parse(&a.status)
        .ok_or_else(|| ApiError::internal(&"unknown status in database"))?;
    let old_start = Timestamp::from_second(a.start_at).map_err(|e| ApiError::internal(&e))?;
    let now = state.clock.now();
    state
        .settings
        .policy()
        .apply(actor(user), Action::Reschedule, status, old_start, now)?;
    if new_start.as_second() == a.start_at {
        return Err(ApiError::invalid("start", "is the visit's current time"));
    }
    // The visit's own slot does not block its move to an overlapping time.
    let (slot, local_date) = slot_at(
        state,
        a.doctor_id,
        new_start,
        Some((a.start_at, a.end_at)),
        doctor_inactive,
    )
    .await?;
    // A patient may not move a visit into the cancellation window either.
    if user.role == Role::Patient && now + state.settings.policy().cancel_window > slot.start {
        return Err(ApiError::conflict(
            "cancellation_window_passed",
            "Too late to change",
            "The new time is inside the clinic's cancellation window.",
        ));
    }
    let row = state
        .store
        .reschedule(
            &Reschedule {
                id,
                doctor_id: a.doctor_id,
                old_slot_id: a.slot_id,
                start_at: slot.start.as_second(),
                end_at: slot.end.as_second(),
                local_date: &local_date,
            },
            user.actor(),
            now.as_second(),
        )
        .await?;
    tracing::info!(appointment_id = id, "rescheduled");
    Ok(row)
}

/// The doctor starts the visit (doctor or admin, from its start time).
#[utoipa::path(
    post, path = "/appointments/{id}/start", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Appointment id")),
    responses(
        (status = 200, body = AppointmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_visit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    Ok(Json(
        act(&state, &user, id, Action::Start, None).await?.into(),
    ))
}

/// Mark the visit completed (doctor or admin, from its start time).
#[utoipa::path(
    post, path = "/appointments/{id}/complete", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Appointment id")),
    responses(
        (status = 200, body = AppointmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    Ok(Json(
        act(&state, &user, id, Action::Complete, None).await?.into(),
    ))
}

/// Mark that the patient did not come (doctor or admin, from its start time).
#[utoipa::path(
    post, path = "/appointments/{id}/no-show", tag = "appointments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Appointment id")),
    responses(
        (status = 200, body = AppointmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn no_show(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AppointmentView>> {
    Ok(Json(
        act(&state, &user, id, Action::NoShow, None).await?.into(),
    ))
}
