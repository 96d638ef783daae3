//! Sessions a person can see and end, and changing a password (issue 12,
//! decision 0017): what ends takes effect at once, on every instance.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, client, next_phone, second_instance, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Logs in with a `User-Agent` of `device`: the token.
async fn log_in_as(app: &TestApp, creds: &Value, device: &str) -> String {
    let r = client()
        .post(app.url("/api/v1/sessions"))
        .header("user-agent", device)
        .json(creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn patient(app: &TestApp) -> Value {
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Sam", "last_name": "Session", "phone": phone,
                   "password": "first password", "date_of_birth": "1985-02-03"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    json!({"phone": phone, "password": "first password"})
}

fn items(r: &crate::helpers::Resp) -> Vec<Value> {
    r.body["items"].as_array().unwrap().clone()
}

async fn my_sessions_are_listed_and_end_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = patient(&app).await;
    let laptop = log_in_as(&app, &creds, "Firefox on the laptop").await;
    let phone = log_in_as(&app, &creds, "Safari on the phone").await;
    let tablet = log_in_as(&app, &creds, "Chrome on the tablet").await;

    let r = app.get("/api/v1/sessions", Some(&laptop)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Any case of the scheme's name will do (RFC 9110).
    let lower = format!("bearer {laptop}");
    let me = app
        .call_with(
            Method::GET,
            "/api/v1/me",
            None,
            None,
            &[("authorization", lower.as_str())],
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let list = items(&r);
    assert_eq!(list.len(), 3, "{}", r.body);
    let mine: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["device"], "Firefox on the laptop");
    assert!(
        mine[0]["address"]
            .as_str()
            .is_some_and(|a| a.contains("127.0.0.1"))
    );
    assert!(mine[0]["last_used_at"].is_string());
    for s in &list {
        let id = s["id"].as_str().unwrap();
        assert_eq!(id.len(), 16);
        assert!(!r.body.to_string().contains(&laptop), "no token is shown");
        assert!(!laptop.starts_with(id) && !phone.starts_with(id));
    }
    let phone_id = list
        .iter()
        .find(|s| s["device"] == "Safari on the phone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another person cannot end my session, nor see it.
    let other = patient(&app).await;
    let other = app.login(other).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{phone_id}"),
            Some(&other),
            None,
        )
        .await;
    r.assert_problem(404, "not_found");
    assert_eq!(
        items(&app.get("/api/v1/sessions", Some(&other)).await).len(),
        1
    );
    assert_eq!(app.get("/api/v1/me", Some(&phone)).await.status, 200);

    // I end the phone's: its token stops at once, here and on another
    // instance of the clinic.
    let second = second_instance(&app).await;
    assert_eq!(second.get("/api/v1/me", Some(&phone)).await.status, 200);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{phone_id}"),
            Some(&laptop),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    app.get("/api/v1/me", Some(&phone))
        .await
        .assert_problem(401, "unauthenticated");
    second
        .get("/api/v1/me", Some(&phone))
        .await
        .assert_problem(401, "unauthenticated");
    for bad in ["0123456789abcdef", "not-an-id", &phone_id] {
        let r = app
            .call(
                Method::DELETE,
                &format!("/api/v1/sessions/{bad}"),
                Some(&laptop),
                None,
            )
            .await;
        r.assert_problem(404, "not_found");
    }

    // Every other one: only this one stays.
    let r = app
        .call(Method::DELETE, "/api/v1/sessions", Some(&laptop), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ended"], 1);
    app.get("/api/v1/me", Some(&tablet))
        .await
        .assert_problem(401, "unauthenticated");
    let list = items(&app.get("/api/v1/sessions", Some(&laptop)).await);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    app.get("/api/v1/sessions", None)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn a_new_password_ends_every_other_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = patient(&app).await;
    let here = log_in_as(&app, &creds, "here").await;
    let there = log_in_as(&app, &creds, "there").await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    // A wrong current password or a short new one: refused, nothing changed.
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&here),
            change("wrong password", "second password"),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert!(
        r.body.to_string().contains("current_password"),
        "{}",
        r.body
    );
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&here),
            change("first password", "short"),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert!(r.body.to_string().contains("new_password"), "{}", r.body);
    assert_eq!(app.get("/api/v1/me", Some(&there)).await.status, 200);
    app.login(creds.clone()).await;

    // Changed: this session goes on, the other one ends, the old password
    // no longer logs in and the new one does.
    let second = second_instance(&app).await;
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&here),
            change("first password", "second password"),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get("/api/v1/me", Some(&here)).await.status, 200);
    second
        .get("/api/v1/me", Some(&there))
        .await
        .assert_problem(401, "unauthenticated");
    let r = app.post("/api/v1/sessions", None, creds.clone()).await;
    r.assert_problem(401, "invalid_credentials");
    let mut new_creds = creds.clone();
    new_creds["password"] = json!("second password");
    app.login(new_creds).await;

    // No side door for guessing: wrong current passwords count on the
    // account's login throttle.
    let mut throttled = false;
    for _ in 0..10 {
        let r = app
            .post(
                "/api/v1/me/password",
                Some(&here),
                change("guess guess guess", "third password"),
            )
            .await;
        if r.status == 429 {
            assert!(r.headers.get("retry-after").is_some());
            throttled = true;
            break;
        }
        r.assert_problem(422, "validation_failed");
    }
    assert!(throttled, "guesses are throttled");
}

/// The account page: the same, with forms; every form checks its CSRF
/// token, and a mistake changes nothing.
async fn the_account_page_changes_the_password_and_ends_sessions(backend: Backend) {
    use crate::pages::{browser_session, get, post_form};
    let app = spawn_app(backend).await;
    let creds = patient(&app).await;
    let other = log_in_as(&app, &creds, "Other browser").await;
    let b = browser_session(&app, creds.clone()).await;
    let page = get(&app, "/account", Some(&b.cookie)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Other browser"),
        "the other session is listed"
    );
    assert!(page.body.contains("This device"));
    let anonymous = get(&app, "/account", None).await;
    assert_eq!(anonymous.status, 303, "a visitor is sent to log in");

    let form = |current: &str, new: &str, again: &str, csrf: &str| {
        format!(
            "csrf={csrf}&current_password={current}&new_password={new}&new_password_again={again}"
        )
    };
    // No token, a wrong current password, two different new ones: refused,
    // said at the field, nothing changed.
    let p = post_form(
        &app,
        "/account/password",
        Some(&b.cookie),
        &form("first+password", "second+password", "second+password", ""),
    )
    .await;
    assert_eq!(p.status, 403);
    let p = post_form(
        &app,
        "/account/password",
        Some(&b.cookie),
        &form(
            "wrong+password",
            "second+password",
            "second+password",
            &b.csrf,
        ),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Current password is wrong"), "{}", p.body);
    let p = post_form(
        &app,
        "/account/password",
        Some(&b.cookie),
        &form(
            "first+password",
            "second+password",
            "other+password",
            &b.csrf,
        ),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(
        p.body
            .contains("New password again must be the same as the new password"),
        "{}",
        p.body
    );
    assert_eq!(app.get("/api/v1/me", Some(&other)).await.status, 200);
    app.login(creds.clone()).await;

    // Changed: the other session is logged out; this one goes on.
    let p = post_form(
        &app,
        "/account/password",
        Some(&b.cookie),
        &form(
            "first+password",
            "second+password",
            "second+password",
            &b.csrf,
        ),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(reqwest::header::LOCATION), "/account");
    app.get("/api/v1/me", Some(&other))
        .await
        .assert_problem(401, "unauthenticated");
    let page = get(&app, "/account", Some(&b.cookie)).await;
    assert_eq!(
        p.cookie_value("medimeet_flash").as_deref(),
        Some("password_changed"),
        "the flash"
    );
    assert!(!page.body.contains("Other browser"));

    // End every other session from the page.
    let mut new_creds = creds.clone();
    new_creds["password"] = json!("second password");
    let third = log_in_as(&app, &new_creds, "Third browser").await;
    let p = post_form(
        &app,
        "/account/sessions/end-others",
        Some(&b.cookie),
        &format!("csrf={}", b.csrf),
    )
    .await;
    assert_eq!(p.status, 303);
    app.get("/api/v1/me", Some(&third))
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(get(&app, "/account", Some(&b.cookie)).await.status, 200);
}

both_backends!(
    the_account_page_changes_the_password_and_ends_sessions,
    my_sessions_are_listed_and_end_at_once,
    a_new_password_ends_every_other_session,
);
