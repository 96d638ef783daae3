//! How the pages write times, dates, statuses and URLs for people.

use crate::domain::appointment::Status;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};

/// An instant in a zone.
pub fn zoned(t: Timestamp, tz: &TimeZone) -> Zoned {
    t.to_zoned_datetime(tz.clone())
}

/// `09:30`
pub fn time(z: &Zoned) -> String {
    z.strftime("%H:%M").to_string()
}

/// `Tue 24 Nov 2026, 09:30`
pub fn date_time(z: &Zoned) -> String {
    z.strftime("%a %-d %b %Y, %H:%M").to_string()
}

/// `Tuesday 24 November 2026`
pub fn long_date(d: Date) -> String {
    d.strftime("%A %-d %B %Y").to_string()
}

/// `Tue 24 Nov`
pub fn short_date(d: Date) -> String {
    d.strftime("%a %-d %b").to_string()
}

/// `Tuesday 24 November`
pub fn day_heading(d: Date) -> String {
    d.strftime("%A %-d %B").to_string()
}

/// `Tue 24 Nov, 09:30` (the year only when it is not this year's).
pub fn when(z: &Zoned, today: Date) -> String {
    if z.date().year() == today.year() {
        z.strftime("%a %-d %b, %H:%M").to_string()
    } else {
        date_time(z)
    }
}

/// The Monday on or before a date.
pub fn monday_of(d: Date) -> Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
}

pub fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap_or(d)
}

/// Local midnight of a date in a zone, as an instant.
pub fn start_of(d: Date, tz: &TimeZone) -> Timestamp {
    d.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

pub use crate::domain::schedule::weekday_name;

/// A status as people read it.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Booked => "Booked",
        Status::InProgress => "In progress",
        Status::Completed => "Completed",
        Status::NoShow => "No-show",
        Status::Cancelled => "Cancelled",
    }
}

/// The CSS class of a status badge (from a fixed set).
pub fn status_class(status: Status) -> &'static str {
    match status {
        Status::Booked => "badge-booked",
        Status::InProgress => "badge-progress",
        Status::Completed => "badge-completed",
        Status::NoShow => "badge-noshow",
        Status::Cancelled => "badge-cancelled",
    }
}

/// `1 h 30 min`, `45 min`.
pub fn minutes(m: i64) -> String {
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Percent-encodes a query parameter value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and nothing else); invalid escapes stay as they are.
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = bytes.get(i + 1..i + 3)
            && let Ok(text) = std::str::from_utf8(h)
            && let Ok(v) = u8::from_str_radix(text, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The initials of a name, for an avatar.
pub fn initials(first: &str, last: &str) -> String {
    first
        .chars()
        .next()
        .into_iter()
        .chain(last.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A payment status as people read it, and its badge's class.
pub fn payment_label(p: crate::domain::appointment::PaymentStatus) -> (&'static str, &'static str) {
    use crate::domain::appointment::PaymentStatus as P;
    match p {
        P::Unpaid => ("Unpaid", "badge-booked"),
        P::Paid => ("Paid", "badge-completed"),
        P::Refunded => ("Refunded", "badge-cancelled"),
        P::Waived => ("Waived", "badge-progress"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_round_trip() {
        assert_eq!(url_encode("/doctors?q=a b"), "/doctors%3Fq%3Da%20b");
        assert_eq!(url_decode("America%2FNew_York"), "America/New_York");
        assert_eq!(url_decode("%zz%2"), "%zz%2");
    }

    #[test]
    fn dates_read_naturally() {
        let d = jiff::civil::date(2026, 11, 26);
        assert_eq!(monday_of(d), jiff::civil::date(2026, 11, 23));
        assert_eq!(short_date(d), "Thu 26 Nov");
        assert_eq!(minutes(90), "1 h 30 min");
        assert_eq!(initials("amara", "Okafor"), "AO");
    }
}
