//! The visit's signaling WebSocket (docs/visit.md): parses the frames of one
//! person's socket into use-case calls, and renders what the use cases relay
//! to it. Every decision (who enters, when, who is replaced, when the visit
//! is over) is [`crate::usecases::visits`]'s.

use crate::domain::ids::AppointmentId;
use crate::domain::limits::Action;
use crate::domain::visit::{RoomState, SignalKind};
use crate::http::AppState;
use crate::http::api::instant_text;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiPath, ClientAddr, CurrentUser};
use crate::usecases::visits::{self, Delivery, InRoom, Signal};
use crate::usecases::{Caller, Clinic, Conflict, Error, limits};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The largest frame a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// The most frames a client may send in one second.
pub const MAX_FRAMES_PER_SEC: u32 = 50;
/// How often the server pings (and marks the person present).
const PING_EVERY: Duration = Duration::from_secs(20);
/// A socket silent for this long is dropped.
const SILENT_FOR: Duration = Duration::from_secs(60);

/// A newer socket of the same person took over.
pub const CLOSE_REPLACED: u16 = 4001;
/// The visit ended, or its room closed.
pub const CLOSE_VISIT_CLOSED: u16 = 4002;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(signal))
}

/// The visit's signaling WebSocket (`Upgrade: websocket`): offers, answers,
/// ICE candidates, presence and chat between its patient and its doctor, as
/// JSON text frames (docs/visit.md). Authenticated by the session cookie or
/// the bearer token; an `Origin` other than this site's is refused.
#[utoipa::path(
    get, path = "/appointments/{id}/visit/signal", tag = "visits",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Appointment id")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 403, description = "`foreign_origin`: the page asking is not this site's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or not the caller's visit (admins included)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`visit_not_open` or `visit_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 426, description = "`upgrade_required`: not a WebSocket handshake", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn signal(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(addr, _): ClientAddr,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    if !same_origin(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "foreign_origin",
            "Not from this site",
        )
        .detail("The WebSocket was opened by a page of another site."));
    }
    let id = AppointmentId::new(id);
    // Refused before the upgrade with a problem document: not theirs (404),
    // too early or too late (409).
    let room = visits::room(&state.clinic, &user.caller, id).await?;
    match room.room.state {
        RoomState::Open => {}
        RoomState::NotOpen => {
            return Err(Error::Conflict(Conflict::VisitNotOpen(room.room.opens_at)).into());
        }
        RoomState::Closed => return Err(Error::Conflict(Conflict::VisitClosed).into()),
    }
    let upgrade = upgrade.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "Not a WebSocket handshake",
        )
        .detail("Open this address as a WebSocket (Upgrade: websocket).")
    })?;
    let clinic = state.clinic.clone();
    let caller = user.caller;
    // Frames up to a little over our limit arrive whole, so that an
    // oversized one is answered with 1009 and a reason; anything far larger
    // is cut off by the protocol layer.
    Ok(upgrade
        .max_message_size(4 * MAX_FRAME_BYTES)
        .max_frame_size(4 * MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(socket, clinic, caller, addr, id)))
}

/// Whether the handshake's `Origin` (when a browser sent one) is this
/// site: its host and port are the `Host` the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser (API clients send no Origin): nothing to hijack.
        return true;
    };
    let (Ok(origin), Some(Ok(host))) = (
        origin.to_str(),
        headers.get(header::HOST).map(|h| h.to_str()),
    ) else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// A frame from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Ice {
        candidate: Option<Map<String, Value>>,
    },
    Chat {
        text: String,
    },
    Leave,
}

/// Why the socket ends.
enum End {
    /// The client went away (or hung up: `leave`).
    Gone,
    /// Closed by us with a code and a reason.
    Close(u16, String),
}

/// One person's socket, from entering to leaving.
async fn run(
    mut socket: WebSocket,
    clinic: Clinic,
    caller: Caller,
    addr: String,
    id: AppointmentId,
) {
    // Listen before entering: what the other person answers to our arrival
    // must not be missed.
    let mut feed = visits::feed(&clinic);
    let entered = match visits::enter(&clinic, &caller, id).await {
        Ok(e) => e,
        Err(e) => {
            let code = match e {
                Error::Conflict(Conflict::VisitClosed | Conflict::VisitNotOpen(_)) => {
                    CLOSE_VISIT_CLOSED
                }
                _ => close_code::ERROR,
            };
            close(&mut socket, code, &ApiError::from(e).detail).await;
            return;
        }
    };
    let mut seat = entered.seat;
    let welcome = serde_json::json!({
        "type": "welcome",
        "you": seat.role.as_str(),
        "peer": entered.room.peer().as_str(),
        "peer_name": entered.room.peer_name(),
        "peer_present": entered.peer_present,
        "status": entered.room.appointment.status.as_str(),
        "ice_servers": entered.room.ice_servers.iter().map(|s| {
            let mut o = Map::new();
            o.insert("urls".into(), s.urls.clone().into());
            if let (Some(u), Some(c)) = (&s.username, &s.credential) {
                o.insert("username".into(), u.clone().into());
                o.insert("credential".into(), c.clone().into());
            }
            Value::Object(o)
        }).collect::<Vec<_>>(),
        "ice_transport_policy": if entered.room.relay_only { "relay" } else { "all" },
    });
    let end = if send_json(&mut socket, &welcome).await {
        serve(&mut socket, &clinic, &caller, &addr, &mut seat, &mut feed).await
    } else {
        End::Gone
    };
    match end {
        End::Gone => {
            leave(&clinic, &seat).await;
        }
        End::Close(code, reason) => {
            if code != CLOSE_REPLACED {
                leave(&clinic, &seat).await;
            }
            close(&mut socket, code, &reason).await;
        }
    }
}

async fn leave(clinic: &Clinic, seat: &InRoom) {
    if let Err(e) = visits::leave(clinic, seat).await {
        tracing::warn!(error = ?e, "cannot record leaving the visit room");
    }
}

/// The socket's loop: frames in, relayed signals out, pings.
async fn serve(
    socket: &mut WebSocket,
    clinic: &Clinic,
    caller: &Caller,
    addr: &str,
    seat: &mut InRoom,
    feed: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<Signal>>,
) -> End {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = Instant::now();
    let mut window = (Instant::now(), 0u32);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { return End::Gone };
                heard = Instant::now();
                if window.0.elapsed() >= Duration::from_secs(1) {
                    window = (Instant::now(), 0);
                }
                window.1 += 1;
                if window.1 > MAX_FRAMES_PER_SEC {
                    return End::Close(close_code::POLICY, format!("more than {MAX_FRAMES_PER_SEC} messages a second"));
                }
                match msg {
                    Message::Text(text) => {
                        if let Some(end) = on_text(socket, clinic, caller, addr, seat, &text).await {
                            return end;
                        }
                    }
                    Message::Binary(_) => {
                        return End::Close(close_code::POLICY, "binary frames are not part of the protocol".into());
                    }
                    Message::Close(_) => return End::Gone,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            signal = feed.recv() => match signal {
                Ok(s) => match visits::route(seat, &s) {
                    Delivery::Skip => {}
                    Delivery::Send => {
                        if !send_json(socket, &render(&s)).await {
                            return End::Gone;
                        }
                    }
                    Delivery::SendAndEnd => {
                        let _ = send_json(socket, &render(&s)).await;
                        return End::Close(CLOSE_VISIT_CLOSED, "the visit has ended".into());
                    }
                    Delivery::Replaced => {
                        return End::Close(CLOSE_REPLACED, "replaced by a newer connection".into());
                    }
                },
                Err(RecvError::Lagged(_)) => {
                    return End::Close(close_code::AGAIN, "fell behind; reconnect".into());
                }
                Err(RecvError::Closed) => return End::Close(close_code::RESTART, "server stopping".into()),
            },
            _ = ping.tick() => {
                if heard.elapsed() > SILENT_FOR {
                    return End::Gone;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return End::Gone;
                }
                match visits::keep_alive(clinic, seat).await {
                    Ok(true) => {}
                    Ok(false) => return End::Close(CLOSE_REPLACED, "replaced by a newer connection".into()),
                    Err(e) => tracing::warn!(error = ?e, "cannot mark the visit room's presence"),
                }
            }
        }
    }
}

/// A client's text frame read: control characters are refused as in every
/// other face ([`crate::domain::text::control_in`]: chat text would reach the
/// other person's screen); SDP's line breaks pass.
fn client_frame(text: &str) -> serde_json::Result<ClientFrame> {
    let v: Value = serde_json::from_str(text)?;
    if crate::http::extract::control_in(&v, "").is_some() {
        return Err(serde::de::Error::custom(
            crate::domain::text::CONTROL_MESSAGE,
        ));
    }
    serde_json::from_value(v)
}

/// Handles one text frame; `Some` ends the socket.
async fn on_text(
    socket: &mut WebSocket,
    clinic: &Clinic,
    caller: &Caller,
    addr: &str,
    seat: &InRoom,
    text: &str,
) -> Option<End> {
    if text.len() > MAX_FRAME_BYTES {
        return Some(End::Close(
            close_code::SIZE,
            format!("messages are at most {MAX_FRAME_BYTES} bytes"),
        ));
    }
    let frame: ClientFrame = match client_frame(text) {
        Ok(f) => f,
        Err(e) => {
            // The reason of a close frame is at most 123 bytes.
            let mut reason = format!("malformed message: {e}");
            truncate(&mut reason, 120);
            return Some(End::Close(close_code::POLICY, reason));
        }
    };
    let relayed = match frame {
        ClientFrame::Leave => return Some(End::Close(close_code::NORMAL, "left".into())),
        ClientFrame::Chat { text } => {
            let sent = match limits::admit(clinic, Action::Chat, caller, addr) {
                Ok(()) => visits::chat(clinic, caller, seat.appointment_id, &text).await,
                Err(e) => Err(e),
            };
            return match sent {
                // The message comes back to both sockets through the relay.
                Ok(_) => None,
                Err(e) => {
                    let problem = ApiError::from(e);
                    let sent = send_json(
                        socket,
                        &serde_json::json!({"type": "error", "code": problem.code, "detail": problem.detail}),
                    )
                    .await;
                    (!sent).then_some(End::Gone)
                }
            };
        }
        ClientFrame::Offer { sdp } => (SignalKind::Offer, serde_json::json!({ "sdp": sdp })),
        ClientFrame::Answer { sdp } => (SignalKind::Answer, serde_json::json!({ "sdp": sdp })),
        ClientFrame::Ice { candidate } => (
            SignalKind::Ice,
            serde_json::json!({ "candidate": candidate.map(Value::Object) }),
        ),
    };
    match visits::relay(clinic, seat, relayed.0, &relayed.1.to_string()).await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(error = ?e, "cannot relay a signaling message");
            Some(End::Close(
                close_code::ERROR,
                "could not relay the message".into(),
            ))
        }
    }
}

/// A relayed signal as the frame its socket receives.
fn render(s: &Signal) -> Value {
    let mut frame = match serde_json::from_str::<Value>(&s.payload) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if s.kind == SignalKind::Chat
        && let Some(at) = frame.get("at").and_then(Value::as_i64)
        && let Ok(t) = jiff::Timestamp::from_second(at)
    {
        frame.insert("at".into(), instant_text(t).into());
    }
    frame.insert("type".into(), s.kind.as_str().into());
    Value::Object(frame)
}

async fn send_json(socket: &mut WebSocket, v: &Value) -> bool {
    socket
        .send(Message::Text(Utf8Bytes::from(v.to_string())))
        .await
        .is_ok()
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_owned();
    truncate(&mut reason, 120);
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        })))
        .await;
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_sites_pages_may_open_the_socket() {
        assert!(same_origin(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(same_origin(&headers(
            Some("https://Clinic.example"),
            "clinic.example"
        )));
        assert!(same_origin(&headers(None, "clinic.example")));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            "clinic.example"
        )));
        assert!(!same_origin(&headers(
            Some("http://127.0.0.1:9999"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "clinic.example")));
        assert!(!same_origin(&headers(
            Some("http://clinic.example.evil"),
            "clinic.example"
        )));
    }

    #[test]
    fn client_frames_are_the_protocols_and_nothing_else() {
        let ok = |s: &str| client_frame(s).is_ok();
        assert!(ok(r#"{"type":"offer","sdp":"v=0"}"#));
        assert!(ok(
            r#"{"type":"ice","candidate":{"candidate":"a","sdpMid":"0"}}"#
        ));
        assert!(ok(r#"{"type":"ice","candidate":null}"#));
        assert!(ok(r#"{"type":"chat","text":"hi"}"#));
        assert!(ok(r#"{"type":"leave"}"#));
        assert!(!ok(r#"{"type":"offer"}"#));
        assert!(!ok(r#"{"type":"offer","sdp":"v=0","to":"admin"}"#));
        assert!(!ok(r#"{"type":"ice","candidate":"a"}"#));
        assert!(!ok(r#"{"type":"welcome"}"#));
        assert!(!ok("not json"));
        // Control characters, as in every face; SDP's line breaks pass.
        assert!(!ok(r#"{"type":"chat","text":"hi\u0000"}"#));
        assert!(!ok(r#"{"type":"chat","text":"bell\u0007"}"#));
        assert!(ok(
            r#"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"}"#
        ));
    }

    #[test]
    fn a_close_reason_is_cut_on_a_character_boundary() {
        let mut s = "é".repeat(100);
        truncate(&mut s, 120);
        assert_eq!(s.len(), 120);
        let mut s = format!("a{}", "é".repeat(100));
        truncate(&mut s, 120);
        assert_eq!(s.len(), 119);
    }
}
