//! Email: a notification as a message (plain text and HTML, and for the
//! visit's changes an `.ics` its calendar takes), sent over SMTP with lettre.
//! The message's `Message-ID` is the delivery's stable id, so a receiver can
//! drop the one repeat a crash between sending and recording may cause.

use super::{SendError, ics};
use crate::usecases::notifications::{CodeMessage, Outgoing};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends the clinic's email.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// The rendered parts of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub ics: Option<String>,
}

impl Mailer {
    /// A mailer for lettre's SMTP URL (`smtp://user:pass@host:587?tls=required`).
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("--smtp-url: {e}"))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("--mail-from: {e}"))?;
        Ok(Self {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends one notification.
    pub async fn send(&self, o: &Outgoing) -> Result<(), SendError> {
        let message = self.message(o).map_err(SendError::permanent)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e: SmtpError| {
                if e.is_permanent() {
                    SendError::permanent(e.to_string())
                } else {
                    SendError::retry(e.to_string())
                }
            })
    }

    /// Sends a one-time code (plain text and HTML, nothing attached).
    pub async fn send_code(&self, c: &CodeMessage) -> Result<(), SendError> {
        let message = self.code_message(c).map_err(SendError::permanent)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e: SmtpError| {
                if e.is_permanent() {
                    SendError::permanent(e.to_string())
                } else {
                    SendError::retry(e.to_string())
                }
            })
    }

    fn code_message(&self, c: &CodeMessage) -> Result<Message, String> {
        use askama::Template;
        let to = c
            .address
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient: {e}"))?;
        let (subject, text) = super::code::wording(c.purpose, c.code.as_deref(), c.minutes);
        let lines = [text.clone()];
        let html = HtmlBody {
            lines: &lines,
            unsubscribe: None,
        }
        .render()
        .map_err(|e| e.to_string())?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}>", c.message_id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(SinglePart::html(html)),
            )
            .map_err(|e| e.to_string())
    }

    fn message(&self, o: &Outgoing) -> Result<Message, String> {
        let to = o
            .address
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient: {e}"))?;
        let r = render(o, &self.public_url, self.from.email.as_ref());
        let alternative = MultiPart::alternative()
            .singlepart(SinglePart::plain(r.text))
            .singlepart(SinglePart::html(r.html));
        let body = match r.ics {
            Some(ics) => {
                let method = if o.what == "cancelled" {
                    "CANCEL"
                } else {
                    "REQUEST"
                };
                let content_type =
                    ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                        .map_err(|e| e.to_string())?;
                MultiPart::mixed()
                    .multipart(alternative)
                    .singlepart(Attachment::new("visit.ics".into()).body(ics, content_type))
            }
            None => alternative,
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(r.subject)
            .message_id(Some(format!("<{}>", o.message_id)));
        if let Some(link) = unsubscribe_link(o, &self.public_url) {
            // RFC 2369 and RFC 8058: mail clients show an unsubscribe button
            // that POSTs to the link, no login needed.
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder.multipart(body).map_err(|e| e.to_string())
    }
}

/// The one-click unsubscribe link of a patient's email.
fn unsubscribe_link(o: &Outgoing, public_url: &str) -> Option<String> {
    o.unsubscribe
        .as_ref()
        .map(|t| format!("{public_url}/unsubscribe?t={t}"))
}

/// `t` in the zone, as people read it, with the zone named.
fn when(t: jiff::Timestamp, zone: &str) -> String {
    let (tz, name) = match jiff::tz::TimeZone::get(zone) {
        Ok(tz) => (tz, zone),
        Err(_) => (jiff::tz::TimeZone::UTC, "UTC"),
    };
    format!(
        "{} ({name})",
        t.to_zoned_datetime(tz).strftime("%A %-d %B %Y, %H:%M")
    )
}

/// The HTML body: the lines as paragraphs, escaped by the template engine
/// (names, reasons and links come from people).
#[derive(askama::Template)]
#[template(path = "email.html")]
struct HtmlBody<'a> {
    lines: &'a [String],
    unsubscribe: Option<&'a str>,
}

/// What a notification says, whatever carries it: a subject line, the
/// lines of its body, and the one link that matters most (an SMS is the
/// subject and that link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub subject: String,
    pub lines: Vec<String>,
    pub link: String,
}

/// The words of a notification, times in the recipient's zone.
pub fn wording(o: &Outgoing, public_url: &str) -> Wording {
    use crate::domain::caller::Role;
    let a = &o.appointment;
    let patient = o.to_role == crate::domain::caller::Role::Patient;
    let doctor = format!("Dr. {}", a.doctor_name());
    let at = when(a.start_at, &o.time_zone);
    let page = format!("{public_url}/appointments/{}", a.id);
    let room = format!("{page}/visit");
    let link = match o.what.as_str() {
        "cancelled" | "note_ready" => page.clone(),
        _ if !patient => page.clone(),
        _ => room.clone(),
    };
    let reason = o
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned));
    let (subject, lines): (String, Vec<String>) = match (o.what.as_str(), patient) {
        ("booked", true) => (
            format!("Your video visit with {doctor} is booked"),
            vec![
                format!("Your video visit with {doctor} is booked for {at}."),
                format!("Join it from {room} from ten minutes before."),
            ],
        ),
        ("booked", false) => (
            format!("New visit: {} on {at}", a.patient_name()),
            vec![format!(
                "{} booked a video visit with you for {at}.",
                a.patient_name()
            )],
        ),
        ("rescheduled", true) => (
            format!("Your visit with {doctor} moved to {at}"),
            vec![
                format!("Your video visit with {doctor} is now on {at}."),
                format!("Join it from {room}."),
            ],
        ),
        ("rescheduled", false) => (
            format!("Visit moved: {} now on {at}", a.patient_name()),
            vec![format!(
                "The visit with {} is now on {at}.",
                a.patient_name()
            )],
        ),
        ("cancelled", _) => {
            let with = if patient {
                doctor.clone()
            } else {
                a.patient_name()
            };
            let by = match (o.by, patient) {
                (Some(Role::Patient), true) | (Some(Role::Doctor), false) => "by you".to_owned(),
                (Some(Role::Patient), false) => format!("by {}", a.patient_name()),
                (Some(Role::Doctor), true) => format!("by {doctor}"),
                _ => "by the clinic".to_owned(),
            };
            let mut l = vec![format!(
                "The video visit with {with} on {at} was cancelled {by}."
            )];
            if let Some(r) = &reason {
                l.push(format!("Reason: {r}"));
            }
            (format!("Cancelled: your visit with {with} on {at}"), l)
        }
        ("reminder", _) if o.lead_hours == Some(0) => (
            format!("Your video visit with {doctor} is open: join now"),
            vec![
                format!("The room of your video visit with {doctor} on {at} is open."),
                format!("Join it at {room}."),
            ],
        ),
        ("reminder", _) => {
            let lead = match o.lead_hours {
                Some(1) => "in one hour".to_owned(),
                Some(24) => "tomorrow".to_owned(),
                Some(h) => format!("in {h} hours"),
                None => "soon".to_owned(),
            };
            (
                format!("Reminder: your video visit with {doctor} {lead}"),
                vec![
                    format!("Your video visit with {doctor} is on {at}."),
                    format!("Join it from {room} from ten minutes before."),
                ],
            )
        }
        ("note_ready", _) => (
            format!("Your visit note from {doctor} is ready"),
            vec![format!(
                "{doctor} wrote the note of your visit on {at}: read it at {page}."
            )],
        ),
        (other, _) => (
            format!("Your visit on {at}: {other}"),
            vec![format!("See {page}.")],
        ),
    };
    Wording {
        subject,
        lines,
        link,
    }
}

/// The subject, bodies and calendar entry of a notification.
pub fn render(o: &Outgoing, public_url: &str, organizer: &str) -> Rendered {
    let Wording { subject, lines, .. } = wording(o, public_url);
    let a = &o.appointment;
    let patient = o.to_role == crate::domain::caller::Role::Patient;
    let page = format!("{public_url}/appointments/{}", a.id);
    let room = format!("{page}/visit");
    let unsubscribe = unsubscribe_link(o, public_url);
    let mut text = lines.join("\n\n");
    text.push_str("\n\n-- \nmedimeet\n");
    if let Some(link) = &unsubscribe {
        text.push_str(&format!("No more email from the clinic: {link}\n"));
    }
    let html = askama::Template::render(&HtmlBody {
        lines: &lines,
        unsubscribe: unsubscribe.as_deref(),
    })
    .unwrap_or_default();
    let ics = match o.what.as_str() {
        "booked" | "rescheduled" | "cancelled" => {
            let uid = ics::visit_uid(a.id, public_url);
            let summary = ics::visit_summary(a, patient);
            let description = format!("Join: {room}");
            Some(ics::visit(&ics::VisitEntry {
                uid: &uid,
                sequence: u32::try_from(o.sequence).unwrap_or(0),
                method: if o.what == "cancelled" {
                    ics::Method::Cancel
                } else {
                    ics::Method::Request
                },
                start: a.start_at,
                end: a.end_at,
                stamp: o.created,
                summary: &summary,
                description: &description,
                url: &page,
                organizer,
                attendee: &o.address,
            }))
        }
        _ => None,
    };
    Rendered {
        subject,
        text,
        html,
        ics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::appointment::{Appointment, PaymentStatus, Status};
    use crate::domain::caller::Role;
    use crate::domain::ids::{AppointmentId, DoctorId, PatientId, SlotId};
    use crate::usecases::notifications::Channel;
    use jiff::Timestamp;

    fn outgoing(what: &str, to: Role, detail: Option<&str>, lead: Option<i64>) -> Outgoing {
        let t = |s| Timestamp::from_second(s).unwrap();
        Outgoing {
            id: 1,
            message_id: "n1.email.2@medimeet".into(),
            channel: Channel::Email,
            what: what.into(),
            detail: detail.map(str::to_owned),
            by: Some(Role::Doctor),
            appointment: Appointment {
                id: AppointmentId::new(42),
                doctor_id: DoctorId::new(1),
                patient_id: PatientId::new(2),
                slot_id: SlotId::new(3),
                start_at: t(1_800_000_000),
                end_at: t(1_800_001_800),
                local_date: "2027-01-15".parse().unwrap(),
                status: Status::Booked,
                reason: None,
                cancel_reason: None,
                payment_status: PaymentStatus::Unpaid,
                created_at: t(1_799_000_000),
                updated_at: t(1_799_000_000),
                doctor_first_name: "Ada".into(),
                doctor_last_name: "Lovelace".into(),
                patient_first_name: "Ann <b>".into(),
                patient_last_name: "O'Hara".into(),
            },
            to_role: to,
            address: "ann@example.test".into(),
            time_zone: "Europe/Berlin".into(),
            lead_hours: lead,
            sequence: 1,
            created: t(1_799_500_000),
            attempts: 0,
            unsubscribe: None,
        }
    }

    #[test]
    fn times_are_in_the_recipients_zone_and_named() {
        let r = render(
            &outgoing("booked", Role::Patient, None, None),
            "https://c.test",
            "v@c.test",
        );
        assert!(
            r.text
                .contains("Friday 15 January 2027, 09:00 (Europe/Berlin)"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("https://c.test/appointments/42/visit"),
            "{}",
            r.text
        );
        assert!(r.ics.as_deref().is_some_and(|i| i.contains("SEQUENCE:1")));
    }

    #[test]
    fn names_and_reasons_are_escaped_in_html() {
        let r = render(
            &outgoing(
                "cancelled",
                Role::Doctor,
                Some(r#"{"reason":"<script>x</script>"}"#),
                None,
            ),
            "https://c.test",
            "v@c.test",
        );
        assert!(
            r.text.contains("Reason: <script>x</script>"),
            "plain text stays plain"
        );
        assert!(
            r.html.contains("&#60;script&#62;") && !r.html.contains("<script>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("Ann &#60;b&#62; O&#39;Hara"), "{}", r.html);
        assert!(
            r.ics
                .as_deref()
                .is_some_and(|i| i.contains("METHOD:CANCEL"))
        );
    }

    #[test]
    fn a_cancellation_says_who_cancelled() {
        let says = |to, by| {
            let mut o = outgoing("cancelled", to, Some(r#"{"reason":"ill"}"#), None);
            o.by = by;
            render(&o, "https://c.test", "v@c.test").text
        };
        let t = says(Role::Patient, Some(Role::Doctor));
        assert!(t.contains("was cancelled by Dr. Ada Lovelace."), "{t}");
        assert!(t.contains("Reason: ill"), "{t}");
        let t = says(Role::Patient, Some(Role::Patient));
        assert!(t.contains("was cancelled by you."), "{t}");
        let t = says(Role::Doctor, Some(Role::Patient));
        assert!(t.contains("was cancelled by Ann <b> O'Hara."), "{t}");
        let t = says(Role::Doctor, Some(Role::Admin));
        assert!(t.contains("was cancelled by the clinic."), "{t}");
    }

    #[test]
    fn reminders_say_when_and_carry_no_calendar_entry() {
        let day = render(
            &outgoing("reminder", Role::Patient, None, Some(24)),
            "https://c.test",
            "v@c.test",
        );
        assert!(day.subject.contains("tomorrow"), "{}", day.subject);
        assert_eq!(day.ics, None);
        let hour = render(
            &outgoing("reminder", Role::Patient, None, Some(1)),
            "https://c.test",
            "v@c.test",
        );
        assert!(hour.subject.contains("in one hour"), "{}", hour.subject);
    }
}
