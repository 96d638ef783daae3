//! The API docs page: Swagger UI, under a strict policy of its own.
//!
//! The `swagger-ui-dist` crate serves Swagger UI's assets, and an index page
//! whose inline script starts it. That page shares the origin of the session
//! cookie, so here the index is ours instead: no inline script (the
//! initializer is a file of its own, `init.js`), and every answer under
//! `/api/docs` carries [`CSP`], with `frame-ancestors 'none'`. Styles may be
//! inline: Swagger UI sets style attributes as it draws; scripts may not.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the docs live.
const PREFIX: &str = "/api/docs";

/// The docs' Content-Security-Policy: scripts only from here, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The page: Swagger UI's stylesheet and bundle, then our initializer.
const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medimeet API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI on the API's document.
const INIT: &str = "window.addEventListener('load', function () {\n  \
    window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui' });\n});\n";

/// The docs' routes: the crate's assets, our index and initializer.
pub fn router() -> Router {
    swagger_ui_dist::generate_routes(swagger_ui_dist::ApiDefinition {
        uri_prefix: PREFIX,
        api_definition: swagger_ui_dist::OpenApiSource::Uri("/api/v1/openapi.json"),
        title: Some("medimeet API"),
    })
    .route(
        "/api/docs/init.js",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                INIT,
            )
        }),
    )
    .layer(middleware::from_fn(own_index))
    .layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
}

/// Answers the index addresses with [`INDEX`] instead of the crate's page.
async fn own_index(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == PREFIX || path.strip_prefix(PREFIX) == Some("/") {
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response();
    }
    next.run(req).await
}
