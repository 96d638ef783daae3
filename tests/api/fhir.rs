//! The FHIR face's rules (issue 11, decision 0015): who may do what, holds
//! that are real reservations, one winner when FHIR and the JSON API race for
//! a slot, and the same instants as the JSON API across a DST change.

use crate::both_backends;
use crate::helpers::{
    Backend, Resp, TestApp, User, booked_visit, client, spawn_app, spawn_app_with, test_settings,
};
use reqwest::Method;
use serde_json::{Value, json};

const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR call with an optional bearer token and body (`application/fhir+json`).
async fn fhir(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if body.is_some() {
        headers.push(("content-type", FHIR_JSON));
    }
    let r = app.call_with(method, path, token, body, &headers).await;
    assert!(
        r.content_type().starts_with(FHIR_JSON),
        "{path}: content type {:?}",
        r.content_type()
    );
    r
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Resp {
    fhir(app, Method::GET, path, token, None).await
}

/// The one issue code of an OperationOutcome.
fn issue(r: &Resp) -> String {
    assert_eq!(r.body["resourceType"], "OperationOutcome", "{}", r.body);
    r.body["issue"][0]["code"].as_str().unwrap_or("").to_owned()
}

fn proposal_ref(doctor: i64, start: &str) -> String {
    let t: jiff::Timestamp = start.parse().unwrap();
    format!("Appointment/p{doctor}-{}", t.as_second())
}

fn parameters(name: &str, reference: &str) -> Value {
    json!({"resourceType": "Parameters", "parameter": [
        {"name": name, "valueReference": {"reference": reference}}
    ]})
}

fn new_appointment(doctor: i64, start: &str) -> Value {
    json!({"resourceType": "Appointment", "status": "booked", "start": start,
           "participant": [{"actor": {"reference": format!("Practitioner/{doctor}")}, "status": "accepted"}]})
}

/// Who may read and change what, for every interaction: the JSON API's
/// rules, answered as FHIR answers them.
async fn every_interaction_is_authorized_like_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let other_patient = app.new_patient().await;
    let other_doctor = app.everyday_doctor(&v.admin).await;
    let appt = format!("/fhir/Appointment/{}", v.id);
    let patient = format!("/fhir/Patient/{}", v.patient.id);
    let anon = None;
    let (p, op, d, od, a) = (
        Some(v.patient.token.as_str()),
        Some(other_patient.token.as_str()),
        Some(v.doctor.token.as_str()),
        Some(other_doctor.token.as_str()),
        Some(v.admin.token.as_str()),
    );
    // Public: the capability statement, practitioners, schedules, slots.
    for path in [
        "/fhir/metadata".to_owned(),
        format!("/fhir/Practitioner/{}", v.doctor.id),
        "/fhir/Practitioner".to_owned(),
        format!("/fhir/Schedule/{}", v.doctor.id),
        format!("/fhir/Schedule?actor=Practitioner/{}", v.doctor.id),
        format!("/fhir/Slot?schedule=Schedule/{}", v.doctor.id),
    ] {
        for who in [anon, p, d, a] {
            assert_eq!(get(&app, &path, who).await.status, 200, "{path}");
        }
    }
    // The patient and the appointment: their people and admins; others
    // get 404 (not 403: what they may not see is not there), strangers 401.
    for path in [&appt, &patient] {
        let r = get(&app, path, anon).await;
        assert_eq!(
            (r.status.as_u16(), issue(&r)),
            (401, "login".into()),
            "{path}"
        );
        for who in [p, d, a] {
            assert_eq!(get(&app, path, who).await.status, 200, "{path}");
        }
        for who in [op, od] {
            let r = get(&app, path, who).await;
            assert_eq!(
                (r.status.as_u16(), issue(&r)),
                (404, "not-found".into()),
                "{path}"
            );
        }
    }
    // Search finds only what the caller may see.
    let count = |r: &Resp| r.body["entry"].as_array().map_or(0, Vec::len);
    let search = format!("/fhir/Appointment?patient=Patient/{}", v.patient.id);
    assert_eq!(get(&app, "/fhir/Appointment", anon).await.status, 401);
    for (who, n) in [(p, 1), (d, 1), (a, 1), (op, 0), (od, 0)] {
        let r = get(&app, &search, who).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(count(&r), n, "{}", r.body);
    }
    // Booking, holding: patients only.
    let slots = app.later_slots(v.doctor.id).await;
    let create = new_appointment(v.doctor.id, &slots[3]);
    let hold = parameters(
        "appointment-reference",
        &proposal_ref(v.doctor.id, &slots[4]),
    );
    for (path, body) in [
        ("/fhir/Appointment", &create),
        ("/fhir/Appointment/$hold", &hold),
        ("/fhir/Appointment/$book", &hold),
    ] {
        let r = fhir(&app, Method::POST, path, anon, Some(body.clone())).await;
        assert_eq!(r.status, 401, "{path}");
        for who in [d, a] {
            let r = fhir(&app, Method::POST, path, who, Some(body.clone())).await;
            assert_eq!(
                (r.status.as_u16(), issue(&r)),
                (403, "forbidden".into()),
                "{path}: {}",
                r.body
            );
        }
    }
    // A patient books only for themselves.
    let mut for_another = create.clone();
    for_another["participant"].as_array_mut().unwrap().push(
        json!({"actor": {"reference": format!("Patient/{}", v.patient.id)}, "status": "accepted"}),
    );
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        op,
        Some(for_another),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Changing the visit: strangers 401, others 404; nothing changed.
    let cancel = json!([{"op": "replace", "path": "/status", "value": "cancelled"}]);
    for (who, status) in [(anon, 401), (op, 404), (od, 404)] {
        let r = app
            .call_with(
                Method::PATCH,
                &appt,
                who,
                Some(cancel.clone()),
                &[("content-type", "application/json-patch+json")],
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{}", r.body);
    }
    let r = get(&app, &appt, p).await;
    assert_eq!(r.body["status"], "booked");
    // Its doctor may cancel it.
    let r = app
        .call_with(
            Method::PATCH,
            &appt,
            d,
            Some(cancel),
            &[("content-type", "application/json-patch+json")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
}

/// A hold is a real reservation: nobody else books the slot (through either
/// face), the holder books it, and when it runs out the slot is free again.
async fn a_hold_reserves_the_slot_for_its_patient_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (holder, other) = (app.new_patient().await, app.new_patient().await);
    let slots = app.later_slots(doctor.id).await;
    let hold = |start: &str| parameters("appointment-reference", &proposal_ref(doctor.id, start));

    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment/$hold",
        Some(&holder.token),
        Some(hold(&slots[0])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let held = &r.body["entry"][0]["resource"];
    assert_eq!(held["status"], "pending");
    let held_id = held["id"].as_str().unwrap().to_owned();
    assert!(held_id.starts_with('h'), "{held_id}");
    // Busy for everyone now: the JSON API does not offer it, FHIR says busy,
    // and the other patient can book it through neither face.
    assert!(!app.later_slots(doctor.id).await.contains(&slots[0]));
    let r = get(
        &app,
        &format!(
            "/fhir/Slot?schedule=Schedule/{}&start={}",
            doctor.id, slots[0]
        ),
        None,
    )
    .await;
    assert_eq!(
        r.body["entry"][0]["resource"]["status"], "busy",
        "{}",
        r.body
    );
    app.book(&other, doctor.id, &slots[0])
        .await
        .assert_problem(409, "slot_taken");
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        Some(&other.token),
        Some(new_appointment(doctor.id, &slots[0])),
    )
    .await;
    assert_eq!((r.status.as_u16(), issue(&r)), (409, "conflict".into()));
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment/$hold",
        Some(&other.token),
        Some(hold(&slots[0])),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // The holder books it by the hold's reference.
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment/$book",
        Some(&holder.token),
        Some(parameters(
            "appointment-reference",
            &format!("Appointment/{held_id}"),
        )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let booked = &r.body["entry"][0]["resource"];
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["start"], slots[0]);
    assert_eq!(
        app.active_slot_count(doctor.id).await,
        1,
        "the hold's row is released"
    );
    let r = get(
        &app,
        &format!("/fhir/Appointment/{held_id}"),
        Some(&holder.token),
    )
    .await;
    assert_eq!(
        r.body["status"], "cancelled",
        "a used hold is over: {}",
        r.body
    );

    // A hold runs out after five minutes: then anyone may book the slot.
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment/$hold",
        Some(&holder.token),
        Some(hold(&slots[5])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.book(&other, doctor.id, &slots[5])
        .await
        .assert_problem(409, "slot_taken");
    app.clock.advance(5 * 60 + 1);
    let r = app.book(&other, doctor.id, &slots[5]).await;
    assert_eq!(r.status, 201, "an expired hold does not block: {}", r.body);

    // Three live holds at most per patient.
    for (i, start) in slots[10..13].iter().enumerate() {
        let r = fhir(
            &app,
            Method::POST,
            "/fhir/Appointment/$hold",
            Some(&holder.token),
            Some(hold(start)),
        )
        .await;
        assert_eq!(r.status, 200, "hold {i}: {}", r.body);
    }
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment/$hold",
        Some(&holder.token),
        Some(hold(&slots[14])),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), issue(&r)),
        (409, "business-rule".into()),
        "{}",
        r.body
    );
}

/// 32 patients race for one slot, half through FHIR and half through the
/// JSON API: exactly one wins; every other gets its face's 409.
async fn fhir_and_the_api_racing_for_one_slot_have_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let mut patients = Vec::new();
    for _ in 0..32 {
        patients.push(app.new_patient().await);
    }
    let start = app.later_slots(doctor.id).await[0].clone();
    let base = app.url("");
    let mut tasks = Vec::new();
    for (i, p) in patients.into_iter().enumerate() {
        let (base, start) = (base.clone(), start.clone());
        let doctor = doctor.id;
        tasks.push(tokio::spawn(async move {
            let req = if i % 2 == 0 {
                client()
                    .post(format!("{base}/fhir/Appointment"))
                    .header("content-type", FHIR_JSON)
                    .body(new_appointment(doctor, &start).to_string())
            } else {
                client()
                    .post(format!("{base}/api/v1/appointments"))
                    .json(&json!({"doctor_id": doctor, "start": start}))
            };
            let r = req.bearer_auth(&p.token).send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (i % 2 == 0, status, body)
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let (via_fhir, status, body) = t.await.unwrap();
        match status {
            201 => wins += 1,
            409 if via_fhir => {
                assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
                assert_eq!(body["issue"][0]["code"], "conflict", "{body}");
            }
            409 => assert_eq!(body["code"], "slot_taken", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(app.active_slot_count(doctor.id).await, 1);
}

/// Around the start of summer time in Berlin (2027-03-28), FHIR's slots are
/// the JSON API's, instant for instant, and `$find` proposes the same ones.
async fn slots_across_a_dst_change_are_the_same_instants_in_fhir_and_the_api(backend: Backend) {
    let settings = medimeet::config::Settings {
        horizon_days: 730,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let admin = app.new_admin().await;
    let days = ["friday", "saturday", "sunday", "monday"];
    let hours: Vec<(&str, &str, &str)> = days.iter().map(|d| (*d, "01:00", "04:00")).collect();
    let doctor: User = app.new_doctor(&admin, "Europe/Berlin", 60, &hours).await;
    let (from, to) = ("2027-03-26T00:00:00Z", "2027-03-30T00:00:00Z");
    let api = app.slots(doctor.id, &format!("?from={from}&to={to}")).await;
    // 01:00-04:00 local: three a day, but on the 28th 02:00-03:00 does not
    // exist, so the day has two hours of work (01:00 and 03:00 local).
    assert!(api.contains(&"2027-03-28T00:00:00Z".to_owned()), "{api:?}");
    assert!(api.contains(&"2027-03-28T01:00:00Z".to_owned()), "{api:?}");
    let r = get(
        &app,
        &format!(
            "/fhir/Slot?schedule=Schedule/{}&start=ge{from}&start=lt{to}&status=free&_count=200",
            doctor.id
        ),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fhir_starts: Vec<String> = r.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["start"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fhir_starts, api);
    let r = get(
        &app,
        &format!(
            "/fhir/Appointment/$find?start={from}&end={to}&practitioner=Practitioner/{}&_count=200",
            doctor.id
        ),
        None,
    )
    .await;
    let found: Vec<String> = r.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["start"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(found, api);
    // Winter before (UTC+1): 01:00 local is 00:00Z; summer after (UTC+2):
    // 01:00 local is 23:00Z the day before.
    assert!(api.contains(&"2027-03-26T00:00:00Z".to_owned()), "{api:?}");
    assert!(api.contains(&"2027-03-28T23:00:00Z".to_owned()), "{api:?}");
}

/// What clients get wrong is answered, and changes nothing.
async fn bad_requests_get_operation_outcomes(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let t = Some(v.patient.token.as_str());
    let appt = format!("/fhir/Appointment/{}", v.id);
    for (path, status, code) in [
        ("/fhir/Slot?schedule=Schedule/1&colour=red", 400, "invalid"),
        ("/fhir/Slot", 400, "invalid"),
        ("/fhir/Appointment?date=yesterday", 400, "invalid"),
        ("/fhir/Appointment/999999", 404, "not-found"),
        ("/fhir/Slot/1-abc", 404, "not-found"),
        ("/fhir/Observation", 404, "not-supported"),
        ("/fhir/metadata?_format=xml", 406, "not-supported"),
    ] {
        let r = get(&app, path, t).await;
        assert_eq!(
            (r.status.as_u16(), issue(&r)),
            (status, code.to_owned()),
            "{path}: {}",
            r.body
        );
    }
    // Unknown parameters pass when the client asks for lenience.
    let r = app
        .call_with(
            Method::GET,
            &format!("/fhir/Slot?schedule=Schedule/{}&colour=red", v.doctor.id),
            None,
            None,
            &[("prefer", "handling=lenient")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Invalid resources: 422, nothing booked.
    let before = app.active_slot_count(v.doctor.id).await;
    for body in [
        json!({"resourceType": "Patient"}),
        json!({"resourceType": "Appointment", "status": "booked", "participant": []}),
        json!({"resourceType": "Appointment", "status": "fulfilled", "start": "2030-01-01T09:00:00Z",
               "participant": [{"actor": {"reference": "Practitioner/1"}, "status": "accepted"}]}),
        json!({"resourceType": "Appointment", "status": "booked", "start": "2030-01-01",
               "participant": [{"actor": {"reference": "Practitioner/1"}, "status": "accepted"}]}),
    ] {
        let r = fhir(
            &app,
            Method::POST,
            "/fhir/Appointment",
            t,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    let r = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        t,
        Some(json!("not an object")),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(app.active_slot_count(v.doctor.id).await, before);
    // A stale If-Match: 412, the visit unchanged; the current one works.
    let r = get(&app, &appt, t).await;
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(
        etag,
        format!("W/\"{}\"", r.body["meta"]["versionId"].as_str().unwrap())
    );
    let mut cancelled = r.body.clone();
    cancelled["status"] = json!("cancelled");
    cancelled["cancelationReason"] = json!({"text": "moving away"});
    let r = app
        .call_with(
            Method::PUT,
            &appt,
            t,
            Some(cancelled.clone()),
            &[("content-type", FHIR_JSON), ("if-match", "W/\"99\"")],
        )
        .await;
    assert_eq!((r.status.as_u16(), issue(&r)), (412, "conflict".into()));
    assert_eq!(get(&app, &appt, t).await.body["status"], "booked");
    let r = app
        .call_with(
            Method::PUT,
            &appt,
            t,
            Some(cancelled),
            &[("content-type", FHIR_JSON), ("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancelationReason"]["text"], "moving away");
    assert_ne!(r.headers["etag"].to_str().unwrap(), etag, "a new version");
    // A bad token is a 401, not anonymity.
    let r = get(&app, "/fhir/Appointment", Some("not-a-token")).await;
    assert_eq!(r.status, 401);
    assert!(r.headers.get("www-authenticate").is_some());
}

both_backends!(
    every_interaction_is_authorized_like_the_api,
    a_hold_reserves_the_slot_for_its_patient_only,
    fhir_and_the_api_racing_for_one_slot_have_one_winner,
    slots_across_a_dst_change_are_the_same_instants_in_fhir_and_the_api,
    bad_requests_get_operation_outcomes,
);
