//! The video visit's room (`/appointments/{id}/visit`, docs/visit.md) for its
//! patient and its doctor; anyone else, admins included, gets the 404 page.
//! Before the room opens it says when; after, that it has closed; while open
//! it is the call, whose script is `static/visit.js`. The doctor also sees the
//! reason for the visit, the patient's earlier visits with their notes, and
//! ends the visit there with a note.

use super::assets;
use super::errors::{PageError, PageResult};
use super::fmt;
use super::layout::Layout;
use super::patient::id_of;
use super::render::render;
use super::viewer::Viewer;
use super::visits::zone_for;
use crate::domain::caller::Role;
use crate::domain::ids::AppointmentId;
use crate::domain::visit::RoomState;
use crate::http::AppState;
use crate::usecases::visits::{self, ChatMessage, PastVisit};
use crate::usecases::{Caller, Clinic};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use jiff::tz::TimeZone;

pub fn router() -> Router<AppState> {
    Router::new().route("/appointments/{id}/visit", get(room_page))
}

/// A chat message as a page shows it (the room, the appointment afterwards).
pub struct ChatLine {
    pub id: i64,
    pub mine: bool,
    pub author: String,
    pub text: String,
    pub at_iso: String,
    pub at: String,
}

impl ChatLine {
    pub fn new(m: ChatMessage, you: Role, tz: &TimeZone) -> Self {
        Self {
            id: m.id,
            mine: m.author == you,
            author: m.author_name,
            text: m.body,
            at_iso: m.at.to_string(),
            at: fmt::time(&fmt::zoned(m.at, tz)),
        }
    }
}

/// A visit's whole chat, oldest first (pages of 200; a visit's chat is
/// rate-limited, so a few pages at most).
pub async fn whole_chat(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
) -> Result<Vec<ChatMessage>, PageError> {
    let mut all: Vec<ChatMessage> = Vec::new();
    loop {
        let after = all.last().map(|m| m.id);
        let page = visits::messages(clinic, caller, id, after, Some(200)).await?;
        let done = !page.more || page.items.is_empty();
        all.extend(page.items);
        if done {
            return Ok(all);
        }
    }
}

/// An earlier visit of the patient with this doctor.
pub struct PastLine {
    pub id: i64,
    pub date: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub reason: Option<String>,
    pub note: Option<String>,
}

impl PastLine {
    pub fn new(p: PastVisit, tz: &TimeZone) -> Self {
        Self {
            id: p.appointment.id.get(),
            date: fmt::date_time(&fmt::zoned(p.appointment.start_at, tz)),
            status: fmt::status_label(p.appointment.status),
            status_class: fmt::status_class(p.appointment.status),
            reason: p.appointment.reason,
            note: p.note.map(|n| n.body),
        }
    }
}

#[derive(Template)]
#[template(path = "visit.html")]
struct RoomPage {
    layout: Layout,
    visit_js: &'static str,
    id: i64,
    peer_name: String,
    when: String,
    tz: String,
    room_state: &'static str,
    opens_at: String,
    opens_at_iso: String,
    open_minutes: i64,
    role: &'static str,
    csrf: String,
    relay_only: bool,
    patient_seen: bool,
    is_doctor: bool,
    messages: Vec<ChatLine>,
    reason: Option<String>,
    note: Option<String>,
    history: Vec<PastLine>,
}

async fn room_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = AppointmentId::new(id_of(&id)?);
    let user = viewer.signed_in()?;
    let clinic = &state.clinic;
    let room = visits::room(clinic, &user.caller, id).await?;
    let (tz, tz_name) = zone_for(&state, &viewer, user).await?;
    let a = &room.appointment;
    let is_doctor = room.you == Role::Doctor;
    let open = room.room.state == RoomState::Open;
    // The chat, the note and the history are read (and audited) only for a
    // room that is open: the other states only say when.
    let (messages, note, history) = if open {
        let chat = whole_chat(clinic, &user.caller, id).await?;
        let (note, history) = if is_doctor {
            (
                visits::note_of(clinic, &user.caller, a).await?,
                visits::history(clinic, &user.caller, id).await?,
            )
        } else {
            (None, Vec::new())
        };
        (chat, note, history)
    } else {
        (Vec::new(), None, Vec::new())
    };
    let patient_seen =
        room.present.contains(&Role::Patient) || messages.iter().any(|m| m.author == Role::Patient);
    let start = fmt::zoned(a.start_at, &tz);
    let end = fmt::zoned(a.end_at, &tz);
    let opens = fmt::zoned(room.room.opens_at, &tz);
    let active = if is_doctor { "week" } else { "appointments" };
    let page = RoomPage {
        layout: viewer.layout_tz("Video visit", active),
        visit_js: assets::url("visit.js"),
        id: a.id.get(),
        peer_name: room.peer_name(),
        when: format!(
            "{}, {} – {}",
            fmt::long_date(start.date()),
            fmt::time(&start),
            fmt::time(&end)
        ),
        tz: tz_name,
        room_state: room.room.state.as_str(),
        opens_at: fmt::date_time(&opens),
        opens_at_iso: room.room.opens_at.to_string(),
        open_minutes: clinic.settings().visit_opens_minutes,
        role: room.you.as_str(),
        csrf: user.csrf_token().to_owned(),
        relay_only: room.relay_only,
        patient_seen,
        is_doctor,
        messages: messages
            .into_iter()
            .map(|m| ChatLine::new(m, room.you, &tz))
            .collect(),
        reason: a.reason.clone(),
        note: note.map(|n| n.body),
        history: history.into_iter().map(|p| PastLine::new(p, &tz)).collect(),
    };
    Ok(render(&page))
}
