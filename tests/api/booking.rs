//! Booking, cancelling, rescheduling and the visit flow, end to end.

use crate::helpers::{Backend, spawn_app, spawn_app_with, test_settings};
use medimeet::config::Settings;
use serde_json::json;

async fn a_patient_books_a_free_slot_and_it_disappears_from_the_list(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let slots = app.later_slots(doctor.id).await;
    let start = &slots[0];

    let r = app.book(&patient, doctor.id, start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "booked");
    assert_eq!(r.body["start"], start.as_str());
    assert_eq!(r.body["doctor_id"], doctor.id);
    assert_eq!(r.body["patient_id"], patient.id);
    let id = r.body["id"].as_i64().expect("id");

    assert!(!app.later_slots(doctor.id).await.contains(start));
    let mine = app.get("/api/v1/appointments", Some(&patient.token)).await;
    assert_eq!(mine.body["items"][0]["id"], id);
    let theirs = app.get("/api/v1/appointments", Some(&doctor.token)).await;
    assert_eq!(theirs.body["items"][0]["id"], id);
    let one = app
        .get(&format!("/api/v1/appointments/{id}"), Some(&patient.token))
        .await;
    assert_eq!(one.body["reason"], "check-up");
}

async fn booking_a_taken_slot_is_a_409_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (a, b) = (app.new_patient().await, app.new_patient().await);
    let start = app.later_slots(doctor.id).await[0].clone();
    assert_eq!(app.book(&a, doctor.id, &start).await.status, 201);
    app.book(&b, doctor.id, &start)
        .await
        .assert_problem(409, "slot_taken");
    assert_eq!(app.active_slot_count(doctor.id).await, 1);
    let bs = app.get("/api/v1/appointments", Some(&b.token)).await;
    assert_eq!(bs.body["items"].as_array().map(Vec::len), Some(0));
}

async fn a_time_that_is_not_a_slot_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let ts: jiff::Timestamp = start.parse().expect("ts");
    let off_grid = (ts + jiff::SignedDuration::from_mins(7)).to_string();
    app.book(&p, doctor.id, &off_grid)
        .await
        .assert_problem(422, "not_a_free_slot");
    // 03:00 UTC is outside the doctor's 08:00-18:00 hours.
    let night = format!("{}T03:00:00Z", &start[..10]);
    app.book(&p, doctor.id, &night)
        .await
        .assert_problem(422, "not_a_free_slot");
    app.book(&p, 999_999, &start)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.active_slot_count(doctor.id).await, 0);
}

async fn one_active_visit_per_patient_doctor_and_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let other = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    // Slots of one whole day (the 30th slot is past the first, partial day).
    let all = app.later_slots(doctor.id).await;
    let day = all[30][..10].to_owned();
    let slots: Vec<String> = all.into_iter().filter(|s| s.starts_with(&day)).collect();
    let first = app.book(&p, doctor.id, &slots[0]).await;
    assert_eq!(first.status, 201);
    app.book(&p, doctor.id, &slots[2])
        .await
        .assert_problem(409, "one_visit_per_day");
    // Another doctor the same day is fine.
    assert_eq!(app.book(&p, other.id, &slots[2]).await.status, 201);
    // After cancelling, the same day is open again.
    let id = first.body["id"].as_i64().expect("id");
    let c = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&p.token),
            json!({}),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(app.book(&p, doctor.id, &slots[2]).await.status, 201);
}

async fn the_same_idempotency_key_returns_the_first_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let slots = app.later_slots(doctor.id).await;
    let body = json!({"doctor_id": doctor.id, "start": slots[0]});
    let key = [("Idempotency-Key", "book-123")];
    let first = app
        .call_with(
            reqwest::Method::POST,
            "/api/v1/appointments",
            Some(&p.token),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = app
        .call_with(
            reqwest::Method::POST,
            "/api/v1/appointments",
            Some(&p.token),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(app.active_slot_count(doctor.id).await, 1);
    // The same key for another booking is refused, and books nothing.
    let other = json!({"doctor_id": doctor.id, "start": slots[5]});
    app.call_with(
        reqwest::Method::POST,
        "/api/v1/appointments",
        Some(&p.token),
        Some(other),
        &key,
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.active_slot_count(doctor.id).await, 1);
}

async fn a_patient_cannot_cancel_inside_the_window_but_the_doctor_can(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let id = app.book(&p, doctor.id, &start).await.body["id"]
        .as_i64()
        .expect("id");
    // Move to 12 hours before the visit: inside the default 24 h window.
    let ts: jiff::Timestamp = start.parse().expect("ts");
    let wait = ts.as_second() - app.clock.now().as_second() - 12 * 3600;
    app.clock.advance(wait);
    let path = format!("/api/v1/appointments/{id}/cancel");
    app.post(&path, Some(&p.token), json!({"reason": "busy"}))
        .await
        .assert_problem(409, "cancellation_window_passed");
    let still = app
        .get(&format!("/api/v1/appointments/{id}"), Some(&p.token))
        .await;
    assert_eq!(still.body["status"], "booked");
    let r = app
        .post(&path, Some(&doctor.token), json!({"reason": "doctor ill"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancel_reason"], "doctor ill");
    assert_eq!(
        app.active_slot_count(doctor.id).await,
        0,
        "cancel frees the slot"
    );
    app.post(&path, Some(&doctor.token), json!({}))
        .await
        .assert_problem(409, "invalid_transition");
}

async fn the_cancellation_window_is_configurable(backend: Backend) {
    let settings = Settings {
        cancel_window_hours: 1,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let id = app.book(&p, doctor.id, &start).await.body["id"]
        .as_i64()
        .expect("id");
    let ts: jiff::Timestamp = start.parse().expect("ts");
    app.clock
        .advance(ts.as_second() - app.clock.now().as_second() - 2 * 3600);
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&p.token),
            json!({}),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "2 h before is outside a 1 h window: {}",
        r.body
    );
}

async fn rescheduling_moves_the_visit_atomically(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (p, q) = (app.new_patient().await, app.new_patient().await);
    let slots = app.later_slots(doctor.id).await;
    let id = app.book(&p, doctor.id, &slots[0]).await.body["id"]
        .as_i64()
        .expect("id");
    assert_eq!(app.book(&q, doctor.id, &slots[3]).await.status, 201);
    let path = format!("/api/v1/appointments/{id}/reschedule");

    // Onto a taken slot: refused, and the visit keeps its old time and slot.
    app.post(&path, Some(&p.token), json!({"start": slots[3]}))
        .await
        .assert_problem(409, "slot_taken");
    let same = app
        .get(&format!("/api/v1/appointments/{id}"), Some(&p.token))
        .await;
    assert_eq!(same.body["start"], slots[0].as_str());
    assert_eq!(app.active_slot_count(doctor.id).await, 2);
    assert!(!app.later_slots(doctor.id).await.contains(&slots[0]));

    // Onto a free slot: moved, the old slot is free again.
    let r = app
        .post(&path, Some(&p.token), json!({"start": slots[1]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["start"], slots[1].as_str());
    assert_eq!(r.body["status"], "booked");
    let free = app.later_slots(doctor.id).await;
    assert!(free.contains(&slots[0]));
    assert!(!free.contains(&slots[1]));
    assert_eq!(app.active_slot_count(doctor.id).await, 2);
}

async fn rescheduling_to_an_overlapping_time_after_a_visit_length_change_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    // A slot on the hour: on both the 30-minute grid and the later 20-minute one
    // (both start at 08:00), and early enough for the next hour on the same day.
    let slots: Vec<String> = app
        .later_slots(doctor.id)
        .await
        .into_iter()
        .filter(|s| &s[14..16] == "00" && &s[11..13] < "17")
        .collect();
    let id = app.book(&p, doctor.id, &slots[0]).await.body["id"]
        .as_i64()
        .expect("id");
    // Visits become 20 minutes: the 30-minute visit still blocks what it overlaps.
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let weekly: Vec<_> = days
        .iter()
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "18:00"}))
        .collect();
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/doctors/{}/availability", doctor.id),
            Some(&doctor.token),
            Some(json!({"visit_minutes": 20, "weekly": weekly})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t0: jiff::Timestamp = slots[0].parse().expect("ts");
    let at = |mins: i64| (t0 + jiff::SignedDuration::from_mins(mins)).to_string();
    let free = app.later_slots(doctor.id).await;
    assert!(
        !free.contains(&at(20)),
        "20-minute slot overlapping the old 30-minute visit is offered"
    );
    assert!(free.contains(&at(40)));
    // The patient's own visit does not stand in the way of moving it by 20 minutes.
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&p.token),
            json!({"start": at(20)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["end"], at(40));
}

async fn the_doctor_runs_the_visit_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let slots = app.later_slots(doctor.id).await;
    let a = app.book(&p, doctor.id, &slots[0]).await.body["id"]
        .as_i64()
        .expect("id");
    let b = app
        .book(&p, app.everyday_doctor(&admin).await.id, &slots[0])
        .await;
    assert_eq!(b.status, 201);

    let complete = format!("/api/v1/appointments/{a}/complete");
    app.post(&complete, Some(&doctor.token), json!({}))
        .await
        .assert_problem(409, "visit_not_started");
    let ts: jiff::Timestamp = slots[0].parse().expect("ts");
    app.clock
        .advance(ts.as_second() - app.clock.now().as_second() + 60);
    app.post(&complete, Some(&p.token), json!({}))
        .await
        .assert_problem(403, "forbidden");
    let started = app
        .post(
            &format!("/api/v1/appointments/{a}/start"),
            Some(&doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(started.body["status"], "in_progress");
    let done = app.post(&complete, Some(&doctor.token), json!({})).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "completed");
    app.post(
        &format!("/api/v1/appointments/{a}/no-show"),
        Some(&doctor.token),
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    // A completed visit keeps its slot: the time was used.
    assert_eq!(app.active_slot_count(doctor.id).await, 1);

    let completed = app
        .get("/api/v1/appointments?status=completed", Some(&p.token))
        .await;
    assert_eq!(completed.body["items"].as_array().map(Vec::len), Some(1));
    let booked = app
        .get("/api/v1/appointments?status=booked", Some(&p.token))
        .await;
    assert_eq!(booked.body["items"].as_array().map(Vec::len), Some(1));
}

async fn a_no_show_frees_nothing_twice_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let id = app.book(&p, doctor.id, &start).await.body["id"]
        .as_i64()
        .expect("id");
    let ts: jiff::Timestamp = start.parse().expect("ts");
    app.clock
        .advance(ts.as_second() - app.clock.now().as_second() + 600);
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/no-show"),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_eq!(r.body["status"], "no_show");
    let log = app
        .get(
            &format!("/api/v1/audit?entity=appointment&entity_id={id}"),
            Some(&admin.token),
        )
        .await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["no_show", "book"], "newest first");
    // Who did it: the patient booked, the admin marked the no-show.
    let me = app.get("/api/v1/me", Some(&p.token)).await;
    assert_eq!(
        log.body["items"][1]["actor_account_id"],
        me.body["account_id"]
    );
    assert_eq!(log.body["items"][0]["actor_account_id"], admin.id);
}

async fn appointment_lists_page_by_cursor_without_gaps(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let p = app.new_patient().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let d = app.everyday_doctor(&admin).await;
        let start = app.later_slots(d.id).await[0].clone();
        ids.push(
            app.book(&p, d.id, &start).await.body["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/appointments?limit=2".to_owned();
    loop {
        let r = app.get(&path, Some(&p.token)).await;
        for a in r.body["items"].as_array().expect("items") {
            seen.push(a["id"].as_i64().expect("id"));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/appointments?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "{seen:?}");
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
}

/// A doctor sees one of their patients' visits with them (the history the
/// visit room shows); a patient they have never seen is 404, and the filter
/// never widens the list to another doctor's visits.
async fn a_doctor_lists_one_of_their_patients_visits_and_no_one_elses(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let other_doctor = app.everyday_doctor(&admin).await;
    let (mine, other, stranger) = (
        app.new_patient().await,
        app.new_patient().await,
        app.new_patient().await,
    );
    let slots = app.later_slots(doctor.id).await;
    let visit = app.book(&mine, doctor.id, &slots[0]).await;
    assert_eq!(visit.status, 201, "{}", visit.body);
    assert_eq!(app.book(&other, doctor.id, &slots[1]).await.status, 201);
    let elsewhere = app.later_slots(other_doctor.id).await;
    assert_eq!(
        app.book(&mine, other_doctor.id, &elsewhere[0]).await.status,
        201
    );

    let path = format!("/api/v1/appointments?patient_id={}", mine.id);
    let r = app.get(&path, Some(&doctor.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<_> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["id"].as_i64(),
                a["patient_id"].as_i64(),
                a["doctor_id"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [(visit.body["id"].as_i64(), Some(mine.id), Some(doctor.id))],
        "only this patient's visit with this doctor"
    );

    app.get(
        &format!("/api/v1/appointments?patient_id={}", stranger.id),
        Some(&doctor.token),
    )
    .await
    .assert_problem(404, "not_found");
    app.get(
        "/api/v1/appointments?patient_id=999999",
        Some(&doctor.token),
    )
    .await
    .assert_problem(404, "not_found");
}

async fn slots_follow_dst_in_the_doctors_zone(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    // Sundays 00:00-05:00 in New York; 2027-03-14 is the spring-forward Sunday.
    let doctor = app
        .new_doctor(
            &admin,
            "America/New_York",
            60,
            &[("sunday", "00:00", "05:00")],
        )
        .await;
    let target: jiff::Timestamp = "2027-03-10T00:00:00Z".parse().expect("ts");
    app.clock
        .advance(target.as_second() - app.clock.now().as_second());
    let got = app
        .slots(
            doctor.id,
            "?from=2027-03-14T00:00:00-05:00&to=2027-03-15T00:00:00-04:00",
        )
        .await;
    // 00:00 and 01:00 EST, 02:00 does not exist, 03:00 and 04:00 EDT.
    assert_eq!(
        got,
        vec![
            "2027-03-14T05:00:00Z",
            "2027-03-14T06:00:00Z",
            "2027-03-14T07:00:00Z",
            "2027-03-14T08:00:00Z",
        ]
    );
}

crate::both_backends!(
    a_patient_books_a_free_slot_and_it_disappears_from_the_list,
    booking_a_taken_slot_is_a_409_and_writes_nothing,
    a_time_that_is_not_a_slot_is_refused,
    one_active_visit_per_patient_doctor_and_day,
    the_same_idempotency_key_returns_the_first_answer,
    a_patient_cannot_cancel_inside_the_window_but_the_doctor_can,
    the_cancellation_window_is_configurable,
    rescheduling_moves_the_visit_atomically,
    rescheduling_to_an_overlapping_time_after_a_visit_length_change_works,
    the_doctor_runs_the_visit_flow,
    a_no_show_frees_nothing_twice_and_is_audited,
    appointment_lists_page_by_cursor_without_gaps,
    a_doctor_lists_one_of_their_patients_visits_and_no_one_elses,
    slots_follow_dst_in_the_doctors_zone,
);
