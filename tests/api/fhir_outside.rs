//! The FHIR face (issue 11, decision 0015) checked by tools nobody here
//! wrote: a realistic session through `/fhir` collects every resource the
//! server answers (OperationOutcomes and Bundles too) and hands them all to
//! `tests/fhir/validate.py` (the `fhir.resources` package at 6.4.0, FHIR R4
//! 4.0.1, plus value sets, cardinalities and the Appointment invariants
//! app-1..app-4); then the SMART client `fhirclient` (`tests/fhir/smart_client.py`)
//! finds, books and reads back an appointment on the same server.
//!
//! Both scripts run with the python of the virtualenv `.venv-fhir` that
//! `.ci/run` makes (or `MEDIMEET_FHIR_PYTHON`): a missing one fails the
//! test, never skips it.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, client, spawn_app};
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Stdio;

both_backends!(
    fhir_session_validates_outside,
    id_searches_span_the_directory
);

/// The python that has `fhir.resources` 6.4.0 and `fhirclient`.
fn fhir_python() -> String {
    std::env::var("MEDIMEET_FHIR_PYTHON")
        .unwrap_or_else(|_| format!("{}/.venv-fhir/bin/python", env!("CARGO_MANIFEST_DIR")))
}

fn script(name: &str) -> String {
    format!("{}/tests/fhir/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a script of tests/fhir with `stdin`; (exit code, stdout as JSON).
/// Asynchronously: the SMART client talks to the server on this runtime.
async fn run_python(args: &[String], stdin: &[u8]) -> (i32, Value) {
    use tokio::io::AsyncWriteExt;
    let python = fhir_python();
    let mut child = tokio::process::Command::new(&python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{python} does not run ({e}): make the FHIR venv as .ci/run does \
                 (python3 -m venv .venv-fhir && .venv-fhir/bin/pip install \
                 'fhir.resources==6.4.0' 'pydantic==1.10.27' 'fhirclient==4.4.0') \
                 or set MEDIMEET_FHIR_PYTHON"
            )
        });
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).await.expect("write stdin");
    drop(input);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("python finishes within two minutes")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// Runs validate.py over `resources`: (exit code, report).
async fn validate(resources: &[Value]) -> (i32, Value) {
    let input = serde_json::to_vec(resources).expect("json");
    run_python(&[script("validate.py")], &input).await
}

/// One answer of the FHIR face.
struct Fhir {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Fhir {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The issue code of an OperationOutcome.
    fn issue(&self) -> &str {
        assert_eq!(
            self.body["resourceType"], "OperationOutcome",
            "{}",
            self.body
        );
        self.body["issue"][0]["code"].as_str().unwrap_or("")
    }

    /// The resources of a Bundle's entries.
    fn entries(&self) -> Vec<Value> {
        assert_eq!(self.body["resourceType"], "Bundle", "{}", self.body);
        self.body["entry"]
            .as_array()
            .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
            .unwrap_or_default()
    }

    fn link(&self, relation: &str) -> Option<String> {
        self.body["link"]
            .as_array()?
            .iter()
            .find(|l| l["relation"] == relation)
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned)
    }
}

/// A FHIR client session that keeps every resource the server answered.
struct Session<'a> {
    app: &'a TestApp,
    seen: Vec<Value>,
}

impl<'a> Session<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            seen: Vec::new(),
        }
    }

    /// Sends a request (a path under `/fhir`, or a full URL from a link) and
    /// checks what every answer must be: FHIR JSON with a resource.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Value)>,
        headers: &[(&str, &str)],
    ) -> Fhir {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.app.url(&format!("/fhir{path}"))
        };
        let mut req = client()
            .request(method.clone(), &url)
            .header("accept", "application/fhir+json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((media, b)) = body {
            req = req
                .header("content-type", media)
                .body(serde_json::to_vec(&b).expect("json"));
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        assert_ne!(status.as_u16(), 500, "{method} {path}: {body}");
        let answer = Fhir {
            status,
            headers,
            body,
        };
        assert!(
            answer
                .header("content-type")
                .starts_with("application/fhir+json"),
            "{method} {path}: Content-Type {:?}",
            answer.header("content-type")
        );
        assert!(
            answer.body["resourceType"].is_string(),
            "{method} {path}: not a resource: {}",
            answer.body
        );
        self.seen.push(json!({
            "label": format!("{method} {path} -> {}", status.as_u16()),
            "resource": answer.body.clone(),
        }));
        answer
    }

    async fn get(&mut self, path: &str, token: Option<&str>) -> Fhir {
        self.send(Method::GET, path, token, None, &[]).await
    }

    async fn post(&mut self, path: &str, token: &str, body: Value) -> Fhir {
        self.send(
            Method::POST,
            path,
            Some(token),
            Some(("application/fhir+json", body)),
            &[],
        )
        .await
    }

    async fn patch(&mut self, id: &str, token: &str, ops: Value, if_match: Option<&str>) -> Fhir {
        let headers: Vec<(&str, &str)> = if_match.map(|m| ("if-match", m)).into_iter().collect();
        self.send(
            Method::PATCH,
            &format!("/Appointment/{id}"),
            Some(token),
            Some(("application/json-patch+json", ops)),
            &headers,
        )
        .await
    }

    async fn put(&mut self, id: &str, token: &str, resource: Value, if_match: &str) -> Fhir {
        self.send(
            Method::PUT,
            &format!("/Appointment/{id}"),
            Some(token),
            Some(("application/fhir+json", resource)),
            &[("if-match", if_match)],
        )
        .await
    }
}

fn at(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn reference(kind: &str, id: impl std::fmt::Display) -> Value {
    json!({"reference": format!("{kind}/{id}")})
}

fn parameters(name: &str, reference: &str) -> Value {
    json!({"resourceType": "Parameters", "parameter": [
        {"name": name, "valueReference": {"reference": reference}}
    ]})
}

/// A new Appointment asking for `start` with the doctor, for the patient.
fn new_appointment(doctor: i64, patient: i64, start: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "reasonCode": [{"text": "check-up"}],
        "start": start,
        "participant": [
            {"actor": reference("Patient", patient), "status": "accepted"},
            {"actor": reference("Practitioner", doctor), "status": "accepted"}
        ]
    })
}

/// The version of an Appointment answer: its `meta.versionId`, which must be
/// the number in its weak ETag `W/"n"`.
#[track_caller]
fn version(r: &Fhir) -> i64 {
    let resource = if r.body["resourceType"] == "Bundle" {
        r.entries()[0].clone()
    } else {
        r.body.clone()
    };
    let v: i64 = resource["meta"]["versionId"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no meta.versionId: {resource}"));
    assert_eq!(r.header("etag"), format!("W/\"{v}\""), "{resource}");
    v
}

/// The doctor's free slot starts (JSON API) on the `n`th day after `day`.
async fn free_starts(app: &TestApp, doctor: i64, day: Timestamp, n: i64) -> Vec<Timestamp> {
    let from = day.checked_add(SignedDuration::from_hours(24 * n)).unwrap();
    let to = from.checked_add(SignedDuration::from_hours(24)).unwrap();
    app.slots(doctor, &format!("?from={}&to={}", at(from), at(to)))
        .await
        .iter()
        .map(|t| t.parse().unwrap())
        .collect()
}

/// The visit's status in the JSON API.
async fn api_status(app: &TestApp, id: &str, user: &User) -> String {
    let r = app
        .get(&format!("/api/v1/appointments/{id}"), Some(&user.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["status"].as_str().expect("status").to_owned()
}

async fn fhir_session_validates_outside(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let other = app.new_patient().await;
    let d = doctor.id;
    let mut s = Session::new(&app);

    // What the server says it does, read anonymously.
    let meta = s.get("/metadata", None).await;
    assert_eq!(meta.status, 200);
    assert_eq!(meta.body["resourceType"], "CapabilityStatement");
    assert_eq!(meta.body["fhirVersion"], "4.0.1");

    // The directory: the practitioner, their schedule, the patient.
    let r = s.get(&format!("/Practitioner/{d}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], d.to_string());
    let r = s.get("/Practitioner?name=Tor", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d_id = d.to_string();
    assert!(r.entries().iter().any(|p| p["id"] == d_id.as_str()));
    let r = s.get(&format!("/Practitioner?_id={d}"), None).await;
    assert_eq!(r.entries().len(), 1, "{}", r.body);
    let r = s.get(&format!("/Schedule/{d}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["actor"][0]["reference"], format!("Practitioner/{d}"));
    let r = s
        .get(&format!("/Schedule?actor=Practitioner/{d}"), None)
        .await;
    assert_eq!(r.entries().len(), 1, "{}", r.body);
    let r = s
        .get(&format!("/Patient/{}", patient.id), Some(&patient.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["birthDate"], "1990-01-01");
    let r = s.get("/Patient", Some(&patient.token)).await;
    assert_eq!(r.entries().len(), 1, "{}", r.body);
    assert_eq!(r.entries()[0]["id"], patient.id.to_string());

    // Free slots on a day two days ahead, five to a page, following `next`.
    let now = app.clock.now();
    let day = now.checked_add(SignedDuration::from_hours(48)).unwrap();
    let day_end = day.checked_add(SignedDuration::from_hours(24)).unwrap();
    let (from, to) = (at(day), at(day_end));
    let mut page = s
        .get(
            &format!(
                "/Slot?schedule=Schedule/{d}&status=free&start=ge{from}&start=lt{to}&_count=5"
            ),
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut slots: Vec<Value> = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let entries = page.entries();
        assert!(entries.len() <= 5, "{}", page.body);
        slots.extend(entries);
        let Some(next) = page.link("next") else { break };
        assert!(pages < 20, "paging does not end");
        page = s.get(&next, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    assert!(pages >= 3, "the day's slots span pages: {pages}");
    // Every slot once, in order, free, inside [from, to).
    let starts: Vec<Timestamp> = slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    assert!(starts.iter().all(|t| *t >= day && *t < day_end));
    assert!(slots.iter().all(|s| s["status"] == "free"));
    assert_eq!(
        slots.len(),
        app.slots(d, &format!("?from={from}&to={to}")).await.len()
    );

    // $find (GET and POST) proposes the same slots.
    let find = s
        .get(
            &format!("/Appointment/$find?start={from}&end={to}&practitioner=Practitioner/{d}"),
            Some(&patient.token),
        )
        .await;
    assert_eq!(find.status, 200, "{}", find.body);
    let proposals = find.entries();
    assert_eq!(proposals.len(), slots.len());
    assert!(proposals.iter().all(|p| p["status"] == "proposed"));
    let find_post = s
        .post(
            "/Appointment/$find",
            &patient.token,
            json!({"resourceType": "Parameters", "parameter": [
                {"name": "start", "valueDateTime": from},
                {"name": "end", "valueDateTime": to},
                {"name": "practitioner", "valueReference": reference("Practitioner", d)}
            ]}),
        )
        .await;
    assert_eq!(find_post.status, 200, "{}", find_post.body);
    assert_eq!(find_post.entries().len(), proposals.len());
    let first = &proposals[0];
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first_id,
        format!("p{d}-{}", starts[0].as_second()),
        "a proposal is p<doctor>-<unix start>"
    );
    let r = s
        .get(&format!("/Appointment/{first_id}"), Some(&patient.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "proposed");

    // $hold: the first slot is the patient's for five minutes; others see it busy.
    let held = s
        .post(
            "/Appointment/$hold",
            &patient.token,
            parameters("appointment-reference", &format!("Appointment/{first_id}")),
        )
        .await;
    assert_eq!(held.status, 200, "{}", held.body);
    let hold = held.entries()[0].clone();
    assert_eq!(hold["status"], "pending");
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    assert!(hold_id.starts_with('h'), "{hold}");
    let r = s
        .get(&format!("/Appointment/{hold_id}"), Some(&patient.token))
        .await;
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    let slot_id = format!("{d}-{}", starts[0].as_second());
    let r = s.get(&format!("/Slot/{slot_id}"), None).await;
    assert_eq!(r.body["status"], "busy", "a held slot is busy: {}", r.body);
    let r = s
        .post(
            "/Appointment",
            &other.token,
            new_appointment(d, other.id, &at(starts[0])),
        )
        .await;
    assert_eq!(r.status, 409, "someone else's hold: {}", r.body);
    assert_eq!(r.issue(), "conflict");

    // $book the hold: booked, version 1, ETag W/"1".
    let booked = s
        .post(
            "/Appointment/$book",
            &patient.token,
            parameters("appointment-reference", &format!("Appointment/{hold_id}")),
        )
        .await;
    assert_eq!(booked.status, 200, "{}", booked.body);
    let a1 = booked.entries()[0].clone();
    let a1_id = a1["id"].as_str().unwrap().to_owned();
    assert_eq!(a1["status"], "booked");
    assert_eq!(a1["start"], at(starts[0]));
    let v1 = version(&booked);
    assert_eq!(api_status(&app, &a1_id, &patient).await, "booked");
    // Taken now: the proposal is gone and booking it again is a 409.
    let r = s
        .post(
            "/Appointment/$book",
            &other.token,
            parameters("appointment-reference", &format!("Appointment/{first_id}")),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.issue(), "conflict");
    let r = s
        .get(&format!("/Appointment/{first_id}"), Some(&other.token))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s
        .get(
            &format!("/Slot?schedule=Schedule/{d}&status=busy&start=ge{from}&start=lt{to}"),
            None,
        )
        .await;
    assert!(
        r.entries().iter().any(|e| e["id"] == slot_id),
        "the booked slot is busy: {}",
        r.body
    );

    // One visit per doctor and day for a patient (the clinic's rule): the
    // next two are on the following days.
    let next_day = free_starts(&app, d, day, 1).await;
    let third_day = free_starts(&app, d, day, 2).await;

    // Create (POST Appointment): 201 with Location and ETag.
    let created = s
        .post(
            "/Appointment",
            &patient.token,
            new_appointment(d, patient.id, &at(next_day[0])),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let a2_id = created.body["id"].as_str().unwrap().to_owned();
    let mut v2 = version(&created);
    assert!(
        created
            .header("location")
            .ends_with(&format!("/fhir/Appointment/{a2_id}/_history/{v2}")),
        "{}",
        created.header("location")
    );
    let r = s
        .post(
            "/Appointment",
            &other.token,
            new_appointment(d, other.id, &at(next_day[0])),
        )
        .await;
    assert_eq!(r.status, 409, "a taken slot: {}", r.body);
    assert_eq!(r.issue(), "conflict");

    // A third, through $book with appointment-resource (for the no-show later).
    let r = s
        .post(
            "/Appointment/$book",
            &patient.token,
            json!({"resourceType": "Parameters", "parameter": [{
                "name": "appointment-resource",
                "resource": {
                    "resourceType": "Appointment",
                    "status": "pending",
                    "start": at(third_day[0]),
                    "participant": [{"actor": reference("Practitioner", d), "status": "needs-action"}]
                }
            }]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a3_id = r.entries()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.entries()[0]["status"], "booked");

    // Read and search.
    let r = s
        .get(&format!("/Appointment/{a2_id}"), Some(&patient.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(version(&r), v2);
    let r = s
        .get(
            &format!("/Appointment?patient=Patient/{}&status=booked", patient.id),
            Some(&patient.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ids: Vec<String> = r
        .entries()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![a1_id.clone(), a2_id.clone(), a3_id.clone()];
    want.sort();
    assert_eq!(ids, want);
    let r = s
        .get(
            &format!(
                "/Appointment?practitioner=Practitioner/{d}&date=ge{from}&date=lt{}&_count=2",
                at(day.checked_add(SignedDuration::from_hours(72)).unwrap())
            ),
            Some(&doctor.token),
        )
        .await;
    assert_eq!(r.entries().len(), 2, "{}", r.body);
    let next = r.link("next").expect("a next page");
    let r = s.get(&next, Some(&doctor.token)).await;
    assert_eq!(r.entries().len(), 1, "{}", r.body);
    let r = s
        .get(
            &format!("/Appointment?patient=Patient/{}", patient.id),
            Some(&other.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.entries().is_empty(),
        "another patient's visits: {}",
        r.body
    );
    let r = s
        .get("/Appointment?colour=blue", Some(&patient.token))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = s
        .send(
            Method::GET,
            "/Appointment?colour=blue",
            Some(&patient.token),
            None,
            &[("prefer", "handling=lenient")],
        )
        .await;
    assert_eq!(r.status, 200, "lenient: {}", r.body);

    // PUT with a stale If-Match: 412; with the current one, a move.
    let mut moved = created.body.clone();
    moved["start"] = json!(at(next_day[1]));
    let r = s
        .put(
            &a2_id,
            &patient.token,
            moved.clone(),
            &format!("W/\"{}\"", v2 - 1),
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(r.issue(), "conflict");
    let r = s
        .put(&a2_id, &patient.token, moved, &format!("W/\"{v2}\""))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["start"], at(next_day[1]));
    assert_eq!(r.body["status"], "booked");
    let v = version(&r);
    assert_eq!(v, v2 + 1, "a move is one more version");
    v2 = v;

    // 422: an Appointment that cannot be booked or set.
    let mut no_start = new_appointment(d, patient.id, "");
    no_start.as_object_mut().unwrap().remove("start");
    let r = s.post("/Appointment", &patient.token, no_start).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.issue(), "invalid");
    let mut reason_on_booked = s
        .get(&format!("/Appointment/{a2_id}"), Some(&patient.token))
        .await
        .body;
    reason_on_booked["cancelationReason"] = json!({"text": "no"});
    let r = s
        .put(
            &a2_id,
            &patient.token,
            reason_on_booked,
            &format!("W/\"{v2}\""),
        )
        .await;
    assert_eq!(r.status, 422, "app-4 on the way in: {}", r.body);

    // PATCH cancel, with the reason: cancelled, cancelationReason, one more version.
    let r = s
        .patch(
            &a2_id,
            &patient.token,
            json!([
                {"op": "replace", "path": "/status", "value": "cancelled"},
                {"op": "add", "path": "/cancelationReason", "value": {"text": "Feeling better"}}
            ]),
            Some(&format!("W/\"{v2}\"")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancelationReason"]["text"], "Feeling better");
    assert_eq!(version(&r), v2 + 1);
    assert_eq!(api_status(&app, &a2_id, &patient).await, "cancelled");

    // 404s, 401s.
    let r = s.get("/Appointment/999999", Some(&patient.token)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.issue(), "not-found");
    let r = s
        .get(&format!("/Appointment/{a1_id}"), Some(&other.token))
        .await;
    assert_eq!(r.status, 404, "another patient's visit: {}", r.body);
    let r = s.get("/Practitioner/999999", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s
        .get(&format!("/Patient/{}", other.id), Some(&patient.token))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s.get("/Nothing/1", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s.get(&format!("/Appointment/{a1_id}"), None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.issue(), "login");
    assert_eq!(r.header("www-authenticate"), "Bearer");
    let r = s.get("/Appointment", Some("not-a-token")).await;
    assert_eq!(r.status, 401, "{}", r.body);

    // The doctor's side at visit time: booked -> arrived -> fulfilled, and a
    // no-show; each a new version, each the JSON API's status.
    let now = app.clock.now().as_second();
    app.clock.advance(starts[0].as_second() - now);
    let r = s
        .patch(
            &a1_id,
            &doctor.token,
            json!([{"op": "replace", "path": "/status", "value": "arrived"}]),
            Some(&format!("W/\"{v1}\"")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "arrived");
    assert_eq!(version(&r), v1 + 1);
    assert_eq!(api_status(&app, &a1_id, &doctor).await, "in_progress");
    let r = s
        .patch(
            &a1_id,
            &doctor.token,
            json!([{"op": "replace", "path": "/status", "value": "fulfilled"}]),
            Some(&format!("W/\"{}\"", v1 + 1)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "fulfilled");
    assert_eq!(version(&r), v1 + 2);
    assert_eq!(api_status(&app, &a1_id, &doctor).await, "completed");
    let now = app.clock.now().as_second();
    app.clock.advance(third_day[0].as_second() + 600 - now);
    let r = s
        .patch(
            &a3_id,
            &doctor.token,
            json!([{"op": "replace", "path": "/status", "value": "noshow"}]),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "noshow");
    assert_eq!(api_status(&app, &a3_id, &doctor).await, "no_show");
    // And as the doctor sees them all.
    let r = s
        .get(
            &format!("/Appointment?practitioner=Practitioner/{d}"),
            Some(&doctor.token),
        )
        .await;
    let mut statuses: Vec<(String, String)> = r
        .entries()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    statuses.sort();
    let mut want = vec![
        (a1_id.clone(), "fulfilled".to_owned()),
        (a2_id.clone(), "cancelled".to_owned()),
        (a3_id.clone(), "noshow".to_owned()),
    ];
    want.sort();
    assert_eq!(statuses, want);

    // The SMART client, against the same server, for a patient of its own.
    let newcomer = app.new_patient().await;
    let client_saw = smart_client_round(&app, &doctor, &newcomer).await;
    s.seen.extend(
        client_saw
            .into_iter()
            .map(|r| json!({"label": "seen by fhirclient", "resource": r})),
    );

    // Every resource the server answered, through the outside validator.
    let kinds: std::collections::BTreeSet<String> = s
        .seen
        .iter()
        .map(|r| r["resource"]["resourceType"].as_str().unwrap().to_owned())
        .collect();
    for k in [
        "CapabilityStatement",
        "Bundle",
        "OperationOutcome",
        "Appointment",
        "Practitioner",
        "Patient",
        "Schedule",
        "Slot",
    ] {
        assert!(kinds.contains(k), "the session saw no {k}: {kinds:?}");
    }
    let (code, report) = validate(&s.seen).await;
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["checked"], s.seen.len());

    // The validator is not a yes-man: the same visit with R4 broken fails.
    let mut broken = a1.clone();
    broken["status"] = json!("in-progress");
    let mut no_one = a1.clone();
    no_one["participant"] = json!([]);
    let mut reason = a1.clone();
    reason["cancelationReason"] = json!({"text": "why"});
    let (code, report) = validate(&[broken, no_one, reason]).await;
    assert_eq!(code, 1, "{report:#}");
    let problems: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["where"].as_str().unwrap().to_owned(),
                p["problem"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let found = |at: &str, what: &str| {
        problems
            .iter()
            .any(|(w, p)| w.starts_with(at) && p.contains(what))
    };
    assert!(
        found("[0]", "'in-progress' is not in the value set"),
        "{report:#}"
    );
    assert!(found("[1]", "required (min 1)"), "{report:#}");
    assert!(found("[2]", "app-4"), "{report:#}");
}

/// `tests/fhir/smart_client.py` (fhirclient) finds a free slot of `doctor`
/// two days ahead, books it with `$book` for `patient` and reads it back;
/// the resources it received, for the validator.
async fn smart_client_round(app: &TestApp, doctor: &User, patient: &User) -> Vec<Value> {
    let day = app
        .clock
        .now()
        .checked_add(SignedDuration::from_hours(48))
        .unwrap();
    let day_end = day.checked_add(SignedDuration::from_hours(24)).unwrap();
    let args = vec![
        script("smart_client.py"),
        "--base".to_owned(),
        app.url("/fhir"),
        "--token".to_owned(),
        patient.token.clone(),
        "--practitioner".to_owned(),
        doctor.id.to_string(),
        "--from".to_owned(),
        at(day),
        "--to".to_owned(),
        at(day_end),
        "--count".to_owned(),
        "7".to_owned(),
    ];
    let (code, out) = run_python(&args, b"").await;
    assert_eq!(code, 0, "{out:#}");

    assert_eq!(out["capability"]["fhirVersion"], "4.0.1", "{out:#}");
    assert!(
        out["capability"]["resources"]["Appointment"]
            .as_array()
            .unwrap()
            .contains(&json!("read")),
        "{out:#}"
    );
    assert_eq!(
        out["capability"]["operations"],
        json!(["book", "find", "hold"])
    );
    assert_eq!(out["schedules"], json!([doctor.id.to_string()]));
    // The slots it found: free, the doctor's, and all the API's (over pages).
    let slots = out["slots"].as_array().unwrap();
    assert!(!slots.is_empty(), "{out:#}");
    assert!(out["slot_pages"].as_i64().unwrap() > 1, "{out:#}");
    assert!(slots.iter().all(|s| s["status"] == "free"));
    assert!(
        slots
            .iter()
            .all(|s| s["schedule"] == format!("Schedule/{}", doctor.id))
    );
    let api: Vec<String> = app
        .slots(doctor.id, &format!("?from={}&to={}", at(day), at(day_end)))
        .await;
    let found: Vec<Timestamp> = slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().parse().unwrap())
        .collect();
    let api: Vec<Timestamp> = api.iter().map(|s| s.parse().unwrap()).collect();
    // One slot is booked by now; before, the client saw every free one.
    assert_eq!(found.len(), api.len() + 1, "{out:#}");
    // Booked through $book, read back booked at the slot's start.
    assert_eq!(out["proposal"]["status"], "proposed");
    assert_eq!(out["book"]["http_status"], 200);
    assert!(
        out["book"]["content_type"]
            .as_str()
            .unwrap()
            .starts_with("application/fhir+json")
    );
    assert_eq!(out["book"]["status"], "booked");
    let back = &out["read_back"];
    assert_eq!(back["status"], "booked", "{out:#}");
    assert_eq!(back["id"], out["book"]["id"]);
    assert_eq!(back["start"], out["slot_start"]);
    assert_eq!(back["start"], slots[0]["start"]);
    assert_eq!(
        out["book"]["etag"],
        format!("W/\"{}\"", back["versionId"].as_str().unwrap())
    );
    assert!(
        back["participants"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("Patient/{}", patient.id)))
    );
    // The JSON API sees the same visit.
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", back["id"].as_str().unwrap()),
            Some(&patient.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "booked");
    assert_eq!(
        r.body["start"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        found[0]
    );
    out["resources"].as_array().unwrap().clone()
}

/// `Practitioner?_id=` and `Schedule?actor=` find a doctor wherever the
/// doctor is in the directory: not only within its first page (a first page
/// used to come back empty, with a `next` link, when the doctor was later).
async fn id_searches_span_the_directory(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let mut doctors = Vec::new();
    for _ in 0..3 {
        doctors.push(app.everyday_doctor(&admin).await.id);
    }
    let (first, last) = (doctors[0], doctors[2]);
    let mut s = Session::new(&app);
    let ids = |r: &Fhir| -> Vec<String> {
        r.entries()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let r = s
        .get(&format!("/Practitioner?_id={last}&_count=1"), None)
        .await;
    assert_eq!(ids(&r), vec![last.to_string()], "{}", r.body);
    assert_eq!(r.link("next"), None, "{}", r.body);
    let r = s
        .get(
            &format!("/Schedule?actor=Practitioner/{last}&_count=1"),
            None,
        )
        .await;
    assert_eq!(ids(&r), vec![last.to_string()], "{}", r.body);
    let r = s.get(&format!("/Schedule?_id={last}&_count=1"), None).await;
    assert_eq!(ids(&r), vec![last.to_string()], "{}", r.body);
    // Both given: each must match.
    let r = s
        .get(
            &format!("/Schedule?_id={first}&actor=Practitioner/{last}"),
            None,
        )
        .await;
    assert!(ids(&r).is_empty(), "{}", r.body);
    // Two asked for, one to a page: the second on the next page.
    let r = s
        .get(&format!("/Practitioner?_id={first},{last}&_count=1"), None)
        .await;
    assert_eq!(ids(&r), vec![first.to_string()], "{}", r.body);
    let next = r.link("next").expect("a next page");
    let r = s.get(&next, None).await;
    assert_eq!(ids(&r), vec![last.to_string()], "{}", r.body);
    assert_eq!(r.link("next"), None, "{}", r.body);

    let (code, report) = validate(&s.seen).await;
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(code, 0, "{report:#}");
}
