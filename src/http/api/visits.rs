//! The video visit's HTTP resources (docs/visit.md): the room, the chat and
//! the note. The signaling WebSocket is in [`super::signal`].

use super::schema::Role as RoleSchema;
use super::{Page, instant_text, parse_cursor};
use crate::domain::ids::AppointmentId;
use crate::domain::limits::Action;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr, CurrentUser};
use crate::usecases::limits;
use crate::usecases::visits::{self, ChatMessage, IceServer, VisitNote, VisitRoom};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_visit))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(put_note))
}

/// Whether the room can be entered now.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomStateView {
    NotOpen,
    Open,
    Closed,
}

/// A STUN or TURN server for `RTCPeerConnection`'s `iceServers`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IceServerView {
    pub urls: Vec<String>,
    /// A TURN login issued for this person, valid for the clinic's TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl From<IceServer> for IceServerView {
    fn from(s: IceServer) -> Self {
        Self {
            urls: s.urls,
            username: s.username,
            credential: s.credential,
        }
    }
}

/// `RTCPeerConnection`'s `iceTransportPolicy`.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IceTransportPolicy {
    All,
    Relay,
}

/// A visit's video room, as one of its two people sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitView {
    pub appointment_id: i64,
    pub state: RoomStateView,
    /// From when the room can be entered.
    #[schema(format = DateTime)]
    pub opens_at: String,
    /// Until when (a visit in progress stays open until its doctor ends it).
    #[schema(format = DateTime)]
    pub closes_at: String,
    /// The caller's role in this visit.
    #[schema(value_type = RoleSchema)]
    pub you: String,
    /// The other person's name as the caller sees it.
    pub peer_name: String,
    /// Who is in the room now.
    #[schema(value_type = Vec<RoleSchema>)]
    pub present: Vec<String>,
    pub ice_servers: Vec<IceServerView>,
    pub ice_transport_policy: IceTransportPolicy,
    /// The signaling WebSocket of this visit (a path on this server).
    pub signal_url: String,
}

impl From<VisitRoom> for VisitView {
    fn from(r: VisitRoom) -> Self {
        let id = r.appointment.id.get();
        Self {
            appointment_id: id,
            state: match r.room.state {
                crate::domain::visit::RoomState::NotOpen => RoomStateView::NotOpen,
                crate::domain::visit::RoomState::Open => RoomStateView::Open,
                crate::domain::visit::RoomState::Closed => RoomStateView::Closed,
            },
            opens_at: instant_text(r.room.opens_at),
            closes_at: instant_text(r.room.closes_at),
            you: r.you.as_str().to_owned(),
            peer_name: r.peer_name(),
            present: r.present.iter().map(|p| p.as_str().to_owned()).collect(),
            ice_servers: r.ice_servers.into_iter().map(Into::into).collect(),
            ice_transport_policy: if r.relay_only {
                IceTransportPolicy::Relay
            } else {
                IceTransportPolicy::All
            },
            signal_url: format!("/api/v1/appointments/{id}/visit/signal"),
        }
    }
}

/// A visit's video room: its state and window, who is in it, the ICE servers
/// (with a TURN login) and the signaling socket. Its patient and doctor only.
#[utoipa::path(
    get, path = "/appointments/{id}/visit", tag = "visits",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    responses(
        (status = 200, description = "The room", body = VisitView),
        (status = 404, description = "No such appointment, or not the caller's visit (admins included)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_visit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<VisitView>> {
    let room = visits::room(&state.clinic, &user.caller, AppointmentId::new(id)).await?;
    Ok(Json(room.into()))
}

/// A chat message of a visit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatMessageView {
    pub id: i64,
    #[schema(value_type = RoleSchema)]
    pub author: String,
    pub author_name: String,
    pub text: String,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<ChatMessage> for ChatMessageView {
    fn from(m: ChatMessage) -> Self {
        Self {
            id: m.id,
            author: m.author.as_str().to_owned(),
            author_name: m.author_name,
            text: m.body,
            at: instant_text(m.at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A visit's chat, oldest first (its patient and doctor, during and after
/// the visit). Reading it is audited.
#[utoipa::path(
    get, path = "/appointments/{id}/messages", tag = "visits",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id"), MessageQuery),
    responses(
        (status = 200, description = "One page of the chat", body = Page<ChatMessageView>),
        (status = 404, description = "No such appointment, or not the caller's visit (admins included)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<Page<ChatMessageView>>> {
    let after = match parse_cursor(q.cursor.as_deref())? {
        None => None,
        Some(c) => match c.as_slice() {
            [id] => Some(*id),
            _ => return Err(super::bad_cursor()),
        },
    };
    let page = visits::messages(
        &state.clinic,
        &user.caller,
        AppointmentId::new(id),
        after,
        q.limit,
    )
    .await?;
    Ok(Json(Page::of(page.items, page.more, |m| {
        super::encode_cursor(&[m.id])
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// 1 to 2000 characters (surrounding blanks are trimmed).
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

/// Send a chat message in the visit while its room is open; it reaches the
/// other person's socket and stays with the appointment. Limited per person and
/// per address (the clinic's settings; by default 20 and 120 a minute).
#[utoipa::path(
    post, path = "/appointments/{id}/messages", tag = "visits",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    request_body = ChatRequest,
    responses(
        (status = 201, description = "Sent and kept", body = ChatMessageView),
        (status = 404, description = "No such appointment, or not the caller's visit (admins included)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`visit_not_open` or `visit_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_messages` (this person) or `rate_limited` (this address); see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_message(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(addr, _): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ChatRequest>,
) -> ApiResult<(StatusCode, Json<ChatMessageView>)> {
    limits::admit(&state.clinic, Action::Chat, &user.caller, &addr)?;
    let m = visits::chat(
        &state.clinic,
        &user.caller,
        AppointmentId::new(id),
        &req.text,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// A visit's note, written by its doctor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    pub body: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<VisitNote> for NoteView {
    fn from(n: VisitNote) -> Self {
        Self {
            body: n.body,
            created_at: instant_text(n.created_at),
            updated_at: instant_text(n.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// 1 to 10000 characters.
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
}

/// Write (or rewrite) the visit's note: its doctor, once the visit has
/// started. Only the visit's doctor and patient read it, with the appointment.
#[utoipa::path(
    put, path = "/appointments/{id}/note", tag = "visits",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The note as kept", body = NoteView),
        (status = 403, description = "The visit's patient: only its doctor writes the note", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or not the caller's visit (admins included)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`visit_not_started`: the visit is booked or cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_note(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> ApiResult<Json<NoteView>> {
    let note = visits::write_note(
        &state.clinic,
        &user.caller,
        AppointmentId::new(id),
        &req.body,
    )
    .await?;
    Ok(Json(note.into()))
}
