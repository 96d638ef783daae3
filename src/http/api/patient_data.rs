//! A patient's own data (decision 0020): `GET /me/export` downloads
//! everything the clinic holds about the caller as one JSON document;
//! `POST /me/close` closes their account. The profile page's "Download my
//! data" link is this same address (the session cookie authenticates it).

use super::instant_text;
use crate::domain::caller::Role;
use crate::domain::patient_data::Actor;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, CurrentUser};
use crate::usecases::patient_data::{self, PatientExport};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(close))
}

/// The patient's details as the clinic has them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportProfile {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    /// E.164; also the login.
    pub phone: String,
    pub email: Option<String>,
    #[schema(format = Date)]
    pub date_of_birth: String,
    pub notify_email: bool,
    pub notify_sms: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Someone who acted on the patient's records: the patient (`you`), a
/// doctor (with their name), the clinic's staff or the system.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportActor {
    /// `you`, `doctor`, `clinic staff` or `system`.
    pub who: String,
    /// The doctor's name, for a doctor.
    pub doctor_name: Option<String>,
}

fn actor_view(a: Actor, me: crate::domain::ids::AccountId) -> ExportActor {
    let who = match (a.account_id, a.role) {
        (Some(id), _) if id == me => "you",
        (_, Some(Role::Doctor)) => "doctor",
        (_, Some(Role::Admin | Role::Patient)) => "clinic staff",
        (_, None) => "system",
    };
    ExportActor {
        who: who.to_owned(),
        doctor_name: a.doctor_name,
    }
}

/// A change of one visit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportChange {
    /// `booked`, `rescheduled`, `cancelled`, `status_changed`, `note_ready`.
    pub event: String,
    pub by: ExportActor,
    /// The cancellation reason, for a cancellation.
    pub reason: Option<String>,
    /// The new status, for a status change.
    pub status: Option<String>,
    #[schema(format = DateTime)]
    pub visit_start: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A chat message of a visit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportMessage {
    pub id: i64,
    /// `patient` (you) or `doctor`.
    pub author: String,
    pub text: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// The doctor's note of a visit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportNote {
    pub body: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One of the patient's visits, with its history, chat and note.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportVisit {
    pub id: i64,
    pub doctor_id: i64,
    pub doctor_name: String,
    pub doctor_specialty: Option<String>,
    pub status: String,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub payment_status: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub history: Vec<ExportChange>,
    pub chat: Vec<ExportMessage>,
    pub note: Option<ExportNote>,
}

/// A message the clinic sent, or meant to send, to the patient.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportNotification {
    pub appointment_id: Option<i64>,
    /// `email` or `sms`.
    pub channel: String,
    /// `notice` or `reminder`.
    pub kind: String,
    /// `pending`, `sent`, `dead`, `dropped` or `not_configured`.
    pub state: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
}

/// The calendar subscription (its URL is a secret and not exported).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportCalendar {
    /// Whether a subscription URL works for this account.
    pub feed: bool,
    /// How many times the URL was replaced by a new one.
    pub url_replaced: i64,
}

/// A live session of the account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportSession {
    pub id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    pub device: Option<String>,
    pub address: Option<String>,
    pub current: bool,
}

/// One read of the patient's records, from the clinic's audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportRead {
    #[schema(format = DateTime)]
    pub at: String,
    pub by: ExportActor,
    /// `read`, `read note`, `read chat`, `read history`.
    pub action: String,
    /// `patient` (the profile), `appointment` or `visit`.
    pub record: String,
    pub record_id: i64,
}

/// Everything medimeet holds about the calling patient.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientDataExport {
    #[schema(format = DateTime)]
    pub generated_at: String,
    pub login: String,
    pub profile: ExportProfile,
    pub appointments: Vec<ExportVisit>,
    pub notifications: Vec<ExportNotification>,
    pub calendar: ExportCalendar,
    pub sessions: Vec<ExportSession>,
    pub record_reads: Vec<ExportRead>,
}

fn detail_field(detail: Option<&str>, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(detail?).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

impl PatientDataExport {
    pub fn of(e: PatientExport) -> Self {
        let me = e.profile.account_id;
        let mut changes = e.changes;
        let mut chat = e.chat;
        let appointments = e
            .visits
            .into_iter()
            .map(|v| {
                let a = v.appointment;
                let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut changes)
                    .into_iter()
                    .partition(|c| c.appointment_id == a.id);
                changes = rest;
                let (said, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut chat)
                    .into_iter()
                    .partition(|m| m.appointment_id == a.id);
                chat = rest;
                ExportVisit {
                    id: a.id.get(),
                    doctor_id: a.doctor_id.get(),
                    doctor_name: a.doctor_name(),
                    doctor_specialty: v.doctor_specialty,
                    status: a.status.as_str().to_owned(),
                    start: instant_text(a.start_at),
                    end: instant_text(a.end_at),
                    reason: a.reason,
                    cancel_reason: a.cancel_reason,
                    payment_status: a.payment_status.as_str().to_owned(),
                    created_at: instant_text(a.created_at),
                    updated_at: instant_text(a.updated_at),
                    history: mine
                        .into_iter()
                        .map(|c| ExportChange {
                            reason: detail_field(c.detail.as_deref(), "reason"),
                            status: detail_field(c.detail.as_deref(), "status"),
                            event: c.event,
                            by: actor_view(c.actor, me),
                            visit_start: instant_text(c.visit_start),
                            at: instant_text(c.at),
                        })
                        .collect(),
                    chat: said
                        .into_iter()
                        .map(|m| ExportMessage {
                            id: m.id,
                            author: m.author_role.as_str().to_owned(),
                            text: m.body,
                            at: instant_text(m.at),
                        })
                        .collect(),
                    note: v.note.map(|n| ExportNote {
                        body: n.body,
                        created_at: instant_text(n.created_at),
                        updated_at: instant_text(n.updated_at),
                    }),
                }
            })
            .collect();
        let p = e.profile;
        Self {
            generated_at: instant_text(e.generated_at),
            login: e.login,
            profile: ExportProfile {
                id: p.id.get(),
                first_name: p.first_name,
                last_name: p.last_name,
                phone: p.phone,
                email: p.email,
                date_of_birth: p.date_of_birth.to_string(),
                notify_email: p.notify_email,
                notify_sms: p.notify_sms,
                created_at: instant_text(p.created_at),
                updated_at: instant_text(p.updated_at),
            },
            appointments,
            notifications: e
                .notifications
                .into_iter()
                .map(|n| ExportNotification {
                    appointment_id: n.appointment_id.map(|a| a.get()),
                    channel: n.channel,
                    kind: n.kind,
                    state: n.state,
                    created_at: instant_text(n.created_at),
                    due_at: instant_text(n.due_at),
                    sent_at: n.sent_at.map(instant_text),
                })
                .collect(),
            calendar: ExportCalendar {
                feed: e.calendar_feed,
                url_replaced: e.calendar_rotations,
            },
            sessions: e
                .sessions
                .into_iter()
                .map(|s| ExportSession {
                    id: s.id,
                    created_at: instant_text(s.created),
                    last_used_at: s.last_used.map(instant_text),
                    device: s.device,
                    address: s.address,
                    current: s.current,
                })
                .collect(),
            record_reads: e
                .reads
                .into_iter()
                .map(|r| ExportRead {
                    at: instant_text(r.at),
                    by: actor_view(r.reader, me),
                    action: r.action,
                    record: r.entity,
                    record_id: r.entity_id,
                })
                .collect(),
        }
    }
}

/// Download everything medimeet holds about me (patients): profile,
/// appointments with their history, chat and notes, the messages sent to
/// me, my calendar subscription, sessions, and who read my records. A
/// file to save (`Content-Disposition: attachment`).
#[utoipa::path(
    get, path = "/me/export", tag = "patients",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Everything held about me, as one JSON document to save", body = PatientDataExport,
         headers(("Content-Disposition" = String, description = "attachment; filename=\"medimeet-my-data-<date>.json\""))),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a patient (`forbidden`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Response> {
    let data = patient_data::export(&state.clinic, &user.session).await?;
    let date = data
        .generated_at
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let body = PatientDataExport::of(data);
    let disposition = format!("attachment; filename=\"medimeet-my-data-{date}.json\"");
    Ok((
        [
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        axum::Json(body),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseAccount {
    /// My password, to confirm.
    pub password: String,
}

impl std::fmt::Debug for CloseAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloseAccount").finish_non_exhaustive()
    }
}

/// What closing the account did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountClosed {
    /// The future visits cancelled (their doctors are told).
    pub cancelled_appointments: Vec<i64>,
}

/// Close my account (patients): confirm with my password. Visits booked
/// for later are cancelled and their doctors told; login stops working and
/// every session (this one too) ends at once; the clinic keeps its medical
/// record (past visits, notes, audit, payments).
#[utoipa::path(
    post, path = "/me/close", tag = "patients",
    security(("bearer" = [])),
    request_body = CloseAccount,
    responses(
        (status = 200, description = "Closed; every token of the account stops working", body = AccountClosed),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a patient (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password is wrong (`validation_failed`); nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CloseAccount>,
) -> ApiResult<axum::Json<AccountClosed>> {
    let done = patient_data::close(&state.clinic, &user.session, &req.password).await?;
    Ok(axum::Json(AccountClosed {
        cancelled_appointments: done.cancelled.into_iter().map(|id| id.get()).collect(),
    }))
}
