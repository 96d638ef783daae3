//! The notification outbox (issue 10, decision 0013): every change writes
//! its event in its own transaction, the worker inside the server expands it
//! into deliveries, and reminders follow the visit. No channel is configured
//! here, so nothing is sent: deliveries are kept as `not_configured`.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, spawn_app};
use medimeet::domain::ids::AppointmentId;
use medimeet::store::{DeliveryState, Store};
use serde_json::json;
use std::time::Duration;

type Row = DeliveryState;

async fn deliveries(app: &TestApp, id: i64) -> Vec<Row> {
    app.store
        .deliveries_of(AppointmentId::new(id))
        .await
        .unwrap()
}

/// Waits (at most 10 s) until the worker has made the deliveries `ready`
/// says are there.
async fn wait_for(app: &TestApp, id: i64, ready: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    for _ in 0..100 {
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

async fn event_count(app: &TestApp) -> i64 {
    let q = "SELECT COUNT(*) FROM notification_event";
    let (n,): (i64,) = match &app.store {
        Store::Sqlite { read, .. } => sqlx::query_as(q).fetch_one(read).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(q).fetch_one(pool).await.unwrap(),
    };
    n
}

fn of<'a>(rows: &'a [Row], kind: &str, state: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.kind == kind && r.state == state)
        .collect()
}

struct Booked {
    id: i64,
    start: jiff::Timestamp,
    patient: User,
    doctor: User,
}

async fn book(app: &TestApp) -> Booked {
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let r = app.book(&patient, doctor.id, &start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    Booked {
        id: r.body["id"].as_i64().unwrap(),
        start: start.parse().unwrap(),
        patient,
        doctor,
    }
}

async fn a_booking_is_told_and_reminded(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = book(&app).await;
    // Notices: the patient by SMS (no email given), the doctor by email;
    // reminders 24 h and 1 h before, by SMS.
    let rows = wait_for(&app, b.id, |r| {
        r.len() == 4 && of(r, "notice", "pending").is_empty()
    })
    .await;
    let notices = of(&rows, "notice", "not_configured");
    assert_eq!(notices.len(), 2, "{rows:?}");
    assert!(notices.iter().any(|n| n.channel == "sms"));
    assert!(notices.iter().any(|n| n.channel == "email"));
    let reminders = of(&rows, "reminder", "pending");
    let mut due: Vec<jiff::Timestamp> = reminders.iter().map(|r| r.due_at).collect();
    due.sort();
    let hours = |h| b.start - jiff::SignedDuration::from_hours(h);
    assert_eq!(due, vec![hours(24), hours(1)], "{rows:?}");

    // The 24-hour reminder's time comes: with no SMS sender it is kept,
    // marked as not configured, not lost and not sent.
    app.clock
        .advance(hours(24).as_second() - app.clock.now().as_second() + 60);
    let rows = wait_for(&app, b.id, |r| {
        of(r, "reminder", "not_configured").len() == 1
    })
    .await;
    assert_eq!(
        of(&rows, "reminder", "pending").len(),
        1,
        "the 1-hour one waits: {rows:?}"
    );
    let _ = (&b.patient, &b.doctor);
}

async fn cancelling_drops_the_reminders_in_the_same_transaction(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = book(&app).await;
    wait_for(&app, b.id, |r| of(r, "reminder", "pending").len() == 2).await;
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/cancel", b.id),
            Some(&b.doctor.token),
            json!({"reason": "ill"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // At once, with no worker round in between.
    let rows = deliveries(&app, b.id).await;
    let dropped = of(&rows, "reminder", "dropped");
    assert_eq!(dropped.len(), 2, "{rows:?}");
    assert!(
        dropped
            .iter()
            .all(|d| d.last_error.as_deref() == Some("the visit was cancelled"))
    );
    // And the cancellation is told to both.
    wait_for(&app, b.id, |r| {
        r.iter().filter(|d| d.kind == "notice").count() == 4
    })
    .await;
    let _ = &b.patient;
}

async fn a_move_moves_the_reminders(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = book(&app).await;
    wait_for(&app, b.id, |r| of(r, "reminder", "pending").len() == 2).await;
    let next_day = b.start + jiff::SignedDuration::from_hours(24);
    let slots: Vec<String> = app
        .later_slots(b.doctor.id)
        .await
        .into_iter()
        .filter(|s| s.parse::<jiff::Timestamp>().unwrap() >= next_day)
        .collect();
    let new_start: jiff::Timestamp = slots[0].parse().unwrap();
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/reschedule", b.id),
            Some(&b.patient.token),
            json!({"start": slots[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = deliveries(&app, b.id).await;
    assert_eq!(
        of(&rows, "reminder", "dropped").len(),
        2,
        "old ones dropped at once: {rows:?}"
    );
    let rows = wait_for(&app, b.id, |r| of(r, "reminder", "pending").len() == 2).await;
    let mut due: Vec<jiff::Timestamp> = of(&rows, "reminder", "pending")
        .iter()
        .map(|r| r.due_at)
        .collect();
    due.sort();
    assert_eq!(
        due,
        vec![
            new_start - jiff::SignedDuration::from_hours(24),
            new_start - jiff::SignedDuration::from_hours(1)
        ]
    );
}

async fn a_refused_booking_writes_no_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = book(&app).await;
    let before = event_count(&app).await;
    let other = app.new_patient().await;
    let r = app.book(&other, b.doctor.id, &b.start.to_string()).await;
    r.assert_problem(409, "slot_taken");
    assert_eq!(event_count(&app).await, before);
}

both_backends!(
    a_booking_is_told_and_reminded,
    cancelling_drops_the_reminders_in_the_same_transaction,
    a_move_moves_the_reminders,
    a_refused_booking_writes_no_event,
);
