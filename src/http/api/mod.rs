//! JSON API resources under `/api/v1`, and the small conventions they share:
//! RFC 3339 instants, cursor pages `{"items": [...], "next_cursor": ...}`.

pub mod appointments;
pub mod audit;
pub mod doctors;
pub mod patients;
pub mod sessions;

use super::AppState;
use super::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(sessions::router())
        .merge(patients::router())
        .merge(doctors::router())
        .merge(appointments::router())
        .merge(audit::router())
}

/// One page of a list. Pass `next_cursor` back as `cursor` for the next page;
/// it is `null` on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Paging parameters shared by list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl Paging {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=200).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid("limit", "must be between 1 and 200")),
        }
    }

    /// The cursor's numbers, or none on the first page.
    pub fn cursor(&self) -> Result<Option<Vec<i64>>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

pub fn encode_cursor(parts: &[i64]) -> String {
    let text = parts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".");
    URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_cursor(cursor: &str) -> Result<Vec<i64>, ApiError> {
    let bad = || ApiError::invalid("cursor", "is not a cursor this API gave out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.split('.')
        .map(|p| p.parse::<i64>().map_err(|_| bad()))
        .collect()
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
pub fn page<R, T: utoipa::ToSchema>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> Vec<i64>,
    view: impl Fn(R) -> T,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-11-24T09:30:00Z`).
pub fn rfc3339(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 instant; an offset (or `Z`) is required.
pub fn parse_instant(field: &str, s: &str) -> Result<Timestamp, ApiError> {
    s.trim().parse::<Timestamp>().map_err(|_| {
        ApiError::invalid(
            field,
            "must be an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00+01:00",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
