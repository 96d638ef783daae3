//! The test clock, built only with `--features test-clock` (never in a
//! production build): `POST /__test/clock/advance?secs=N` moves the server's
//! clock N seconds forward (back if N is negative), so the browser tests can
//! book a visit and then be at its start time. Answered to loopback clients
//! only; anyone else gets the ordinary 404. Why a feature and not a setting:
//! docs/decisions/0010-test-clock.md.

use super::AppState;
use super::error::ApiError;
use super::extract::ApiQuery;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::response::Json;
use axum::routing::post;
use std::net::SocketAddr;

/// At most ten years either way per call.
const MAX_SECS: i64 = 10 * 366 * 24 * 3600;

#[derive(Debug, serde::Deserialize)]
struct Advance {
    secs: i64,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/__test/clock/advance", post(advance))
}

async fn advance(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Advance>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !peer.ip().to_canonical().is_loopback() {
        return Err(ApiError::not_found());
    }
    if !(-MAX_SECS..=MAX_SECS).contains(&q.secs) {
        return Err(ApiError::invalid(
            "secs",
            "must be at most ten years either way",
        ));
    }
    state.clinic.advance_clock(q.secs);
    let now = state.clinic.now();
    tracing::warn!(secs = q.secs, %now, "test clock moved");
    Ok(Json(serde_json::json!({ "now": now })))
}
