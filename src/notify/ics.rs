//! A visit as an iCalendar object (RFC 5545) for email attachments: the
//! patient's calendar adds it on booking, moves it on rescheduling (same
//! `UID`, higher `SEQUENCE`) and removes it on cancellation
//! (`METHOD:CANCEL`). Times are in UTC, so no `VTIMEZONE` is needed. The
//! format itself (escaping, line folding) is the `icalendar` crate's.

use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use jiff::Timestamp;

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
    let event = Event::new()
        .uid(e.uid)
        .sequence(e.sequence)
        .timestamp(utc(e.stamp))
        .starts(utc(e.start))
        .ends(utc(e.end))
        .summary(e.summary)
        .description(e.description)
        .url(e.url)
        .status(status)
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
}
