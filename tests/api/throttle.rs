//! Login throttling by client address, shared by every instance.

use crate::helpers::{Backend, TestApp, second_instance, spawn_app, spawn_app_with, test_settings};
use medimeet::config::Settings;
use reqwest::Method;
use serde_json::json;

async fn login_from(
    app: &TestApp,
    addr: Option<&str>,
    phone: &str,
    password: &str,
) -> crate::helpers::Resp {
    let headers: Vec<(&str, &str)> = addr
        .map(|a| vec![("x-forwarded-for", a)])
        .unwrap_or_default();
    app.call_with(
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"phone": phone, "password": password})),
        &headers,
    )
    .await
}

// Twenty failures from one address used to lock that address for everyone
// behind it (a clinic's NAT, a proxy); now they only slow its failures down
// (decision 0026): session_hardening.rs shows it.

async fn a_spoofed_forwarded_for_is_ignored_unless_trusted(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = crate::helpers::next_phone();
    let body = json!({"first_name": "S", "last_name": "Poof", "phone": phone,
                      "password": "right password", "date_of_birth": "1990-01-01"});
    assert_eq!(app.post("/api/v1/patients", None, body).await.status, 201);
    for i in 0..5 {
        let fake = format!("198.51.100.{i}");
        login_from(&app, Some(&fake), &phone, "wrong password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // The account is locked whatever address the caller claims.
    login_from(&app, Some("198.51.100.99"), &phone, "right password")
        .await
        .assert_problem(429, "too_many_attempts");
}

async fn a_lock_made_on_one_instance_holds_on_another(backend: Backend) {
    let first = spawn_app(backend).await;
    let second = second_instance(&first).await;
    let phone = crate::helpers::next_phone();
    let body = json!({"first_name": "T", "last_name": "Wo", "phone": phone,
                      "password": "right password", "date_of_birth": "1990-01-01"});
    assert_eq!(first.post("/api/v1/patients", None, body).await.status, 201);
    for _ in 0..5 {
        login_from(&first, None, &phone, "wrong password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    login_from(&second, None, &phone, "right password")
        .await
        .assert_problem(429, "too_many_attempts");
}

/// Sends `n` wrong-password logins at once, the i-th for `phone(i)` from
/// `addr(i)`; returns how many were answered 401 (evaluated) and 429 (refused).
async fn crowd(
    app: &TestApp,
    n: usize,
    phone: impl Fn(usize) -> String,
    addr: impl Fn(usize) -> String,
) -> (usize, usize) {
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let req = client
            .post(app.url("/api/v1/sessions"))
            .header("x-forwarded-for", addr(i))
            .json(&json!({"phone": phone(i), "password": "wrong password"}));
        tasks.spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
    }
    let (mut wrong, mut locked) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("task").expect("answer") {
            401 => wrong += 1,
            429 => locked += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    (wrong, locked)
}

/// Forty wrong passwords at once: each attempt is reserved before its
/// password is checked, so at most the limit is evaluated, whatever the race.
async fn forty_concurrent_guesses_evaluate_at_most_the_limit(backend: Backend) {
    let settings = Settings {
        trust_forwarded_for: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let phone = crate::helpers::next_phone();
    let body = json!({"first_name": "C", "last_name": "Rowd", "phone": phone,
                      "password": "right password", "date_of_birth": "1990-01-01"});
    assert_eq!(app.post("/api/v1/patients", None, body).await.status, 201);
    // One account from forty addresses: the account's limit of five.
    let (wrong, locked) = crowd(&app, 40, |_| phone.clone(), |i| format!("198.51.100.{i}")).await;
    assert!(wrong <= 5, "{wrong} guesses for one account were evaluated");
    assert_eq!(wrong + locked, 40);
    login_from(&app, Some("198.51.100.200"), &phone, "right password")
        .await
        .assert_problem(429, "too_many_attempts");
    // Forty accounts from one address: the address is never locked (decision
    // 0026), so each is evaluated and answered 401 (the ones beyond twenty
    // slowed down), none refused.
    let phones: Vec<String> = (0..40).map(|_| crate::helpers::next_phone()).collect();
    let (wrong, locked) = crowd(&app, 40, |i| phones[i].clone(), |_| "203.0.113.78".into()).await;
    assert_eq!((wrong, locked), (40, 0));
}

crate::both_backends!(
    forty_concurrent_guesses_evaluate_at_most_the_limit,
    a_spoofed_forwarded_for_is_ignored_unless_trusted,
    a_lock_made_on_one_instance_holds_on_another,
);
