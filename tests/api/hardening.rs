//! Issue 13's attacks, each reproduced and shown to fail: answers that could
//! be cached, the API docs page's policy.

use crate::both_backends;
use crate::helpers::{Backend, booked_visit, client, spawn_app, start_binary};
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};

both_backends!(
    api_answers_are_never_stored,
    the_api_docs_page_runs_no_inline_script_and_cannot_be_framed,
);

async fn api_answers_are_never_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let visit = booked_visit(&app).await;
    let token = visit.patient.token.as_str();
    for path in [
        format!("/api/v1/appointments/{}", visit.id),
        "/api/v1/appointments".to_owned(),
        "/api/v1/me".to_owned(),
    ] {
        let r = app.get(&path, Some(token)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.headers[CACHE_CONTROL], "no-store", "{path}");
    }
    // A refused one too (it names what exists), and FHIR's health data.
    let r = app.get("/api/v1/appointments", Some("not-a-token")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    let r = client()
        .get(app.url(&format!("/fhir/Appointment/{}", visit.id)))
        .bearer_auth(token)
        .send()
        .await
        .expect("fhir read");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
}

async fn the_api_docs_page_runs_no_inline_script_and_cannot_be_framed(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/api/docs", "/api/docs/"] {
        let r = client().get(app.url(path)).send().await.expect("docs");
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or("")
            .to_owned();
        let html = r.text().await.unwrap_or_default();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or("");
        assert_eq!(script_src, "script-src 'self'", "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        // Every script is a file: no inline one a hash would have to allow.
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert_eq!(scripts.len(), 2, "{html}");
        for s in scripts {
            let tag = s.split('>').next().unwrap_or("");
            assert!(tag.contains(" src=\"/api/docs/"), "inline script: {s}");
            assert!(
                s.split('>').nth(1).unwrap_or("x").starts_with("</script"),
                "{s}"
            );
        }
    }
    // The initializer and Swagger UI's own files, under the same policy.
    for (path, kind) in [
        ("/api/docs/init.js", "text/javascript"),
        ("/api/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/api/docs/swagger-ui.css", "text/css"),
    ] {
        let r = client().get(app.url(path)).send().await.expect("asset");
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap_or("")
                .starts_with(kind),
            "{path}"
        );
        assert!(r.headers().contains_key(CONTENT_SECURITY_POLICY), "{path}");
    }
    let init = client()
        .get(app.url("/api/docs/init.js"))
        .send()
        .await
        .expect("init")
        .text()
        .await
        .unwrap_or_default();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
}

/// The SQLite files hold health data: the database and the `-wal` and `-shm`
/// files beside it are created readable by their owner alone, whatever the
/// umask (0644 before).
#[tokio::test]
async fn sqlite_files_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("clinic.db");
    let url = format!("sqlite:{}", db.display());
    let server = start_binary(&url, &["--demo"], &[], false).await;
    // The demo clinic was written: the WAL exists.
    let r = client()
        .get(format!("{}/api/v1/doctors", server.base))
        .send()
        .await
        .expect("doctors");
    assert_eq!(r.status(), 200);
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("clinic.db{suffix}"));
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{} is {:o}", path.display(), mode & 0o777);
    }
    drop(server);
}
