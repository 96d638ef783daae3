//! Two-step login for staff (decision 0019): turning TOTP on and off, logging
//! in with a code (window, replay, recovery codes, throttling), the clinic's
//! mandatory setting, and patients never asked. Codes are computed here from
//! the shared key with HMAC-SHA-1 (RFC 6238), independently of the server.

use crate::both_backends;
use crate::helpers::{
    Backend, Resp, TestApp, User, rand_u64, spawn_app, spawn_app_with, test_settings,
};
use crate::pages::{get, post_form};
use hmac::{KeyInit, Mac};
use medimeet::config::Settings;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

const PASSWORD: &str = "doctor password";

/// RFC 6238 with SHA-1, 6 digits, 30-second steps: the code of one step.
fn code(secret_b32: &str, step: i64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .expect("base32 key");
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&(step as u64).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[o]) & 0x7f) << 24
        | u32::from(h[o + 1]) << 16
        | u32::from(h[o + 2]) << 8
        | u32::from(h[o + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// The server's current step.
fn step(app: &TestApp) -> i64 {
    app.clock.now().as_second().div_euclid(30)
}

/// Moves the clock to one second into the next step, so a test has most of
/// a step before the real time moves it on.
fn next_step(app: &TestApp) {
    let now = app.clock.now().as_second();
    app.clock.advance(30 - now.rem_euclid(30) + 1);
}

/// A doctor onboarded by `admin`, with a known email, logged in.
async fn doctor(app: &TestApp, admin: &User) -> (String, String) {
    let email = format!("totp{}@clinic.test", rand_u64() % 1_000_000_000);
    let r = app
        .post(
            "/api/v1/doctors",
            Some(&admin.token),
            json!({"email": email, "password": PASSWORD, "first_name": "Tess",
                   "last_name": "Otp", "specialty": "Cardiology", "experience_years": 4,
                   "timezone": "UTC", "visit_minutes": 30, "fee": "50.00"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = app
        .login(json!({"email": email, "password": PASSWORD}))
        .await;
    (email, token)
}

async fn log_in(app: &TestApp, email: &str, totp: Option<&str>) -> Resp {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(c) = totp {
        body["totp_code"] = Value::from(c);
    }
    app.post("/api/v1/sessions", None, body).await
}

/// Turns TOTP on for the session's account: the key and recovery codes.
pub(crate) async fn enable(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let r = app.post("/api/v1/me/totp", Some(token), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/medimeet:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let r = app
        .post(
            "/api/v1/me/totp/confirm",
            Some(token),
            json!({"code": code(&secret, step(app))}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes: Vec<String> = r.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

async fn a_doctor_turns_it_on_and_then_logging_in_needs_the_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;

    let r = app.get("/api/v1/me/totp", Some(&token)).await;
    assert_eq!(
        r.body,
        json!({"enabled": false, "pending": false, "recovery_codes_left": 0})
    );
    let r = app.post("/api/v1/me/totp", Some(&token), json!({})).await;
    assert_eq!(r.status, 201);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let r = app.get("/api/v1/me/totp", Some(&token)).await;
    assert_eq!(r.body["pending"], true);
    assert_eq!(r.body["enabled"], false);
    // Not on until confirmed: the password alone still logs in.
    assert_eq!(log_in(&app, &email, None).await.status, 201);

    // A wrong code does not turn it on.
    let wrong = code(&secret, step(&app) + 5);
    let r = app
        .post(
            "/api/v1/me/totp/confirm",
            Some(&token),
            json!({"code": wrong}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "code");

    let r = app
        .post(
            "/api/v1/me/totp/confirm",
            Some(&token),
            json!({"code": code(&secret, step(&app))}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes = r.body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let r = app.get("/api/v1/me/totp", Some(&token)).await;
    assert_eq!(
        r.body,
        json!({"enabled": true, "pending": false, "recovery_codes_left": 10})
    );
    // On already: a new key is refused.
    app.post("/api/v1/me/totp", Some(&token), json!({}))
        .await
        .assert_problem(409, "totp_state");

    // The key is not in the database in clear.
    let account = app
        .store
        .find_account_by_login(&email)
        .await
        .unwrap()
        .unwrap()
        .id;
    let row = app.store.totp_of(account).await.unwrap().unwrap();
    assert!(row.secret_sealed.starts_with("v1."));
    assert!(!row.secret_sealed.contains(&secret));
    assert!(!row.secret_sealed.contains(&secret.to_lowercase()));

    // Logging in now needs the code.
    let r = log_in(&app, &email, None).await;
    r.assert_problem(401, "totp_required");
    assert!(r.body.get("token").is_none());
    log_in(&app, &email, Some("000000x"))
        .await
        .assert_problem(401, "totp_invalid");
    next_step(&app);
    let r = log_in(&app, &email, Some(&code(&secret, step(&app)))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let session = r.body["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", Some(session)).await.status, 200);
}

async fn a_code_one_step_either_side_counts_and_two_steps_do_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;
    let (secret, _) = enable(&app, &token).await;
    app.clock.advance(10 * 30);
    next_step(&app);
    let s = step(&app);
    for off in [-2, 2] {
        log_in(&app, &email, Some(&code(&secret, s + off)))
            .await
            .assert_problem(401, "totp_invalid");
    }
    // Oldest first: each login takes its step, and a later step is still new.
    for off in [-1, 0, 1] {
        let r = log_in(&app, &email, Some(&code(&secret, s + off))).await;
        assert_eq!(r.status, 201, "offset {off}: {}", r.body);
    }
}

async fn a_code_used_once_is_refused_the_second_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;
    let (secret, _) = enable(&app, &token).await;
    // The code that confirmed the setup is used already.
    log_in(&app, &email, Some(&code(&secret, step(&app))))
        .await
        .assert_problem(401, "totp_invalid");
    next_step(&app);
    let s = step(&app);
    let now = code(&secret, s);
    assert_eq!(log_in(&app, &email, Some(&now)).await.status, 201);
    log_in(&app, &email, Some(&now))
        .await
        .assert_problem(401, "totp_invalid");
    // An older step's code, unused but older than the last one taken: refused.
    log_in(&app, &email, Some(&code(&secret, s - 1)))
        .await
        .assert_problem(401, "totp_invalid");
    // The next step's code is new.
    assert_eq!(
        log_in(&app, &email, Some(&code(&secret, s + 1)))
            .await
            .status,
        201
    );
}

async fn each_recovery_code_logs_in_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;
    let (_, codes) = enable(&app, &token).await;
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);

    assert_eq!(log_in(&app, &email, Some(&codes[0])).await.status, 201);
    log_in(&app, &email, Some(&codes[0]))
        .await
        .assert_problem(401, "totp_invalid");
    // Typed in lower case without dashes: the same code.
    let typed = codes[1].replace('-', "").to_lowercase();
    assert_eq!(log_in(&app, &email, Some(&typed)).await.status, 201);
    log_in(&app, &email, Some(&codes[1]))
        .await
        .assert_problem(401, "totp_invalid");
    // Another account's code is no code here.
    let (email2, token2) = doctor(&app, &admin).await;
    let (_, other) = enable(&app, &token2).await;
    log_in(&app, &email, Some(&other[0]))
        .await
        .assert_problem(401, "totp_invalid");
    assert_eq!(log_in(&app, &email2, Some(&other[0])).await.status, 201);

    let r = app.get("/api/v1/me/totp", Some(&token)).await;
    assert_eq!(r.body["recovery_codes_left"], 8);
}

async fn wrong_codes_are_throttled_like_passwords(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;
    let (secret, _) = enable(&app, &token).await;
    next_step(&app);
    let s = step(&app);
    let wrong = code(&secret, s + 7);
    for _ in 0..4 {
        log_in(&app, &email, Some(&wrong))
            .await
            .assert_problem(401, "totp_invalid");
    }
    // The right password without a code is no failure, but it does not wipe
    // the count either (else codes could be guessed without end).
    log_in(&app, &email, None)
        .await
        .assert_problem(401, "totp_required");
    log_in(&app, &email, Some(&wrong))
        .await
        .assert_problem(401, "totp_invalid");
    // Locked: even the right code waits.
    let r = log_in(&app, &email, Some(&code(&secret, s))).await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.headers.get("retry-after").is_some());
    // After the lock, the right code logs in.
    app.clock.advance(15 * 60 + 1);
    next_step(&app);
    let r = log_in(&app, &email, Some(&code(&secret, step(&app)))).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn turning_it_off_needs_a_code_or_the_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;
    let (secret, _) = enable(&app, &token).await;
    let off = "/api/v1/me/totp/disable";
    app.post(off, Some(&token), json!({}))
        .await
        .assert_problem(422, "validation_failed");
    app.post(off, Some(&token), json!({"password": "not my password"}))
        .await
        .assert_problem(422, "validation_failed");
    next_step(&app);
    app.post(
        off,
        Some(&token),
        json!({"code": code(&secret, step(&app) + 3)}),
    )
    .await
    .assert_problem(422, "validation_failed");
    // Still on.
    log_in(&app, &email, None)
        .await
        .assert_problem(401, "totp_required");
    let r = app
        .post(
            off,
            Some(&token),
            json!({"code": code(&secret, step(&app))}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(log_in(&app, &email, None).await.status, 201);
    app.post(off, Some(&token), json!({"password": PASSWORD}))
        .await
        .assert_problem(409, "totp_state");

    // On again with a new key; off with the password.
    let (_, codes) = enable(&app, &token).await;
    let r = app
        .post(off, Some(&token), json!({"password": PASSWORD}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The old recovery codes are gone with it.
    let r = log_in(&app, &email, Some(&codes[0])).await;
    assert_eq!(r.status, 201, "a code is ignored when it is off");
    assert_eq!(
        app.get("/api/v1/me/totp", Some(&token)).await.body["recovery_codes_left"],
        0
    );
}

async fn the_clinic_can_require_it_of_staff_first(backend: Backend) {
    let settings = Settings {
        require_staff_totp: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let admin = app.new_admin().await;
    // The admin too is held until it is on.
    app.get("/api/v1/appointments", Some(&admin.token))
        .await
        .assert_problem(403, "totp_setup_required");
    enable(&app, &admin.token).await;
    assert_eq!(
        app.get("/api/v1/appointments", Some(&admin.token))
            .await
            .status,
        200
    );

    let (email, token) = doctor(&app, &admin).await;
    app.get("/api/v1/appointments", Some(&token))
        .await
        .assert_problem(403, "totp_setup_required");
    // Who am I, and setting it up, are open.
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status, 200);
    assert_eq!(app.get("/api/v1/me/totp", Some(&token)).await.status, 200);

    // The pages send the doctor to set it up before anything else.
    let t = anonymous_csrf(&app).await;
    let pass = format!(
        "login={}&password=doctor+password&csrf={t}",
        email.replace('@', "%40")
    );
    let p = post_form(&app, "/login", Some(&format!("medimeet_csrf={t}")), &pass).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/account/totp");
    let cookie = format!("medimeet_session={token}");
    for path in ["/doctor/week", "/account", "/doctors"] {
        let p = get(&app, path, Some(&cookie)).await;
        assert_eq!(p.status, 303, "{path}");
        assert_eq!(p.header(LOCATION), "/account/totp", "{path}");
    }
    let p = get(&app, "/account/totp", Some(&cookie)).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("The clinic asks doctors"), "{}", p.body);

    let (secret, _) = enable(&app, &token).await;
    assert_eq!(
        app.get("/api/v1/appointments", Some(&token)).await.status,
        200
    );
    assert_eq!(get(&app, "/doctor/week", Some(&cookie)).await.status, 200);
    next_step(&app);
    let r = log_in(&app, &email, Some(&code(&secret, step(&app)))).await;
    assert_eq!(r.status, 201);
}

async fn patients_are_never_asked(backend: Backend) {
    let settings = Settings {
        require_staff_totp: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let patient = app.new_patient().await;
    assert_eq!(
        app.get("/api/v1/appointments", Some(&patient.token))
            .await
            .status,
        200
    );
    for (path, body) in [
        ("/api/v1/me/totp", json!({})),
        ("/api/v1/me/totp/confirm", json!({"code": "123456"})),
        (
            "/api/v1/me/totp/disable",
            json!({"password": "long enough pw"}),
        ),
    ] {
        app.post(path, Some(&patient.token), body)
            .await
            .assert_problem(404, "not_found");
    }
    app.get("/api/v1/me/totp", Some(&patient.token))
        .await
        .assert_problem(404, "not_found");
    let p = get(
        &app,
        "/appointments",
        Some(&format!("medimeet_session={}", patient.token)),
    )
    .await;
    assert_eq!(p.status, 200);
}

async fn the_login_page_asks_for_the_code_in_a_second_step(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let (email, token) = doctor(&app, &admin).await;
    let (secret, _) = enable(&app, &token).await;
    let t = anonymous_csrf(&app).await;
    let csrf_cookie = format!("medimeet_csrf={t}");
    let csrf = csrf_cookie.as_str();
    let pass = format!(
        "login={}&password=doctor+password&csrf={t}&next=%2Fdoctor%2Fhours",
        email.replace('@', "%40")
    );
    let p = post_form(&app, "/login", Some(csrf), &pass).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.cookie_value("medimeet_session").is_none());
    assert!(p.body.contains("action=\"/login/totp\""), "{}", p.body);
    assert!(!p.body.contains("doctor password"));
    let pending = p
        .body
        .split("name=\"pending\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let form = |pending: &str, code: &str| {
        format!("csrf={t}&pending={pending}&code={code}&next=%2Fdoctor%2Fhours")
    };

    next_step(&app);
    let s = step(&app);
    let p = post_form(
        &app,
        "/login/totp",
        Some(csrf),
        &form(&pending, &code(&secret, s + 4)),
    )
    .await;
    assert_eq!(p.status, 401);
    assert!(p.body.contains("wrong or was already used"), "{}", p.body);
    assert!(p.cookie_value("medimeet_session").is_none());
    // A forged pending token goes back to the password.
    let forged = pending.replacen(|c: char| c.is_ascii_digit(), "9", 1);
    let p = post_form(
        &app,
        "/login/totp",
        Some(csrf),
        &form(&forged, &code(&secret, s)),
    )
    .await;
    assert_eq!(p.status, 303);
    assert!(p.cookie_value("medimeet_session").is_none());

    let p = post_form(
        &app,
        "/login/totp",
        Some(csrf),
        &form(&pending, &code(&secret, s)),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/doctor/hours");
    assert!(p.cookie_value("medimeet_session").is_some());

    // The second step runs out after five minutes.
    let p = post_form(&app, "/login", Some(csrf), &pass).await;
    let pending = p
        .body
        .split("name=\"pending\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    app.clock.advance(6 * 60);
    let p = post_form(
        &app,
        "/login/totp",
        Some(csrf),
        &form(&pending, &code(&secret, step(&app))),
    )
    .await;
    assert_eq!(p.status, 303);
    assert!(p.header(LOCATION).starts_with("/login"));
    assert!(p.cookie_value("medimeet_session").is_none());
}

both_backends!(
    a_doctor_turns_it_on_and_then_logging_in_needs_the_code,
    a_code_one_step_either_side_counts_and_two_steps_do_not,
    a_code_used_once_is_refused_the_second_time,
    each_recovery_code_logs_in_once,
    wrong_codes_are_throttled_like_passwords,
    turning_it_off_needs_a_code_or_the_password,
    the_clinic_can_require_it_of_staff_first,
    patients_are_never_asked,
    the_login_page_asks_for_the_code_in_a_second_step,
);

/// A double-submit token the login page hands out (one the clinic signed).
async fn anonymous_csrf(app: &TestApp) -> String {
    let page = crate::pages::get(app, "/login", None).await;
    page.cookie_value("medimeet_csrf").expect("csrf cookie")
}
