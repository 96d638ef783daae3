//! Who may see and do what: every endpoint against six callers (anonymous,
//! patient A, patient B, doctor X, doctor Y and an admin), expressed as a table.
//!
//! The world: doctors X and Y work every day; patient A has a visit with X more
//! than two days ahead; patient B has no visit with X. Rows that change state
//! run each caller against a fresh target (a fresh appointment, time off or
//! session), and a refused call must leave its record as it was.

use crate::helpers::{
    Backend, Resp, TestApp, User, client, next_phone, rand_u64, spawn_app, spawn_app_with,
};
use jiff::SignedDuration;
use medimeet::config::Settings;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicI64, Ordering};

const WHO: [&str; 6] = [
    "anonymous",
    "patient A",
    "patient B",
    "doctor X",
    "doctor Y",
    "admin",
];
const ANON: usize = 0;
const PATIENT_A: usize = 1;
const PATIENT_B: usize = 2;
const DOCTOR_X: usize = 3;
const DOCTOR_Y: usize = 4;
const ADMIN: usize = 5;

const EVERY_DAY: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The people and records every authorization test starts from.
struct World {
    app: TestApp,
    admin: User,
    x: User,
    y: User,
    a: User,
    b: User,
    /// Login bodies per identity (none for anonymous), for fresh sessions.
    creds: [Option<Value>; 6],
    /// Patient A's visit with doctor X.
    appt: i64,
    /// A time off of doctor X.
    time_off: i64,
    /// The next day (counted from today) on which to book a fresh visit.
    next_day: AtomicI64,
    next_time_off: AtomicI64,
}

impl World {
    async fn new(app: TestApp) -> World {
        let admin = app.new_admin().await;
        let x = app.everyday_doctor(&admin).await;
        let y = app.everyday_doctor(&admin).await;
        let a = app.new_patient().await;
        let b = app.new_patient().await;
        let start = app.later_slots(x.id).await[0].clone();
        let r = app.book(&a, x.id, &start).await;
        assert_eq!(r.status, 201, "book: {}", r.body);
        let appt = r.body["id"].as_i64().expect("appointment id");

        let mut creds: [Option<Value>; 6] = Default::default();
        for (who, user, password, key) in [
            (PATIENT_A, &a, "long enough pw", "phone"),
            (PATIENT_B, &b, "long enough pw", "phone"),
            (DOCTOR_X, &x, "doctor password", "email"),
            (DOCTOR_Y, &y, "doctor password", "email"),
            (ADMIN, &admin, "admin password", "email"),
        ] {
            let me = app.get("/api/v1/me", Some(&user.token)).await;
            assert_eq!(me.status, 200, "me: {}", me.body);
            let login = me.body["login"].as_str().expect("login").to_owned();
            creds[who] = Some(json!({key: login, "password": password}));
        }

        let mut world = World {
            app,
            admin,
            x,
            y,
            a,
            b,
            creds,
            appt,
            time_off: 0,
            next_day: AtomicI64::new(4),
            next_time_off: AtomicI64::new(0),
        };
        world.time_off = world.fresh_time_off().await;
        world
    }

    fn user(&self, who: usize) -> Option<&User> {
        match who {
            PATIENT_A => Some(&self.a),
            PATIENT_B => Some(&self.b),
            DOCTOR_X => Some(&self.x),
            DOCTOR_Y => Some(&self.y),
            ADMIN => Some(&self.admin),
            ANON => None,
            _ => None,
        }
    }

    fn token(&self, who: usize) -> Option<String> {
        self.user(who).map(|u| u.token.clone())
    }

    /// Logs the identity in again (a new session), or none for anonymous.
    async fn fresh_token(&self, who: usize) -> Option<String> {
        match &self.creds[who] {
            Some(c) => Some(self.app.login(c.clone()).await),
            None => None,
        }
    }

    /// Logs everyone in again, e.g. after the clock moved past their sessions.
    async fn log_in_again(&mut self) {
        for who in [PATIENT_A, PATIENT_B, DOCTOR_X, DOCTOR_Y, ADMIN] {
            let token = self.fresh_token(who).await.expect("token");
            match who {
                PATIENT_A => self.a.token = token,
                PATIENT_B => self.b.token = token,
                DOCTOR_X => self.x.token = token,
                DOCTOR_Y => self.y.token = token,
                _ => self.admin.token = token,
            }
        }
    }

    /// The UTC date `days` from now, `YYYY-MM-DD`.
    fn date_in(&self, days: i64) -> String {
        let t = self.app.clock.now() + SignedDuration::from_hours(24 * days);
        t.to_string()[..10].to_owned()
    }

    /// Free slots of a doctor on the UTC day `days` from now.
    async fn slots_on_day(&self, doctor: i64, days: i64) -> Vec<String> {
        let date = self.date_in(days);
        let slots = self
            .app
            .slots(
                doctor,
                &format!("?from={date}T00:00:00Z&to={date}T23:59:00Z"),
            )
            .await;
        assert!(slots.len() >= 2, "free slots on {date}: {slots:?}");
        slots
    }

    /// A free slot of doctor X on a day no other fresh target uses.
    async fn fresh_slot(&self) -> String {
        let day = self.next_day.fetch_add(1, Ordering::Relaxed);
        self.slots_on_day(self.x.id, day).await[0].clone()
    }

    /// A fresh visit of patient A with doctor X on a day of its own, and another
    /// free slot that day (to reschedule to).
    async fn fresh_appointment(&self) -> (i64, String) {
        let day = self.next_day.fetch_add(1, Ordering::Relaxed);
        let slots = self.slots_on_day(self.x.id, day).await;
        let r = self.app.book(&self.a, self.x.id, &slots[0]).await;
        assert_eq!(r.status, 201, "fresh appointment: {}", r.body);
        let id = r.body["id"].as_i64().expect("appointment id");
        (id, slots[slots.len() - 1].clone())
    }

    /// A fresh time off of doctor X, far ahead so it blocks no slot the tests use.
    async fn fresh_time_off(&self) -> i64 {
        let n = self.next_time_off.fetch_add(1, Ordering::Relaxed);
        let date = self.date_in(85);
        let r = self
            .app
            .post(
                &format!("/api/v1/doctors/{}/time-off", self.x.id),
                Some(&self.admin.token),
                json!({"start": format!("{date}T{:02}:00:00Z", n % 20),
                       "end": format!("{date}T{:02}:30:00Z", n % 20),
                       "reason": "private reason"}),
            )
            .await;
        assert_eq!(r.status, 201, "time off: {}", r.body);
        r.body["id"].as_i64().expect("time off id")
    }

    fn path(&self, template: &str, fresh: i64) -> String {
        template
            .replace("{A}", &self.a.id.to_string())
            .replace("{B}", &self.b.id.to_string())
            .replace("{X}", &self.x.id.to_string())
            .replace("{Y}", &self.y.id.to_string())
            .replace("{appt}", &self.appt.to_string())
            .replace("{time_off}", &self.time_off.to_string())
            .replace("{fresh}", &fresh.to_string())
    }

    /// What a record looks like to its owner, to tell whether a call changed it.
    async fn witness(&self, w: Witness, target: i64) -> Value {
        let app = &self.app;
        match w {
            Witness::Nothing => Value::Null,
            Witness::PatientA => {
                let path = format!("/api/v1/patients/{}", self.a.id);
                app.get(&path, Some(&self.a.token)).await.body
            }
            Witness::PatientB => {
                let path = format!("/api/v1/patients/{}", self.b.id);
                app.get(&path, Some(&self.b.token)).await.body
            }
            Witness::DoctorX => {
                let path = format!("/api/v1/doctors/{}", self.x.id);
                app.get(&path, Some(&self.admin.token)).await.body
            }
            Witness::AvailabilityX => {
                let path = format!("/api/v1/doctors/{}/availability", self.x.id);
                app.get(&path, None).await.body
            }
            Witness::TimeOffX => {
                let path = format!("/api/v1/doctors/{}/time-off", self.x.id);
                app.get(&path, Some(&self.x.token)).await.body
            }
            Witness::TakenSlotsX => json!(app.active_slot_count(self.x.id).await),
            Witness::Doctors => {
                let path = "/api/v1/doctors?include_inactive=true&limit=200";
                let items = app.get(path, Some(&self.admin.token)).await.body["items"].clone();
                json!(items.as_array().map(Vec::len))
            }
            Witness::Target => {
                let path = format!("/api/v1/appointments/{target}");
                app.get(&path, Some(&self.a.token)).await.body
            }
        }
    }
}

/// Sends a request like `TestApp::call`, but reports a 500 instead of panicking
/// so one table run lists every mismatch.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut req = client().request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        headers,
        body,
    }
}

/// The stable code a status implies in the authorization table.
fn code_for(status: u16) -> Option<&'static str> {
    match status {
        401 => Some("unauthenticated"),
        403 => Some("forbidden"),
        404 => Some("not_found"),
        _ => None,
    }
}

/// Checks that a 4xx answer is a problem document with the expected code.
fn problem_mismatch(r: &Resp, status: u16) -> Option<String> {
    if r.content_type() != "application/problem+json" {
        return Some(format!("content type {:?}", r.content_type()));
    }
    match code_for(status) {
        Some(code) if r.code() != code => Some(format!("code {:?}, expected {code:?}", r.code())),
        None if r.code().is_empty() => Some("no code".to_owned()),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug)]
enum Fresh {
    /// The shared records of the world.
    Nothing,
    /// A fresh visit of patient A with doctor X per caller (`{fresh}`).
    Appointment,
    /// A fresh time off of doctor X per caller (`{fresh}`).
    TimeOff,
    /// A fresh free slot of doctor X per caller (in `Target::slot`).
    Slot,
    /// A fresh session of the caller, used instead of their usual token.
    Session,
}

#[derive(Clone, Copy, Debug)]
enum Witness {
    Nothing,
    PatientA,
    PatientB,
    DoctorX,
    AvailabilityX,
    TimeOffX,
    TakenSlotsX,
    Doctors,
    /// The fresh (or shared) appointment, as patient A sees it.
    Target,
}

/// What a row's body may depend on.
struct Target<'a> {
    world: &'a World,
    who: usize,
    /// A free slot for `Fresh::Slot`, or another free slot the fresh visit's day.
    slot: String,
}

type BodyFn = fn(&Target) -> Value;

struct Row {
    method: Method,
    path: &'static str,
    body: Option<BodyFn>,
    fresh: Fresh,
    witness: Witness,
    /// Expected status for anonymous, A, B, X, Y and admin.
    expect: [u16; 6],
}

fn row(method: Method, path: &'static str, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        body: None,
        fresh: Fresh::Nothing,
        witness: Witness::Nothing,
        expect,
    }
}

impl Row {
    fn body(mut self, f: BodyFn) -> Row {
        self.body = Some(f);
        self
    }

    fn fresh(mut self, f: Fresh) -> Row {
        self.fresh = f;
        self
    }

    fn witness(mut self, w: Witness) -> Row {
        self.witness = w;
        self
    }
}

fn weekly_every_day() -> Vec<Value> {
    EVERY_DAY
        .iter()
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "18:00"}))
        .collect()
}

/// Runs the rows for every caller and returns every mismatch.
async fn run(world: &World, rows: &[Row]) -> Vec<String> {
    let mut mismatches = Vec::new();
    for row in rows {
        for (who, &expected) in row.expect.iter().enumerate() {
            let (fresh, slot) = match row.fresh {
                Fresh::Appointment => world.fresh_appointment().await,
                Fresh::TimeOff => (world.fresh_time_off().await, String::new()),
                Fresh::Slot => (0, world.fresh_slot().await),
                Fresh::Nothing | Fresh::Session => (world.appt, String::new()),
            };
            let token = match row.fresh {
                Fresh::Session => world.fresh_token(who).await,
                _ => world.token(who),
            };
            let path = world.path(row.path, fresh);
            let target = Target { world, who, slot };
            let body = row.body.map(|f| f(&target));
            let before = world.witness(row.witness, fresh).await;
            let r = send(
                &world.app,
                row.method.clone(),
                &path,
                token.as_deref(),
                body,
            )
            .await;
            let what = format!("{} {path} as {}", row.method, WHO[who]);
            let got = r.status.as_u16();
            if got != expected {
                mismatches.push(format!(
                    "{what}: expected {expected}, got {got}: {}",
                    r.body
                ));
            } else if got >= 400
                && let Some(why) = problem_mismatch(&r, got)
            {
                mismatches.push(format!("{what}: {got} but {why}: {}", r.body));
            }
            if !(200..300).contains(&expected) {
                let after = world.witness(row.witness, fresh).await;
                if before != after {
                    mismatches.push(format!(
                        "{what}: refused, yet the record changed from {before} to {after}"
                    ));
                }
            }
        }
    }
    mismatches
}

fn report(mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} authorization mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

// Bodies of the matrix rows.

fn login_a(t: &Target) -> Value {
    t.world.creds[PATIENT_A].clone().unwrap_or_default()
}

fn new_patient(_: &Target) -> Value {
    json!({"first_name": "New", "last_name": "Patient", "phone": next_phone(),
           "password": "long enough pw", "date_of_birth": "1985-05-05"})
}

fn new_doctor(_: &Target) -> Value {
    json!({"email": format!("new{}@clinic.test", rand_u64() % 1_000_000_000),
           "password": "doctor password", "first_name": "New", "last_name": "Doctor",
           "specialty": "Oncology", "experience_years": 3, "timezone": "UTC", "fee": "40.00"})
}

fn rename_first(t: &Target) -> Value {
    json!({"first_name": format!("Renamed by {}", WHO[t.who])})
}

fn rename_last(t: &Target) -> Value {
    json!({"last_name": format!("Renamed by {}", WHO[t.who])})
}

fn experience(t: &Target) -> Value {
    json!({"experience_years": 20 + t.who})
}

/// The same hours, and a closed day far ahead that differs per caller.
fn hours(t: &Target) -> Value {
    let closed = t.world.date_in(70 + i64::try_from(t.who).unwrap_or(0));
    json!({"visit_minutes": 30, "weekly": weekly_every_day(),
           "overrides": [{"date": closed, "intervals": []}]})
}

fn time_off(t: &Target) -> Value {
    let date = t.world.date_in(86);
    json!({"start": format!("{date}T10:00:00Z"), "end": format!("{date}T11:00:00Z"),
           "reason": format!("added by {}", WHO[t.who])})
}

fn cancel_reason(t: &Target) -> Value {
    json!({"reason": format!("cancelled by {}", WHO[t.who])})
}

fn move_to_slot(t: &Target) -> Value {
    json!({"start": t.slot})
}

fn book_slot(t: &Target) -> Value {
    json!({"doctor_id": t.world.x.id, "start": t.slot, "reason": "matrix"})
}

/// The matrix. Every state-changing row uses fresh targets (or only the allowed
/// callers change anything), and a refused call is checked to change nothing.
#[rustfmt::skip]
fn matrix() -> Vec<Row> {
    use Fresh::{Appointment, Session, Slot, TimeOff};
    use Method as M;
    use Witness as W;
    vec![
        //  method     path                                            anon  A    B    X    Y   admin
        // A login ends the session it came with (decision 0026): a fresh one.
        row(M::POST,   "/api/v1/sessions",                            [201, 201, 201, 201, 201, 201]).body(login_a).fresh(Session),
        row(M::DELETE, "/api/v1/sessions/current",                    [401, 204, 204, 204, 204, 204]).fresh(Session),
        row(M::GET,    "/api/v1/me",                                  [401, 200, 200, 200, 200, 200]),

        row(M::POST,   "/api/v1/patients",                            [201, 201, 201, 201, 201, 201]).body(new_patient),
        row(M::GET,    "/api/v1/patients/{A}",                        [401, 200, 404, 200, 404, 200]),
        row(M::GET,    "/api/v1/patients/{B}",                        [401, 404, 200, 404, 404, 200]),
        row(M::PATCH,  "/api/v1/patients/{A}",                        [401, 200, 404, 403, 404, 200]).body(rename_first).witness(W::PatientA),
        row(M::PATCH,  "/api/v1/patients/{B}",                        [401, 404, 200, 404, 404, 200]).body(rename_last).witness(W::PatientB),

        row(M::GET,    "/api/v1/doctors",                             [200, 200, 200, 200, 200, 200]),
        row(M::POST,   "/api/v1/doctors",                             [401, 403, 403, 403, 403, 201]).body(new_doctor).witness(W::Doctors),
        row(M::GET,    "/api/v1/doctors/{X}",                         [200, 200, 200, 200, 200, 200]),
        row(M::PATCH,  "/api/v1/doctors/{X}",                         [401, 403, 403, 403, 403, 200]).body(experience).witness(W::DoctorX),
        row(M::GET,    "/api/v1/specialties",                         [200, 200, 200, 200, 200, 200]),
        row(M::GET,    "/api/v1/doctors/{X}/availability",            [200, 200, 200, 200, 200, 200]),
        row(M::PUT,    "/api/v1/doctors/{X}/availability",            [401, 403, 403, 200, 403, 200]).body(hours).witness(W::AvailabilityX),
        row(M::GET,    "/api/v1/doctors/{X}/time-off",                [401, 404, 404, 200, 404, 200]),
        row(M::POST,   "/api/v1/doctors/{X}/time-off",                [401, 404, 404, 201, 404, 201]).body(time_off).witness(W::TimeOffX),
        row(M::DELETE, "/api/v1/doctors/{X}/time-off/{fresh}",        [401, 404, 404, 204, 404, 204]).fresh(TimeOff).witness(W::TimeOffX),
        // X's time off through Y's path: nobody reaches it that way.
        row(M::DELETE, "/api/v1/doctors/{Y}/time-off/{fresh}",        [401, 404, 404, 404, 404, 404]).fresh(TimeOff).witness(W::TimeOffX),
        row(M::GET,    "/api/v1/doctors/{X}/slots",                   [200, 200, 200, 200, 200, 200]),

        row(M::GET,    "/api/v1/appointments",                        [401, 200, 200, 200, 200, 200]),
        row(M::GET,    "/api/v1/appointments/{appt}",                 [401, 200, 404, 200, 404, 200]),
        row(M::POST,   "/api/v1/appointments/{fresh}/cancel",         [401, 200, 404, 200, 404, 200]).body(cancel_reason).fresh(Appointment).witness(W::Target),
        row(M::POST,   "/api/v1/appointments/{fresh}/reschedule",     [401, 200, 404, 200, 404, 200]).body(move_to_slot).fresh(Appointment).witness(W::Target),
        // The visit is days ahead: staff hear it has not started (409); the
        // patient may see it but never run the visit flow (403).
        row(M::POST,   "/api/v1/appointments/{fresh}/start",          [401, 403, 404, 409, 404, 409]).fresh(Appointment).witness(W::Target),
        row(M::POST,   "/api/v1/appointments/{fresh}/complete",       [401, 403, 404, 409, 404, 409]).fresh(Appointment).witness(W::Target),
        row(M::POST,   "/api/v1/appointments/{fresh}/no-show",        [401, 403, 404, 409, 404, 409]).fresh(Appointment).witness(W::Target),

        row(M::GET,    "/api/v1/audit",                               [401, 404, 404, 404, 404, 200]),

        // Last: booking gives patient B a visit with X, which would change what
        // X may see of B in the rows above.
        row(M::POST,   "/api/v1/appointments",                        [401, 201, 201, 403, 403, 403]).body(book_slot).fresh(Slot).witness(W::TakenSlotsX),
    ]
}

async fn every_endpoint_answers_each_caller_as_the_matrix_says(backend: Backend) {
    let world = World::new(spawn_app(backend).await).await;
    let rows = matrix();
    let mismatches = run(&world, &rows).await;
    report(&mismatches);

    // The shared records were left alone by everyone.
    let r = world
        .app
        .get(
            &format!("/api/v1/appointments/{}", world.appt),
            Some(&world.a.token),
        )
        .await;
    assert_eq!(r.body["status"], "booked", "{}", r.body);
    let r = world
        .app
        .get(
            &format!("/api/v1/doctors/{}/time-off", world.x.id),
            Some(&world.x.token),
        )
        .await;
    let ids: Vec<i64> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["id"].as_i64())
        .collect();
    assert!(ids.contains(&world.time_off), "{ids:?}");
}

async fn the_visit_flow_is_for_the_doctor_and_admins_once_the_visit_has_begun(backend: Backend) {
    let mut world = World::new(spawn_app(backend).await).await;
    let actions = ["start", "complete", "no-show"];
    // One fresh visit per action and caller, each on a day of its own.
    let mut targets = Vec::new();
    for _ in actions {
        let mut per_caller = Vec::new();
        for _ in WHO {
            per_caller.push(world.fresh_appointment().await.0);
        }
        targets.push(per_caller);
    }
    // Move past all of them: every visit has begun. Log in again, in case the
    // sessions have expired on the way.
    let last_day = world.next_day.load(Ordering::Relaxed);
    world.app.clock.advance((last_day + 1) * 86_400);
    world.log_in_again().await;

    let expect = [401, 403, 404, 200, 404, 200];
    let mut mismatches = Vec::new();
    for (action, ids) in actions.iter().zip(&targets) {
        for (who, id) in ids.iter().enumerate() {
            let path = format!("/api/v1/appointments/{id}/{action}");
            let token = world.token(who);
            let before = world.witness(Witness::Target, *id).await;
            let r = send(&world.app, Method::POST, &path, token.as_deref(), None).await;
            let got = r.status.as_u16();
            let what = format!("POST {path} as {}", WHO[who]);
            if got != expect[who] {
                mismatches.push(format!(
                    "{what}: expected {}, got {got}: {}",
                    expect[who], r.body
                ));
                continue;
            }
            if got >= 400 {
                if let Some(why) = problem_mismatch(&r, got) {
                    mismatches.push(format!("{what}: {why}"));
                }
                let after = world.witness(Witness::Target, *id).await;
                if before != after {
                    mismatches.push(format!("{what}: refused, yet {before} became {after}"));
                }
            } else {
                let status = match *action {
                    "start" => "in_progress",
                    "complete" => "completed",
                    _ => "no_show",
                };
                if r.body["status"] != status {
                    mismatches.push(format!(
                        "{what}: status {}, expected {status}",
                        r.body["status"]
                    ));
                }
            }
        }
    }
    report(&mismatches);
}

async fn a_doctor_sees_a_patient_only_after_a_booking_and_staff_reads_are_audited(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let other = app.everyday_doctor(&admin).await;
    let p = app.new_patient().await;
    let profile = format!("/api/v1/patients/{}", p.id);

    app.get(&profile, Some(&doctor.token))
        .await
        .assert_problem(404, "not_found");

    let start = app.later_slots(doctor.id).await[0].clone();
    let booked = app.book(&p, doctor.id, &start).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let appt = booked.body["id"].as_i64().expect("id");

    let seen = app.get(&profile, Some(&doctor.token)).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["id"], p.id);
    // Another doctor still cannot.
    app.get(&profile, Some(&other.token))
        .await
        .assert_problem(404, "not_found");
    // The patient reads their own profile; the admin reads it too.
    assert_eq!(app.get(&profile, Some(&p.token)).await.status, 200);
    assert_eq!(app.get(&profile, Some(&admin.token)).await.status, 200);

    // A patient who had a visit stays the doctor's patient after cancelling.
    let c = app
        .post(
            &format!("/api/v1/appointments/{appt}/cancel"),
            Some(&p.token),
            json!({}),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(app.get(&profile, Some(&doctor.token)).await.status, 200);
    assert_eq!(app.get(&profile, Some(&p.token)).await.status, 200);

    let account = |u: &User| {
        let app = &app;
        let token = u.token.clone();
        async move {
            let me = app.get("/api/v1/me", Some(&token)).await;
            me.body["account_id"].as_i64().expect("account id")
        }
    };
    let (doctor_acc, admin_acc, patient_acc) = (
        account(&doctor).await,
        account(&admin).await,
        account(&p).await,
    );

    let log = app
        .get(
            &format!("/api/v1/audit?entity=patient&entity_id={}", p.id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let reads: Vec<(Option<i64>, i64)> = log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "read")
        .map(|e| {
            (
                e["actor_account_id"].as_i64(),
                e["entity_id"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let by = |acc: i64| reads.iter().filter(|(a, _)| *a == Some(acc)).count();
    assert_eq!(by(doctor_acc), 2, "two reads by the doctor: {reads:?}");
    assert_eq!(by(admin_acc), 1, "one read by the admin: {reads:?}");
    assert_eq!(
        by(patient_acc),
        0,
        "the patient's own reads are not audited: {reads:?}"
    );
    assert_eq!(
        reads.len(),
        3,
        "the refused reads are not audited: {reads:?}"
    );
    assert!(reads.iter().all(|(_, id)| *id == p.id));
}

async fn appointment_lists_show_each_caller_only_their_own(backend: Backend) {
    let world = World::new(spawn_app(backend).await).await;
    let app = &world.app;
    // Patient B books with doctor Y.
    let start = world.slots_on_day(world.y.id, 5).await[0].clone();
    let r = app.book(&world.b, world.y.id, &start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b_appt = r.body["id"].as_i64().expect("id");

    let ids = |path: String, token: String| async move {
        let r = app.get(&path, Some(&token)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let mut ids: Vec<i64> = r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|a| a["id"].as_i64())
            .collect();
        ids.sort_unstable();
        ids
    };
    let list = "/api/v1/appointments".to_owned();
    assert_eq!(
        ids(list.clone(), world.a.token.clone()).await,
        vec![world.appt]
    );
    assert_eq!(ids(list.clone(), world.b.token.clone()).await, vec![b_appt]);
    assert_eq!(
        ids(list.clone(), world.x.token.clone()).await,
        vec![world.appt]
    );
    assert_eq!(ids(list.clone(), world.y.token.clone()).await, vec![b_appt]);
    let mut both = vec![world.appt, b_appt];
    both.sort_unstable();
    assert_eq!(ids(list, world.admin.token.clone()).await, both);

    // Filters that only admins may use do not widen anyone else's view.
    let others = format!("/api/v1/appointments?patient_id={}", world.b.id);
    assert!(!ids(others, world.a.token.clone()).await.contains(&b_appt));
    let others = format!("/api/v1/appointments?doctor_id={}", world.y.id);
    assert!(!ids(others, world.x.token.clone()).await.contains(&b_appt));
    let admin_filter = format!("/api/v1/appointments?patient_id={}", world.b.id);
    assert_eq!(
        ids(admin_filter, world.admin.token.clone()).await,
        vec![b_appt]
    );

    app.get(
        &format!("/api/v1/appointments/{b_appt}"),
        Some(&world.a.token),
    )
    .await
    .assert_problem(404, "not_found");
    app.get(
        &format!("/api/v1/appointments/{b_appt}"),
        Some(&world.x.token),
    )
    .await
    .assert_problem(404, "not_found");
    // An id that does not exist looks exactly like one that is not yours.
    let missing = app
        .get("/api/v1/appointments/999999", Some(&world.a.token))
        .await;
    let hidden = app
        .get(
            &format!("/api/v1/appointments/{b_appt}"),
            Some(&world.a.token),
        )
        .await;
    missing.assert_problem(404, "not_found");
    assert_eq!(missing.body, hidden.body);
}

async fn a_bad_or_expired_token_is_401_on_every_protected_endpoint(backend: Backend) {
    // The production session length (12 hours), not the tests' long one.
    let world = World::new(spawn_app_with(backend, Settings::default()).await).await;
    let app = &world.app;
    let protected: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/me".into(), None),
        (Method::DELETE, "/api/v1/sessions/current".into(), None),
        (Method::GET, world.path("/api/v1/patients/{A}", 0), None),
        (
            Method::PATCH,
            world.path("/api/v1/patients/{A}", 0),
            Some(json!({"first_name": "Z"})),
        ),
        (Method::POST, "/api/v1/doctors".into(), Some(json!({}))),
        (
            Method::PATCH,
            world.path("/api/v1/doctors/{X}", 0),
            Some(json!({"active": false})),
        ),
        (
            Method::PUT,
            world.path("/api/v1/doctors/{X}/availability", 0),
            Some(json!({"visit_minutes": 30, "weekly": []})),
        ),
        (
            Method::GET,
            world.path("/api/v1/doctors/{X}/time-off", 0),
            None,
        ),
        (
            Method::POST,
            world.path("/api/v1/doctors/{X}/time-off", 0),
            Some(json!({"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"})),
        ),
        (
            Method::DELETE,
            world.path("/api/v1/doctors/{X}/time-off/{time_off}", 0),
            None,
        ),
        (Method::GET, "/api/v1/appointments".into(), None),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            Some(json!({"doctor_id": world.x.id, "start": "2030-01-01T09:00:00Z"})),
        ),
        (
            Method::GET,
            world.path("/api/v1/appointments/{appt}", 0),
            None,
        ),
        (
            Method::POST,
            world.path("/api/v1/appointments/{appt}/cancel", 0),
            Some(json!({})),
        ),
        (
            Method::POST,
            world.path("/api/v1/appointments/{appt}/reschedule", 0),
            Some(json!({"start": "2030-01-01T09:00:00Z"})),
        ),
        (
            Method::POST,
            world.path("/api/v1/appointments/{appt}/start", 0),
            None,
        ),
        (
            Method::POST,
            world.path("/api/v1/appointments/{appt}/complete", 0),
            None,
        ),
        (
            Method::POST,
            world.path("/api/v1/appointments/{appt}/no-show", 0),
            None,
        ),
        (Method::GET, "/api/v1/audit".into(), None),
    ];
    let mut mismatches = Vec::new();
    let mut check = |label: &str, r: Resp, method: &Method, path: &str| {
        if r.status != 401
            || r.code() != "unauthenticated"
            || r.content_type() != "application/problem+json"
        {
            mismatches.push(format!(
                "{method} {path} with {label}: {} {}",
                r.status, r.body
            ));
        }
    };
    for (method, path, body) in &protected {
        let r = send(
            app,
            method.clone(),
            path,
            Some("not-a-real-token"),
            body.clone(),
        )
        .await;
        check("a made-up token", r, method, path);
        let r = send(app, method.clone(), path, None, body.clone()).await;
        check("no token", r, method, path);
    }
    // Sessions last 12 hours by default: a day later every token has expired.
    app.clock.advance(24 * 3600);
    for (method, path, body) in &protected {
        let r = send(
            app,
            method.clone(),
            path,
            Some(&world.admin.token),
            body.clone(),
        )
        .await;
        check("an expired admin token", r, method, path);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // Nothing changed: the visit is still booked.
    let token = world.fresh_token(PATIENT_A).await.expect("token");
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", world.appt),
            Some(&token),
        )
        .await;
    assert_eq!(r.body["status"], "booked", "{}", r.body);
    assert_eq!(app.active_slot_count(world.x.id).await, 1);
}

async fn a_doctors_login_is_shown_only_to_that_doctor_and_admins(backend: Backend) {
    let world = World::new(spawn_app(backend).await).await;
    let app = &world.app;
    let path = format!("/api/v1/doctors/{}", world.x.id);
    let mut leaks = Vec::new();
    for (who, name) in WHO.iter().enumerate() {
        let token = world.token(who);
        let one = app.get(&path, token.as_deref()).await;
        assert_eq!(one.status, 200, "{}", one.body);
        let shown = one.body.get("email").is_some_and(|e| !e.is_null());
        if shown != matches!(who, DOCTOR_X | ADMIN) {
            leaks.push(format!("GET {path} as {name}: email shown = {shown}"));
        }
        let list = app.get("/api/v1/doctors", token.as_deref()).await;
        for d in list.body["items"].as_array().expect("items") {
            let shown = d.get("email").is_some_and(|e| !e.is_null());
            let own = d["id"] == world.x.id && who == DOCTOR_X;
            if shown && !(who == ADMIN || own) {
                leaks.push(format!(
                    "GET /api/v1/doctors as {name}: email of {}",
                    d["id"]
                ));
            }
        }
    }
    report(&leaks);
}

crate::both_backends!(
    every_endpoint_answers_each_caller_as_the_matrix_says,
    the_visit_flow_is_for_the_doctor_and_admins_once_the_visit_has_begun,
    a_doctor_sees_a_patient_only_after_a_booking_and_staff_reads_are_audited,
    appointment_lists_show_each_caller_only_their_own,
    a_bad_or_expired_token_is_401_on_every_protected_endpoint,
    a_doctors_login_is_shown_only_to_that_doctor_and_admins,
);
