//! The HTTP surface: the JSON API under `/api/v1`, its OpenAPI document, health
//! checks, and the web pages ([`pages`]). Each resource module owns its routes; this module only merges them and
//! wraps them in the cross-cutting layers (request logs, security headers, limits).

pub mod api;
pub mod audit_csv;
pub mod cursor;
pub mod docs;
pub mod error;
pub mod extract;
pub mod fhir;
mod openapi;
pub mod pages;
pub mod request_id;
pub mod server;
#[cfg(feature = "test-clock")]
mod test_clock;

use crate::usecases::Clinic;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{HeaderValue, Request, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use error::ApiError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach: the clinic's operations, nothing below them.
#[derive(Clone)]
pub struct AppState {
    pub clinic: Clinic,
}

/// The API routes and the OpenAPI document describing exactly them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api::router())
        .split_for_parts();
    // Runs after the routes are in: it decorates every operation.
    openapi::finish(&mut openapi);
    (router, openapi)
}

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let (api_routes, openapi) = api();
    let openapi_json = Arc::new(openapi.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let docs = docs::router();
    let router = Router::new();
    #[cfg(feature = "test-clock")]
    let router = router.merge(test_clock::router());
    let secure = state.clinic.settings().secure_cookies;
    // The API answers carry health data and personal data: never stored by a
    // browser or a shared cache (pages do the same).
    let api_routes = api_routes.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    let router = router
        .merge(api_routes)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi_json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        body.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(metrics_route(&state))
        .merge(pages::router(&state))
        .nest(
            "/fhir",
            fhir::router().layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            )),
        )
        .merge(pages::calendar::feed_router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .merge(docs)
        // Last of the routes: every route's requests carry their template
        // out to `count_request` (decision 0016).
        .route_layer(middleware::from_fn(matched_route))
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        .layer(DefaultBodyLimit::max(64 * 1024))
        // A body must arrive whole in time (decision 0024); a stalled one
        // is also cut by the connection's idle timeout.
        .layer(middleware::from_fn_with_state(
            Duration::from_secs(
                state
                    .clinic
                    .settings()
                    .connections
                    .body_read_timeout_seconds,
            ),
            server::body_deadline,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Last resort: a handler that panics answers the generic 500
        // problem, not a dropped connection (the panic itself is one log
        // line: the panic hook in main.rs).
        .layer(last_resort())
        .layer(
            // One line per request: method, path (never the query string, which
            // may hold a phone number), status and latency. No headers, no bodies.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .extensions()
                        .get::<request_id::RequestId>()
                        .map_or("", |r| r.0.as_str());
                    tracing::info_span!(
                        "request",
                        id = %id,
                        method = %req.method(),
                        path = %loggable_path(req.uri().path())
                    )
                })
                .on_request(())
                .on_response(
                    |res: &axum::response::Response, latency: Duration, _span: &Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            latency_ms = latency.as_secs_f64() * 1000.0,
                            "served"
                        );
                    },
                ),
        )
        .layer(middleware::from_fn_with_state(state, request_id::assign))
        // Every request knows the names of our cookies (`__Host-` behind HTTPS).
        .layer(axum::Extension(extract::CookieNames { secure }));
    if secure {
        // Only where the cookies say the site is served over TLS: HSTS over
        // plain HTTP is ignored by browsers, and would be a lie (decision 0023).
        router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
    } else {
        router
    }
}

/// Turns a panic in a handler into the generic 500 problem document.
fn last_resort() -> tower_http::catch_panic::CatchPanicLayer<
    fn(Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response,
> {
    fn answer(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
        ApiError::from(crate::usecases::Error::Internal).into_response()
    }
    tower_http::catch_panic::CatchPanicLayer::custom(answer)
}

/// `GET /metrics`, only when a token is set: without one the address is
/// unknown, with the very answer of any unknown address.
fn metrics_route(state: &AppState) -> Router<AppState> {
    if state.clinic.settings().metrics_token.is_some() {
        Router::new().route("/metrics", get(metrics))
    } else {
        Router::new()
    }
}

/// The Prometheus text, to the bearer of the metrics token.
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(extract::bearer);
    let text = crate::usecases::operations::scrape(&state.clinic, bearer).await?;
    Ok((
        [
            (header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    ))
}

/// Hands the matched route's template (`/api/v1/appointments/{id}`) to the
/// response, where [`count_request`] reads it; requests no route matched
/// never pass here.
async fn matched_route(req: Request<axum::body::Body>, next: Next) -> axum::response::Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(route);
    }
    res
}

/// Counts every request by method, route template and status, with its
/// latency. Never the path as sent: ids and tokens stay out of the labels.
async fn count_request(
    State(state): State<AppState>,
    req: Request<axum::body::Body>,
    next: Next,
) -> axum::response::Response {
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<MatchedPath>()
        .map_or(crate::metrics::UNMATCHED, MatchedPath::as_str);
    state.clinic.metrics().request(
        &method,
        route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// The path as the request log shows it: a calendar feed's secret token
/// (it opens the feed without a login) is left out.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/calendar/") {
        "/calendar/<token>"
    } else {
        path
    }
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    match state.clinic.ping().await {
        Ok(()) => Ok(Json(
            serde_json::json!({"status": "ready", "database": state.clinic.backend()}),
        )),
        Err(_) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "Database not reachable",
        )),
    }
}

/// Unknown addresses: a problem document under `/api/`, a page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found().into_response()
    } else {
        pages::errors::not_found_page().await
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_the_generic_problem() {
        async fn boom() -> &'static str {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            // An index out of bounds, as a bug would.
            if v.get(i).is_none() {
                panic!("a bug");
            }
            "never"
        }
        let app = Router::new().route("/boom", get(boom)).layer(last_resort());
        let res = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["code"], "internal_error");
        assert!(
            !String::from_utf8_lossy(&body).contains("a bug"),
            "the panic's words leak"
        );
    }
}
