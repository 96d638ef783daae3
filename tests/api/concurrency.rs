//! Invariant 1, no double booking: patients racing through the HTTP API for the
//! same few slots, on one instance and on two instances sharing the database.

use crate::helpers::{Backend, Resp, TestApp, User, second_instance, spawn_app};
use medimeet::domain::ids::{DoctorId, PatientId};
use medimeet::store::{NewBooking, StoreError};

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("an instant")
}
use std::collections::HashMap;
use std::sync::Arc;

const CLIENTS: usize = 48;
const SLOTS: usize = 3;

/// Every client tries every slot in its own order; returns (slot, status) pairs.
async fn race(
    apps: Vec<Arc<TestApp>>,
    doctor_id: i64,
    slots: Vec<String>,
    patients: Vec<User>,
) -> Vec<(String, Resp)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(patients.len()));
    let mut tasks = Vec::new();
    for (i, p) in patients.into_iter().enumerate() {
        let app = apps[i % apps.len()].clone();
        let slots = slots.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut out = Vec::new();
            for k in 0..slots.len() {
                let s = &slots[(i + k) % slots.len()];
                let r = app.book(&p, doctor_id, s).await;
                let won = r.status == 201;
                out.push((s.clone(), r));
                // A patient holds at most one visit a day with this doctor.
                if won {
                    break;
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}

fn check_outcome(results: &[(String, Resp)], slots: &[String]) {
    let mut winners: HashMap<&str, usize> = HashMap::new();
    for (slot, r) in results {
        match r.status.as_u16() {
            201 => *winners.entry(slot.as_str()).or_default() += 1,
            409 => assert_eq!(r.code(), "slot_taken", "{}", r.body),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    for s in slots {
        assert_eq!(
            winners.get(s.as_str()).copied(),
            Some(1),
            "slot {s} won by {winners:?}"
        );
    }
}

async fn patients(app: &TestApp, n: usize) -> Vec<User> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(app.new_patient().await);
    }
    v
}

async fn racing_patients_get_each_slot_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let slots: Vec<String> = app
        .later_slots(doctor.id)
        .await
        .into_iter()
        .take(SLOTS)
        .collect();
    let ps = patients(&app, CLIENTS).await;
    let app = Arc::new(app);
    let results = race(vec![app.clone()], doctor.id, slots.clone(), ps).await;
    check_outcome(&results, &slots);
    // Nothing half-written: exactly one active slot and one appointment per slot.
    assert_eq!(app.active_slot_count(doctor.id).await, SLOTS as i64);
    let all = app
        .get(
            &format!("/api/v1/appointments?doctor_id={}&limit=200", doctor.id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(all.body["items"].as_array().map(Vec::len), Some(SLOTS));
}

async fn two_instances_on_one_database_never_double_book(backend: Backend) {
    let first = spawn_app(backend).await;
    let second = second_instance(&first).await;
    let admin = first.new_admin().await;
    let doctor = first.everyday_doctor(&admin).await;
    let slots: Vec<String> = first
        .later_slots(doctor.id)
        .await
        .into_iter()
        .take(SLOTS)
        .collect();
    let ps = patients(&first, CLIENTS).await;
    // Sessions live in the database: a token from one instance works on the other.
    let me = second.get("/api/v1/me", Some(&ps[0].token)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let second = Arc::new(second);
    let first = Arc::new(first);
    let results = race(
        vec![first.clone(), second.clone()],
        doctor.id,
        slots.clone(),
        ps,
    )
    .await;
    check_outcome(&results, &slots);
    assert_eq!(first.active_slot_count(doctor.id).await, SLOTS as i64);
    drop(second);
}

/// The database itself refuses overlapping visits: even a booking that skips
/// every application check (written straight through the store) cannot overlap
/// an active one, whatever its length.
async fn the_database_refuses_overlaps_the_application_did_not_check(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (a, b) = (app.new_patient().await, app.new_patient().await);
    let start = app.later_slots(doctor.id).await[0].clone();
    let t0: jiff::Timestamp = start.parse().expect("ts");
    assert_eq!(app.book(&a, doctor.id, &start).await.status, 201);
    let now = app.clock.now().as_second();
    let s0 = t0.as_second();
    for (offset, len) in [
        (0, 30),
        (20 * 60, 20),
        (-10 * 60, 15),
        (-60 * 60, 90),
        (29 * 60, 1),
    ] {
        let booking = NewBooking {
            doctor_id: DoctorId::new(doctor.id),
            patient_id: PatientId::new(b.id),
            start_at: at(s0 + offset),
            end_at: at(s0 + offset + len * 60),
            local_date: jiff::civil::date(2099, 1, 1),
            reason: None,
            idempotency: None,
        };
        match app.store.book(&booking, None, now).await {
            Err(StoreError::Conflict(medimeet::store::Conflict::SlotTaken)) => {}
            other => panic!("overlap at +{offset}s for {len} min was not refused: {other:?}"),
        }
    }
    // Touching (ending exactly at the start) is not overlapping.
    let booking = NewBooking {
        doctor_id: DoctorId::new(doctor.id),
        patient_id: PatientId::new(b.id),
        start_at: at(s0 - 1800),
        end_at: at(s0),
        local_date: jiff::civil::date(2099, 1, 2),
        reason: None,
        idempotency: None,
    };
    assert!(app.store.book(&booking, None, now).await.is_ok());
    assert_eq!(app.active_slot_count(doctor.id).await, 2);
}

crate::both_backends!(
    racing_patients_get_each_slot_exactly_once,
    two_instances_on_one_database_never_double_book,
    the_database_refuses_overlaps_the_application_did_not_check,
);
