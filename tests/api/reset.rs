//! A forgotten password and a new phone number, proven by one-time codes
//! (issue 12, decision 0018), through the real sinks: the SMS provider is
//! tests/notify/receiver.py, email goes to aiosmtpd. Codes are read from
//! what those received, never from the database.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, next_phone, spawn_app_with, test_settings};
use crate::notifications::SmtpSink;
use crate::pages::{get, post_form};
use crate::webhooks::{Receiver, body};
use medimeet::config::{SecretUrl, Settings};
use medimeet::domain::limits::RateLimit;
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "long enough pw";

/// A clinic whose text messages go to the test's SMS receiver.
pub(crate) fn sms_settings(rx: &Receiver) -> Settings {
    Settings {
        sms_url: Some(rx.url("/sms")),
        sms_body: Some(r#"{"to":"{to}","text":"{text}","ref":"{id}"}"#.into()),
        public_url: Some("https://clinic.test".into()),
        ..test_settings()
    }
}

/// The texts the provider received for `phone`, oldest first.
pub(crate) async fn texts_to(rx: &Receiver, phone: &str) -> Vec<String> {
    rx.log()
        .await
        .iter()
        .filter(|r| r["path"] == "/sms")
        .map(body)
        .filter(|b| b["to"] == phone)
        .map(|b| b["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (at most 10 s) for the `n`-th text to `phone`.
pub(crate) async fn nth_text_to(rx: &Receiver, phone: &str, n: usize) -> String {
    for _ in 0..100 {
        let texts = texts_to(rx, phone).await;
        if texts.len() >= n {
            return texts[n - 1].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no text {n} to {phone}: {:?}", rx.log().await);
}

/// Waits (at most 10 s) for the `n`-th text to `phone`; its code.
async fn nth_code_to(rx: &Receiver, phone: &str, n: usize) -> String {
    code_in(&nth_text_to(rx, phone, n).await)
}

/// The 6-digit code a message starts with.
pub(crate) fn code_in(text: &str) -> String {
    let code: String = text.chars().take(6).collect();
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{text}"
    );
    code
}

/// A code that is not `code` (the next number, wrapping).
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Registers a patient; their phone. The clinic sends texts, so its
/// sign-up goes by a code (signup_code.rs): the patient is made in the
/// store, and the reset's code is the first text to the phone.
async fn register(app: &TestApp) -> String {
    let phone = next_phone();
    app.patient_in_store(&phone).await;
    phone
}

async fn login_status(app: &TestApp, creds: Value) -> u16 {
    app.post("/api/v1/sessions", None, creds)
        .await
        .status
        .as_u16()
}

async fn a_patient_resets_a_forgotten_password_by_sms(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let phone = register(&app).await;
    let first = app.login(json!({"phone": phone, "password": PW})).await;
    let second = app.login(json!({"phone": phone, "password": PW})).await;

    let r = app
        .post("/api/v1/password-reset", None, json!({"phone": phone}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["expires_in_seconds"], 900);
    let code = nth_code_to(&rx, &phone, 1).await;
    let text = &texts_to(&rx, &phone).await[0];
    assert!(text.contains("15 minutes"), "{text}");
    assert!(!text.contains("http"), "no link in a code's text: {text}");

    // A new password that breaks the registration rules: refused, and the
    // code still works afterwards.
    let confirm = |code: &str, pw: &str| json!({"phone": phone, "code": code, "new_password": pw});
    app.post(
        "/api/v1/password-reset/confirm",
        None,
        confirm(&code, "short"),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(
        app.get("/api/v1/me", Some(&first)).await.status,
        200,
        "nothing changed"
    );

    let r = app
        .post(
            "/api/v1/password-reset/confirm",
            None,
            confirm(&code, "a brand new password"),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Every session of the account ended; only the new password logs in.
    for token in [&first, &second] {
        app.get("/api/v1/me", Some(token))
            .await
            .assert_problem(401, "unauthenticated");
    }
    assert_eq!(
        login_status(&app, json!({"phone": phone, "password": PW})).await,
        401
    );
    assert_eq!(
        login_status(
            &app,
            json!({"phone": phone, "password": "a brand new password"})
        )
        .await,
        201
    );

    // The code works once.
    let r = app
        .post(
            "/api/v1/password-reset/confirm",
            None,
            confirm(&code, "yet another password"),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "code", "{}", r.body);
    assert_eq!(
        login_status(
            &app,
            json!({"phone": phone, "password": "yet another password"})
        )
        .await,
        401
    );
}

async fn a_doctor_resets_a_forgotten_password_by_email(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(
        backend,
        Settings {
            smtp_url: Some(SecretUrl::new(format!("smtp://127.0.0.1:{}", sink.port))),
            mail_from: "Clinic <visits@clinic.test>".into(),
            public_url: Some("https://clinic.test".into()),
            ..test_settings()
        },
    )
    .await;
    let admin = app.new_admin().await;
    let email = format!(
        "forgetful{}@clinic.test",
        crate::helpers::rand_u64() % 1_000_000
    );
    let r = app
        .post(
            "/api/v1/doctors",
            Some(&admin.token),
            json!({"email": email, "password": "doctor password", "first_name": "Doc",
                   "last_name": "Forget", "specialty": "Cardiology", "experience_years": 3,
                   "timezone": "UTC", "visit_minutes": 30, "fee": "50.00"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let session = app
        .login(json!({"email": email, "password": "doctor password"}))
        .await;

    // Typed in another case: the login is the same.
    let r = app
        .post(
            "/api/v1/password-reset",
            None,
            json!({"email": email.to_uppercase()}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0]["to"], email.as_str(), "{mail:?}");
    assert!(
        mail[0]["subject"]
            .as_str()
            .unwrap()
            .contains("password reset code"),
        "{mail:?}"
    );
    let text = mail[0]["text/plain"].as_str().unwrap();
    let code = code_in(text);
    assert!(
        mail[0]["text/html"].as_str().unwrap().contains(&code),
        "{mail:?}"
    );

    let r = app
        .post(
            "/api/v1/password-reset/confirm",
            None,
            json!({"email": email, "code": format!("{} {}", &code[..3], &code[3..]),
                   "new_password": "the doctor's new one"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    app.get("/api/v1/me", Some(&session))
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        login_status(
            &app,
            json!({"email": email, "password": "the doctor's new one"})
        )
        .await,
        201
    );
}

async fn an_unknown_login_gets_the_same_answer_and_no_message(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let known = register(&app).await;
    let unknown = next_phone();

    let a = app
        .post("/api/v1/password-reset", None, json!({"phone": known}))
        .await;
    let b = app
        .post("/api/v1/password-reset", None, json!({"phone": unknown}))
        .await;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    let c = app
        .post(
            "/api/v1/password-reset",
            None,
            json!({"email": "nobody@clinic.test"}),
        )
        .await;
    assert_eq!((a.status, &a.body), (c.status, &c.body));

    // A code for the known one arrives; nothing goes to the unknown number.
    let code = nth_code_to(&rx, &known, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(texts_to(&rx, &unknown).await.is_empty());
    assert_eq!(rx.log().await.len(), 1, "{:?}", rx.log().await);

    // Confirming: an unknown login with any code answers like a wrong code.
    let wrong = app
        .post(
            "/api/v1/password-reset/confirm",
            None,
            json!({"phone": known, "code": other_than(&code), "new_password": "a new password"}),
        )
        .await;
    let nobody = app
        .post(
            "/api/v1/password-reset/confirm",
            None,
            json!({"phone": unknown, "code": code, "new_password": "a new password"}),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!((wrong.status, &wrong.body), (nobody.status, &nobody.body));
}

async fn codes_expire_and_wrong_tries_are_throttled(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let phone = register(&app).await;
    let confirm =
        |code: &str| json!({"phone": phone, "code": code, "new_password": "a new password"});

    // Fifteen minutes and it is gone.
    app.post("/api/v1/password-reset", None, json!({"phone": phone}))
        .await;
    let code = nth_code_to(&rx, &phone, 1).await;
    app.clock.advance(15 * 60 + 1);
    app.post("/api/v1/password-reset/confirm", None, confirm(&code))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(
        login_status(&app, json!({"phone": phone, "password": PW})).await,
        201
    );

    // A new code; the expired try was the first of five wrong ones in a
    // quarter hour: four more and the login's tries are locked, even for
    // the right code.
    app.post("/api/v1/password-reset", None, json!({"phone": phone}))
        .await;
    let code = nth_code_to(&rx, &phone, 2).await;
    for _ in 0..4 {
        app.post(
            "/api/v1/password-reset/confirm",
            None,
            confirm(&other_than(&code)),
        )
        .await
        .assert_problem(422, "validation_failed");
    }
    let r = app
        .post("/api/v1/password-reset/confirm", None, confirm(&code))
        .await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(
        login_status(&app, json!({"phone": phone, "password": PW})).await,
        201,
        "the password did not change"
    );

    // After the lock, that code is spent anyway (its time is over); a new
    // one works.
    app.clock.advance(15 * 60 + 1);
    app.post("/api/v1/password-reset/confirm", None, confirm(&code))
        .await
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/password-reset", None, json!({"phone": phone}))
        .await;
    let code = nth_code_to(&rx, &phone, 3).await;
    assert_eq!(
        app.post("/api/v1/password-reset/confirm", None, confirm(&code))
            .await
            .status,
        204
    );
}

async fn reset_requests_are_limited_per_login_and_per_address(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            codes_per_account: RateLimit::per_hour(2),
            codes_per_address: RateLimit::per_hour(4),
            ..test_settings()
        },
    )
    .await;
    let known = register(&app).await;
    let unknown = next_phone();
    // The same for a login that is someone's and one that is no one's.
    for phone in [&known, &unknown] {
        for _ in 0..2 {
            let r = app
                .post("/api/v1/password-reset", None, json!({"phone": phone}))
                .await;
            assert_eq!(r.status, 202, "{}", r.body);
        }
        let r = app
            .post("/api/v1/password-reset", None, json!({"phone": phone}))
            .await;
        r.assert_problem(429, "rate_limited");
        assert!(r.headers.get("retry-after").is_some());
    }
    // Four went through from this address (the two refused by their
    // login's limit did not reach the address's count): it is over its four.
    app.post(
        "/api/v1/password-reset",
        None,
        json!({"phone": next_phone()}),
    )
    .await
    .assert_problem(429, "rate_limited");
    // An hour later, again.
    app.clock.advance(3601);
    let r = app
        .post("/api/v1/password-reset", None, json!({"phone": known}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

async fn a_new_phone_takes_effect_only_with_the_code_sent_to_it(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let old = register(&app).await;
    let token = app.login(json!({"phone": old, "password": PW})).await;
    let other = register(&app).await;
    let new = next_phone();

    // Refused: no phone, the same phone, another account's login.
    app.post("/api/v1/me/phone", Some(&token), json!({"phone": "12"}))
        .await
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/me/phone", Some(&token), json!({"phone": old}))
        .await
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/me/phone", Some(&token), json!({"phone": other}))
        .await
        .assert_problem(409, "already_registered");

    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({"phone": new}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let code = nth_code_to(&rx, &new, 1).await;
    assert!(
        texts_to(&rx, &old).await.is_empty(),
        "the code goes to the new number"
    );
    // Until the code is entered the old phone stays.
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["patient"]["phone"], old.as_str());
    let r = app
        .post(
            "/api/v1/me/phone/confirm",
            Some(&token),
            json!({"code": other_than(&code)}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.body["patient"]["phone"],
        old.as_str()
    );

    let r = app
        .post(
            "/api/v1/me/phone/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["phone"], new.as_str());
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["login"], new.as_str(), "the session goes on");
    assert_eq!(
        login_status(&app, json!({"phone": new, "password": PW})).await,
        201
    );
    assert_eq!(
        login_status(&app, json!({"phone": old, "password": PW})).await,
        401
    );
    // Used once.
    app.post(
        "/api/v1/me/phone/confirm",
        Some(&token),
        json!({"code": code}),
    )
    .await
    .assert_problem(422, "validation_failed");

    // Only patients change a phone here.
    let admin = app.new_admin().await;
    app.post(
        "/api/v1/me/phone",
        Some(&admin.token),
        json!({"phone": next_phone()}),
    )
    .await
    .assert_problem(403, "forbidden");
}

async fn profile_edits_are_validated_and_nothing_changes_when_refused(backend: Backend) {
    let app = spawn_app_with(backend, test_settings()).await;
    let patient = app.new_patient().await;
    let path = format!("/api/v1/patients/{}", patient.id);
    let before = app.get(&path, Some(&patient.token)).await.body;

    for bad in [
        json!({"first_name": "Ann", "date_of_birth": "2999-01-01"}),
        json!({"first_name": "Ann", "email": "not-an-email"}),
        json!({"first_name": " ", "last_name": "Fine"}),
        json!({"date_of_birth": "1850-05-05"}),
        json!({"phone": "+12025550111"}),
    ] {
        let r = app
            .call(
                Method::PATCH,
                &path,
                Some(&patient.token),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert_eq!(
            app.get(&path, Some(&patient.token)).await.body,
            before,
            "{bad}"
        );
    }
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(&patient.token),
            Some(json!({"first_name": "Anna", "last_name": "Edited",
                        "email": "anna@example.com", "date_of_birth": "1980-02-29"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = app.get(&path, Some(&patient.token)).await.body;
    assert_eq!(after["first_name"], "Anna");
    assert_eq!(after["last_name"], "Edited");
    assert_eq!(after["email"], "anna@example.com");
    assert_eq!(after["date_of_birth"], "1980-02-29");
    assert_ne!(after["age"], before["age"]);
    assert_eq!(after["phone"], before["phone"]);
}

async fn the_reset_pages_answer_alike_for_anyone(backend: Backend) {
    let app = spawn_app_with(backend, test_settings()).await;
    let known = register(&app).await;

    let login = get(&app, "/login", None).await;
    assert!(
        login.body.contains("href=\"/password-reset\""),
        "{}",
        login.body
    );
    let page = get(&app, "/password-reset", None).await;
    assert_eq!(page.status, 200);
    let token = page.cookie_value("medimeet_csrf").expect("csrf cookie");
    let cookie = format!("medimeet_csrf={token}");
    let ask = |phone: &str| format!("login={}&csrf={token}", phone.replace('+', "%2B"));

    // The page after asking names what was typed, and nothing else differs.
    let unknown = next_phone();
    let a = post_form(&app, "/password-reset", Some(&cookie), &ask(&known)).await;
    let b = post_form(&app, "/password-reset", Some(&cookie), &ask(&unknown)).await;
    assert_eq!(
        (a.status, b.status),
        (200.try_into().unwrap(), 200.try_into().unwrap())
    );
    assert!(a.body.contains("name=\"code\"") || a.body.contains("id=\"f-code\""));
    assert_eq!(
        crate::helpers::blank_request_id(&a.headers, &a.body).replace(&known, "X"),
        crate::helpers::blank_request_id(&b.headers, &b.body).replace(&unknown, "X")
    );
    // A bad code: the form again with the message, and nothing changed.
    let form = format!(
        "login={}&code=12345&new_password=a+new+password&new_password_again=a+new+password&csrf={token}",
        known.replace('+', "%2B")
    );
    let p = post_form(&app, "/password-reset/confirm", Some(&cookie), &form).await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("6-digit code"), "{}", p.body);
    assert_eq!(
        login_status(&app, json!({"phone": known, "password": PW})).await,
        201
    );
    // Without the form's token: refused.
    let p = post_form(
        &app,
        "/password-reset",
        Some(&cookie),
        &format!("login={known}"),
    )
    .await;
    assert_eq!(p.status, 403);
}

both_backends!(
    a_patient_resets_a_forgotten_password_by_sms,
    a_doctor_resets_a_forgotten_password_by_email,
    an_unknown_login_gets_the_same_answer_and_no_message,
    codes_expire_and_wrong_tries_are_throttled,
    reset_requests_are_limited_per_login_and_per_address,
    a_new_phone_takes_effect_only_with_the_code_sent_to_it,
    profile_edits_are_validated_and_nothing_changes_when_refused,
    the_reset_pages_answer_alike_for_anyone,
);
