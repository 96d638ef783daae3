//! Malformed input, endpoint by endpoint: every bad request is a 4xx problem
//! document with a stable code, never a 500, and changes nothing.

use crate::helpers::{Backend, Resp, TestApp, User, client, next_phone, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Who {
    Anon,
    Patient,
    Doctor,
    Admin,
}

enum Body {
    Empty,
    Json(Value),
    /// Sent as is with `Content-Type: application/json`.
    Raw(String),
    /// Sent as is with `Content-Type: text/plain`.
    Text(String),
}

struct Case {
    who: Who,
    method: Method,
    path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
    status: u16,
    code: &'static str,
}

fn case(who: Who, method: Method, path: &str, body: Body, status: u16, code: &'static str) -> Case {
    Case {
        who,
        method,
        path: path.to_owned(),
        body,
        headers: Vec::new(),
        status,
        code,
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: String) -> Case {
        self.headers.push((name, value));
        self
    }
}

fn j(v: Value) -> Body {
    Body::Json(v)
}

fn raw(s: &str) -> Body {
    Body::Raw(s.to_owned())
}

/// The records the cases aim at.
struct World {
    app: TestApp,
    admin: User,
    doctor: User,
    patient: User,
    appt: i64,
    appt_start: String,
    time_off: i64,
    /// A valid phone used by every refused registration; registered at the end.
    phone: String,
}

impl World {
    async fn new(backend: Backend) -> World {
        let app = spawn_app(backend).await;
        let admin = app.new_admin().await;
        let doctor = app.everyday_doctor(&admin).await;
        let patient = app.new_patient().await;
        let appt_start = app.later_slots(doctor.id).await[0].clone();
        let r = app.book(&patient, doctor.id, &appt_start).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let appt = r.body["id"].as_i64().expect("id");
        let r = app
            .post(
                &format!("/api/v1/doctors/{}/time-off", doctor.id),
                Some(&doctor.token),
                json!({"start": "2031-01-01T00:00:00Z", "end": "2031-01-02T00:00:00Z"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let time_off = r.body["id"].as_i64().expect("id");
        World {
            app,
            admin,
            doctor,
            patient,
            appt,
            appt_start,
            time_off,
            phone: next_phone(),
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anon => None,
            Who::Patient => Some(&self.patient.token),
            Who::Doctor => Some(&self.doctor.token),
            Who::Admin => Some(&self.admin.token),
        }
    }

    fn path(&self, template: &str) -> String {
        template
            .replace("{X}", &self.doctor.id.to_string())
            .replace("{A}", &self.patient.id.to_string())
            .replace("{appt}", &self.appt.to_string())
            .replace("{time_off}", &self.time_off.to_string())
    }

    /// Everything the cases could have changed, as its owners see it.
    async fn snapshot(&self) -> Value {
        let app = &self.app;
        let (x, a) = (self.doctor.id, self.patient.id);
        let admin = Some(self.admin.token.as_str());
        let appointments = app.get("/api/v1/appointments?limit=200", admin).await.body;
        let doctors = app
            .get("/api/v1/doctors?include_inactive=true&limit=200", admin)
            .await
            .body;
        json!({
            "appointment_count": appointments["items"].as_array().map(Vec::len),
            "appointments": appointments,
            "taken_slots": app.active_slot_count(x).await,
            "doctor_count": doctors["items"].as_array().map(Vec::len),
            "doctors": doctors,
            "patient": app.get(&format!("/api/v1/patients/{a}"), Some(&self.patient.token)).await.body,
            "availability": app.get(&format!("/api/v1/doctors/{x}/availability"), None).await.body,
            "time_off": app.get(&format!("/api/v1/doctors/{x}/time-off"), Some(&self.doctor.token)).await.body,
            "slots": app.later_slots(x).await,
        })
    }
}

/// Sends a case; a 500 is reported like any other mismatch.
async fn send(world: &World, c: &Case) -> Resp {
    let mut req = client().request(c.method.clone(), world.app.url(&world.path(&c.path)));
    if let Some(t) = world.token(c.who) {
        req = req.bearer_auth(t);
    }
    for (k, v) in &c.headers {
        req = req.header(*k, v);
    }
    req = match &c.body {
        Body::Empty => req,
        Body::Json(v) => req.json(v),
        Body::Raw(s) => req
            .header("content-type", "application/json")
            .body(s.clone()),
        Body::Text(s) => req.header("content-type", "text/plain").body(s.clone()),
    };
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

fn weekly(intervals: &[(&str, &str, &str)]) -> Value {
    intervals
        .iter()
        .map(|(d, s, e)| json!({"weekday": d, "start": s, "end": e}))
        .collect()
}

fn hours(visit: Value, weekly: Value) -> Value {
    json!({"visit_minutes": visit, "weekly": weekly})
}

/// The table: who sends what, and the status and code that must come back.
#[rustfmt::skip]
fn cases(w: &World) -> Vec<Case> {
    use Method as M;
    use Who::{Admin, Anon, Doctor, Patient};
    let huge = "x".repeat(70 * 1024);
    let long = "r".repeat(501);
    let phone = w.phone.as_str();
    let person = |field: &str, value: Value| {
        let mut b = json!({"first_name": "Val", "last_name": "Idation", "phone": phone,
                           "password": "long enough pw", "date_of_birth": "1990-01-01"});
        b[field] = value;
        j(b)
    };
    let doctor = |field: &str, value: Value| {
        let mut b = json!({"email": "valid.doctor@clinic.test", "password": "doctor password",
                           "first_name": "Val", "last_name": "Id", "specialty": "Cardiology",
                           "experience_years": 5, "timezone": "UTC", "fee": "50.00"});
        b[field] = value;
        j(b)
    };
    let monday = |s: &str, e: &str| weekly(&[("monday", s, e)]);
    let time_off = |start: &str, end: &str| j(json!({"start": start, "end": end}));
    let book = |field: &str, value: Value| {
        let mut b = json!({"doctor_id": w.doctor.id, "start": w.appt_start, "reason": "x"});
        b[field] = value;
        j(b)
    };
    let no_start = json!({"doctor_id": w.doctor.id, "reason": "x"});
    let slots = "/api/v1/doctors/{X}/slots";
    vec![
        // Sessions.
        case(Anon, M::POST, "/api/v1/sessions", raw(r#"{"phone": "#), 400, "malformed_json"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"phone": phone, "password": 5})), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"phone": phone})), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"phone": 2_125_550_143_i64, "password": "x"})), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!([])), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"password": "long enough pw"})), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"phone": phone, "email": "a@b.c", "password": "long enough pw"})), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"phone": "not a phone", "password": "long enough pw"})), 401, "invalid_credentials"),
        case(Anon, M::POST, "/api/v1/sessions", Body::Text(r#"{"phone": "x", "password": "y"}"#.into()), 415, "unsupported_media_type"),
        case(Anon, M::POST, "/api/v1/sessions", j(json!({"phone": phone, "password": huge})), 413, "body_too_large"),
        case(Anon, M::DELETE, "/api/v1/sessions/current", raw("{"), 401, "unauthenticated"),

        // Registration.
        case(Anon, M::POST, "/api/v1/patients", raw(r#"{"first_name": "A",}"#), 400, "malformed_json"),
        case(Anon, M::POST, "/api/v1/patients", raw("null"), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/patients", j(json!({"first_name": "A", "last_name": "B", "password": "long enough pw", "date_of_birth": "1990-01-01"})), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/patients", person("date_of_birth", json!(19_900_101)), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/patients", person("first_name", json!(["A"])), 422, "invalid_body"),
        case(Anon, M::POST, "/api/v1/patients", person("date_of_birth", json!("1990-02-30")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("date_of_birth", json!("1899-12-31")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("date_of_birth", json!("2999-01-01")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("date_of_birth", json!("01/02/1990")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("first_name", json!("n".repeat(101))), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("first_name", json!("Bad\u{7}Name")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("password", json!("p".repeat(300))), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("password", json!("short")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("email", json!("a@b")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("phone", json!("+999 12")), 422, "validation_failed"),
        case(Anon, M::POST, "/api/v1/patients", person("first_name", json!(huge)), 413, "body_too_large"),
        case(Anon, M::POST, "/api/v1/patients", Body::Text("first_name=A".into()), 415, "unsupported_media_type"),

        // Patient profiles.
        case(Admin, M::GET, "/api/v1/patients/abc", Body::Empty, 404, "not_found"),
        case(Admin, M::GET, "/api/v1/patients/99999999999999999999", Body::Empty, 404, "not_found"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", raw(r#"{"first_name": }"#), 400, "malformed_json"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", j(json!({"first_name": 5})), 422, "invalid_body"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", j(json!({"first_name": ""})), 422, "validation_failed"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", j(json!({"last_name": "l".repeat(101)})), 422, "validation_failed"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", j(json!({"email": "nope"})), 422, "validation_failed"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", j(json!({"first_name": "Fine", "email": "nope"})), 422, "validation_failed"),
        case(Patient, M::PATCH, "/api/v1/patients/{A}", j(json!({"first_name": huge})), 413, "body_too_large"),
        case(Admin, M::PATCH, "/api/v1/patients/abc", j(json!({"first_name": "X"})), 404, "not_found"),

        // The directory.
        case(Anon, M::GET, "/api/v1/doctors?limit=0", Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, "/api/v1/doctors?limit=1000", Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, "/api/v1/doctors?limit=-1", Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, "/api/v1/doctors?limit=abc", Body::Empty, 400, "invalid_query"),
        case(Anon, M::GET, "/api/v1/doctors?cursor=not-a-cursor", Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, "/api/v1/doctors?cursor=%25%25%25", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/doctors?include_inactive=maybe", Body::Empty, 400, "invalid_query"),
        case(Anon, M::GET, "/api/v1/doctors/abc", Body::Empty, 404, "not_found"),
        case(Anon, M::GET, "/api/v1/doctors/99999999999999999999", Body::Empty, 404, "not_found"),
        case(Anon, M::GET, "/api/v1/doctors/-1", Body::Empty, 404, "not_found"),

        // Onboarding and editing doctors.
        case(Admin, M::POST, "/api/v1/doctors", raw("{"), 400, "malformed_json"),
        case(Admin, M::POST, "/api/v1/doctors", j(json!({"email": "x@clinic.test"})), 422, "invalid_body"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("experience_years", json!("ten")), 422, "invalid_body"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("experience_years", json!(1e10)), 422, "invalid_body"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("experience_years", json!(99_999_999_999_i64)), 422, "invalid_body"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("experience_years", json!(200)), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("experience_years", json!(-1)), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("visit_minutes", json!(3)), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("visit_minutes", json!(10_000)), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("timezone", json!("Mars/Olympus_Mons")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("timezone", json!("")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("fee", json!("ten dollars")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("fee", json!("-5")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("fee", json!("1.005")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("fee", json!(50)), 422, "invalid_body"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("specialty", json!("X")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("email", json!("no-at-sign")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("password", json!("short")), 422, "validation_failed"),
        case(Admin, M::POST, "/api/v1/doctors", doctor("first_name", json!(huge)), 413, "body_too_large"),
        case(Admin, M::PATCH, "/api/v1/doctors/{X}", raw(r#"{"active": fals}"#), 400, "malformed_json"),
        case(Admin, M::PATCH, "/api/v1/doctors/{X}", j(json!({"active": "no"})), 422, "invalid_body"),
        case(Admin, M::PATCH, "/api/v1/doctors/{X}", j(json!({"experience_years": -1})), 422, "validation_failed"),
        case(Admin, M::PATCH, "/api/v1/doctors/{X}", j(json!({"timezone": "Nowhere/Land"})), 422, "validation_failed"),
        case(Admin, M::PATCH, "/api/v1/doctors/{X}", j(json!({"fee": "abc", "active": false})), 422, "validation_failed"),
        case(Admin, M::PATCH, "/api/v1/doctors/{X}", j(json!({"first_name": ""})), 422, "validation_failed"),
        case(Admin, M::PATCH, "/api/v1/doctors/abc", j(json!({"active": false})), 404, "not_found"),

        // Working hours.
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", raw(r#"{"visit_minutes": 30, "weekly": [}"#), 400, "malformed_json"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30})), 422, "invalid_body"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!("thirty"), monday("09:00", "12:00"))), 422, "invalid_body"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(99_999_999_999_i64), monday("09:00", "12:00"))), 422, "invalid_body"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "weekly": [{"weekday": "monday", "start": "09:00"}]})), 422, "invalid_body"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), weekly(&[("funday", "09:00", "12:00")]))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), monday("25:00", "26:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), monday("09:00", "25:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), monday("9am", "12:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), monday("09:60", "12:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), monday("12:00", "09:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), monday("09:00", "09:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), weekly(&[("monday", "09:00", "12:00"), ("monday", "11:00", "13:00")]))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(3), monday("09:00", "12:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(241), monday("09:00", "18:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(70_000), monday("09:00", "12:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(-30), monday("09:00", "12:00"))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "buffer_minutes": 500, "weekly": monday("09:00", "12:00")})), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "buffer_minutes": -5, "weekly": monday("09:00", "12:00")})), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(hours(json!(30), weekly(&[("monday", "00:00", "01:00"), ("monday", "01:00", "02:00"), ("monday", "02:00", "03:00"), ("monday", "03:00", "04:00"), ("monday", "04:00", "05:00"), ("monday", "05:00", "06:00"), ("monday", "06:00", "07:00"), ("monday", "07:00", "08:00"), ("monday", "08:00", "09:00")]))), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "weekly": [], "overrides": [{"date": "2030-02-30", "intervals": []}]})), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "weekly": [], "overrides": [{"date": "2030-03-01", "intervals": [{"start": "10:00", "end": "25:00"}]}]})), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "weekly": [], "overrides": [{"date": "2030-03-01", "intervals": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}]})), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "weekly": [], "overrides": [{"date": "2030-03-01", "intervals": []}, {"date": "2030-03-01", "intervals": []}]})), 422, "validation_failed"),
        case(Doctor, M::PUT, "/api/v1/doctors/{X}/availability", j(json!({"visit_minutes": 30, "weekly": [{"weekday": huge, "start": "09:00", "end": "10:00"}]})), 413, "body_too_large"),
        case(Admin, M::PUT, "/api/v1/doctors/abc/availability", j(hours(json!(30), monday("09:00", "12:00"))), 404, "not_found"),
        case(Anon, M::GET, "/api/v1/doctors/abc/availability", Body::Empty, 404, "not_found"),

        // Time off.
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", raw(r#"{"start": "2030-01-01T00:00:00Z" "end": "x"}"#), 400, "malformed_json"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", j(json!({"start": "2030-01-01T00:00:00Z"})), 422, "invalid_body"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", j(json!({"start": 1_893_456_000, "end": 1_893_459_600})), 422, "invalid_body"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", time_off("2030-01-01T09:00:00", "2030-01-01T17:00:00Z"), 422, "validation_failed"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", time_off("2030-01-01T09:00:00Z", "2030-01-01"), 422, "validation_failed"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", time_off("2030-01-02T09:00:00Z", "2030-01-01T09:00:00Z"), 422, "validation_failed"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", time_off("2030-01-01T09:00:00Z", "2030-01-01T09:00:00Z"), 422, "validation_failed"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", time_off("2030-01-01T00:00:00Z", "2032-01-01T00:00:00Z"), 422, "validation_failed"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", j(json!({"start": "2030-01-01T09:00:00Z", "end": "2030-01-01T10:00:00Z", "reason": long})), 422, "validation_failed"),
        case(Doctor, M::POST, "/api/v1/doctors/{X}/time-off", j(json!({"start": "2030-01-01T09:00:00Z", "end": "2030-01-01T10:00:00Z", "reason": huge})), 413, "body_too_large"),
        case(Admin, M::POST, "/api/v1/doctors/abc/time-off", time_off("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"), 404, "not_found"),
        case(Admin, M::GET, "/api/v1/doctors/abc/time-off", Body::Empty, 404, "not_found"),
        case(Doctor, M::DELETE, "/api/v1/doctors/{X}/time-off/abc", Body::Empty, 404, "not_found"),
        case(Doctor, M::DELETE, "/api/v1/doctors/{X}/time-off/99999999", Body::Empty, 404, "not_found"),
        case(Admin, M::DELETE, "/api/v1/doctors/abc/time-off/{time_off}", Body::Empty, 404, "not_found"),

        // Free slots.
        case(Anon, M::GET, &format!("{slots}?from=2030-01-01T09:00:00"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, &format!("{slots}?from=2030-01-01T09:00:00Z&to=2030-01-02T09:00:00"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, &format!("{slots}?from=yesterday"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, &format!("{slots}?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, &format!("{slots}?from=2030-01-01T00:00:00Z&to=2030-01-01T00:00:00Z"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, &format!("{slots}?from=2030-01-01T00:00:00Z&to=2030-03-05T00:00:00Z"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, &format!("{slots}?from=2030-01-01T00:00:00%2B01:00&to=2030-03-05T00:00:00%2B01:00"), Body::Empty, 422, "validation_failed"),
        case(Anon, M::GET, "/api/v1/doctors/abc/slots", Body::Empty, 404, "not_found"),
        case(Anon, M::GET, "/api/v1/doctors/99999999/slots", Body::Empty, 404, "not_found"),

        // Booking.
        case(Patient, M::POST, "/api/v1/appointments", raw(r#"{"doctor_id": 1, "start": }"#), 400, "malformed_json"),
        case(Patient, M::POST, "/api/v1/appointments", raw(""), 400, "malformed_json"),
        case(Patient, M::POST, "/api/v1/appointments", book("doctor_id", json!("x")), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments", book("doctor_id", json!(1e30)), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments", book("doctor_id", json!(null)), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments", j(no_start), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments", book("start", json!(1_893_456_000)), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments", book("start", json!(w.appt_start.trim_end_matches('Z'))), 422, "validation_failed"),
        case(Patient, M::POST, "/api/v1/appointments", book("start", json!("next tuesday")), 422, "validation_failed"),
        case(Patient, M::POST, "/api/v1/appointments", book("reason", json!(long)), 422, "validation_failed"),
        case(Patient, M::POST, "/api/v1/appointments", book("reason", json!(huge)), 413, "body_too_large"),
        case(Patient, M::POST, "/api/v1/appointments", book("doctor_id", json!(99_999_999)), 404, "not_found"),
        case(Patient, M::POST, "/api/v1/appointments", book("doctor_id", json!(-1)), 404, "not_found"),
        case(Patient, M::POST, "/api/v1/appointments", book("start", json!("2030-01-01T09:00:00Z")), 422, "not_a_free_slot"),
        case(Patient, M::POST, "/api/v1/appointments", book("reason", json!("fine")), 422, "validation_failed").header("Idempotency-Key", "k".repeat(201)),

        // Listing and reading appointments.
        case(Admin, M::GET, "/api/v1/appointments?status=bogus", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?status=booked,BOOKED", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?limit=0", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?limit=1000", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?limit=ten", Body::Empty, 400, "invalid_query"),
        case(Admin, M::GET, "/api/v1/appointments?cursor=garbage!!", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?cursor=MQ", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?from=soon", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?to=2030-01-01T00:00:00", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/appointments?doctor_id=abc", Body::Empty, 400, "invalid_query"),
        case(Patient, M::GET, "/api/v1/appointments/abc", Body::Empty, 404, "not_found"),
        case(Patient, M::GET, "/api/v1/appointments/1.5", Body::Empty, 404, "not_found"),
        case(Patient, M::GET, "/api/v1/appointments/-1", Body::Empty, 404, "not_found"),
        case(Admin, M::GET, "/api/v1/appointments/99999999999999999999", Body::Empty, 404, "not_found"),

        // Changing appointments.
        case(Patient, M::POST, "/api/v1/appointments/{appt}/cancel", raw(r#"{"reason": "#), 400, "malformed_json"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/cancel", j(json!({"reason": 5})), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/cancel", j(json!({"reason": ["busy"]})), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/cancel", j(json!({"reason": long})), 422, "validation_failed"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/cancel", j(json!({"reason": huge})), 413, "body_too_large"),
        case(Patient, M::POST, "/api/v1/appointments/abc/cancel", j(json!({})), 404, "not_found"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/reschedule", raw(r#"{"start" "x"}"#), 400, "malformed_json"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/reschedule", j(json!({})), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/reschedule", j(json!({"start": 5})), 422, "invalid_body"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/reschedule", j(json!({"start": w.appt_start.trim_end_matches('Z')})), 422, "validation_failed"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/reschedule", j(json!({"start": w.appt_start})), 422, "validation_failed"),
        case(Patient, M::POST, "/api/v1/appointments/{appt}/reschedule", j(json!({"start": huge})), 413, "body_too_large"),
        case(Patient, M::POST, "/api/v1/appointments/abc/reschedule", j(json!({"start": w.appt_start})), 404, "not_found"),
        case(Doctor, M::POST, "/api/v1/appointments/abc/start", Body::Empty, 404, "not_found"),
        case(Doctor, M::POST, "/api/v1/appointments/abc/complete", Body::Empty, 404, "not_found"),
        case(Doctor, M::POST, "/api/v1/appointments/abc/no-show", Body::Empty, 404, "not_found"),
        case(Doctor, M::POST, "/api/v1/appointments/99999999/start", Body::Empty, 404, "not_found"),

        // Methods and query strings the routes do not take.
        case(Anon, M::PUT, "/api/v1/me", j(json!({})), 405, "method_not_allowed"),
        case(Patient, M::DELETE, "/api/v1/appointments/{appt}", Body::Empty, 405, "method_not_allowed"),
        case(Admin, M::POST, "/api/v1/audit", j(json!({})), 405, "method_not_allowed"),
        case(Anon, M::GET, "/api/v1/doctors?limit=2&limit=3", Body::Empty, 400, "invalid_query"),
        case(Anon, M::GET, &format!("{slots}?from=2030-01-01T00:00:00Z&from=2030-01-02T00:00:00Z"), Body::Empty, 400, "invalid_query"),

        // The audit log.
        case(Admin, M::GET, "/api/v1/audit?limit=0", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/audit?limit=1000", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/audit?cursor=%21%21", Body::Empty, 422, "validation_failed"),
        case(Admin, M::GET, "/api/v1/audit?entity_id=abc", Body::Empty, 400, "invalid_query"),
    ]
}

async fn every_malformed_request_is_a_problem_with_a_stable_code_and_changes_nothing(
    backend: Backend,
) {
    let world = World::new(backend).await;
    let before = world.snapshot().await;
    let table = cases(&world);
    let mut mismatches = Vec::new();
    for c in &table {
        let r = send(&world, c).await;
        let what = format!("{} {} as {:?}", c.method, world.path(&c.path), c.who);
        let what: String = what.chars().take(160).collect();
        let got = r.status.as_u16();
        let body: String = r.body.to_string().chars().take(300).collect();
        if got != c.status || r.code() != c.code {
            mismatches.push(format!(
                "{what}: expected {} {}, got {got} {:?}: {body}",
                c.status,
                c.code,
                r.code()
            ));
        } else if r.content_type() != "application/problem+json" {
            mismatches.push(format!(
                "{what}: content type {:?}: {body}",
                r.content_type()
            ));
        }
    }
    // Bad input changes nothing: the counts and the records are as they were.
    let after = world.snapshot().await;
    for (key, was) in before.as_object().expect("snapshot") {
        if after[key] != *was {
            mismatches.push(format!("{key} changed: from {was} to {}", after[key]));
        }
    }
    // No refused registration took the phone it carried.
    let r = world
        .app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Val", "last_name": "Idation", "phone": world.phone,
                   "password": "long enough pw", "date_of_birth": "1990-01-01"}),
        )
        .await;
    if r.status != 201 {
        mismatches.push(format!(
            "the phone of the refused registrations is taken: {}",
            r.body
        ));
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches over {} malformed requests:\n{}",
        mismatches.len(),
        table.len(),
        mismatches.join("\n")
    );
    assert_eq!(after["taken_slots"], 1);
    assert_eq!(after["appointment_count"], 1);
}

async fn a_failed_validation_lists_every_bad_field_of_a_doctor(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let r = app
        .post(
            "/api/v1/doctors",
            Some(&admin.token),
            json!({"email": "nope", "password": "short", "first_name": "", "last_name": " ",
                   "specialty": "X", "experience_years": 100, "timezone": "Nowhere",
                   "visit_minutes": 3, "fee": "free"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let mut fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "email",
            "experience_years",
            "fee",
            "first_name",
            "last_name",
            "password",
            "specialty",
            "timezone",
            "visit_minutes",
        ],
        "{}",
        r.body
    );
    let list = app
        .get("/api/v1/doctors?include_inactive=true", Some(&admin.token))
        .await;
    assert_eq!(list.body["items"], json!([]));
}

async fn bad_working_hours_name_the_interval_at_fault(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let path = format!("/api/v1/doctors/{}/availability", doctor.id);
    let before = app.get(&path, None).await.body;
    let r = app
        .call(
            Method::PUT,
            &path,
            Some(&doctor.token),
            Some(json!({"visit_minutes": 30, "weekly": [
                {"weekday": "monday", "start": "09:00", "end": "12:00"},
                {"weekday": "funday", "start": "09:00", "end": "12:00"},
                {"weekday": "tuesday", "start": "25:00", "end": "26:00"},
            ]})),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.iter().any(|f| f.starts_with("weekly[1]")),
        "{}",
        r.body
    );
    assert!(
        fields.iter().any(|f| f.starts_with("weekly[2]")),
        "{}",
        r.body
    );
    assert!(
        !fields.iter().any(|f| f.starts_with("weekly[0]")),
        "{}",
        r.body
    );
    assert_eq!(app.get(&path, None).await.body, before, "nothing stored");
}

crate::both_backends!(
    every_malformed_request_is_a_problem_with_a_stable_code_and_changes_nothing,
    a_failed_validation_lists_every_bad_field_of_a_doctor,
    bad_working_hours_name_the_interval_at_fault,
);
