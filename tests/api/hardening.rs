//! Issue 13's attacks, each reproduced and shown to fail: answers that could
//! be cached, the API docs page's policy.

use crate::both_backends;
use crate::helpers::{Backend, booked_visit, client, spawn_app, start_binary};
use crate::pages::{browser_of, get, post_form};
use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use serde_json::json;

both_backends!(
    api_answers_are_never_stored,
    the_api_docs_page_runs_no_inline_script_and_cannot_be_framed,
    every_time_parameter_answers_the_ends_of_time,
    a_planted_csrf_cookie_is_no_token,
    an_empty_email_is_no_address_and_makes_no_account,
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
        assert_eq!(
            mode & 0o777,
            0o600,
            "{} is {:o}",
            path.display(),
            mode & 0o777
        );
    }
    drop(server);
}

/// Instants anywhere in jiff's range, mostly at its ends and at the edges of
/// what medimeet accepts (1900 and 2200).
fn instants() -> impl Strategy<Value = Timestamp> {
    let min = Timestamp::MIN.as_second();
    let max = Timestamp::MAX.as_second();
    let near = |at: i64| (at - 3 * 86_400)..=(at + 3 * 86_400);
    prop_oneof![
        Just(min),
        Just(max),
        min..=(min + 30 * 86_400),
        (max - 30 * 86_400)..=max,
        near(-2_208_988_800),
        near(7_258_118_400),
        min..=max,
    ]
    .prop_filter_map("in jiff's range", |s| Timestamp::from_second(s).ok())
}

/// The requests near the end of time panicked inside jiff and the
/// client got no answer. Every time parameter of every face, fed instants
/// from the whole of jiff's range: always an answer, never a 5xx, refused
/// (422 on the API, 400 on FHIR, the form again on a page) when out of
/// reach, and no visit booked or moved.
async fn every_time_parameter_answers_the_ends_of_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let visit = booked_visit(&app).await;
    let (p, d, a) = (&visit.patient, &visit.doctor, &visit.admin);
    let pb = browser_of(&app, p, "/appointments").await;
    let db = browser_of(&app, d, "/doctor/week").await;
    let before = app.get("/api/v1/appointments", Some(&a.token)).await.body;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&instants(), |t| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let text = t.to_string();
                let date = t
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .date()
                    .to_string();
                let q = |s: &str| s.replace('+', "%2B");
                let reach = medimeet::domain::reach::instant(t);
                let id = visit.id;
                let doc = d.id;
                // The API: queries and bodies.
                for (path, token) in [
                    (
                        format!("/api/v1/doctors/{doc}/slots?from={}", q(&text)),
                        None,
                    ),
                    (format!("/api/v1/doctors/{doc}/slots?to={}", q(&text)), None),
                    (
                        format!("/api/v1/appointments?from={}", q(&text)),
                        Some(&p.token),
                    ),
                    (
                        format!("/api/v1/appointments?to={}", q(&text)),
                        Some(&a.token),
                    ),
                ] {
                    let r = app.get(&path, token.map(String::as_str)).await;
                    if !reach {
                        r.assert_problem(422, "validation_failed");
                    }
                    assert!(r.status.as_u16() < 500, "{path}: {}", r.body);
                }
                for (path, token, body) in [
                    (
                        "/api/v1/appointments".to_owned(),
                        &p.token,
                        json!({"doctor_id": doc, "start": text, "reason": "x"}),
                    ),
                    (
                        format!("/api/v1/appointments/{id}/reschedule"),
                        &p.token,
                        json!({"start": text}),
                    ),
                    (
                        format!("/api/v1/doctors/{doc}/time-off"),
                        &d.token,
                        json!({"start": text, "end": text, "reason": "x"}),
                    ),
                ] {
                    let r = app.post(&path, Some(token), body).await;
                    assert!(
                        r.status.is_client_error(),
                        "{path} {text}: {} {}",
                        r.status,
                        r.body
                    );
                }
                // FHIR's searches and operations.
                for path in [
                    format!("/fhir/Slot?schedule={doc}&start=ge{}", q(&text)),
                    format!("/fhir/Slot?schedule={doc}&start=lt{date}"),
                    format!("/fhir/Appointment?date=ge{}", q(&text)),
                    format!("/fhir/Appointment/$find?start={}", q(&text)),
                    format!("/fhir/Appointment/$find?end={date}"),
                ] {
                    let r = client()
                        .get(app.url(&path))
                        .bearer_auth(&p.token)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{path}: no answer: {e}"));
                    if !reach {
                        assert_eq!(r.status(), 400, "{path}");
                    }
                    assert!(r.status().as_u16() < 500, "{path}");
                }
                // The pages: weeks by date, and the forms.
                for (path, cookie) in [
                    (format!("/doctors/{doc}?week={date}"), &pb.cookie),
                    (
                        format!("/appointments/{id}/reschedule?week={date}"),
                        &pb.cookie,
                    ),
                    (format!("/doctor/week?start={date}"), &db.cookie),
                ] {
                    let r = get(&app, &path, Some(cookie)).await;
                    assert_eq!(r.status, 200, "{path}");
                }
                let form = |extra: &str, csrf: &str| format!("{extra}&csrf={csrf}");
                for (path, cookie, body) in [
                    (
                        format!("/doctors/{doc}/book"),
                        &pb.cookie,
                        form(&format!("start={}&reason=x", q(&text)), &pb.csrf),
                    ),
                    (
                        format!("/appointments/{id}/reschedule"),
                        &pb.cookie,
                        form(&format!("start={}", q(&text)), &pb.csrf),
                    ),
                    (
                        "/doctor/time-off".to_owned(),
                        &db.cookie,
                        form(
                            &format!("off_start={date}T09:00&off_end={date}T10:00&off_reason=x"),
                            &db.csrf,
                        ),
                    ),
                ] {
                    let r = post_form(&app, &path, Some(cookie), &body).await;
                    assert!(r.status.as_u16() < 500, "{path} {body}: {}", r.status);
                    if !reach {
                        assert_ne!(r.status.as_u16() / 100, 3, "{path} {body}: accepted");
                    }
                }
            })
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let after = app.get("/api/v1/appointments", Some(&a.token)).await.body;
    assert_eq!(before, after, "a visit was booked or moved");
}

/// The anonymous forms' double-submit cookie is a nonce the clinic signed: a
/// cookie planted by someone else (a sibling subdomain, a network attacker on
/// plain HTTP) with a value of their choosing is refused, and replaced.
async fn a_planted_csrf_cookie_is_no_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let patient_phone = crate::helpers::next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Pat", "last_name": "Planted", "phone": patient_phone,
                   "password": "long enough pw", "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let login = format!(
        "login={}&password=long+enough+pw",
        patient_phone.replace('+', "%2B")
    );
    // The attacker's own value, in the cookie and the form alike.
    let chosen = "attacker-chosen-value";
    let p = post_form(
        &app,
        "/login",
        Some(&format!("medimeet_csrf={chosen}")),
        &format!("{login}&csrf={chosen}"),
    )
    .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.cookie_value("medimeet_session").is_none());
    // A signed-looking value with a made-up signature: refused too.
    let forged = "bm9uY2U.c2lnbmF0dXJl";
    let p = post_form(
        &app,
        "/login",
        Some(&format!("medimeet_csrf={forged}")),
        &format!("{login}&csrf={forged}"),
    )
    .await;
    assert_eq!(p.status, 403, "{}", p.body);
    // A page seen with the planted cookie hands out a real one instead.
    let page = get(&app, "/login", Some(&format!("medimeet_csrf={chosen}"))).await;
    let issued = page.cookie_value("medimeet_csrf").expect("a new token");
    assert_ne!(issued, chosen);
    assert!(
        page.body
            .contains(&format!("name=\"csrf\" value=\"{issued}\""))
    );
    let p = post_form(
        &app,
        "/login",
        Some(&format!("medimeet_csrf={issued}")),
        &format!("{login}&csrf={issued}"),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.cookie_value("medimeet_session").is_some());
}

/// The document says an email address or no field: an empty string is
/// refused (schemathesis found it accepted) and no account is made.
async fn an_empty_email_is_no_address_and_makes_no_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = crate::helpers::next_phone();
    let body = |email: Option<&str>| {
        let mut b = json!({"first_name": "Maria", "last_name": "Rossi", "phone": phone,
                           "password": "long enough pw", "date_of_birth": "1985-04-12"});
        if let Some(e) = email {
            b["email"] = json!(e);
        }
        b
    };
    for empty in ["", "   "] {
        let r = app.post("/api/v1/patients", None, body(Some(empty))).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "email", "{}", r.body);
    }
    // Left out, it is no email at all; the number was still free.
    let r = app.post("/api/v1/patients", None, body(None)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["email"].is_null());
}
