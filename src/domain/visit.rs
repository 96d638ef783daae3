//! The video visit's room (decision 0011): when an appointment's two people
//! may enter it. The room is a view of the appointment, not a record: its state
//! follows from the appointment's status and times, the clock and the clinic's
//! window, so every face (the API, the pages, the WebSocket) answers the same.

use super::appointment::Status;
use jiff::{SignedDuration, Timestamp};

/// How long before the start a room opens and how long after the end it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens_before: SignedDuration,
    pub closes_after: SignedDuration,
}

/// Whether the room can be entered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    /// Too early: the room opens at `opens_at`.
    NotOpen,
    Open,
    /// Too late, or the visit is over (completed, no-show) or cancelled.
    Closed,
}

impl RoomState {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomState::NotOpen => "not_open",
            RoomState::Open => "open",
            RoomState::Closed => "closed",
        }
    }
}

/// A visit's room at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub state: RoomState,
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
}

impl Window {
    /// The room of a visit with this `status` from `start` to `end`, at `now`.
    /// Open in `[start - opens_before, end + closes_after)`. A visit already in
    /// progress stays open past that until the doctor ends it: a call that runs
    /// long is not cut off. Cancelled, completed and no-show visits have no
    /// room.
    pub fn room(&self, status: Status, start: Timestamp, end: Timestamp, now: Timestamp) -> Room {
        let opens_at = start.checked_sub(self.opens_before).unwrap_or(start);
        let closes_at = end.checked_add(self.closes_after).unwrap_or(end);
        let state = match status {
            Status::Cancelled | Status::Completed | Status::NoShow => RoomState::Closed,
            Status::InProgress if now >= opens_at => RoomState::Open,
            Status::Booked | Status::InProgress => {
                if now < opens_at {
                    RoomState::NotOpen
                } else if now < closes_at {
                    RoomState::Open
                } else {
                    RoomState::Closed
                }
            }
        };
        Room {
            state,
            opens_at,
            closes_at,
        }
    }
}

/// The longest chat message, in characters.
pub const CHAT_MAX_CHARS: usize = 2000;
/// The longest visit note, in characters.
pub const NOTE_MAX_CHARS: usize = 10_000;

/// A chat message or a note as typed, made fit to keep
/// ([`super::text::free_text`]): bidirectional controls removed, surrounding
/// blanks trimmed; refused when empty, too long, or holding control
/// characters other than line breaks and tabs (nothing a person types has
/// them, and they would reach the other person's screen).
pub fn text(typed: &str, max_chars: usize) -> Result<String, String> {
    let t = super::text::free_text(typed)?;
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    if t.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(t)
}

/// What a relayed signaling message is. The offer, answer and ICE candidate
/// pass between the two people as they were sent; the rest is the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Offer,
    Answer,
    Ice,
    Chat,
    PeerJoined,
    PeerLeft,
    /// A newer socket of the same person took over; the payload names the
    /// connection that must close.
    Replaced,
    VisitState,
}

impl SignalKind {
    pub const ALL: [SignalKind; 8] = [
        SignalKind::Offer,
        SignalKind::Answer,
        SignalKind::Ice,
        SignalKind::Chat,
        SignalKind::PeerJoined,
        SignalKind::PeerLeft,
        SignalKind::Replaced,
        SignalKind::VisitState,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Offer => "offer",
            SignalKind::Answer => "answer",
            SignalKind::Ice => "ice",
            SignalKind::Chat => "chat",
            SignalKind::PeerJoined => "peer_joined",
            SignalKind::PeerLeft => "peer_left",
            SignalKind::Replaced => "replaced",
            SignalKind::VisitState => "visit_state",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WINDOW: Window = Window {
        opens_before: SignedDuration::from_mins(10),
        closes_after: SignedDuration::from_mins(30),
    };

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_booked_visit_opens_ten_minutes_early_and_closes_half_an_hour_late() {
        let (start, end) = (at(0), at(1200));
        let state = |now| WINDOW.room(Status::Booked, start, end, now).state;
        assert_eq!(state(at(-601)), RoomState::NotOpen);
        assert_eq!(state(at(-600)), RoomState::Open);
        assert_eq!(state(at(600)), RoomState::Open);
        assert_eq!(state(at(1200 + 1799)), RoomState::Open);
        assert_eq!(state(at(1200 + 1800)), RoomState::Closed);
        let room = WINDOW.room(Status::Booked, start, end, at(0));
        assert_eq!((room.opens_at, room.closes_at), (at(-600), at(3000)));
    }

    #[test]
    fn ended_and_cancelled_visits_have_no_room_and_a_call_under_way_is_not_cut_off() {
        let (start, end) = (at(0), at(1200));
        for status in [Status::Cancelled, Status::Completed, Status::NoShow] {
            assert_eq!(
                WINDOW.room(status, start, end, at(0)).state,
                RoomState::Closed
            );
        }
        assert_eq!(
            WINDOW.room(Status::InProgress, start, end, at(7200)).state,
            RoomState::Open
        );
        assert_eq!(RoomState::NotOpen.as_str(), "not_open");
    }

    #[test]
    fn typed_text_is_trimmed_and_bounded() {
        assert_eq!(text("  hello\nthere ", 20).as_deref(), Ok("hello\nthere"));
        assert!(text("   ", 10).is_err());
        assert!(text("", 10).is_err());
        assert_eq!(text(&"é".repeat(10), 10).map(|t| t.chars().count()), Ok(10));
        assert!(text(&"é".repeat(11), 10).is_err());
        assert!(text("bell\u{7}", 10).is_err());
        assert!(text("nul\u{0}", 10).is_err());
        assert!(text("a\tb", 10).is_ok());
    }

    #[test]
    fn signal_kinds_round_trip() {
        for k in SignalKind::ALL {
            assert_eq!(SignalKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(SignalKind::parse("hello"), None);
    }

    fn status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        /// As time passes a room only moves forward: not open, open, closed
        /// (an in-progress visit never closes by the clock).
        #[test]
        fn a_room_never_goes_back(
            status in status(),
            len in 60i64..=14_400,
            opens in 0i64..=1440,
            closes in 0i64..=1440,
            a in -100_000i64..100_000,
            b in -100_000i64..100_000,
        ) {
            let window = Window {
                opens_before: SignedDuration::from_mins(opens),
                closes_after: SignedDuration::from_mins(closes),
            };
            let (earlier, later) = (a.min(b), a.max(b));
            let rank = |s: RoomState| match s {
                RoomState::NotOpen => 0,
                RoomState::Open => 1,
                RoomState::Closed => 2,
            };
            let first = window.room(status, at(0), at(len), at(earlier));
            let second = window.room(status, at(0), at(len), at(later));
            prop_assert!(rank(first.state) <= rank(second.state));
            prop_assert!(first.opens_at <= at(0) && first.closes_at >= at(len));
            // Open only inside the window, unless the call is under way.
            if second.state == RoomState::Open && status != Status::InProgress {
                prop_assert!(at(later) >= second.opens_at && at(later) < second.closes_at);
            }
            if matches!(status, Status::Cancelled | Status::Completed | Status::NoShow) {
                prop_assert_eq!(second.state, RoomState::Closed);
            }
        }
    }
}
