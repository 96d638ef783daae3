//! Accounts and the doctor directory: registration, logging in and out, cookie
//! sessions, login throttling, deactivating doctors, search and paging, working
//! hours and time off.

use crate::helpers::{Backend, Resp, TestApp, User, next_phone, rand_u64, spawn_app};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const PATIENT_PASSWORD: &str = "a long enough password";

/// `+12125550143` written as a person would: `(212) 555-0143`.
fn written_us(e164: &str) -> String {
    let d = &e164[2..];
    format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every key anywhere in a JSON document.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn ids(r: &Resp) -> BTreeSet<i64> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {}", r.body))
        .iter()
        .filter_map(|d| d["id"].as_i64())
        .collect()
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

/// Registers a patient with a fresh phone; returns the phone (E.164) and id.
async fn register(app: &TestApp) -> (String, i64) {
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Pat", "last_name": "Ient", "phone": phone,
                   "password": PATIENT_PASSWORD, "date_of_birth": "1980-03-04"}),
        )
        .await;
    assert_eq!(r.status, 201, "register: {}", r.body);
    (phone, r.body["id"].as_i64().expect("id"))
}

/// Onboards a doctor with the given name and specialty (no working hours).
async fn create_doctor(
    app: &TestApp,
    admin: &User,
    first: &str,
    last: &str,
    specialty: &str,
) -> i64 {
    let r = app
        .post(
            "/api/v1/doctors",
            Some(&admin.token),
            json!({"email": format!("d{}@clinic.test", rand_u64() % 1_000_000_000),
                   "password": "doctor password", "first_name": first, "last_name": last,
                   "specialty": specialty, "experience_years": 5, "timezone": "UTC",
                   "fee": "60.00"}),
        )
        .await;
    assert_eq!(r.status, 201, "create doctor: {}", r.body);
    r.body["id"].as_i64().expect("doctor id")
}

async fn login_of(app: &TestApp, user: &User) -> String {
    let me = app.get("/api/v1/me", Some(&user.token)).await;
    me.body["login"].as_str().expect("login").to_owned()
}

fn today(app: &TestApp) -> Date {
    app.clock.now().to_zoned_datetime(TimeZone::UTC).date()
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).expect("date")
}

/// Free slot starts of a doctor on one UTC date.
async fn slots_on(app: &TestApp, doctor: i64, date: Date) -> Vec<String> {
    let next = add_days(date, 1);
    app.slots(
        doctor,
        &format!("?from={date}T00:00:00Z&to={next}T00:00:00Z"),
    )
    .await
}

fn set_cookie(r: &Resp) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn registration_returns_the_profile_without_secrets_and_the_phone_in_e164(backend: Backend) {
    let app = spawn_app(backend).await;
    let e164 = "+12125550143".to_owned();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Ada", "last_name": "Lovelace", "phone": "(212) 555-0143",
                   "password": PATIENT_PASSWORD, "date_of_birth": "1990-06-15",
                   "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["phone"], e164.as_str(), "{}", r.body);
    assert_eq!(r.body["first_name"], "Ada");
    assert_eq!(r.body["date_of_birth"], "1990-06-15");
    assert!(r.body["id"].as_i64().is_some());
    let mut all = Vec::new();
    keys(&r.body, &mut all);
    let secret: Vec<&String> = all
        .iter()
        .filter(|k| {
            let k = k.to_lowercase();
            k.contains("password") || k.contains("hash") || k.contains("secret")
        })
        .collect();
    assert!(secret.is_empty(), "secret fields in {}", r.body);
    assert!(
        !r.body.to_string().contains(PATIENT_PASSWORD),
        "the password is echoed: {}",
        r.body
    );

    // The phone logs in as written at registration and as E.164.
    for phone in [written_us(&e164), e164.clone()] {
        let token = app
            .login(json!({"phone": phone, "password": PATIENT_PASSWORD}))
            .await;
        let me = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(me.body["login"], e164.as_str(), "{}", me.body);
        assert_eq!(me.body["patient"]["id"], r.body["id"]);
    }
}

async fn the_same_phone_in_another_format_is_already_registered(backend: Backend) {
    let app = spawn_app(backend).await;
    let e164 = next_phone();
    let d = &e164[2..];
    let first = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "One", "last_name": "Person", "phone": written_us(&e164),
                   "password": PATIENT_PASSWORD, "date_of_birth": "1970-01-01"}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    for other in [
        e164.clone(),
        format!("+1 {}-{}-{}", &d[..3], &d[3..6], &d[6..]),
        format!("{}.{}.{}", &d[..3], &d[3..6], &d[6..]),
        format!("1{d}"),
    ] {
        app.post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Two", "last_name": "Person", "phone": other,
                   "password": "another long password", "date_of_birth": "1971-01-01"}),
        )
        .await
        .assert_problem(409, "already_registered");
    }
    // The first registration is untouched: its password still works.
    app.login(json!({"phone": e164, "password": PATIENT_PASSWORD}))
        .await;
}

async fn an_invalid_registration_names_every_bad_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let future = add_days(today(&app), 2);
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "", "last_name": "   ", "phone": "12345",
                   "password": "short", "date_of_birth": future.to_string(),
                   "email": "not an email"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: BTreeSet<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        "first_name",
        "last_name",
        "phone",
        "password",
        "date_of_birth",
        "email",
    ]
    .into_iter()
    .collect();
    assert_eq!(fields, expected, "{}", r.body);
    for e in r.body["errors"].as_array().expect("errors") {
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }

    // One bad field at a time is named alone.
    let good = json!({"first_name": "Good", "last_name": "Person", "phone": next_phone(),
                      "password": PATIENT_PASSWORD, "date_of_birth": "1990-01-01"});
    for (field, bad) in [
        ("password", json!("123456789")),
        ("date_of_birth", json!(future.to_string())),
        ("first_name", json!("")),
        ("phone", json!("555")),
        ("email", json!("a@b")),
    ] {
        let mut body = good.clone();
        body[field] = bad;
        let r = app.post("/api/v1/patients", None, body).await;
        r.assert_problem(422, "validation_failed");
        let named: Vec<&str> = r.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(named, vec![field], "{}", r.body);
    }
    // None of them registered the phone.
    let ok = app.post("/api/v1/patients", None, good).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

async fn logging_in_gives_a_token_and_a_safe_cookie_and_every_failure_looks_alike(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let doctor_email = login_of(&app, &doctor).await;
    let (phone, _) = register(&app).await;

    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": phone, "password": PATIENT_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["token"].as_str().expect("token");
    assert!(token.len() >= 20, "{}", r.body);
    assert!(r.body["csrf_token"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(r.body["role"], "patient");
    let expires: jiff::Timestamp = r.body["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("RFC 3339");
    assert!(expires > app.clock.now());
    let cookie = set_cookie(&r);
    assert!(
        cookie.contains(&format!("medimeet_session={token}")),
        "{cookie}"
    );
    let attrs: Vec<String> = cookie.split(';').map(|a| a.trim().to_lowercase()).collect();
    for attr in ["httponly", "samesite=lax", "path=/"] {
        assert!(attrs.iter().any(|a| a == attr), "{attr} missing: {cookie}");
    }

    let wrong_password = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": phone, "password": "not the password"}),
        )
        .await;
    let wrong_phone = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": next_phone(), "password": PATIENT_PASSWORD}),
        )
        .await;
    let not_a_phone = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": "no phone at all", "password": PATIENT_PASSWORD}),
        )
        .await;
    let doctor_wrong = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": doctor_email, "password": "not the password"}),
        )
        .await;
    let unknown_email = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "nobody@clinic.test", "password": "doctor password"}),
        )
        .await;
    for r in [
        &wrong_password,
        &wrong_phone,
        &not_a_phone,
        &doctor_wrong,
        &unknown_email,
    ] {
        r.assert_problem(401, "invalid_credentials");
        assert_eq!(
            r.body, wrong_password.body,
            "failures must be indistinguishable"
        );
        assert!(set_cookie(r).is_empty(), "no cookie on a failed login");
    }
}

async fn me_tells_each_caller_who_they_are(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;

    let me = app.get("/api/v1/me", Some(&patient.token)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["role"], "patient");
    assert_eq!(me.body["patient"]["id"], patient.id);
    assert!(me.body.get("doctor").is_none_or(Value::is_null));

    let me = app.get("/api/v1/me", Some(&doctor.token)).await;
    assert_eq!(me.body["role"], "doctor");
    assert_eq!(me.body["doctor"]["id"], doctor.id);
    assert_eq!(me.body["doctor"]["email"], me.body["login"]);

    let me = app.get("/api/v1/me", Some(&admin.token)).await;
    assert_eq!(me.body["role"], "admin");
    assert!(me.body["login"].as_str().is_some_and(|l| l.contains('@')));

    app.get("/api/v1/me", None)
        .await
        .assert_problem(401, "unauthenticated");
}

/// A field the operation does not know is refused, named, and changes nothing:
/// a profile change cannot smuggle in a password or a phone.
async fn a_profile_change_with_a_field_it_does_not_know_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (phone, id) = register(&app).await;
    let token = app
        .login(json!({"phone": phone, "password": PATIENT_PASSWORD}))
        .await;
    let path = format!("/api/v1/patients/{id}");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"first_name": "Changed", "password": "a brand new password"})),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<_> = r.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["password"], "{}", r.body);

    let profile = app.get(&path, Some(&token)).await;
    assert_eq!(profile.body["first_name"], "Pat", "{}", profile.body);
    app.post(
        "/api/v1/sessions",
        None,
        json!({"phone": phone, "password": "a brand new password"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.login(json!({"phone": phone, "password": PATIENT_PASSWORD}))
        .await;
}

async fn logging_out_ends_that_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (phone, _) = register(&app).await;
    let creds = json!({"phone": phone, "password": PATIENT_PASSWORD});
    let token = app.login(creds.clone()).await;
    let other = app.login(creds).await;

    let r = app
        .call(
            Method::DELETE,
            "/api/v1/sessions/current",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let cookie = set_cookie(&r);
    assert!(
        cookie.contains("medimeet_session=;") && cookie.contains("Max-Age=0"),
        "the cookie is cleared: {cookie}"
    );
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthenticated");
    app.call(
        Method::DELETE,
        "/api/v1/sessions/current",
        Some(&token),
        None,
    )
    .await
    .assert_problem(401, "unauthenticated");
    // Only that session ended.
    assert_eq!(app.get("/api/v1/me", Some(&other)).await.status, 200);
}

async fn the_session_cookie_authenticates_and_unsafe_calls_need_the_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (phone, patient_id) = register(&app).await;
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": phone, "password": PATIENT_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let csrf = r.body["csrf_token"].as_str().expect("csrf").to_owned();
    // The cookie exactly as the server set it: `name=value`.
    let header = set_cookie(&r);
    let cookie = header
        .split(';')
        .next()
        .expect("cookie pair")
        .trim()
        .to_owned();
    let with_cookie = [("Cookie", cookie.as_str())];

    let me = app
        .call_with(Method::GET, "/api/v1/me", None, None, &with_cookie)
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["patient"]["id"], patient_id);

    let start = app.later_slots(doctor.id).await[0].clone();
    let book = json!({"doctor_id": doctor.id, "start": start});
    app.call_with(
        Method::POST,
        "/api/v1/appointments",
        None,
        Some(book.clone()),
        &with_cookie,
    )
    .await
    .assert_problem(403, "forbidden");
    let wrong = [
        ("Cookie", cookie.as_str()),
        ("X-CSRF-Token", "not-the-token"),
    ];
    app.call_with(
        Method::POST,
        "/api/v1/appointments",
        None,
        Some(book.clone()),
        &wrong,
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(
        app.active_slot_count(doctor.id).await,
        0,
        "refused calls book nothing"
    );

    let right = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let booked = app
        .call_with(
            Method::POST,
            "/api/v1/appointments",
            None,
            Some(book),
            &right,
        )
        .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    assert_eq!(app.active_slot_count(doctor.id).await, 1);

    // Logging out by cookie needs the token too.
    app.call_with(
        Method::DELETE,
        "/api/v1/sessions/current",
        None,
        None,
        &with_cookie,
    )
    .await
    .assert_problem(403, "forbidden");
    let out = app
        .call_with(
            Method::DELETE,
            "/api/v1/sessions/current",
            None,
            None,
            &right,
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    app.call_with(Method::GET, "/api/v1/me", None, None, &with_cookie)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn five_wrong_passwords_lock_the_login_for_fifteen_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (phone, _) = register(&app).await;
    let (other_phone, _) = register(&app).await;
    for i in 0..5 {
        // The same phone, written two ways: both count against one login.
        let written = if i % 2 == 0 {
            phone.clone()
        } else {
            written_us(&phone)
        };
        let r = app
            .post(
                "/api/v1/sessions",
                None,
                json!({"phone": written, "password": format!("wrong password {i}")}),
            )
            .await;
        r.assert_problem(401, "invalid_credentials");
    }
    // Even the right password, in another format of the same phone, is refused now.
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": written_us(&phone), "password": PATIENT_PASSWORD}),
        )
        .await;
    r.assert_problem(429, "too_many_attempts");
    let retry: i64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("Retry-After header: {:?}", r.headers));
    assert!(retry > 0 && retry <= 15 * 60, "Retry-After {retry}");
    assert!(set_cookie(&r).is_empty());

    // The lock is on that login only.
    app.login(json!({"phone": other_phone, "password": PATIENT_PASSWORD}))
        .await;

    app.clock.advance(16 * 60);
    let token = app
        .login(json!({"phone": phone, "password": PATIENT_PASSWORD}))
        .await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status, 200);
}

async fn a_deactivated_doctor_disappears_and_can_neither_log_in_nor_be_booked(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let email = login_of(&app, &doctor).await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let path = format!("/api/v1/doctors/{}", doctor.id);

    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin.token),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);

    for token in [None, Some(patient.token.as_str())] {
        let list = app.get("/api/v1/doctors", token).await;
        assert!(!ids(&list).contains(&doctor.id), "listed: {}", list.body);
        let list = app
            .get("/api/v1/doctors?include_inactive=true", token)
            .await;
        assert!(!ids(&list).contains(&doctor.id), "listed: {}", list.body);
        app.get(&path, token).await.assert_problem(404, "not_found");
        app.get(&format!("{path}/availability"), token)
            .await
            .assert_problem(404, "not_found");
        app.get(&format!("{path}/slots"), token)
            .await
            .assert_problem(404, "not_found");
    }

    app.get("/api/v1/me", Some(&doctor.token))
        .await
        .assert_problem(401, "unauthenticated");
    app.post(
        "/api/v1/sessions",
        None,
        json!({"email": email, "password": "doctor password"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");

    app.book(&patient, doctor.id, &start)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.active_slot_count(doctor.id).await, 0);

    // Admins still see the doctor.
    let seen = app.get(&path, Some(&admin.token)).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["active"], false);
    let all = app
        .get("/api/v1/doctors?include_inactive=true", Some(&admin.token))
        .await;
    assert!(ids(&all).contains(&doctor.id));
    let active = app.get("/api/v1/doctors", Some(&admin.token)).await;
    assert!(!ids(&active).contains(&doctor.id));
}

async fn doctor_search_matches_specialty_in_any_case_and_name_parts_literally(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let ann = create_doctor(&app, &admin, "Ann", "Smith", "Dermatology").await;
    let joanna = create_doctor(&app, &admin, "Joanna", "Brown", "Dermatology").await;
    let bob = create_doctor(&app, &admin, "Bob", "Jones", "Cardiology").await;
    let percent = create_doctor(&app, &admin, "Zed", "Hundred%Sure", "Neurology").await;
    let plain = create_doctor(&app, &admin, "Zed", "HundredXSure", "Neurology").await;
    let slash = create_doctor(&app, &admin, "Back", "Slash\\Man", "Neurology").await;

    let cases: Vec<(String, BTreeSet<i64>)> = vec![
        ("specialty=dermatology".into(), set(&[ann, joanna])),
        ("specialty=DERMATOLOGY".into(), set(&[ann, joanna])),
        ("specialty=Cardiology".into(), set(&[bob])),
        ("specialty=Surgery".into(), set(&[])),
        ("q=ann".into(), set(&[ann, joanna])),
        ("q=ANN".into(), set(&[ann, joanna])),
        ("q=mit".into(), set(&[ann])),
        (format!("q={}", enc("ann smith")), set(&[ann])),
        (format!("q={}", enc("%")), set(&[percent])),
        (format!("q={}", enc("d%s")), set(&[percent])),
        (format!("q={}", enc("d_s")), set(&[])),
        (format!("q={}", enc("_")), set(&[])),
        ("q=hundred".into(), set(&[percent, plain])),
        (format!("q={}", enc("h\\m")), set(&[slash])),
        (format!("q={}", enc("\\")), set(&[slash])),
        (format!("q={}", enc("zed\\")), set(&[])),
        ("specialty=dermatology&q=jo".into(), set(&[joanna])),
        ("specialty=neurology&q=ann".into(), set(&[])),
    ];
    let mut wrong = Vec::new();
    for (query, expected) in cases {
        let r = app.get(&format!("/api/v1/doctors?{query}"), None).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let got = ids(&r);
        if got != expected {
            wrong.push(format!("?{query}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn the_doctor_directory_pages_by_cursor_without_duplicates(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let mut created = BTreeSet::new();
    for i in 0..5 {
        created.insert(
            create_doctor(&app, &admin, "Page", &format!("Doctor{i}"), "Dermatology").await,
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/doctors?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let r = app.get(&path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.body["items"].as_array().expect("items");
        assert!(items.len() <= 2, "page too long: {}", r.body);
        seen.extend(items.iter().filter_map(|d| d["id"].as_i64()));
        pages += 1;
        assert!(pages <= 5, "paging does not end");
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/doctors?limit=2&cursor={}", enc(c)),
            None => break,
        }
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates: {seen:?}");
    assert_eq!(unique, created, "{seen:?}");
    assert_eq!(pages, 3);
}

async fn specialties_count_the_active_doctors_of_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    create_doctor(&app, &admin, "Ann", "Smith", "Dermatology").await;
    create_doctor(&app, &admin, "Joanna", "Brown", "Dermatology").await;
    create_doctor(&app, &admin, "Bob", "Jones", "Cardiology").await;
    let gone = create_doctor(&app, &admin, "Zed", "Gone", "Neurology").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/doctors/{gone}"),
            Some(&admin.token),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = app.get("/api/v1/specialties", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got: BTreeSet<(String, i64)> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["doctors"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let expected: BTreeSet<(String, i64)> =
        [("Cardiology".to_owned(), 1), ("Dermatology".to_owned(), 2)]
            .into_iter()
            .collect();
    assert_eq!(got, expected, "{}", r.body);
}

async fn working_hours_round_trip_with_overrides_and_shape_the_slots(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app
        .new_doctor(&admin, "UTC", 30, &[("friday", "09:00", "17:00")])
        .await;
    // A Monday at least a week ahead, closed; the Wednesday after it, shortened.
    let mut monday = add_days(today(&app), 7);
    while monday.weekday() != Weekday::Monday {
        monday = add_days(monday, 1);
    }
    let wednesday = add_days(monday, 2);
    let doc = json!({
        "visit_minutes": 45,
        "buffer_minutes": 15,
        "weekly": [
            {"weekday": "monday", "start": "09:00", "end": "12:00"},
            {"weekday": "monday", "start": "13:00", "end": "17:00"},
            {"weekday": "wednesday", "start": "10:00", "end": "14:00"},
        ],
        "overrides": [
            {"date": monday.to_string(), "intervals": []},
            {"date": wednesday.to_string(), "intervals": [{"start": "10:00", "end": "11:30"}]},
        ],
    });
    let path = format!("/api/v1/doctors/{}/availability", doctor.id);
    let put = app
        .call(Method::PUT, &path, Some(&doctor.token), Some(doc.clone()))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body, doc);
    let got = app.get(&path, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, doc, "GET returns what PUT stored");
    let profile = app
        .get(&format!("/api/v1/doctors/{}", doctor.id), None)
        .await;
    assert_eq!(profile.body["visit_minutes"], 45);
    assert_eq!(profile.body["buffer_minutes"], 15);

    let at = |d: Date, times: &[&str]| -> Vec<String> {
        times.iter().map(|t| format!("{d}T{t}:00Z")).collect()
    };
    assert_eq!(
        slots_on(&app, doctor.id, monday).await,
        Vec::<String>::new(),
        "closed"
    );
    assert_eq!(
        slots_on(&app, doctor.id, wednesday).await,
        at(wednesday, &["10:00"]),
        "the override's hours"
    );
    let next_monday = add_days(monday, 7);
    assert_eq!(
        slots_on(&app, doctor.id, next_monday).await,
        at(
            next_monday,
            &[
                "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"
            ]
        ),
        "weekly hours with 45-minute visits and 15-minute buffers"
    );
    let next_wednesday = add_days(wednesday, 7);
    assert_eq!(
        slots_on(&app, doctor.id, next_wednesday).await,
        at(next_wednesday, &["10:00", "11:00", "12:00", "13:00"])
    );
    // Friday is no longer a working day.
    assert_eq!(
        slots_on(&app, doctor.id, add_days(monday, 4)).await,
        Vec::<String>::new()
    );

    // Replacing again drops the overrides.
    let plain = json!({"visit_minutes": 45, "buffer_minutes": 15,
                       "weekly": doc["weekly"].clone(), "overrides": []});
    let put = app
        .call(Method::PUT, &path, Some(&admin.token), Some(plain.clone()))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(app.get(&path, None).await.body, plain);
    assert_eq!(slots_on(&app, doctor.id, monday).await.len(), 7);
}

async fn time_off_is_added_listed_and_removed_and_hides_its_slots(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let day = add_days(today(&app), 5);
    let before = slots_on(&app, doctor.id, day).await;
    assert_eq!(
        before.len(),
        20,
        "08:00-18:00 in 30-minute visits: {before:?}"
    );

    let path = format!("/api/v1/doctors/{}/time-off", doctor.id);
    // 12:00-14:00 at +02:00 is 10:00-12:00 UTC.
    let r = app
        .post(
            &path,
            Some(&doctor.token),
            json!({"start": format!("{day}T12:00:00+02:00"), "end": format!("{day}T14:00:00+02:00"),
                   "reason": "conference"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().expect("id");
    assert_eq!(r.body["start"], format!("{day}T10:00:00Z"));
    assert_eq!(r.body["end"], format!("{day}T12:00:00Z"));
    assert_eq!(r.body["reason"], "conference");

    let list = app.get(&path, Some(&doctor.token)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"], json!([r.body.clone()]));
    let admin_list = app.get(&path, Some(&admin.token)).await;
    assert_eq!(admin_list.body["items"], list.body["items"]);

    let during = slots_on(&app, doctor.id, day).await;
    assert_eq!(during.len(), 16, "{during:?}");
    for t in ["10:00", "10:30", "11:00", "11:30"] {
        assert!(
            !during.contains(&format!("{day}T{t}:00Z")),
            "{t} offered: {during:?}"
        );
    }
    for t in ["09:30", "12:00"] {
        assert!(
            during.contains(&format!("{day}T{t}:00Z")),
            "{t} missing: {during:?}"
        );
    }
    // The other days keep their slots.
    assert_eq!(slots_on(&app, doctor.id, add_days(day, 1)).await.len(), 20);

    let r = app
        .call(
            Method::DELETE,
            &format!("{path}/{id}"),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let list = app.get(&path, Some(&doctor.token)).await;
    assert_eq!(list.body["items"], json!([]));
    assert_eq!(slots_on(&app, doctor.id, day).await, before);
    app.call(
        Method::DELETE,
        &format!("{path}/{id}"),
        Some(&doctor.token),
        None,
    )
    .await
    .assert_problem(404, "not_found");
}

crate::both_backends!(
    registration_returns_the_profile_without_secrets_and_the_phone_in_e164,
    the_same_phone_in_another_format_is_already_registered,
    an_invalid_registration_names_every_bad_field,
    logging_in_gives_a_token_and_a_safe_cookie_and_every_failure_looks_alike,
    me_tells_each_caller_who_they_are,
    a_profile_change_with_a_field_it_does_not_know_is_refused_and_changes_nothing,
    logging_out_ends_that_session_at_once,
    the_session_cookie_authenticates_and_unsafe_calls_need_the_csrf_token,
    five_wrong_passwords_lock_the_login_for_fifteen_minutes,
    a_deactivated_doctor_disappears_and_can_neither_log_in_nor_be_booked,
    doctor_search_matches_specialty_in_any_case_and_name_parts_literally,
    the_doctor_directory_pages_by_cursor_without_duplicates,
    specialties_count_the_active_doctors_of_each,
    working_hours_round_trip_with_overrides_and_shape_the_slots,
    time_off_is_added_listed_and_removed_and_hides_its_slots,
);
