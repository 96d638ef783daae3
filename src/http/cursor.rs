//! Opaque list cursors, shared by the API and the pages: a few numbers (the
//! last item's sort key) in URL-safe base64.

use super::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The error for a cursor this site did not give out.
pub fn bad_cursor() -> ApiError {
    ApiError::invalid("cursor", "is not a cursor this API gave out")
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
    let bad = bad_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.split('.')
        .map(|p| p.parse::<i64>().map_err(|_| bad()))
        .collect()
}

/// A cursor's numbers, for a face that has no problem documents (the pages):
/// `None` for anything this site did not give out.
pub fn cursor_numbers(cursor: &str) -> Option<Vec<i64>> {
    decode_cursor(cursor).ok()
}
