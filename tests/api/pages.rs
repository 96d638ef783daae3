//! The web pages' security, through the real server: a strict CSP and no
//! caching on every page, CSRF tokens checked on every form (the session's for
//! signed-in users, a double-submit cookie for the login and sign-up forms),
//! nobody sees another person's appointment page (nor the room of its video
//! visit), and logging out ends the session on the server.

use crate::helpers::{
    Backend, TestApp, User, client, next_phone, spawn_app, spawn_app_with, test_settings,
};
use medimeet::config::Settings;
use medimeet::http::pages::CSP;
use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use serde_json::json;

/// A browser-like session: the session cookie and its CSRF token.
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    pub(crate) fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            c.split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        })
    }
}

pub(crate) async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> Page {
    let mut req = client().get(app.url(path));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.expect("request sent");
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.unwrap_or_default();
    assert_ne!(status.as_u16(), 500, "server error on {path}: {body}");
    Page {
        status,
        headers,
        body,
    }
}

pub(crate) async fn post_form(app: &TestApp, path: &str, cookie: Option<&str>, form: &str) -> Page {
    let mut req = client()
        .post(app.url(path))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.expect("request sent");
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.unwrap_or_default();
    assert_ne!(status.as_u16(), 500, "server error on {path}: {body}");
    Page {
        status,
        headers,
        body,
    }
}

/// The session's CSRF token as a page's forms carry it (the log-out form in
/// the header of every signed-in page).
pub(crate) fn csrf_in(page: &Page) -> String {
    page.body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with a csrf token")
        .to_owned()
}

/// A user signed in through the API, as a browser holds them.
pub(crate) async fn browser_of(app: &TestApp, user: &User, home: &str) -> Browser {
    let cookie = format!("medimeet_session={}", user.token);
    let page = get(app, home, Some(&cookie)).await;
    assert_eq!(page.status, 200, "{home}");
    Browser {
        csrf: csrf_in(&page),
        cookie,
    }
}

/// Logs in through the API and returns the session as a browser holds it.
pub(crate) async fn browser_session(app: &TestApp, creds: serde_json::Value) -> Browser {
    let r = app.post("/api/v1/sessions", None, creds).await;
    assert_eq!(r.status, 201, "login: {}", r.body);
    Browser {
        cookie: format!(
            "medimeet_session={}",
            r.body["token"].as_str().expect("token")
        ),
        csrf: r.body["csrf_token"].as_str().expect("csrf").to_owned(),
    }
}

/// A patient registered through the API, signed in as a browser.
pub(crate) async fn patient_browser(app: &TestApp) -> (User, Browser) {
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Page", "last_name": "Tester", "phone": phone,
                   "password": "long enough pw", "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "register: {}", r.body);
    let browser = browser_session(app, json!({"phone": phone, "password": "long enough pw"})).await;
    let token = browser
        .cookie
        .trim_start_matches("medimeet_session=")
        .to_owned();
    let id = r.body["id"].as_i64().expect("id");
    (User { token, id }, browser)
}

/// A booked visit of a fresh patient with a fresh doctor, days ahead.
async fn booked_visit(app: &TestApp) -> (i64, User, Browser) {
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (patient, browser) = patient_browser(app).await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let r = app.book(&patient, doctor.id, &start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["id"].as_i64().expect("id"), patient, browser)
}

async fn status_of(app: &TestApp, id: i64, user: &User) -> String {
    let r = app
        .get(&format!("/api/v1/appointments/{id}"), Some(&user.token))
        .await;
    r.body["status"].as_str().unwrap_or_default().to_owned()
}

async fn every_page_has_a_strict_csp_and_is_not_cached(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/login", "/signup", "/doctors", "/no/such/page"] {
        let p = get(&app, path, None).await;
        assert_eq!(p.header(CONTENT_SECURITY_POLICY), CSP, "{path}");
        assert!(p.header(CONTENT_TYPE).starts_with("text/html"), "{path}");
        assert_eq!(p.header(CACHE_CONTROL), "no-store", "{path}");
        assert!(!p.body.contains("<script>"), "{path} has an inline script");
        assert!(!p.body.contains(" style=\""), "{path} has an inline style");
    }
    assert!(CSP.contains("script-src 'self'") && !CSP.contains("unsafe-inline"));
    assert!(CSP.contains("frame-ancestors 'none'") && CSP.contains("form-action 'self'"));
    assert_eq!(get(&app, "/no/such/page", None).await.status, 404);

    // The embedded assets: versioned URLs, cached for a year.
    let home = get(&app, "/", None).await;
    let css = home
        .body
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|u| u.ends_with("/app.css")))
        .expect("stylesheet link")
        .to_owned();
    let asset = get(&app, &css, None).await;
    assert_eq!(asset.status, 200);
    assert!(asset.header(CACHE_CONTROL).contains("max-age=31536000"));
    assert!(asset.header(CONTENT_TYPE).starts_with("text/css"));

    // The API docs keep working, under a policy of their own (Swagger UI
    // draws with inline styles; tests/api/hardening.rs checks the rest).
    let docs = get(&app, "/api/docs/", None).await;
    assert_eq!(docs.status, 200);
    assert_eq!(
        docs.header(CONTENT_SECURITY_POLICY),
        medimeet::http::docs::CSP
    );
    // And the API still answers problem documents for unknown API paths.
    let r = app.get("/api/v1/nope", None).await;
    r.assert_problem(404, "not_found");
}

async fn a_signed_in_form_without_its_csrf_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, patient, browser) = booked_visit(&app).await;
    let path = format!("/appointments/{id}/cancel");
    for form in [
        "reason=gone".to_owned(),
        "reason=gone&csrf=".to_owned(),
        "reason=gone&csrf=not-the-token".to_owned(),
        format!("reason=gone&csrf={}x", browser.csrf),
    ] {
        let p = post_form(&app, &path, Some(&browser.cookie), &form).await;
        assert_eq!(p.status, 403, "{form}");
        assert!(p.body.contains("This form has expired"), "{}", p.body);
        assert_eq!(status_of(&app, id, &patient).await, "booked");
    }
    // Another session's token does not fit either.
    let (_, other) = patient_browser(&app).await;
    let p = post_form(
        &app,
        &path,
        Some(&browser.cookie),
        &format!("reason=gone&csrf={}", other.csrf),
    )
    .await;
    assert_eq!(p.status, 403);
    assert_eq!(status_of(&app, id, &patient).await, "booked");

    // With its own token the same form works.
    let p = post_form(
        &app,
        &path,
        Some(&browser.cookie),
        &format!("reason=gone&csrf={}", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), format!("/appointments/{id}"));
    assert_eq!(status_of(&app, id, &patient).await, "cancelled");
}

async fn the_login_form_needs_its_double_submit_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Page", "last_name": "Tester", "phone": phone,
                   "password": "long enough pw", "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let form = |csrf: &str| {
        format!(
            "login={}&password=long+enough+pw&csrf={csrf}",
            phone.replace('+', "%2B")
        )
    };

    // The login page hands out the cookie and puts the same token in the form.
    let page = get(&app, "/login", None).await;
    let token = page.cookie_value("medimeet_csrf").expect("csrf cookie");
    assert!(
        page.body
            .contains(&format!("name=\"csrf\" value=\"{token}\""))
    );
    let cookie = format!("medimeet_csrf={token}");

    // No token, a wrong one, or a token without its cookie (a forged
    // cross-site post): refused, and no session is made.
    for (cookie, csrf) in [
        (Some(cookie.as_str()), ""),
        (Some(cookie.as_str()), "guess"),
        (None, token.as_str()),
    ] {
        let p = post_form(&app, "/login", cookie, &form(csrf)).await;
        assert_eq!(p.status, 403, "{csrf}");
        assert!(p.cookie_value("medimeet_session").is_none());
    }
    let p = post_form(&app, "/signup", Some(&cookie), "first_name=A&csrf=nope").await;
    assert_eq!(p.status, 403);

    // With both, the login works and sets a locked-down session cookie.
    let p = post_form(&app, "/login", Some(&cookie), &form(&token)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/appointments");
    let session = p
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("medimeet_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "{session}");
}

async fn another_patients_appointment_page_is_a_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, patient, owner) = booked_visit(&app).await;
    let (_, stranger) = patient_browser(&app).await;

    let mine = get(&app, &format!("/appointments/{id}"), Some(&owner.cookie)).await;
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("Page Tester"));

    for path in [
        format!("/appointments/{id}"),
        format!("/appointments/{id}/reschedule"),
        format!("/appointments/{}", id + 1000),
        "/appointments/not-a-number".to_owned(),
    ] {
        let p = get(&app, &path, Some(&stranger.cookie)).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.body.contains("Page not found"), "{path}");
        assert!(
            !p.body.contains("check-up"),
            "{path} leaks the visit's reason"
        );
    }
    // Changing it is a 404 as well, and changes nothing.
    for action in ["cancel", "reschedule", "complete", "no-show", "start"] {
        let p = post_form(
            &app,
            &format!("/appointments/{id}/{action}"),
            Some(&stranger.cookie),
            &format!("csrf={}&start=2030-01-01T09:00:00Z", stranger.csrf),
        )
        .await;
        assert_eq!(p.status, 404, "{action}");
    }
    assert_eq!(status_of(&app, id, &patient).await, "booked");

    // Role pages are not there for other roles; anonymous visitors log in first.
    assert_eq!(
        get(&app, "/admin", Some(&stranger.cookie)).await.status,
        404
    );
    assert_eq!(
        get(&app, "/doctor/week", Some(&stranger.cookie))
            .await
            .status,
        404
    );
    let anon = get(&app, &format!("/appointments/{id}"), None).await;
    assert_eq!(anon.status, 303);
    assert_eq!(
        anon.header(LOCATION),
        format!("/login?next=/appointments/{id}")
    );
}

/// The video visit's room page (`/appointments/{id}/visit`) exists for the
/// visit's patient and doctor only; an admin, who may read the appointment,
/// gets no way into its room either.
async fn the_visit_room_page_is_for_its_patient_and_doctor_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let other_doctor = app.everyday_doctor(&admin).await;
    let (patient, owner) = patient_browser(&app).await;
    let (_, stranger) = patient_browser(&app).await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let r = app.book(&patient, doctor.id, &start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().expect("id");
    let room = format!("/appointments/{id}/visit");
    let cookie = |u: &User| format!("medimeet_session={}", u.token);

    // Its two people: days ahead, the room says when it opens, no call yet;
    // the appointment says so too.
    for (who, c) in [
        ("patient", owner.cookie.clone()),
        ("doctor", cookie(&doctor)),
    ] {
        let p = get(&app, &room, Some(&c)).await;
        assert_eq!(p.status, 200, "{who}");
        assert!(p.body.contains("The room opens at"), "{who}: {}", p.body);
        assert!(!p.body.contains("id=\"visit-room\""), "{who}: no call yet");
        let a = get(&app, &format!("/appointments/{id}"), Some(&c)).await;
        assert!(a.body.contains("The visit's room opens at"), "{who}");
    }
    // Anyone else: no such page, and nothing of the visit in it.
    for (who, c) in [
        ("another patient", stranger.cookie.clone()),
        ("an admin", cookie(&admin)),
        ("another doctor", cookie(&other_doctor)),
    ] {
        let p = get(&app, &room, Some(&c)).await;
        assert_eq!(p.status, 404, "{who}");
        assert!(p.body.contains("Page not found"), "{who}");
        assert!(!p.body.contains("check-up"), "{who}: the reason leaks");
    }
    // The admin reads the appointment, with no way into its room.
    let a = get(&app, &format!("/appointments/{id}"), Some(&cookie(&admin))).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("check-up"));
    assert!(!a.body.contains(&room), "no link to the room for an admin");
    assert!(!a.body.contains("Video visit"));
}

async fn logging_out_ends_the_session_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let (patient, browser) = patient_browser(&app).await;
    assert_eq!(
        get(&app, "/appointments", Some(&browser.cookie))
            .await
            .status,
        200
    );

    // A logout without the token does nothing.
    let p = post_form(&app, "/logout", Some(&browser.cookie), "").await;
    assert_eq!(p.status, 403);
    assert_eq!(
        get(&app, "/appointments", Some(&browser.cookie))
            .await
            .status,
        200
    );

    let p = post_form(
        &app,
        "/logout",
        Some(&browser.cookie),
        &format!("csrf={}", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303);
    assert_eq!(p.header(LOCATION), "/");
    assert!(
        p.set_cookies()
            .iter()
            .any(|c| c.starts_with("medimeet_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        p.set_cookies()
    );

    // The old cookie opens nothing: the page asks to log in again, saying why,
    // and the API refuses the token.
    let after = get(&app, "/appointments", Some(&browser.cookie)).await;
    assert_eq!(after.status, 303);
    assert_eq!(
        after.header(LOCATION),
        "/login?expired=1&next=/appointments"
    );
    let login = get(&app, "/login?expired=1&next=/appointments", None).await;
    assert!(login.body.contains("Your session has expired"));
    app.get("/api/v1/me", Some(&patient.token))
        .await
        .assert_problem(401, "unauthenticated");
}

async fn page_cookies_are_secure_when_served_over_https(backend: Backend) {
    // Behind HTTPS every cookie of ours is `__Host-` prefixed (issue 13): a
    // browser takes it only from this host over HTTPS, for Path=/ and with
    // no Domain, so no neighbour can plant one.
    let app = spawn_app_with(
        backend,
        Settings {
            secure_cookies: true,
            ..test_settings()
        },
    )
    .await;
    let host_only = |c: &str| {
        c.contains("; Secure")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")
            && c.contains("Path=/")
            && !c.to_ascii_lowercase().contains("domain=")
    };
    let page = get(&app, "/login", None).await;
    assert!(page.cookie_value("medimeet_csrf").is_none());
    let csrf = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-medimeet_csrf="))
        .expect("csrf cookie");
    assert!(host_only(&csrf), "{csrf}");
    let token = page.cookie_value("__Host-medimeet_csrf").expect("token");
    let phone = next_phone();
    let form = format!(
        "csrf={token}&first_name=Sam&last_name=Secure&phone={}&date_of_birth=1980-02-02&email=&password=long+enough+pw",
        phone.replace('+', "%2B")
    );
    // The same token under the plain name is no token here.
    let p = post_form(
        &app,
        "/signup",
        Some(&format!("medimeet_csrf={token}")),
        &form,
    )
    .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = post_form(
        &app,
        "/signup",
        Some(&format!("__Host-medimeet_csrf={token}")),
        &form,
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/doctors");
    let session = p
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-medimeet_session="))
        .expect("session cookie");
    assert!(host_only(&session), "{session}");
    assert!(
        p.set_cookies()
            .iter()
            .filter(|c| c.contains("medimeet_flash="))
            .all(|c| c.starts_with("__Host-")),
        "{:?}",
        p.set_cookies()
    );
    let value = p.cookie_value("__Host-medimeet_session").expect("session");
    let signed_in = get(
        &app,
        "/appointments",
        Some(&format!("__Host-medimeet_session={value}")),
    )
    .await;
    assert_eq!(signed_in.status, 200);
    // The session under the plain name is not a session here.
    let plain = get(
        &app,
        "/appointments",
        Some(&format!("medimeet_session={value}")),
    )
    .await;
    assert_eq!(plain.status, 303);
    assert!(
        plain.header(LOCATION).starts_with("/login"),
        "{}",
        plain.header(LOCATION)
    );
}

async fn sign_up_mistakes_come_back_per_field_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = get(&app, "/signup", None).await;
    let token = page.cookie_value("medimeet_csrf").expect("token");
    let p = post_form(
        &app,
        "/signup",
        Some(&format!("medimeet_csrf={token}")),
        &format!("csrf={token}&first_name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&last_name=&phone=12&date_of_birth=2999-01-01&password=short"),
    )
    .await;
    assert_eq!(p.status, 422);
    for msg in [
        "Last name must not be empty",
        "Phone number is not a valid phone number",
        "Date of birth must not be in the future",
        "Password must be at least 10 characters",
    ] {
        assert!(p.body.contains(msg), "missing {msg:?}");
    }
    // What was typed comes back escaped, never as markup.
    assert!(
        p.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || p.body.contains("&lt;script&gt;")
    );
    assert!(!p.body.contains("<script>alert(1)"));
    assert!(p.cookie_value("medimeet_session").is_none());
}

crate::both_backends!(
    every_page_has_a_strict_csp_and_is_not_cached,
    a_signed_in_form_without_its_csrf_token_is_refused_and_changes_nothing,
    the_login_form_needs_its_double_submit_token,
    another_patients_appointment_page_is_a_404,
    the_visit_room_page_is_for_its_patient_and_doctor_only,
    logging_out_ends_the_session_on_the_server,
    page_cookies_are_secure_when_served_over_https,
    sign_up_mistakes_come_back_per_field_and_write_nothing,
);
