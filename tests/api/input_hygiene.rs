//! What an attacker on the open internet found (issue 13, decision 0025),
//! each tried again through the real server on both backends: common
//! passwords wherever a password is set, control characters through every
//! face (pages answered 500 on PostgreSQL and stored NUL on SQLite), and
//! look-alike names built from invisible and bidirectional characters.

use crate::helpers::{Backend, TestApp, booked_visit, next_phone, spawn_app};
use crate::pages::{Browser, browser_of, get, patient_browser, post_form};
use reqwest::Method;
use serde_json::{Value, json};

const WEAK: [&str; 4] = ["1234567890", "password123", "qwertyuiop", "          "];

fn register_body(phone: &str, first: &str, password: &str) -> Value {
    json!({"first_name": first, "last_name": "Fischer", "phone": phone,
           "password": password, "date_of_birth": "1990-01-01"})
}

/// The message of the one field error of a 422 problem on `field`.
fn field_message(r: &crate::helpers::Resp, field: &str) -> String {
    r.assert_problem(422, "validation_failed");
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no error on {field}: {}", r.body))["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn login_status(app: &TestApp, creds: Value) -> u16 {
    app.post("/api/v1/sessions", None, creds)
        .await
        .status
        .as_u16()
}

async fn common_passwords_are_refused_wherever_a_password_is_set(backend: Backend) {
    let app = spawn_app(backend).await;

    // Registration through the API: each refused with zxcvbn's reason, and
    // no account made (ten spaces used to sign up and then log in).
    for weak in WEAK {
        let phone = next_phone();
        let r = app
            .post(
                "/api/v1/patients",
                None,
                register_body(&phone, "Lena", weak),
            )
            .await;
        let message = field_message(&r, "password");
        assert!(
            message.starts_with("is too easy to guess") || message == "must not be only spaces",
            "{weak:?}: {message}"
        );
        assert_eq!(
            login_status(&app, json!({"phone": phone, "password": weak})).await,
            401,
            "{weak:?} made an account"
        );
    }
    let r = app
        .post(
            "/api/v1/patients",
            None,
            register_body(&next_phone(), "Lena", "password12"),
        )
        .await;
    assert!(
        field_message(&r, "password").contains("common password"),
        "{}",
        r.body
    );

    // Registration through the page: the reason in words on the form.
    let page = get(&app, "/signup", None).await;
    let token = page.cookie_value("medimeet_csrf").expect("token");
    let phone = next_phone();
    let p = post_form(
        &app,
        "/signup",
        Some(&format!("medimeet_csrf={token}")),
        &format!(
            "csrf={token}&first_name=Lena&last_name=Fischer&phone={}&date_of_birth=1990-01-01&password=password123",
            phone.replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(
        p.body.contains("Password is too easy to guess"),
        "{}",
        p.body
    );
    assert!(p.cookie_value("medimeet_session").is_none());

    // Doctor onboarding by an admin.
    let admin = app.new_admin().await;
    let r = app
        .post(
            "/api/v1/doctors",
            Some(&admin.token),
            json!({"email": "weak.doc@clinic.test", "password": "qwertyuiop", "first_name": "Doc",
                   "last_name": "Tor", "specialty": "Cardiology", "experience_years": 10,
                   "timezone": "UTC", "visit_minutes": 30, "fee": "50.00"}),
        )
        .await;
    assert!(field_message(&r, "password").starts_with("is too easy to guess"));
    assert_eq!(
        login_status(
            &app,
            json!({"email": "weak.doc@clinic.test", "password": "qwertyuiop"})
        )
        .await,
        401
    );

    // A password change, through the API and the account page.
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            register_body(&phone, "Lena", "violet kettle moss"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let creds = json!({"phone": phone, "password": "violet kettle moss"});
    let token = app.login(creds.clone()).await;
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": "violet kettle moss", "new_password": "1234567890"}),
        )
        .await;
    assert!(field_message(&r, "new_password").starts_with("is too easy to guess"));
    let user = crate::helpers::User { token, id: 0 };
    let b = browser_of(&app, &user, "/account").await;
    let p = post_form(
        &app,
        "/account/password",
        Some(&b.cookie),
        &format!(
            "csrf={}&current_password=violet+kettle+moss&new_password=qwertyuiop&new_password_again=qwertyuiop",
            b.csrf
        ),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("too easy to guess"), "{}", p.body);
    assert_eq!(login_status(&app, creds).await, 201, "password unchanged");

    // A reset: the new password is checked with the same rule.
    let r = app
        .post(
            "/api/v1/password-reset/confirm",
            None,
            json!({"phone": phone, "code": "123456", "new_password": "password123"}),
        )
        .await;
    assert!(field_message(&r, "new_password").starts_with("is too easy to guess"));
}

/// The patient's appointments through the API: how many, and the first's status.
async fn appointments_of(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get("/api/v1/appointments", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

async fn control_characters_are_refused_by_every_face(backend: Backend) {
    let app = spawn_app(backend).await;

    // Anonymous page search: was a 500 on PostgreSQL.
    let p = get(&app, "/doctors?q=%00", None).await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("control character"), "{}", p.body);
    assert_eq!(get(&app, "/doctors?q=Ann%1B", None).await.status, 400);
    assert_eq!(get(&app, "/doctors?q=Ann", None).await.status, 200);

    // Booking through the page with NUL in the reason: refused, nothing stored.
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (patient, browser) = patient_browser(&app).await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let book = |reason: &str| {
        format!(
            "csrf={}&start={}&reason={reason}",
            browser.csrf,
            start.replace(':', "%3A").replace('+', "%2B")
        )
    };
    let path = format!("/doctors/{}/book", doctor.id);
    let p = post_form(&app, &path, Some(&browser.cookie), &book("pain%00here")).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("control character"), "{}", p.body);
    assert!(appointments_of(&app, &patient.token).await.is_empty());

    // The API refuses other C0 controls too (it refused only NUL before).
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&patient.token),
            json!({"doctor_id": doctor.id, "start": start, "reason": "ring\u{7}bell"}),
        )
        .await;
    assert_eq!(
        field_message(&r, "reason"),
        "must not contain control characters"
    );
    app.get("/api/v1/doctors?q=a%1Bb", None)
        .await
        .assert_problem(422, "validation_failed");
    assert!(appointments_of(&app, &patient.token).await.is_empty());

    // Line breaks and tabs in a multi-line reason still pass.
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&patient.token),
            json!({"doctor_id": doctor.id, "start": start, "reason": "two\nlines\tand a tab"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["reason"], "two\nlines\tand a tab");

    // Cancelling through the page with NUL in the reason: refused, still booked.
    let p = post_form(
        &app,
        &format!("/appointments/{id}/cancel"),
        Some(&browser.cookie),
        &format!("csrf={}&reason=changed%00mind", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 400, "{}", p.body);
    let items = appointments_of(&app, &patient.token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "booked");

    // FHIR: search parameters and bodies, as an OperationOutcome.
    let r = app
        .get(
            &format!("/fhir/Slot?schedule=Schedule/{}&start=ge2030%00", doctor.id),
            Some(&patient.token),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.to_string().contains("Control characters"),
        "{}",
        r.body
    );
    let r = app
        .call_with(
            Method::POST,
            "/fhir/Appointment",
            Some(&patient.token),
            Some(json!({"resourceType": "Appointment", "status": "proposed",
                        "description": "bad\u{1}reason"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.to_string().contains("Control characters"),
        "{}",
        r.body
    );
    assert_eq!(appointments_of(&app, &patient.token).await.len(), 1);

    // Signing up through the page with a control character in a name.
    let page = get(&app, "/signup", None).await;
    let token = page.cookie_value("medimeet_csrf").expect("token");
    let p = post_form(
        &app,
        "/signup",
        Some(&format!("medimeet_csrf={token}")),
        &format!(
            "csrf={token}&first_name=Le%00na&last_name=Fischer&phone={}&date_of_birth=1990-01-01&password=violet+kettle+moss",
            next_phone().replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(p.status, 400);
    assert!(p.cookie_value("medimeet_session").is_none());
}

async fn look_alike_names_are_refused_and_staff_see_a_patient_label(backend: Backend) {
    let app = spawn_app(backend).await;

    // Zero-width space and right-to-left override: refused with the reason.
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Lena\u{200B}", "last_name": "Fischer\u{202E}",
                   "phone": next_phone(), "password": "violet kettle moss",
                   "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert!(field_message(&r, "first_name").contains("invisible"));
    assert!(field_message(&r, "last_name").contains("invisible"));
    for bad in ["Lena\u{E000}", "Lena\u{FEFF}", "Lena\u{0378}"] {
        let r = app
            .post(
                "/api/v1/patients",
                None,
                register_body(&next_phone(), bad, "violet kettle moss"),
            )
            .await;
        field_message(&r, "first_name");
    }

    // A decomposed name is kept composed (NFC), so it matches the real one.
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            register_body(&phone, "Rene\u{301}e", "violet kettle moss"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["first_name"], "Ren\u{e9}e");

    // Doctor onboarding: the same rule.
    let admin = app.new_admin().await;
    let r = app
        .post(
            "/api/v1/doctors",
            Some(&admin.token),
            json!({"email": "bidi.doc@clinic.test", "password": "doctor password",
                   "first_name": "Doc\u{2066}", "last_name": "Tor", "specialty": "Cardiology",
                   "experience_years": 10, "timezone": "UTC", "visit_minutes": 30, "fee": "50.00"}),
        )
        .await;
    assert!(field_message(&r, "first_name").contains("invisible"));

    // Free text loses its bidirectional controls: what is kept reads as it shows.
    let v = booked_visit(&app).await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/appointments/{}/cancel", v.id),
            Some(&v.patient.token),
            Some(json!({"reason": "refund \u{202E}0001\u{202C} please"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancel_reason"], "refund 0001 please");

    // Staff see the patient's stable label next to the name.
    let label = format!("P-{:06}", v.patient.id);
    let b: Browser = browser_of(&app, &v.doctor, "/doctor/week").await;
    let date = v.start.in_tz("UTC").unwrap().date();
    let week = get(&app, &format!("/doctor/week?start={date}"), Some(&b.cookie)).await;
    assert_eq!(week.status, 200);
    assert!(
        week.body.contains(&format!(
            "Test Patient</a> <span class=\"patient-label\">· {label}"
        )),
        "week view"
    );
    let page = get(&app, &format!("/appointments/{}", v.id), Some(&b.cookie)).await;
    assert!(
        page.body.contains(&format!(
            "Test Patient <span class=\"patient-label\">· {label}"
        )),
        "visit page"
    );
    let a = browser_of(&app, &v.admin, "/admin").await;
    let list = get(
        &app,
        &format!("/admin/appointments?patient_id={}", v.patient.id),
        Some(&a.cookie),
    )
    .await;
    assert!(
        list.body.contains(&format!(
            ": all appointments</span></a> <span class=\"patient-label\">· {label}"
        )),
        "admin list"
    );
    // The patient sees their own name, without the staff label.
    let own = browser_of(&app, &v.patient, "/appointments").await;
    let page = get(&app, &format!("/appointments/{}", v.id), Some(&own.cookie)).await;
    assert!(!page.body.contains(&label));
}

crate::both_backends!(
    common_passwords_are_refused_wherever_a_password_is_set,
    control_characters_are_refused_by_every_face,
    look_alike_names_are_refused_and_staff_see_a_patient_label,
);
