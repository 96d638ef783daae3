//! JSON API resources under `/api/v1`, and the small conventions they share:
//! RFC 3339 instants, cursor pages `{"items": [...], "next_cursor": ...}`.

pub mod admin;
pub mod appointments;
pub mod audit;
pub mod codes;
pub mod doctors;
pub mod patient_data;
pub mod patients;
pub mod schema;
pub mod sessions;
pub mod signal;
pub mod totp;
pub mod visits;
pub mod webhooks;

use super::AppState;
pub use super::cursor::{bad_cursor, decode_cursor, encode_cursor};
use super::error::ApiError;
use jiff::Timestamp;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(sessions::router())
        .merge(totp::router())
        .merge(codes::router())
        .merge(patients::router())
        .merge(patient_data::router())
        .merge(doctors::router())
        .merge(appointments::router())
        .merge(visits::router())
        .merge(signal::router())
        .merge(audit::router())
        .merge(admin::router())
        .merge(webhooks::router())
}

/// One page of a list. Pass `next_cursor` back as `cursor` for the next page;
/// it is `null` on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: utoipa::ToSchema> Page<T> {
    /// A page of `rows` as views; when there are `more`, the cursor names the
    /// last row (`key`).
    pub fn of<R>(rows: Vec<R>, more: bool, key: impl Fn(&R) -> String) -> Self
    where
        T: From<R>,
    {
        let next_cursor = if more { rows.last().map(&key) } else { None };
        Page {
            items: rows.into_iter().map(T::from).collect(),
            next_cursor,
        }
    }

    /// Everything in one page.
    pub fn all(items: Vec<T>) -> Self {
        Page {
            items,
            next_cursor: None,
        }
    }
}

/// The numbers of a cursor, or none on the first page.
pub fn parse_cursor(cursor: Option<&str>) -> Result<Option<Vec<i64>>, ApiError> {
    cursor.map(decode_cursor).transpose()
}

/// An instant as RFC 3339 in UTC (`2026-11-24T09:30:00Z`).
pub fn instant_text(t: Timestamp) -> String {
    let mut buf = [0u8; 20];
    match utc_seconds_rfc3339(&t, &mut buf) {
        Some(text) => text.to_owned(),
        None => t.to_string(),
    }
}

/// Serializes an instant as [`instant_text`] does, without a `String` per field
/// (`#[serde(serialize_with = ...)]`).
pub fn serialize_instant<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 20];
    match utc_seconds_rfc3339(t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.collect_str(t),
    }
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`, exactly as `Timestamp`'s `Display` writes a
/// whole second in years 0 to 9999 (`None` otherwise: the caller falls back to
/// `Display`). A page of slots has hundreds of instants, and the general
/// formatter was a tenth of the free-slots read's CPU.
fn utc_seconds_rfc3339<'b>(t: &Timestamp, buf: &'b mut [u8; 20]) -> Option<&'b str> {
    if t.subsec_nanosecond() != 0 {
        return None;
    }
    let secs = t.as_second();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a proleptic Gregorian date (the "civil from
    // days" algorithm: 400-year eras of 146,097 days, years starting in March).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let digits = |out: &mut [u8], mut v: i64| {
        for b in out.iter_mut().rev() {
            *b = b'0' + u8::try_from(v % 10).unwrap_or(0);
            v /= 10;
        }
    };
    digits(&mut buf[0..4], year);
    buf[4] = b'-';
    digits(&mut buf[5..7], month);
    buf[7] = b'-';
    digits(&mut buf[8..10], day);
    buf[10] = b'T';
    digits(&mut buf[11..13], rem / 3_600);
    buf[13] = b':';
    digits(&mut buf[14..16], rem / 60 % 60);
    buf[16] = b':';
    digits(&mut buf[17..19], rem % 60);
    buf[19] = b'Z';
    std::str::from_utf8(buf).ok()
}

/// Parses an RFC 3339 instant; an offset (or `Z`) is required.
/// An instant out of [`crate::domain::reach`] is refused before any
/// arithmetic is done with it.
pub fn parse_instant(field: &str, s: &str) -> Result<Timestamp, ApiError> {
    let t = s.trim().parse::<Timestamp>().map_err(|_| {
        ApiError::invalid(
            field,
            "must be an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00+01:00",
        )
    })?;
    if crate::domain::reach::instant(t) {
        Ok(t)
    } else {
        Err(ApiError::invalid(field, crate::domain::reach::OUT_OF_REACH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn fast(t: Timestamp) -> Option<String> {
        let mut buf = [0u8; 20];
        utc_seconds_rfc3339(&t, &mut buf).map(str::to_owned)
    }

    #[test]
    fn known_instants_format_like_display() {
        for s in [
            0,
            -1,
            951_782_400,
            1_795_431_600,
            4_107_542_400,
            -62_167_219_200,
        ] {
            let t = Timestamp::from_second(s).unwrap();
            assert_eq!(fast(t).as_deref(), Some(t.to_string().as_str()), "{s}");
        }
        assert_eq!(
            fast(Timestamp::from_second(1_795_431_600).unwrap()).as_deref(),
            Some("2026-11-23T11:00:00Z")
        );
        // Sub-second and out-of-range instants are left to `Display`.
        assert_eq!(fast(Timestamp::new(0, 5).unwrap()), None);
        assert_eq!(fast(Timestamp::from_second(-62_167_219_201).unwrap()), None);
    }

    proptest! {
        #[test]
        fn every_second_of_years_0_to_9999_formats_like_display(
            s in -62_167_219_200i64..=253_402_207_200
        ) {
            let t = Timestamp::from_second(s).unwrap();
            prop_assert_eq!(fast(t), Some(t.to_string()));
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode_cursor(&[1_800_000_000, 42]);
        assert_eq!(decode_cursor(&c).ok(), Some(vec![1_800_000_000, 42]));
        assert!(decode_cursor("not base64 !").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("1.x")).is_err());
    }

    #[test]
    fn instants_need_an_offset() {
        assert!(parse_instant("start", "2026-12-01T09:00:00+01:00").is_ok());
        assert!(parse_instant("start", "2026-12-01T08:00:00Z").is_ok());
        assert!(parse_instant("start", "2026-12-01T09:00:00").is_err());
        assert_eq!(instant_text(Timestamp::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
