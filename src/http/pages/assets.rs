//! The stylesheet, the scripts (app.js everywhere, visit.js in the video
//! visit's room) and the icon, embedded in the binary so a clinic's closed
//! network needs nothing else. Their URLs carry a hash of their content
//! (`/static/<hash>/app.css`), so browsers may cache them for a year and still
//! fetch a new version the moment the binary changes.

use crate::http::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

struct Asset {
    name: &'static str,
    body: &'static [u8],
    mime: &'static str,
}

static ASSETS: [Asset; 4] = [
    Asset {
        name: "app.css",
        body: include_bytes!("../../../static/app.css"),
        mime: "text/css; charset=utf-8",
    },
    Asset {
        name: "app.js",
        body: include_bytes!("../../../static/app.js"),
        mime: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "visit.js",
        body: include_bytes!("../../../static/visit.js"),
        mime: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "icon.svg",
        body: include_bytes!("../../../static/icon.svg"),
        mime: "image/svg+xml",
    },
];

/// The first 12 hex digits of the SHA-256 of all assets.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for a in &ASSETS {
        h.update(a.name.as_bytes());
        h.update(a.body);
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// The versioned URL of each asset, computed once.
static URLS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let url: &'static str =
                Box::leak(format!("/static/{}/{}", VERSION.as_str(), a.name).into_boxed_str());
            (a.name, url)
        })
        .collect()
});

/// The URL to link an asset by (`name` is one of the embedded files).
pub fn url(name: &str) -> &'static str {
    URLS.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| *u)
        .unwrap_or("/static/missing")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{version}/{name}", get(serve))
        .route("/favicon.ico", get(favicon))
}

async fn serve(Path((version, name)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // An old version's URL still gets today's file, but not cached for long.
    let cache = if version == *VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.body,
    )
        .into_response()
}

async fn favicon() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, url("icon.svg"))],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_are_versioned_by_content() {
        let css = url("app.css");
        assert!(css.starts_with("/static/"), "{css}");
        assert!(css.ends_with("/app.css"));
        assert_eq!(VERSION.len(), 12);
        assert_eq!(url("nope"), "/static/missing");
        assert!(url("visit.js").ends_with("/visit.js"));
    }
}
