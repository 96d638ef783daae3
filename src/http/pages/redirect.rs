//! Redirects: a 303 to a path on this site, with an optional flash message.

use super::append_cookie;
use super::flash::Flash;
use crate::http::extract::CookieNames;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A 303 redirect to a local path, optionally with a flash message.
pub fn see_other(location: &str, flash: Option<Flash>, secure: bool) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let location = safe_local_path(location).unwrap_or("/");
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(f) = flash {
        append_cookie(
            res.headers_mut(),
            &format!(
                "{}={}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
                CookieNames { secure }.flash(),
                f.code()
            ),
            secure,
        );
    }
    res
}

/// `path` if it is a path on this site (so a `next=` parameter cannot send
/// people elsewhere after logging in).
pub fn safe_local_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 512
        && !path.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            safe_local_path("/appointments?x=1"),
            Some("/appointments?x=1")
        );
        assert_eq!(safe_local_path("//evil.example"), None);
        assert_eq!(safe_local_path("/\\evil.example"), None);
        assert_eq!(safe_local_path("https://evil.example"), None);
        assert_eq!(safe_local_path("/a\nb"), None);
    }
}
