//! A request id for every request (decision 0023): in the request's log
//! span (so in every line logged while it is served), in the `X-Request-Id`
//! header of every answer, and in the body of every error answer (problem
//! documents and error pages), so a person who reports "it said something
//! went wrong" hands the operator the one line to look for.
//!
//! Behind a trusted reverse proxy (`--trust-forwarded-for`) the proxy's own
//! `X-Request-Id` is kept when it is a plain token, so the proxy's access log
//! and ours share the id; otherwise one is made here.

use crate::http::AppState;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicBool, Ordering};

pub const HEADER: &str = "x-request-id";

/// The id of one request, as kept in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served on this task, if any: error answers
/// read it while they are rendered.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Gives the request its id, serves it inside that id's scope and names the
/// id in the answer's header. The outermost layer but none: the request log's
/// span, made inside, reads the id from the request's extensions.
pub async fn assign(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let trusted = state.clinic.settings().trust_forwarded_for;
    if !trusted && req.headers().contains_key("x-forwarded-for") {
        warn_untrusted_proxy();
    }
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| trusted && acceptable(s))
        .map_or_else(new_id, str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = CURRENT.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

/// Whether [`warn_untrusted_proxy`] has spoken (once per process).
static PROXY_WARNED: AtomicBool = AtomicBool::new(false);

/// A request carried `X-Forwarded-For` while `--trust-forwarded-for` is off:
/// a proxy is most likely in front, so every client shares its address (one
/// login throttle, one set of abuse limits, one address in the session
/// list). Said once per process, not per request (decision 0026).
fn warn_untrusted_proxy() {
    if !PROXY_WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "a request came with X-Forwarded-For but --trust-forwarded-for is off: \
             if a reverse proxy you control is in front, every client now shares its \
             address; set --trust-forwarded-for (only behind that proxy)"
        );
    }
}

/// A proxy's id is kept only if it cannot break a log line or a header:
/// 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
fn acceptable(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 16 random bytes as 32 hex digits (as nginx's `$request_id`).
fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn made_ids_are_32_hex_digits_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(acceptable(&a));
    }

    #[test]
    fn only_plain_tokens_are_taken_from_a_proxy() {
        assert!(acceptable("a1b2-c3_d4.e5"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        assert!(!acceptable("abc def"));
        assert!(!acceptable("abc\r\nSet-Cookie: x=1"));
        assert!(!acceptable("ünïcode"));
    }

    proptest! {
        #[test]
        fn an_acceptable_id_is_always_a_valid_header_value(s in "\\PC{0,80}") {
            if acceptable(&s) {
                prop_assert!(HeaderValue::from_str(&s).is_ok());
            }
        }
    }

    #[tokio::test]
    async fn current_is_the_scope_id_and_none_outside() {
        assert_eq!(current(), None);
        let got = CURRENT.scope("abc".to_owned(), async { current() }).await;
        assert_eq!(got.as_deref(), Some("abc"));
    }
}
