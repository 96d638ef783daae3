//! Patients' own data (issue 12, decision 0020): the download of everything
//! held about a patient, with nothing of anyone else in it, and closing an
//! account: the future cancelled and told, the past kept, the door shut on
//! every face at once, and a wrong password changing nothing.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, next_phone, spawn_app};
use crate::pages::{get as get_page, post_form};
use medimeet::domain::ids::AppointmentId;
use medimeet::store::DeliveryState;
use reqwest::Method;
use reqwest::header::{CONTENT_DISPOSITION, LOCATION};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "long enough pw";

/// Registers a patient with a known phone and logs them in.
async fn patient(app: &TestApp, first: &str) -> (User, String) {
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": first, "last_name": "Patient", "phone": phone,
                   "password": PASSWORD, "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "register: {}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let token = app
        .login(json!({"phone": phone, "password": PASSWORD}))
        .await;
    (User { token, id }, phone)
}

fn at(app: &TestApp, t: jiff::Timestamp, plus_secs: i64) {
    let target = t.as_second() + plus_secs;
    app.clock.advance(target - app.clock.now().as_second());
}

async fn book(app: &TestApp, who: &User, doctor: i64, start: &str, reason: &str) -> i64 {
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&who.token),
            json!({"doctor_id": doctor, "start": start, "reason": reason}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn chat(app: &TestApp, who: &User, id: i64, text: &str) {
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/messages"),
            Some(&who.token),
            json!({"text": text}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// The doctor starts the visit and writes its note.
async fn start_with_note(app: &TestApp, doctor: &User, id: i64, note: &str) {
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/start"),
            Some(&doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/appointments/{id}/note"),
            Some(&doctor.token),
            Some(json!({"body": note})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn deliveries(app: &TestApp, id: i64) -> Vec<DeliveryState> {
    app.store
        .deliveries_of(AppointmentId::new(id))
        .await
        .unwrap()
}

/// Waits (at most 30 s: the worker shares the machine with the whole suite)
/// for the worker to make the deliveries `ready` wants.
async fn wait_for(
    app: &TestApp,
    id: i64,
    ready: impl Fn(&[DeliveryState]) -> bool,
) -> Vec<DeliveryState> {
    for _ in 0..300 {
        let rows = deliveries(app, id).await;
        if ready(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "deliveries never became ready: {:?}",
        deliveries(app, id).await
    );
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn the_export_holds_the_patients_data_and_nothing_of_another_patient(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (a, a_phone) = patient(&app, "Alice").await;
    let (b, b_phone) = patient(&app, "Bobsecret").await;
    // Both patients see the same doctor, back to back.
    let slots = app.later_slots(doctor.id).await;
    let a_visit = book(&app, &a, doctor.id, &slots[0], "Alice's knee").await;
    let b_visit = book(&app, &b, doctor.id, &slots[1], "B-secret-reason").await;
    let a_start: jiff::Timestamp = slots[0].parse().unwrap();
    let b_start: jiff::Timestamp = slots[1].parse().unwrap();

    // Alice's visit: chat both ways, a note.
    at(&app, a_start, 60);
    chat(&app, &a, a_visit, "hello from Alice").await;
    chat(&app, &doctor, a_visit, "reply to Alice").await;
    start_with_note(&app, &doctor, a_visit, "Alice: rest the knee").await;
    // Bob's visit: his own chat and note, with the same doctor.
    at(&app, b_start, 60);
    chat(&app, &b, b_visit, "B-secret-chat").await;
    chat(&app, &doctor, b_visit, "B-secret-reply").await;
    start_with_note(&app, &doctor, b_visit, "B-secret-note").await;
    // Alice books a later visit and cancels it, with her reason.
    let later = app.later_slots(doctor.id).await;
    let a_later = book(&app, &a, doctor.id, &later[0], "follow-up").await;
    let r = app
        .post(
            &format!("/api/v1/appointments/{a_later}/cancel"),
            Some(&a.token),
            json!({"reason": "feeling better"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The doctor and an admin read Alice's record; the admin reads Bob's.
    for who in [&doctor, &admin] {
        let r = app
            .get(&format!("/api/v1/patients/{}", a.id), Some(&who.token))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = app
        .get(&format!("/api/v1/patients/{}", b.id), Some(&admin.token))
        .await;
    assert_eq!(r.status, 200);
    // The worker has told Alice of her booking and her cancellation.
    wait_for(&app, a_later, |rows| {
        rows.iter()
            .filter(|d| d.kind == "notice" && d.state != "pending")
            .count()
            == 4
    })
    .await;

    let r = app.get("/api/v1/me/export", Some(&a.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let disposition = r.headers[CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"medimeet-my-data-"),
        "{disposition}"
    );
    let e = &r.body;
    assert_eq!(e["profile"]["id"], a.id);
    assert_eq!(e["profile"]["phone"], a_phone);
    assert_eq!(e["profile"]["first_name"], "Alice");
    assert_eq!(e["login"], a_phone);

    let visits = e["appointments"].as_array().unwrap();
    let ids: Vec<i64> = visits.iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![a_visit, a_later]);
    let first = &visits[0];
    assert_eq!(first["reason"], "Alice's knee");
    assert_eq!(first["doctor_name"], "Doc Tor");
    assert_eq!(first["doctor_specialty"], "Cardiology");
    assert_eq!(first["status"], "in_progress");
    assert_eq!(
        strings(&first["chat"], "text"),
        vec!["hello from Alice", "reply to Alice"]
    );
    assert_eq!(strings(&first["chat"], "author"), vec!["patient", "doctor"]);
    assert_eq!(first["note"]["body"], "Alice: rest the knee");
    assert_eq!(
        strings(&first["history"], "event"),
        vec!["booked", "status_changed", "note_ready"]
    );
    assert_eq!(first["history"][0]["by"]["who"], "you");
    assert_eq!(first["history"][1]["by"]["who"], "doctor");
    assert_eq!(first["history"][1]["by"]["doctor_name"], "Doc Tor");
    assert_eq!(first["history"][1]["status"], "in_progress");
    let second = &visits[1];
    assert_eq!(second["status"], "cancelled");
    assert_eq!(second["cancel_reason"], "feeling better");
    assert_eq!(
        strings(&second["history"], "event"),
        vec!["booked", "cancelled"]
    );
    assert_eq!(second["history"][1]["reason"], "feeling better");
    assert_eq!(second["note"], Value::Null);

    // The messages to Alice (text messages: she gave no email), of her visits only.
    let notes = e["notifications"].as_array().unwrap();
    assert!(notes.len() >= 3, "{notes:?}");
    assert!(notes.iter().all(|n| n["channel"] == "sms"), "{notes:?}");
    assert!(notes.iter().all(|n| {
        let id = n["appointment_id"].as_i64().unwrap();
        id == a_visit || id == a_later
    }));
    assert!(
        notes
            .iter()
            .any(|n| n["kind"] == "notice" && n["appointment_id"] == a_later)
    );
    assert_eq!(e["calendar"]["feed"], true);
    let sessions = e["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
    // Who read her record: the doctor (named) and the clinic's staff.
    let reads = e["record_reads"].as_array().unwrap();
    let profile_reads: Vec<&Value> = reads
        .iter()
        .filter(|r| r["record"] == "patient" && r["record_id"] == a.id)
        .collect();
    assert!(
        profile_reads
            .iter()
            .any(|r| r["by"]["who"] == "doctor" && r["by"]["doctor_name"] == "Doc Tor"),
        "{reads:?}"
    );
    assert!(
        profile_reads
            .iter()
            .any(|r| r["by"]["who"] == "clinic staff"),
        "{reads:?}"
    );
    assert!(reads.iter().all(|r| {
        let id = r["record_id"].as_i64().unwrap();
        if r["record"] == "patient" {
            id == a.id
        } else {
            id == a_visit || id == a_later
        }
    }));

    // Nothing of Bob, nor of the doctor beyond their name.
    let text = e.to_string();
    for other in [
        "Bobsecret",
        "B-secret",
        b_phone.as_str(),
        "@clinic.test",
        "doctor password",
    ] {
        assert!(!text.contains(other), "{other} in the export: {text}");
    }
    assert!(!ids.contains(&b_visit));

    // Bob's export is his own, and holds none of Alice's.
    let r = app.get("/api/v1/me/export", Some(&b.token)).await;
    assert_eq!(r.status, 200);
    let text = r.body.to_string();
    assert!(text.contains("B-secret-note") && text.contains("B-secret-chat"));
    for other in ["Alice", a_phone.as_str()] {
        assert!(!text.contains(other), "{other} in Bob's export");
    }
    // Only a patient downloads their own data; nobody else's.
    for who in [&doctor, &admin] {
        app.get("/api/v1/me/export", Some(&who.token))
            .await
            .assert_problem(403, "forbidden");
        app.post(
            "/api/v1/me/close",
            Some(&who.token),
            json!({"password": "doctor password"}),
        )
        .await
        .assert_problem(403, "forbidden");
    }
    app.get("/api/v1/me/export", None)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn closing_cancels_the_future_keeps_the_past_and_shuts_every_door(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (p, phone) = patient(&app, "Carla").await;
    let second = app
        .login(json!({"phone": phone, "password": PASSWORD}))
        .await;
    // A visit that took place...
    let slots = app.later_slots(doctor.id).await;
    let past = book(&app, &p, doctor.id, &slots[0], "past").await;
    at(&app, slots[0].parse().unwrap(), 60);
    chat(&app, &p, past, "kept for the record").await;
    let r = app
        .post(
            &format!("/api/v1/appointments/{past}/start"),
            Some(&doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/appointments/{past}/complete"),
            Some(&doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ... and one to come (inside the patient's own cancellation window:
    // closing cancels it all the same).
    let soon = app
        .slots(
            doctor.id,
            &format!(
                "?from={}",
                app.clock.now() + jiff::SignedDuration::from_hours(3)
            ),
        )
        .await[0]
        .clone();
    let future = book(&app, &p, doctor.id, &soon, "future").await;
    wait_for(&app, future, |rows| {
        rows.iter()
            .filter(|d| d.kind == "notice" && d.state != "pending")
            .count()
            == 2
    })
    .await;
    let taken = app.active_slot_count(doctor.id).await;

    // A wrong password changes nothing.
    app.post(
        "/api/v1/me/close",
        Some(&p.token),
        json!({"password": "not my password"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = app
        .get(&format!("/api/v1/appointments/{future}"), Some(&p.token))
        .await;
    assert_eq!(r.body["status"], "booked");
    assert_eq!(app.active_slot_count(doctor.id).await, taken);
    assert_eq!(app.get("/api/v1/me", Some(&second)).await.status, 200);
    // Nor does a request without it.
    app.post("/api/v1/me/close", Some(&p.token), json!({}))
        .await
        .assert_problem(422, "invalid_body");

    let r = app
        .post(
            "/api/v1/me/close",
            Some(&p.token),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancelled_appointments"], json!([future]));

    // Every session ends at once, login is refused.
    for token in [&p.token, &second] {
        app.get("/api/v1/me", Some(token))
            .await
            .assert_problem(401, "unauthenticated");
    }
    app.post(
        "/api/v1/sessions",
        None,
        json!({"phone": phone, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "invalid_credentials");

    // The future visit is cancelled and its slot free again; the past one stays.
    let r = app
        .get(
            &format!("/api/v1/appointments/{future}"),
            Some(&doctor.token),
        )
        .await;
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancel_reason"], "The patient closed their account.");
    assert_eq!(app.active_slot_count(doctor.id).await, taken - 1);
    let r = app
        .get(&format!("/api/v1/appointments/{past}"), Some(&doctor.token))
        .await;
    assert_eq!(r.body["status"], "completed");
    let r = app
        .get(
            &format!("/api/v1/appointments/{past}/messages"),
            Some(&doctor.token),
        )
        .await;
    assert_eq!(
        strings(&r.body["items"], "text"),
        vec!["kept for the record"]
    );
    let r = app
        .get(&format!("/api/v1/patients/{}", p.id), Some(&admin.token))
        .await;
    assert_eq!(r.status, 200, "the clinic keeps the record");

    // The doctor and the patient are told of the cancellation through the
    // outbox (the patient by text, the doctor by email: kept as not
    // configured here), and the visit's reminders are dropped.
    let rows = wait_for(&app, future, |rows| {
        rows.iter()
            .filter(|d| d.kind == "notice" && d.state != "pending")
            .count()
            == 4
    })
    .await;
    let told: Vec<&DeliveryState> = rows.iter().filter(|d| d.kind == "notice").collect();
    assert!(told.iter().all(|d| d.state == "not_configured"), "{rows:?}");
    assert_eq!(
        told.iter().filter(|d| d.channel == "email").count(),
        2,
        "the doctor, for the booking and the cancellation: {rows:?}"
    );
    assert!(
        rows.iter()
            .filter(|d| d.kind == "reminder")
            .all(|d| d.state == "dropped"),
        "{rows:?}"
    );

    // Nothing made after the closure reaches the patient: a note the
    // doctor writes now is not sent to them.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/appointments/{past}/note"),
            Some(&doctor.token),
            Some(json!({"body": "seen, and written up"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&format!("/api/v1/appointments/{past}"), Some(&doctor.token))
        .await;
    assert_eq!(r.body["visit_note"]["body"], "seen, and written up");
    let rows = wait_for(&app, past, |rows| {
        rows.iter().any(|d| {
            d.kind == "notice"
                && d.last_error.as_deref() == Some("the patient closed their account")
        })
    })
    .await;
    assert!(
        rows.iter()
            .all(|d| d.state != "pending" || d.kind == "reminder")
    );

    // No face books for the closed account.
    let free = app.later_slots(doctor.id).await[0].clone();
    let before = app.active_slot_count(doctor.id).await;
    app.post(
        "/api/v1/appointments",
        Some(&p.token),
        json!({"doctor_id": doctor.id, "start": free}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    let r = app
        .call_with(
            Method::POST,
            "/fhir/Appointment",
            Some(&p.token),
            Some(
                json!({"resourceType": "Appointment", "status": "booked", "start": free,
                "participant": [{"actor": {"reference": format!("Practitioner/{}", doctor.id)},
                                 "status": "accepted"}]}),
            ),
            &[("content-type", "application/fhir+json")],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let cookie = format!("medimeet_session={}", p.token);
    let page = post_form(
        &app,
        &format!("/doctors/{}/book", doctor.id),
        Some(&cookie),
        &format!("start={free}&reason=again&csrf=whatever"),
    )
    .await;
    assert!(
        !page.header(LOCATION).starts_with("/appointments/"),
        "{} {}",
        page.status,
        page.body
    );
    assert_eq!(app.active_slot_count(doctor.id).await, before);
    // The pages see nobody signed in.
    let page = get_page(&app, "/profile", Some(&cookie)).await;
    assert_eq!(page.status, 303);
    assert!(page.header(LOCATION).starts_with("/login"));
}

/// The pages: the profile links the download and the closing page; a wrong
/// password there is a form error that changes nothing; the right one
/// logs out and says so.
async fn closing_from_the_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (p, phone) = patient(&app, "Dana").await;
    let cookie = format!("medimeet_session={}", p.token);
    let profile = get_page(&app, "/profile", Some(&cookie)).await;
    assert_eq!(profile.status, 200);
    assert!(profile.body.contains("href=\"/api/v1/me/export\" download"));
    assert!(profile.body.contains("href=\"/account/close\""));
    // The download works with the session cookie, as the link is followed.
    let res = crate::helpers::client()
        .get(app.url("/api/v1/me/export"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["profile"]["id"], p.id);

    let page = get_page(&app, "/account/close", Some(&cookie)).await;
    assert_eq!(page.status, 200);
    let csrf = crate::pages::csrf_in(&page);
    let wrong = post_form(
        &app,
        "/account/close",
        Some(&cookie),
        &format!("password=nope-nope-nope&csrf={csrf}"),
    )
    .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong.body.contains("Your password is wrong"),
        "{}",
        wrong.body
    );
    assert_eq!(app.get("/api/v1/me", Some(&p.token)).await.status, 200);
    // Without the form's token: refused, nothing changes.
    let forged = post_form(
        &app,
        "/account/close",
        Some(&cookie),
        &format!("password={}", PASSWORD.replace(' ', "+")),
    )
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.get("/api/v1/me", Some(&p.token)).await.status, 200);

    let done = post_form(
        &app,
        "/account/close",
        Some(&cookie),
        &format!("password={}&csrf={csrf}", PASSWORD.replace(' ', "+")),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header(LOCATION), "/login");
    assert_eq!(done.cookie_value("medimeet_session").as_deref(), Some(""));
    app.get("/api/v1/me", Some(&p.token))
        .await
        .assert_problem(401, "unauthenticated");
    app.post(
        "/api/v1/sessions",
        None,
        json!({"phone": phone, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
}

both_backends!(
    the_export_holds_the_patients_data_and_nothing_of_another_patient,
    closing_cancels_the_future_keeps_the_past_and_shuts_every_door,
    closing_from_the_pages,
);
