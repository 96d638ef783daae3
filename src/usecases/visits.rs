//! The video visit (decision 0011, docs/visit.md): its room, who is in it,
//! the relayed signaling, the chat and the visit note.
//!
//! Only the appointment's patient and its doctor enter ([`Caller::visit_role`]);
//! anyone else, admins included, gets [`Error::NotFound`]. The room's state is
//! the domain's ([`crate::domain::visit::Window`]). A socket face holds an
//! [`InRoom`] from [`enter`] and calls [`keep_alive`], [`relay`] and
//! [`leave`] with it; what reaches it from the other person comes from
//! [`feed`], routed by [`route`].

use super::appointments::act;
use super::{Caller, Clinic, Conflict, Error, Result, Thing};
use crate::domain::appointment::{Action, Appointment, Status};
use crate::domain::caller::Role;
use crate::domain::ids::{AccountId, AppointmentId, DoctorId};
use crate::domain::visit::{self, CHAT_MAX_CHARS, NOTE_MAX_CHARS, Room, RoomState, SignalKind};
use crate::store::{ChatRow, NewSignal, NoteRow, PresenceKey};
use jiff::Timestamp;
use std::sync::Arc;
use tokio::sync::broadcast;

pub use crate::store::Signal;

/// A socket that has not shown it is alive for this long is gone (its
/// instance died, or its network): it no longer counts as present.
pub const ALIVE_SECS: i64 = 60;
/// Relayed signals are kept this long, then pruned.
const SIGNAL_KEEP_SECS: i64 = 3600;

/// A STUN or TURN server for the browsers, with a TURN login where needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

/// A visit's room as one of its two people sees it.
#[derive(Debug, Clone)]
pub struct VisitRoom {
    pub appointment: Appointment,
    pub room: Room,
    /// Who the caller is in this visit.
    pub you: Role,
    /// Who is in the room now.
    pub present: Vec<Role>,
    pub ice_servers: Vec<IceServer>,
    /// Media only through the TURN server (the clinic's setting).
    pub relay_only: bool,
}

impl VisitRoom {
    /// The other person's role.
    pub fn peer(&self) -> Role {
        peer_of(self.you)
    }

    /// The other person's name as the caller sees it ("Dr. ..." for the doctor).
    pub fn peer_name(&self) -> String {
        name_of(&self.appointment, self.peer())
    }
}

fn peer_of(role: Role) -> Role {
    match role {
        Role::Doctor => Role::Patient,
        _ => Role::Doctor,
    }
}

/// How a person of the visit is named in its room and chat.
fn name_of(a: &Appointment, role: Role) -> String {
    match role {
        Role::Doctor => format!("Dr. {}", a.doctor_name()),
        _ => a.patient_name(),
    }
}

/// The appointment and the caller's role in it; `NotFound` for anyone but
/// its patient and its doctor.
async fn of_visit(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
) -> Result<(Appointment, Role)> {
    if !caller.is_logged_in() {
        return Err(Error::Unauthenticated);
    }
    match clinic.store.get_appointment(id).await? {
        Some(a) => match caller.visit_role(a.doctor_id, a.patient_id) {
            Some(role) => Ok((a, role)),
            None => {
                super::security::refused(caller, "visit", id.get());
                Err(Error::NotFound(Thing::Appointment))
            }
        },
        None => Err(Error::NotFound(Thing::Appointment)),
    }
}

fn room_of(clinic: &Clinic, a: &Appointment) -> Room {
    clinic
        .settings()
        .visit_window()
        .room(a.status, a.start_at, a.end_at, clinic.now())
}

fn alive_since(clinic: &Clinic) -> i64 {
    clinic.now().as_second() - ALIVE_SECS
}

/// The ICE servers for this caller: the STUN servers as configured, the TURN
/// servers with a login issued now for the clinic's TTL.
fn ice_servers(clinic: &Clinic, account: Option<AccountId>) -> Vec<IceServer> {
    let s = clinic.settings();
    let mut servers = Vec::new();
    if !s.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: s.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret), Some(account)) = (s.turn_urls.is_empty(), &s.turn_secret, account)
    {
        let expires = clinic.now().as_second() + s.turn_ttl_minutes * 60;
        let (username, password) =
            crate::auth::turn_credentials(secret.expose(), account.get(), expires);
        servers.push(IceServer {
            urls: s.turn_urls.clone(),
            username: Some(username),
            credential: Some(password),
        });
    }
    servers
}

/// The room of a visit: its state and window, who is in it, and the ICE
/// servers to call with.
pub async fn room(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<VisitRoom> {
    let (appointment, you) = of_visit(clinic, caller, id).await?;
    let present = clinic.store.present(id, alive_since(clinic)).await?;
    Ok(VisitRoom {
        room: room_of(clinic, &appointment),
        appointment,
        you,
        present,
        ice_servers: ice_servers(clinic, caller.account()),
        relay_only: clinic.settings().turn_relay_only,
    })
}

/// Refuses a room that is not open now, saying when it opens.
fn must_be_open(room: &Room) -> Result<()> {
    match room.state {
        RoomState::Open => Ok(()),
        RoomState::NotOpen => Err(Error::Conflict(Conflict::VisitNotOpen(room.opens_at))),
        RoomState::Closed => Err(Error::Conflict(Conflict::VisitClosed)),
    }
}

/// One person's socket in a visit's room.
#[derive(Debug, Clone)]
pub struct InRoom {
    pub appointment_id: AppointmentId,
    pub role: Role,
    pub account: AccountId,
    /// This socket's own id: a newer socket of the same person replaces it.
    pub connection: String,
    caller: Caller,
    start_at: Timestamp,
    status: Status,
}

impl InRoom {
    fn key(&self) -> PresenceKey<'_> {
        PresenceKey {
            appointment_id: self.appointment_id,
            role: self.role,
            connection: &self.connection,
        }
    }
}

/// Entering the room: the socket's seat and what it first tells its person.
#[derive(Debug, Clone)]
pub struct Entered {
    pub seat: InRoom,
    pub room: VisitRoom,
    pub peer_present: bool,
}

async fn publish(
    clinic: &Clinic,
    appointment_id: AppointmentId,
    from: Option<AccountId>,
    to: Option<Role>,
    kind: SignalKind,
    payload: &str,
) -> Result<()> {
    let signal = NewSignal {
        appointment_id,
        from_account: from,
        to,
        kind,
        payload,
    };
    clinic
        .store
        .publish_signal(&clinic.hub, &signal, clinic.now().as_second())
        .await?;
    Ok(())
}

/// Enters the visit's room (while it is open): the caller's earlier socket,
/// if any, is replaced; the other person is told; entering is audited. The
/// doctor's presence at or after the start starts the visit.
pub async fn enter(clinic: &Clinic, caller: &Caller, id: AppointmentId) -> Result<Entered> {
    let room = room(clinic, caller, id).await?;
    must_be_open(&room.room)?;
    let Some(account) = caller.account() else {
        return Err(Error::Unauthenticated);
    };
    let connection = crate::auth::new_token();
    let mut seat = InRoom {
        appointment_id: id,
        role: room.you,
        account,
        connection,
        caller: *caller,
        start_at: room.appointment.start_at,
        status: room.appointment.status,
    };
    let now = clinic.now().as_second();
    let replaced = clinic.store.enter_visit(&seat.key(), account, now).await?;
    if let Some(old) = replaced {
        let payload = serde_json::json!({ "connection": old }).to_string();
        publish(
            clinic,
            id,
            Some(account),
            Some(seat.role),
            SignalKind::Replaced,
            &payload,
        )
        .await?;
    }
    publish(
        clinic,
        id,
        Some(account),
        Some(peer_of(seat.role)),
        SignalKind::PeerJoined,
        "{}",
    )
    .await?;
    if let Err(e) = clinic.store.prune_signals(now - SIGNAL_KEEP_SECS).await {
        tracing::warn!(error = %e, "cannot prune old visit signals");
    }
    tracing::info!(appointment_id = %id, role = seat.role.as_str(), "entered the visit room");
    let peer_present = room.present.contains(&room.peer());
    start_if_due(clinic, &mut seat).await?;
    Ok(Entered {
        seat,
        room,
        peer_present,
    })
}

/// The doctor in the room at or after the start starts the visit (the
/// ordinary `start` transition, audited, announced to both).
async fn start_if_due(clinic: &Clinic, seat: &mut InRoom) -> Result<()> {
    if seat.role != Role::Doctor || seat.status != Status::Booked || clinic.now() < seat.start_at {
        return Ok(());
    }
    match act(
        clinic,
        &seat.caller,
        seat.appointment_id,
        Action::Start,
        None,
    )
    .await
    {
        Ok(a) => {
            seat.status = a.status;
            Ok(())
        }
        // Started (or ended) meanwhile, from another tab or the API.
        Err(Error::Conflict(Conflict::StateChanged | Conflict::InvalidTransition(_))) => {
            seat.status = Status::InProgress;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The socket is alive (every ping). `false`: a newer socket of the same
/// person took its seat, and this one must close.
pub async fn keep_alive(clinic: &Clinic, seat: &mut InRoom) -> Result<bool> {
    let here = clinic
        .store
        .touch_presence(&seat.key(), clinic.now().as_second())
        .await?;
    if here {
        start_if_due(clinic, seat).await?;
    }
    Ok(here)
}

/// Leaves the room (hanging up, closing the page): the other person is told,
/// leaving is audited. Nothing when a newer socket had already replaced
/// this one.
pub async fn leave(clinic: &Clinic, seat: &InRoom) -> Result<()> {
    let now = clinic.now().as_second();
    if clinic
        .store
        .leave_visit(&seat.key(), seat.account, now)
        .await?
    {
        let peer = Some(peer_of(seat.role));
        publish(
            clinic,
            seat.appointment_id,
            Some(seat.account),
            peer,
            SignalKind::PeerLeft,
            "{}",
        )
        .await?;
        tracing::info!(appointment_id = %seat.appointment_id, role = seat.role.as_str(), "left the visit room");
    }
    Ok(())
}

/// Passes an offer, answer or ICE candidate to the other person. `payload`
/// is the face's JSON of the message, relayed as it is.
pub async fn relay(clinic: &Clinic, seat: &InRoom, kind: SignalKind, payload: &str) -> Result<()> {
    if !matches!(
        kind,
        SignalKind::Offer | SignalKind::Answer | SignalKind::Ice
    ) {
        return Err(Error::invalid("type", "must be offer, answer or ice"));
    }
    let peer = Some(peer_of(seat.role));
    publish(
        clinic,
        seat.appointment_id,
        Some(seat.account),
        peer,
        kind,
        payload,
    )
    .await
}

/// Every signal relayed from now on, to filter with [`route`].
pub fn feed(clinic: &Clinic) -> broadcast::Receiver<Arc<Signal>> {
    clinic.hub.subscribe(&clinic.store)
}

/// What a socket does with a relayed signal.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Not for this socket.
    Skip,
    /// Send it to this socket's person.
    Send,
    /// Send it, then close: the visit is over.
    SendAndEnd,
    /// A newer socket of the same person took over: close this one.
    Replaced,
}

/// Whether, and how, a relayed signal reaches this socket.
pub fn route(seat: &InRoom, s: &Signal) -> Delivery {
    if s.appointment_id != seat.appointment_id || s.to.is_some_and(|r| r != seat.role) {
        return Delivery::Skip;
    }
    let field = |name: &str| {
        serde_json::from_str::<serde_json::Value>(&s.payload)
            .ok()
            .and_then(|v| v.get(name).and_then(|f| f.as_str()).map(str::to_owned))
    };
    match s.kind {
        SignalKind::Replaced => {
            if field("connection").as_deref() == Some(seat.connection.as_str()) {
                Delivery::Replaced
            } else {
                Delivery::Skip
            }
        }
        SignalKind::VisitState => match field("status").as_deref() {
            Some("booked" | "in_progress") => Delivery::Send,
            _ => Delivery::SendAndEnd,
        },
        _ => Delivery::Send,
    }
}

/// Tells a visit's open sockets that its status changed (started, ended,
/// cancelled). Called by every status change of a visit whose room is open.
pub(super) async fn announce_status(clinic: &Clinic, a: &Appointment, actor: Option<AccountId>) {
    let payload = serde_json::json!({ "status": a.status.as_str() }).to_string();
    if let Err(e) = publish(clinic, a.id, actor, None, SignalKind::VisitState, &payload).await {
        tracing::warn!(error = ?e, appointment_id = %a.id, "cannot announce the visit's status");
    }
}

/// Whether this appointment's video room is open now (for a "Join visit"
/// link on a list; its status changes are announced to the room then). No
/// database read: the caller already may see the appointment.
pub fn room_is_open(clinic: &Clinic, a: &Appointment) -> bool {
    room_of(clinic, a).state == RoomState::Open
}

/// A chat message as its readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub id: i64,
    pub author: Role,
    pub author_name: String,
    pub body: String,
    pub at: Timestamp,
}

fn message(a: &Appointment, row: ChatRow) -> ChatMessage {
    ChatMessage {
        id: row.id,
        author_name: name_of(a, row.author_role),
        author: row.author_role,
        body: row.body,
        at: row.created_at,
    }
}

/// Sends a chat message in the visit (while its room is open): kept with the
/// appointment, relayed to both sockets. At most the clinic's
/// `chat_per_account` per person (counted in the database, so across
/// instances).
pub async fn chat(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    text: &str,
) -> Result<ChatMessage> {
    let (a, _) = of_visit(clinic, caller, id).await?;
    let body = visit::text(text, CHAT_MAX_CHARS).map_err(|why| Error::invalid("text", &why))?;
    must_be_open(&room_of(clinic, &a))?;
    let Some(account) = caller.account() else {
        return Err(Error::Unauthenticated);
    };
    let now = clinic.now().as_second();
    let limit = clinic.settings().chat_per_account;
    if limit.count.is_some() {
        let sent = clinic
            .store
            .chat_sent_since(account, now - limit.per_secs)
            .await?;
        if !limit.allows(sent) {
            return Err(Error::TooManyMessages {
                retry_after_secs: limit.per_secs,
            });
        }
    }
    let row = clinic.store.add_chat(id, account, &body, now).await?;
    let m = message(&a, row);
    let payload = serde_json::json!({
        "id": m.id,
        "author": m.author.as_str(),
        "author_name": m.author_name,
        "text": m.body,
        "at": m.at.as_second(),
    })
    .to_string();
    publish(clinic, id, Some(account), None, SignalKind::Chat, &payload).await?;
    Ok(m)
}

/// One page of a visit's chat, oldest first.
#[derive(Debug, Clone)]
pub struct MessagePage {
    pub items: Vec<ChatMessage>,
    pub more: bool,
}

/// The visit's chat after message `after` (its two people, any time
/// afterwards); reading it is audited.
pub async fn messages(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    after: Option<i64>,
    limit: Option<i64>,
) -> Result<MessagePage> {
    let limit = super::page_limit(limit)?;
    let (a, _) = of_visit(clinic, caller, id).await?;
    let rows = clinic
        .store
        .list_chat(id, after.unwrap_or(0), limit + 1)
        .await?;
    let (rows, more) = super::first_page(rows, limit);
    if let Some(account) = caller.account() {
        clinic
            .store
            .audit_visit(account, "read chat", id, clinic.now().as_second())
            .await?;
    }
    Ok(MessagePage {
        items: rows.into_iter().map(|r| message(&a, r)).collect(),
        more,
    })
}

/// A visit's note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitNote {
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<NoteRow> for VisitNote {
    fn from(n: NoteRow) -> Self {
        Self {
            body: n.body,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// Writes the visit's note (its doctor, once the visit has started; again to
/// change it), audited.
pub async fn write_note(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    body: &str,
) -> Result<VisitNote> {
    let (a, role) = of_visit(clinic, caller, id).await?;
    if role != Role::Doctor {
        return Err(Error::Forbidden("Only the visit's doctor writes its note."));
    }
    let body = visit::text(body, NOTE_MAX_CHARS).map_err(|why| Error::invalid("body", &why))?;
    if !matches!(
        a.status,
        Status::InProgress | Status::Completed | Status::NoShow
    ) {
        return Err(Error::Conflict(Conflict::VisitNotStarted(format!(
            "A visit that is {} has no note yet: start the visit first.",
            a.status.as_str().replace('_', " ")
        ))));
    }
    let Some(account) = caller.account() else {
        return Err(Error::Unauthenticated);
    };
    let row = clinic
        .store
        .put_note(id, account, &body, clinic.now().as_second())
        .await?;
    Ok(row.into())
}

/// The note of an appointment the caller has read, when the caller is one of
/// its two people (an admin sees the appointment, not its note); reading an
/// existing note is audited.
pub async fn note_of(
    clinic: &Clinic,
    caller: &Caller,
    a: &Appointment,
) -> Result<Option<VisitNote>> {
    if caller.visit_role(a.doctor_id, a.patient_id).is_none() {
        return Ok(None);
    }
    let note = clinic.store.notes_of(&[a.id]).await?.pop();
    if note.is_some()
        && let Some(account) = caller.account()
    {
        clinic
            .store
            .audit_visit(account, "read note", a.id, clinic.now().as_second())
            .await?;
    }
    Ok(note.map(VisitNote::from))
}

/// An earlier visit of the same patient with the same doctor, with its note.
#[derive(Debug, Clone)]
pub struct PastVisit {
    pub appointment: Appointment,
    pub note: Option<VisitNote>,
}

/// The patient's earlier visits with this visit's doctor (not cancelled),
/// newest first, with their notes: the doctor's context in the room. Its two
/// people only; reading it is audited.
pub async fn history(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
) -> Result<Vec<PastVisit>> {
    const HOW_MANY: i64 = 20;
    let (a, _) = of_visit(clinic, caller, id).await?;
    let filter = crate::store::AppointmentFilter {
        doctor_id: Some(a.doctor_id),
        patient_id: Some(a.patient_id),
        statuses: vec![Status::Completed, Status::NoShow, Status::InProgress],
        from: None,
        to: Some(a.start_at),
    };
    // Oldest first from the store; the newest HOW_MANY are what matter.
    let mut earlier = clinic.store.list_appointments(&filter, None, 1000).await?;
    earlier.reverse();
    earlier.truncate(usize::try_from(HOW_MANY).unwrap_or(20));
    let ids: Vec<AppointmentId> = earlier.iter().map(|e| e.id).collect();
    let mut notes = clinic.store.notes_of(&ids).await?;
    if !ids.is_empty()
        && let Some(account) = caller.account()
    {
        clinic
            .store
            .audit_visit(account, "read history", id, clinic.now().as_second())
            .await?;
    }
    Ok(earlier
        .into_iter()
        .map(|appointment| {
            let note = notes
                .iter()
                .position(|n| n.appointment_id == appointment.id)
                .map(|i| VisitNote::from(notes.swap_remove(i)));
            PastVisit { appointment, note }
        })
        .collect())
}

/// The doctor's visits whose patient is waiting in the room now (for the
/// doctor's schedule, and admins managing it).
pub async fn waiting(
    clinic: &Clinic,
    caller: &Caller,
    doctor: DoctorId,
) -> Result<Vec<AppointmentId>> {
    if !caller.may_manage_doctor(doctor) {
        return Err(Error::NotFound(Thing::Doctor));
    }
    Ok(clinic
        .store
        .patients_waiting(doctor, alive_since(clinic))
        .await?)
}
