//! Abuse limits (decision 0023): sign-up, booking and chat, per address and
//! per account, through every face; 429 with Retry-After; nothing changed by
//! a refused request.

use crate::helpers::{Backend, TestApp, booked_visit, next_phone, spawn_app_with, test_settings};
use crate::pages::{browser_of, get, post_form};
use medimeet::config::Settings;
use medimeet::domain::limits::RateLimit;
use reqwest::Method;
use serde_json::{Value, json};

fn registration(phone: &str) -> Value {
    json!({"first_name": "Rate", "last_name": "Limited", "phone": phone,
           "password": "long enough pw", "date_of_birth": "1990-01-01"})
}

fn retry_after(r: &crate::helpers::Resp) -> i64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds")
}

async fn can_log_in(app: &TestApp, phone: &str) -> bool {
    app.post(
        "/api/v1/sessions",
        None,
        json!({"phone": phone, "password": "long enough pw"}),
    )
    .await
    .status
        == 201
}

async fn sign_ups_are_limited_per_address_at_the_default(backend: Backend) {
    // The shipped default, not a test's number.
    let settings = Settings {
        signups_per_address: Settings::default().signups_per_address,
        ..test_settings()
    };
    assert_eq!(settings.signups_per_address, RateLimit::per_hour(10));
    let app = spawn_app_with(backend, settings).await;
    for _ in 0..10 {
        let r = app
            .post("/api/v1/patients", None, registration(&next_phone()))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let phone = next_phone();
    let r = app
        .post("/api/v1/patients", None, registration(&phone))
        .await;
    r.assert_problem(429, "rate_limited");
    let wait = retry_after(&r);
    assert!((3500..=3600).contains(&wait), "Retry-After {wait}");
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("sign-ups"),
        "{}",
        r.body
    );
    assert!(
        !can_log_in(&app, &phone).await,
        "a refused sign-up made an account"
    );

    // The page shares the address's count: a friendly page, no account.
    let page = get(&app, "/signup", None).await;
    let token = page.cookie_value("medimeet_csrf").expect("token");
    let phone2 = next_phone();
    let p = post_form(
        &app,
        "/signup",
        Some(&format!("medimeet_csrf={token}")),
        &format!(
            "csrf={token}&first_name=Page&last_name=Limited&phone={}&date_of_birth=1990-01-01&password=long+enough+pw&email=",
            phone2.replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(p.status, 429);
    assert!(p.body.contains("many sign-ups"), "{}", p.body);
    assert!(p.cookie_value("medimeet_session").is_none());
    assert!(!can_log_in(&app, &phone2).await);

    // Another address (behind a trusted proxy) is not limited by it, and
    // the address's hour ends.
    app.clock.advance(wait);
    let r = app
        .post("/api/v1/patients", None, registration(&next_phone()))
        .await;
    assert_eq!(r.status, 201, "after the wait: {}", r.body);
}

async fn bookings_are_limited_per_account_through_every_face(backend: Backend) {
    let settings = Settings {
        bookings_per_account: RateLimit::per_hour(3),
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let v = booked_visit(&app).await; // one booking of v.patient
    let slots = app.later_slots(v.doctor.id).await;
    // Every attempt counts, refused ones too (the same day again: 409).
    let r = app.book(&v.patient, v.doctor.id, &slots[1]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    // A move counts as a booking.
    let day_after = slots
        .iter()
        .find(|s| s[..10] != v.start.to_string()[..10])
        .expect("a slot another day")
        .clone();
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/reschedule", v.id),
            Some(&v.patient.token),
            json!({"start": day_after}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The fourth attempt in the hour: refused, whatever face.
    let free = app.later_slots(v.doctor.id).await;
    let target = free
        .iter()
        .rev()
        .find(|s| s[..10] != day_after[..10])
        .expect("a free slot")
        .clone();
    let before = app.active_slot_count(v.doctor.id).await;
    app.book(&v.patient, v.doctor.id, &target)
        .await
        .assert_problem(429, "rate_limited");
    // FHIR: an OperationOutcome with the same status.
    let fhir = app
        .call_with(
            Method::POST,
            "/fhir/Appointment",
            Some(&v.patient.token),
            Some(json!({
                "resourceType": "Appointment", "status": "booked", "start": target,
                "participant": [
                    {"actor": {"reference": format!("Practitioner/{}", v.doctor.id)}, "status": "accepted"},
                    {"actor": {"reference": format!("Patient/{}", v.patient.id)}, "status": "accepted"}
                ]
            })),
            &[("content-type", "application/fhir+json")],
        )
        .await;
    assert_eq!(fhir.status, 429, "{}", fhir.body);
    assert_eq!(fhir.body["resourceType"], "OperationOutcome");
    // The page: the form again with the reason, nothing booked.
    let b = browser_of(&app, &v.patient, "/appointments").await;
    let p = post_form(
        &app,
        &format!("/doctors/{}/book", v.doctor.id),
        Some(&b.cookie),
        &format!(
            "csrf={}&start={}&reason=",
            b.csrf,
            target.replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(p.status, 429);
    assert!(p.body.contains("many bookings"), "{}", p.body);
    assert_eq!(app.active_slot_count(v.doctor.id).await, before);

    // Another patient at the same address books as usual.
    let other = app.new_patient().await;
    let r = app.book(&other, v.doctor.id, &target).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn bookings_are_limited_per_address_across_accounts(backend: Backend) {
    let settings = Settings {
        bookings_per_address: RateLimit::per_hour(2),
        trust_forwarded_for: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let slots = app.later_slots(doctor.id).await;
    let via = |addr: &'static str| [("x-forwarded-for", addr)];
    let mut booked = 0;
    for (i, addr) in ["203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.9"]
        .into_iter()
        .enumerate()
    {
        let p = app.new_patient().await;
        let r = app
            .call_with(
                Method::POST,
                "/api/v1/appointments",
                Some(&p.token),
                Some(json!({"doctor_id": doctor.id, "start": slots[i]})),
                &via(addr),
            )
            .await;
        match i {
            0 | 1 | 3 => {
                assert_eq!(r.status, 201, "attempt {i}: {}", r.body);
                booked += 1;
            }
            _ => r.assert_problem(429, "rate_limited"),
        }
    }
    assert_eq!(booked, 3);
}

async fn chat_is_limited_per_address(backend: Backend) {
    let settings = Settings {
        chat_per_address: RateLimit::per_minute(3),
        trust_forwarded_for: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let v = booked_visit(&app).await;
    let now = app.clock.now().as_second();
    app.clock.advance(v.start.as_second() - 60 - now);
    let chat = format!("/api/v1/appointments/{}/messages", v.id);
    let send = |token: String, addr: &'static str, text: &'static str| {
        let app = &app;
        let chat = chat.clone();
        async move {
            app.call_with(
                Method::POST,
                &chat,
                Some(&token),
                Some(json!({ "text": text })),
                &[("x-forwarded-for", addr)],
            )
            .await
        }
    };
    // Patient and doctor share one address: three messages between them.
    assert_eq!(
        send(v.patient.token.clone(), "192.0.2.1", "a").await.status,
        201
    );
    assert_eq!(
        send(v.doctor.token.clone(), "192.0.2.1", "b").await.status,
        201
    );
    assert_eq!(
        send(v.patient.token.clone(), "192.0.2.1", "c").await.status,
        201
    );
    let r = send(v.doctor.token.clone(), "192.0.2.1", "d").await;
    r.assert_problem(429, "rate_limited");
    assert!(retry_after(&r) <= 60);
    // From another address the doctor goes on.
    assert_eq!(
        send(v.doctor.token.clone(), "192.0.2.2", "e").await.status,
        201
    );
    // What was refused was not kept.
    let msgs = app.get(&chat, Some(&v.patient.token)).await;
    let texts: Vec<&str> = msgs.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["a", "b", "c", "e"]);
}

async fn a_limit_set_on_the_command_line_is_used_and_bad_ones_refused(backend: Backend) {
    // The real binary: `--limit-signups-per-address 2/h` takes effect;
    // a malformed limit stops the start with a message naming the flag.
    let db = crate::helpers::TestDb::new(backend).await;
    let server = crate::helpers::start_binary(
        db.url(),
        &["--limit-signups-per-address", "2/h"],
        &[],
        false,
    )
    .await;
    let http = crate::helpers::client();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = http
            .post(format!("{}/api/v1/patients", server.base))
            .json(&registration(&next_phone()))
            .send()
            .await
            .expect("sent");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 429]);
    drop(server);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medimeet"))
        .args([
            "serve",
            "--database-url",
            db.url(),
            "--limit-chat-per-address",
            "lots",
        ])
        .output()
        .expect("ran");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--limit-chat-per-address") && err.contains("COUNT/PERIOD"),
        "{err}"
    );
}

crate::both_backends!(
    sign_ups_are_limited_per_address_at_the_default,
    bookings_are_limited_per_account_through_every_face,
    bookings_are_limited_per_address_across_accounts,
    chat_is_limited_per_address,
    a_limit_set_on_the_command_line_is_used_and_bad_ones_refused,
);
