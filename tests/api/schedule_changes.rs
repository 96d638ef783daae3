//! Schedule changes never strand a visit silently (decision 0022): new hours,
//! date overrides, time off, a new time zone and deactivating a doctor that
//! affect a future booked visit answer 409 `visits_affected` listing it and
//! change nothing, unless the request says to keep or cancel those visits; a
//! cancellation writes the patient's notification event. Through the API and
//! the hours page, on both backends.

use crate::helpers::{Backend, TestApp, Visit, booked_visit, spawn_app};
use crate::pages::{browser_of, get, post_form};
use medimeet::store::Store;
use reqwest::Method;
use serde_json::{Value, json};

const WEEK: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A weekly-hours document: every day `start`..`end`.
fn every_day(start: &str, end: &str) -> Value {
    let weekly: Vec<Value> = WEEK
        .iter()
        .map(|d| json!({"weekday": d, "start": start, "end": end}))
        .collect();
    json!({"visit_minutes": 30, "weekly": weekly})
}

async fn put_hours(app: &TestApp, v: &Visit, doc: Value) -> crate::helpers::Resp {
    app.call(
        Method::PUT,
        &format!("/api/v1/doctors/{}/availability", v.doctor.id),
        Some(&v.doctor.token),
        Some(doc),
    )
    .await
}

async fn patch_doctor(app: &TestApp, v: &Visit, body: Value) -> crate::helpers::Resp {
    app.call(
        Method::PATCH,
        &format!("/api/v1/doctors/{}", v.doctor.id),
        Some(&v.admin.token),
        Some(body),
    )
    .await
}

async fn visit_of(app: &TestApp, v: &Visit) -> Value {
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", v.id),
            Some(&v.admin.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The one row of a query on the store's pool.
async fn one_text(app: &TestApp, q: &'static str, id: i64) -> Vec<String> {
    match &app.store {
        Store::Sqlite { write, .. } => sqlx::query_as::<_, (String,)>(q)
            .bind(id)
            .fetch_all(write)
            .await
            .unwrap(),
        Store::Postgres(pool) => sqlx::query_as::<_, (String,)>(q)
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap(),
    }
    .into_iter()
    .map(|(s,)| s)
    .collect()
}

async fn local_date(app: &TestApp, id: i64) -> String {
    one_text(app, "SELECT local_date FROM appointments WHERE id = $1", id)
        .await
        .remove(0)
}

/// The notification events of a visit, as `event detail`.
async fn events(app: &TestApp, id: i64) -> Vec<String> {
    one_text(
        app,
        "SELECT event || ' ' || COALESCE(detail, '') FROM notification_event \
         WHERE appointment_id = $1 ORDER BY id",
        id,
    )
    .await
}

/// The refusal lists exactly the visit, by id and start, and nothing else.
#[track_caller]
fn assert_lists_visit(r: &crate::helpers::Resp, v: &Visit) {
    r.assert_problem(409, "visits_affected");
    let list = r.body["affected_visits"]
        .as_array()
        .expect("affected_visits");
    assert_eq!(list.len(), 1, "{}", r.body);
    assert_eq!(list[0]["id"], v.id);
    let start: jiff::Timestamp = list[0]["start"].as_str().unwrap().parse().unwrap();
    assert_eq!(start, v.start);
}

async fn hours_that_leave_out_a_booked_visit_are_refused_until_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let before = app
        .get(
            &format!("/api/v1/doctors/{}/availability", v.doctor.id),
            None,
        )
        .await
        .body;
    // No hours at all any more: the visit falls outside working time.
    let r = put_hours(&app, &v, json!({"visit_minutes": 30, "weekly": []})).await;
    assert_lists_visit(&r, &v);
    let after = app
        .get(
            &format!("/api/v1/doctors/{}/availability", v.doctor.id),
            None,
        )
        .await
        .body;
    assert_eq!(before, after, "a refused change changed the hours");
    // A choice that is not one.
    let r = put_hours(
        &app,
        &v,
        json!({"visit_minutes": 30, "weekly": [], "affected": "maybe"}),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    // Keep: saved, the visit stays booked, no cancellation sent.
    let r = put_hours(
        &app,
        &v,
        json!({"visit_minutes": 30, "weekly": [], "affected": "keep"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["weekly"], json!([]));
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
    assert!(
        !events(&app, v.id)
            .await
            .iter()
            .any(|e| e.starts_with("cancelled")),
        "a kept visit was cancelled"
    );
    // The visit, already outside the hours, is not asked about again.
    let r = put_hours(&app, &v, every_day("20:00", "21:00")).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn hours_that_still_hold_the_visit_need_no_choice(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    // Wider hours and a new visit length: the visit still lies in working time.
    let mut doc = every_day("07:00", "19:00");
    doc["visit_minutes"] = json!(20);
    let r = put_hours(&app, &v, doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Time off that does not touch the visit.
    let far = v.start + jiff::SignedDuration::from_hours(24 * 5);
    let r = app
        .post(
            &format!("/api/v1/doctors/{}/time-off", v.doctor.id),
            Some(&v.doctor.token),
            json!({"start": far.to_string(), "end": (far + jiff::SignedDuration::from_hours(3)).to_string()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A time zone with the same wall clock (UTC+0 all year).
    let r = patch_doctor(&app, &v, json!({"timezone": "Africa/Abidjan"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
}

async fn time_off_over_a_visit_cancels_it_with_the_reason_and_tells_the_patient(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let path = format!("/api/v1/doctors/{}/time-off", v.doctor.id);
    let hour = jiff::SignedDuration::from_hours(1);
    let off = json!({"start": (v.start - hour).to_string(), "end": (v.start + hour).to_string(), "reason": "conference"});
    let r = app.post(&path, Some(&v.doctor.token), off.clone()).await;
    assert_lists_visit(&r, &v);
    let listed = app.get(&path, Some(&v.doctor.token)).await;
    assert_eq!(
        listed.body["items"],
        json!([]),
        "refused time off was added"
    );
    // Cancel needs a reason the patient can read.
    let mut cancel = off.clone();
    cancel["affected"] = json!("cancel");
    let r = app.post(&path, Some(&v.doctor.token), cancel.clone()).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "cancel_reason");
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
    cancel["cancel_reason"] = json!("Dr. Tor is away at a conference");
    let r = app.post(&path, Some(&v.doctor.token), cancel).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["reason"], "conference");
    let visit = visit_of(&app, &v).await;
    assert_eq!(visit["status"], "cancelled");
    assert_eq!(visit["cancel_reason"], "Dr. Tor is away at a conference");
    let ev = events(&app, v.id).await;
    assert!(
        ev.iter()
            .any(|e| e.starts_with("cancelled ") && e.contains("Dr. Tor is away at a conference")),
        "{ev:?}"
    );
    // Its slot is free for nobody else to take inside the time off, and the
    // doctor's slot count is back to none.
    assert_eq!(app.active_slot_count(v.doctor.id).await, 0);
}

async fn deactivating_a_doctor_with_a_booked_visit_is_refused_until_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let r = patch_doctor(&app, &v, json!({"active": false})).await;
    assert_lists_visit(&r, &v);
    let d = app
        .get(
            &format!("/api/v1/doctors/{}", v.doctor.id),
            Some(&v.admin.token),
        )
        .await;
    assert_eq!(d.body["active"], true, "a refused deactivation deactivated");
    // The doctor's session still works: nothing changed.
    let me = app
        .get(
            &format!("/api/v1/doctors/{}/time-off", v.doctor.id),
            Some(&v.doctor.token),
        )
        .await;
    assert_eq!(me.status, 200);
    let r = patch_doctor(&app, &v, json!({"active": false, "affected": "keep"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
}

async fn a_new_time_zone_asks_about_moved_visits_and_recomputes_local_dates(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    // A slot at 10:00 UTC or later: in UTC+14 it falls on the next date.
    let start = app
        .later_slots(doctor.id)
        .await
        .into_iter()
        .find(|s| {
            let t: jiff::Timestamp = s.parse().unwrap();
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC).hour() >= 10
        })
        .expect("a slot from 10:00 UTC");
    let r = app.book(&patient, doctor.id, &start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = Visit {
        id: r.body["id"].as_i64().unwrap(),
        start: start.parse().unwrap(),
        patient,
        doctor,
        admin,
    };
    let utc_date = v.start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    assert_eq!(local_date(&app, v.id).await, utc_date.to_string());
    // UTC+14: every wall-clock time moves.
    let zone = "Pacific/Kiritimati";
    let r = patch_doctor(&app, &v, json!({"timezone": zone})).await;
    assert_lists_visit(&r, &v);
    assert_eq!(local_date(&app, v.id).await, utc_date.to_string());
    let d = app
        .get(&format!("/api/v1/doctors/{}", v.doctor.id), None)
        .await;
    assert_eq!(
        d.body["timezone"], "UTC",
        "a refused change changed the zone"
    );
    let r = patch_doctor(&app, &v, json!({"timezone": zone, "affected": "keep"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["timezone"], zone);
    let new_date = v
        .start
        .to_zoned_datetime(jiff::tz::TimeZone::get(zone).unwrap())
        .date();
    assert_ne!(new_date, utc_date);
    assert_eq!(local_date(&app, v.id).await, new_date.to_string());
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
}

async fn overrides_are_added_and_removed_on_the_hours_page_with_the_choice(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let browser = browser_of(&app, &v.doctor, "/doctor/hours").await;
    let cookie = Some(browser.cookie.as_str());
    let day = v.start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let other = day.checked_add(jiff::Span::new().days(3)).unwrap();
    let hours = || async {
        app.get(
            &format!("/api/v1/doctors/{}/availability", v.doctor.id),
            None,
        )
        .await
        .body["overrides"]
            .clone()
    };
    // A date without visits: 09:00-11:00 only; listed on the page.
    let form = format!(
        "csrf={}&ov_date={other}&ov_s0=09:00&ov_e0=11:00&ov_s1=&ov_e1=",
        browser.csrf
    );
    let p = post_form(&app, "/doctor/overrides", cookie, &form).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        hours().await,
        json!([{"date": other.to_string(), "intervals": [{"start": "09:00", "end": "11:00"}]}])
    );
    let page = get(&app, "/doctor/hours", cookie).await;
    assert!(
        page.body.contains(&format!("data-override=\"{other}\"")),
        "override not listed"
    );
    // Closing the visit's date: refused with the visit listed, nothing saved.
    let form = format!("csrf={}&ov_date={day}", browser.csrf);
    let p = post_form(&app, "/doctor/overrides", cookie, &form).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("data-affected-visit=\"{}\"", v.id)),
        "visit not listed"
    );
    assert_eq!(hours().await.as_array().map(Vec::len), Some(1));
    // Cancel without a reason: asked again, still nothing saved.
    let p = post_form(
        &app,
        "/doctor/overrides",
        cookie,
        &format!("{form}&affected=cancel&cancel_reason="),
    )
    .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("Give a reason"), "no reason asked for");
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
    // Cancel with a reason: saved, the visit cancelled and its patient told.
    let p = post_form(
        &app,
        "/doctor/overrides",
        cookie,
        &format!("{form}&affected=cancel&cancel_reason=Clinic+closed"),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(hours().await.as_array().map(Vec::len), Some(2));
    let visit = visit_of(&app, &v).await;
    assert_eq!(visit["status"], "cancelled");
    assert_eq!(visit["cancel_reason"], "Clinic closed");
    assert!(
        events(&app, v.id)
            .await
            .iter()
            .any(|e| e.starts_with("cancelled ") && e.contains("Clinic closed"))
    );
    // Removing one.
    let p = post_form(
        &app,
        "/doctor/overrides/delete",
        cookie,
        &format!("csrf={}&ov_date={other}", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        hours().await,
        json!([{"date": day.to_string(), "intervals": []}])
    );
}

async fn the_admin_deactivates_a_doctor_on_the_page_after_seeing_the_visits(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let path = format!("/admin/doctors/{}", v.doctor.id);
    let browser = browser_of(&app, &v.admin, &path).await;
    let cookie = Some(browser.cookie.as_str());
    let form = format!("csrf={}&active=false", browser.csrf);
    let p = post_form(&app, &format!("{path}/active"), cookie, &form).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("data-affected-visit=\"{}\"", v.id)),
        "visit not listed"
    );
    let d = app
        .get(&format!("/api/v1/doctors/{}", v.doctor.id), None)
        .await;
    assert_eq!(d.body["active"], true, "deactivated before the choice");
    // The time zone, on the same page: refused the same way, nothing changed.
    let edit = format!(
        "csrf={}&first_name=Doc&last_name=Tor&specialty=Cardiology&experience_years=10\
         &timezone=Asia%2FTokyo&fee=50.00",
        browser.csrf
    );
    let p = post_form(&app, &path, cookie, &edit).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("data-affected-visit=\"{}\"", v.id))
    );
    let d = app
        .get(&format!("/api/v1/doctors/{}", v.doctor.id), None)
        .await;
    assert_eq!(
        d.body["timezone"], "UTC",
        "the zone changed before the choice"
    );
    // Keep: deactivated, the visit still booked.
    let p = post_form(
        &app,
        &format!("{path}/active"),
        cookie,
        &format!("{form}&affected=keep"),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let d = app
        .get(
            &format!("/api/v1/doctors/{}", v.doctor.id),
            Some(&v.admin.token),
        )
        .await;
    assert_eq!(d.body["active"], false);
    assert_eq!(visit_of(&app, &v).await["status"], "booked");
}

crate::both_backends!(
    the_admin_deactivates_a_doctor_on_the_page_after_seeing_the_visits,
    hours_that_leave_out_a_booked_visit_are_refused_until_kept,
    hours_that_still_hold_the_visit_need_no_choice,
    time_off_over_a_visit_cancels_it_with_the_reason_and_tells_the_patient,
    deactivating_a_doctor_with_a_booked_visit_is_refused_until_kept,
    a_new_time_zone_asks_about_moved_visits_and_recomputes_local_dates,
    overrides_are_added_and_removed_on_the_hours_page_with_the_choice,
);
