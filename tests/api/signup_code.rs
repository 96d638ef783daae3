//! Signing up with a text-message code (issue 13, decision 0027), through
//! the real SMS sink (tests/notify/receiver.py): with `--sms-url` set, a
//! sign-up answers alike for a new and an existing number, a new number
//! gets a code, the existing owner a warning, and the account exists only
//! once the code comes back. Codes are read from what the provider
//! received, never from the database. Without SMS, sign-up is as before.

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, blank_request_id, next_phone, spawn_app_with, test_settings,
};
use crate::pages::{get, post_form};
use crate::reset::{code_in, nth_text_to, sms_settings, texts_to};
use crate::webhooks::Receiver;
use serde_json::{Value, json};

const PW: &str = "a squatter's password";

/// A code that is not `code` (the next number, wrapping).
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn signup(phone: &str, first: &str) -> Value {
    json!({"first_name": first, "last_name": "Newcomer", "phone": phone,
           "password": PW, "date_of_birth": "1991-02-03", "email": "new@example.com"})
}

async fn login_status(app: &TestApp, phone: &str, password: &str) -> u16 {
    app.post(
        "/api/v1/sessions",
        None,
        json!({"phone": phone, "password": password}),
    )
    .await
    .status
    .as_u16()
}

async fn confirm(app: &TestApp, phone: &str, code: &str) -> crate::helpers::Resp {
    app.post(
        "/api/v1/signup/confirm",
        None,
        json!({"phone": phone, "code": code}),
    )
    .await
}

async fn a_new_and_an_existing_number_get_the_same_answer(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let existing = next_phone();
    let owner_id = app.patient_in_store(&existing).await;
    let new = next_phone();

    let a = app
        .post("/api/v1/patients", None, signup(&new, "Nora"))
        .await;
    let b = app
        .post("/api/v1/patients", None, signup(&existing, "Nora"))
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(b.status, 202, "{}", b.body);
    assert_eq!(a.body, b.body, "nothing tells the two numbers apart");
    assert_eq!(a.body["expires_in_seconds"], 900);
    assert_eq!(a.headers.get("content-type"), b.headers.get("content-type"));

    // The new number gets a code; the owner of the existing one a warning
    // with no code in it.
    let text = nth_text_to(&rx, &new, 1).await;
    code_in(&text);
    assert!(text.contains("new medimeet account"), "{text}");
    let warning = nth_text_to(&rx, &existing, 1).await;
    assert!(
        !warning.chars().any(|c| c.is_ascii_digit()),
        "no code in the warning: {warning}"
    );
    assert!(warning.contains("Someone tried"), "{warning}");
    assert!(warning.contains("reset your password"), "{warning}");

    // The existing account is untouched: its password still works, the
    // squatter's does not, the profile is the same.
    assert_eq!(login_status(&app, &existing, "long enough pw").await, 201);
    assert_eq!(login_status(&app, &existing, PW).await, 401);
    let token = app
        .login(json!({"phone": existing, "password": "long enough pw"}))
        .await;
    let me = app
        .get(&format!("/api/v1/patients/{owner_id}"), Some(&token))
        .await;
    assert_eq!(me.body["first_name"], "Test");

    // Nobody can finish a sign-up for the existing number: no code works
    // (the warning's row never confirms), and the answer is the usual one.
    confirm(&app, &existing, "000000")
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(texts_to(&rx, &existing).await.len(), 1);
}

async fn the_account_exists_only_once_the_code_is_entered(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let phone = next_phone();
    let r = app
        .post("/api/v1/patients", None, signup(&phone, "Ada"))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let code = code_in(&nth_text_to(&rx, &phone, 1).await);

    // Before the code: no account.
    assert_eq!(login_status(&app, &phone, PW).await, 401);
    // A wrong code: refused, still no account.
    confirm(&app, &phone, &other_than(&code))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(login_status(&app, &phone, PW).await, 401);
    // Not a code, not a phone: told per field.
    let r = confirm(&app, "12", "12a").await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["phone", "code"], "{}", r.body);

    // The right code: the patient exists, with what they typed, and is
    // logged in.
    let r = confirm(&app, &phone, &code).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["patient"]["first_name"], "Ada");
    assert_eq!(r.body["patient"]["phone"], phone.as_str());
    assert_eq!(r.body["patient"]["email"], "new@example.com");
    assert_eq!(r.body["patient"]["date_of_birth"], "1991-02-03");
    assert_eq!(r.body["session"]["role"], "patient");
    assert!(
        r.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("medimeet_session=")),
        "the session cookie is set"
    );
    let token = r.body["session"]["token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["login"], phone.as_str());
    assert_eq!(login_status(&app, &phone, PW).await, 201);

    // Used once.
    confirm(&app, &phone, &code)
        .await
        .assert_problem(422, "validation_failed");
    // Signing up again with the number now answers alike, and warns its
    // (new) owner instead of sending a code.
    let again = app
        .post("/api/v1/patients", None, signup(&phone, "Eve"))
        .await;
    assert_eq!(again.status, 202);
    let warning = nth_text_to(&rx, &phone, 2).await;
    assert!(warning.contains("Someone tried"), "{warning}");
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.body["patient"]["first_name"],
        "Ada"
    );
}

async fn expired_and_replaced_codes_are_refused_and_tries_throttled(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let phone = next_phone();

    // Expired.
    app.post("/api/v1/patients", None, signup(&phone, "Old"))
        .await;
    let code = code_in(&nth_text_to(&rx, &phone, 1).await);
    app.clock.advance(15 * 60 + 1);
    confirm(&app, &phone, &code)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(login_status(&app, &phone, PW).await, 401);

    // A second sign-up replaces the first's code: only the newest works,
    // with the newest details.
    app.post("/api/v1/patients", None, signup(&phone, "First"))
        .await;
    let first = code_in(&nth_text_to(&rx, &phone, 2).await);
    app.post("/api/v1/patients", None, signup(&phone, "Second"))
        .await;
    let second = code_in(&nth_text_to(&rx, &phone, 3).await);
    if first != second {
        confirm(&app, &phone, &first)
            .await
            .assert_problem(422, "validation_failed");
    }

    // The expired try and maybe the replaced one were wrong tries on this
    // number: a few more and its tries are locked, even for the right code.
    let mut locked = None;
    for _ in 0..5 {
        let r = confirm(&app, &phone, &other_than(&second)).await;
        if r.status == 429 {
            locked = Some(r);
            break;
        }
        r.assert_problem(422, "validation_failed");
    }
    let r = locked.expect("tries are throttled");
    r.assert_problem(429, "too_many_attempts");
    assert!(r.headers.get("retry-after").is_some());
    confirm(&app, &phone, &second)
        .await
        .assert_problem(429, "too_many_attempts");
    assert_eq!(login_status(&app, &phone, PW).await, 401);

    // Later, a new code works (the old one ran out with the lock).
    app.clock.advance(15 * 60 + 1);
    app.post("/api/v1/patients", None, signup(&phone, "Third"))
        .await;
    let third = code_in(&nth_text_to(&rx, &phone, 4).await);
    let r = confirm(&app, &phone, &third).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["patient"]["first_name"], "Third");
}

async fn without_sms_sign_up_is_immediate_and_tells_a_taken_number(backend: Backend) {
    let app = spawn_app_with(backend, test_settings()).await;
    let phone = next_phone();
    let r = app
        .post("/api/v1/patients", None, signup(&phone, "Demo"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["first_name"], "Demo");
    assert_eq!(login_status(&app, &phone, PW).await, 201);
    app.post("/api/v1/patients", None, signup(&phone, "Demo"))
        .await
        .assert_problem(409, "already_registered");
    // No code was ever sent: confirming refuses like a wrong code.
    confirm(&app, &phone, "123456")
        .await
        .assert_problem(422, "validation_failed");
}

fn form(phone: &str, token: &str) -> String {
    format!(
        "first_name=Pia&last_name=Page&phone={}&date_of_birth=1988-08-08&email=&password=a+page+password&csrf={token}",
        phone.replace('+', "%2B")
    )
}

async fn the_sign_up_pages_answer_alike_and_finish_with_the_code(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, sms_settings(&rx)).await;
    let existing = next_phone();
    app.patient_in_store(&existing).await;
    let new = next_phone();

    let page = get(&app, "/signup", None).await;
    let token = page.cookie_value("medimeet_csrf").expect("csrf cookie");
    let cookie = format!("medimeet_csrf={token}");
    let a = post_form(&app, "/signup", Some(&cookie), &form(&new, &token)).await;
    let b = post_form(&app, "/signup", Some(&cookie), &form(&existing, &token)).await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    assert!(a.body.contains("We sent a text message to"), "{}", a.body);
    assert!(a.body.contains("action=\"/signup/code\""), "{}", a.body);
    assert_eq!(
        blank_request_id(&a.headers, &a.body).replace(&new, "X"),
        blank_request_id(&b.headers, &b.body).replace(&existing, "X")
    );
    assert!(
        a.set_cookies()
            .iter()
            .all(|c| !c.starts_with("medimeet_session="))
    );

    let code = code_in(&nth_text_to(&rx, &new, 1).await);
    let finish = |code: &str| format!("phone={}&code={code}&csrf={token}", new.replace('+', "%2B"));
    // A wrong code: the form again with a friendly message.
    let p = post_form(
        &app,
        "/signup/code",
        Some(&cookie),
        &finish(&other_than(&code)),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(
        p.body.contains("wrong, already used or expired"),
        "{}",
        p.body
    );
    // Without the form's token: refused.
    let p = post_form(
        &app,
        "/signup/code",
        Some(&cookie),
        &format!("phone={}&code={code}", new.replace('+', "%2B")),
    )
    .await;
    assert_eq!(p.status, 403);
    // The right one: logged in, on to the doctors.
    let p = post_form(&app, "/signup/code", Some(&cookie), &finish(&code)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(reqwest::header::LOCATION), "/doctors");
    assert!(
        p.set_cookies()
            .iter()
            .any(|c| c.starts_with("medimeet_session=") && !c.starts_with("medimeet_session=;")),
        "{:?}",
        p.set_cookies()
    );
    assert_eq!(login_status(&app, &new, "a page password").await, 201);

    // The code page opens by itself too (for whoever came back later).
    let p = get(&app, "/signup/code", None).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("name=\"code\""), "{}", p.body);
}

both_backends!(
    a_new_and_an_existing_number_get_the_same_answer,
    the_account_exists_only_once_the_code_is_entered,
    expired_and_replaced_codes_are_refused_and_tries_throttled,
    without_sms_sign_up_is_immediate_and_tells_a_taken_number,
    the_sign_up_pages_answer_alike_and_finish_with_the_code,
);
