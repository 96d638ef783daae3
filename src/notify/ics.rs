//! A visit as an iCalendar object (RFC 5545), for email attachments and for
//! the calendar feeds (decision 0015). An email's calendar adds the visit
//! on booking, moves it on rescheduling (same `UID`, higher `SEQUENCE`) and
//! removes it on cancellation (`METHOD:CANCEL`); a feed (`METHOD:PUBLISH`)
//! lists a person's visits with the same `UID`s and `SEQUENCE`s, cancelled
//! ones as `STATUS:CANCELLED`. Times are in UTC, so no `VTIMEZONE` is
//! needed. The format itself (escaping, line folding at 75 octets, CRLF) is
//! the `icalendar` crate's.

use crate::domain::appointment::{Appointment, Status};
use crate::domain::ids::AppointmentId;
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use jiff::Timestamp;

/// The host of the site's address: the right-hand side of the `UID`s.
fn host_of(public_url: &str) -> &str {
    public_url
        .split("://")
        .nth(1)
        .unwrap_or("medimeet")
        .split(['/', ':'])
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("medimeet")
}

/// A visit's `UID`, the same in its every email and feed for its whole life.
pub fn visit_uid(id: AppointmentId, public_url: &str) -> String {
    format!("appointment-{id}@{}", host_of(public_url))
}

/// What a visit is called in its patient's calendar, or in its doctor's.
pub fn visit_summary(a: &Appointment, for_patient: bool) -> String {
    if for_patient {
        format!("Video visit with Dr. {}", a.doctor_name())
    } else {
        format!("Video visit: {}", a.patient_name())
    }
}

/// The event's properties that emails and feeds share.
#[allow(clippy::too_many_arguments)]
fn event(
    uid: &str,
    sequence: u32,
    stamp: Timestamp,
    start: Timestamp,
    end: Timestamp,
    summary: &str,
    description: &str,
    url: &str,
    status: EventStatus,
) -> Event {
    Event::new()
        .uid(uid)
        .sequence(sequence)
        .timestamp(utc(stamp))
        .starts(utc(start))
        .ends(utc(end))
        .summary(summary)
        .description(description)
        .url(url)
        .status(status)
        .done()
}

/// Whether the attachment adds (or moves) the visit, or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
}

/// What the calendar entry says.
#[derive(Debug, Clone)]
pub struct VisitEntry<'a> {
    /// Stable for the visit's whole life (`appointment-<id>@<host>`).
    pub uid: &'a str,
    /// 0 when booked, one more at each change.
    pub sequence: u32,
    pub method: Method,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When this version was made (`DTSTAMP`).
    pub stamp: Timestamp,
    pub summary: &'a str,
    pub description: &'a str,
    /// The visit's page.
    pub url: &'a str,
    /// The clinic's sender address (`ORGANIZER`).
    pub organizer: &'a str,
    /// The recipient's address (`ATTENDEE`).
    pub attendee: &'a str,
}

fn utc(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.as_second(), 0).unwrap_or_default()
}

/// The `.ics` text of a visit entry.
pub fn visit(e: &VisitEntry<'_>) -> String {
    let (method, status) = match e.method {
        Method::Request => ("REQUEST", EventStatus::Confirmed),
        Method::Cancel => ("CANCEL", EventStatus::Cancelled),
    };
    let event = event(
        e.uid,
        e.sequence,
        e.stamp,
        e.start,
        e.end,
        e.summary,
        e.description,
        e.url,
        status,
    )
    .append_property(Property::new(
        "ORGANIZER",
        format!("mailto:{}", e.organizer),
    ))
    .append_property(
        Property::new("ATTENDEE", format!("mailto:{}", e.attendee))
            .add_parameter("ROLE", "REQ-PARTICIPANT")
            .done(),
    )
    .done();
    let mut cal = Calendar::new();
    cal.append_property(Property::new("METHOD", method));
    cal.push(event);
    cal.done().to_string()
}

/// One visit as an event of a feed or a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub uid: String,
    /// The visit's version − 1, as in its emails.
    pub sequence: u32,
    pub cancelled: bool,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When the visit last changed (`DTSTAMP`).
    pub stamp: Timestamp,
    pub summary: String,
    /// The way into the visit (never its reason or note).
    pub description: String,
    /// The visit's page.
    pub url: String,
}

impl FeedEvent {
    /// A visit as its patient's (`for_patient`) or its doctor's calendar
    /// shows it. Only the visit's time, people and links: nothing of its
    /// reason, cancellation reason or note.
    pub fn of_visit(a: &Appointment, sequence: u32, public_url: &str, for_patient: bool) -> Self {
        let page = format!("{public_url}/appointments/{}", a.id);
        Self {
            uid: visit_uid(a.id, public_url),
            sequence,
            cancelled: a.status == Status::Cancelled,
            start: a.start_at,
            end: a.end_at,
            stamp: a.updated_at,
            summary: visit_summary(a, for_patient),
            description: format!("Join: {page}/visit"),
            url: page,
        }
    }
}

/// A published calendar (`METHOD:PUBLISH`) of visits: a subscription feed
/// (named, with a refresh hint) or one visit's download (`name` `None`).
pub fn feed(name: Option<&str>, events: &[FeedEvent]) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", "-//medimeet//visits//EN"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", "PUBLISH"));
    if let Some(name) = name {
        cal.name(name);
        // How often a subscribed calendar should look again (RFC 7986, and
        // the older name some clients read).
        cal.append_property(
            Property::new("REFRESH-INTERVAL", "PT1H")
                .add_parameter("VALUE", "DURATION")
                .done(),
        );
        cal.append_property(Property::new("X-PUBLISHED-TTL", "PT1H"));
    }
    for e in events {
        let status = if e.cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        };
        cal.push(event(
            &e.uid,
            e.sequence,
            e.stamp,
            e.start,
            e.end,
            &e.summary,
            &e.description,
            &e.url,
            status,
        ));
    }
    cal.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: Method, sequence: u32) -> String {
        visit(&VisitEntry {
            uid: "appointment-42@clinic.example",
            sequence,
            method,
            start: Timestamp::from_second(1_800_000_000).unwrap(),
            end: Timestamp::from_second(1_800_001_800).unwrap(),
            stamp: Timestamp::from_second(1_799_000_000).unwrap(),
            summary: "Video visit with Dr. Ada Lovelace",
            description: "Join: https://clinic.example/appointments/42/visit\nReason; cough, fever",
            url: "https://clinic.example/appointments/42",
            organizer: "visits@clinic.example",
            attendee: "ann@example.com",
        })
    }

    #[test]
    fn a_request_and_its_cancellation_share_the_uid() {
        let booked = entry(Method::Request, 0);
        let cancelled = entry(Method::Cancel, 2);
        for (text, method, seq, status) in [
            (&booked, "METHOD:REQUEST", "SEQUENCE:0", "STATUS:CONFIRMED"),
            (
                &cancelled,
                "METHOD:CANCEL",
                "SEQUENCE:2",
                "STATUS:CANCELLED",
            ),
        ] {
            let lines: Vec<&str> = text.split("\r\n").collect();
            assert!(
                lines.contains(&"BEGIN:VCALENDAR") && lines.contains(&"BEGIN:VEVENT"),
                "{text}"
            );
            assert!(
                lines.contains(&method) && lines.contains(&seq) && lines.contains(&status),
                "{text}"
            );
            assert!(
                lines.contains(&"UID:appointment-42@clinic.example"),
                "{text}"
            );
            assert!(lines.contains(&"DTSTART:20270115T080000Z"), "{text}");
            assert!(lines.contains(&"DTEND:20270115T083000Z"), "{text}");
            // Lines are folded at 75 octets, and text is escaped.
            assert!(lines.iter().all(|l| l.len() <= 75), "{text}");
            let unfolded = text.replace("\r\n ", "");
            assert!(unfolded.contains("\\nReason\\; cough\\, fever"), "{text}");
        }
    }

    fn feed_event(id: i64, sequence: u32, cancelled: bool, summary: &str) -> FeedEvent {
        FeedEvent {
            uid: format!("appointment-{id}@clinic.example"),
            sequence,
            cancelled,
            start: Timestamp::from_second(1_800_000_000).unwrap(),
            end: Timestamp::from_second(1_800_001_800).unwrap(),
            stamp: Timestamp::from_second(1_799_000_000).unwrap(),
            summary: summary.into(),
            description: format!("Join: https://clinic.example/appointments/{id}/visit"),
            url: format!("https://clinic.example/appointments/{id}"),
        }
    }

    #[test]
    fn a_feed_publishes_every_visit_cancelled_ones_as_cancelled() {
        let long =
            "Video visit: Zoë Ångström-Øresund, \"the; first\"\nof her name, Wellington-Smythe";
        let text = feed(
            Some("medimeet: my schedule"),
            &[
                feed_event(1, 0, false, "Video visit: Ann"),
                feed_event(2, 2, true, long),
            ],
        );
        let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
        for want in [
            "METHOD:PUBLISH",
            "X-WR-CALNAME:medimeet: my schedule",
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            "UID:appointment-1@clinic.example",
            "UID:appointment-2@clinic.example",
            "SEQUENCE:0",
            "SEQUENCE:2",
            "STATUS:CONFIRMED",
            "STATUS:CANCELLED",
            "DTSTART:20270115T080000Z",
        ] {
            assert!(lines.contains(&want), "{want} in {text}");
        }
        assert_eq!(lines.iter().filter(|l| **l == "BEGIN:VEVENT").count(), 2);
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("ORGANIZER") || l.starts_with("ATTENDEE"))
        );
        // Folded at 75 octets, between characters; escaped.
        assert!(lines.iter().all(|l| l.len() <= 75), "{text}");
        assert!(lines.iter().any(|l| l.starts_with(' ')), "folded: {text}");
        let unfolded = text.replace("\r\n ", "");
        assert!(
            unfolded.contains("SUMMARY:Video visit: Zoë Ångström-Øresund\\, \"the\\; first\"\\nof her name\\, Wellington-Smythe\r\n"),
            "{unfolded}"
        );
        // A download is not named.
        let one = feed(None, &[feed_event(1, 0, false, "Video visit: Ann")]);
        assert!(!one.contains("X-WR-CALNAME") && one.contains("METHOD:PUBLISH"));
    }
}
