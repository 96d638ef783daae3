//! The admin's tools (decision 0021): a visit's payment (rules, refusals,
//! audit, what the patient and the dashboard show), the audit log's filters
//! and CSV export, managing admin accounts, and removing the demo clinic
//! (through the dashboard and through `medimeet demo remove`).

use crate::helpers::{
    Backend, TestApp, TestDb, User, booked_visit, spawn_app, spawn_on_opts, test_settings,
};
use crate::pages::{Browser, browser_of, get, post_form};
use medimeet::clock::Clock;
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use tokio::process::Command;

async fn pay(app: &TestApp, who: &User, id: i64, to: &str) -> crate::helpers::Resp {
    app.call(
        Method::PUT,
        &format!("/api/v1/appointments/{id}/payment"),
        Some(&who.token),
        Some(json!({ "payment_status": to })),
    )
    .await
}

/// The audit entries of one filter query, as the API lists them.
async fn audit(app: &TestApp, admin: &User, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/audit?{query}"), Some(&admin.token))
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body["items"].as_array().expect("items").clone()
}

async fn payments_follow_their_rules_are_audited_and_shown_to_the_patient(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let stranger = app.new_patient().await;

    // Its patient and its doctor see the visit but may not record payments;
    // anyone else does not find it.
    pay(&app, &v.patient, v.id, "paid")
        .await
        .assert_problem(403, "forbidden");
    pay(&app, &v.doctor, v.id, "paid")
        .await
        .assert_problem(403, "forbidden");
    pay(&app, &stranger, v.id, "paid")
        .await
        .assert_problem(404, "not_found");
    pay(&app, &v.admin, 999_999, "paid")
        .await
        .assert_problem(404, "not_found");
    // Not a payment status; a refund of an unpaid visit.
    pay(&app, &v.admin, v.id, "free")
        .await
        .assert_problem(422, "validation_failed");
    pay(&app, &v.admin, v.id, "refunded")
        .await
        .assert_problem(409, "invalid_transition");
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", v.id),
            Some(&v.patient.token),
        )
        .await;
    assert_eq!(
        r.body["payment_status"], "unpaid",
        "refusals change nothing"
    );
    assert!(
        audit(
            &app,
            &v.admin,
            &format!("action=payment&entity_id={}", v.id)
        )
        .await
        .is_empty()
    );

    // The admin's page of the visit offers what is possible now.
    let admin_page = browser_of(&app, &v.admin, "/admin").await;
    let page = get(
        &app,
        &format!("/appointments/{}", v.id),
        Some(&admin_page.cookie),
    )
    .await;
    assert!(
        page.body
            .contains(&format!("action=\"/appointments/{}/payment\"", v.id))
    );
    assert!(page.body.contains("Mark paid") && page.body.contains("Waive the fee"));
    assert!(!page.body.contains("Mark refunded"));

    let r = pay(&app, &v.admin, v.id, "paid").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["payment_status"], "paid");
    pay(&app, &v.admin, v.id, "paid")
        .await
        .assert_problem(409, "invalid_transition");
    pay(&app, &v.admin, v.id, "waived")
        .await
        .assert_problem(409, "invalid_transition");
    let r = pay(&app, &v.admin, v.id, "refunded").await;
    assert_eq!(r.body["payment_status"], "refunded", "{}", r.body);
    pay(&app, &v.admin, v.id, "unpaid")
        .await
        .assert_problem(409, "invalid_transition");

    // Audited with who and what, in order.
    let entries = audit(
        &app,
        &v.admin,
        &format!("action=payment&entity=appointment&entity_id={}", v.id),
    )
    .await;
    let details: Vec<&str> = entries
        .iter()
        .map(|e| e["detail"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(details, ["paid -> refunded", "unpaid -> paid"]);
    assert!(entries.iter().all(|e| e["actor_account_id"] == v.admin.id));

    // The patient sees it in the API and on the visit's page, without buttons.
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", v.id),
            Some(&v.patient.token),
        )
        .await;
    assert_eq!(r.body["payment_status"], "refunded");
    let patient = browser_of(&app, &v.patient, "/appointments").await;
    let page = get(
        &app,
        &format!("/appointments/{}", v.id),
        Some(&patient.cookie),
    )
    .await;
    assert!(
        page.body.contains("id=\"payment-status\">Refunded<"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("/payment\""));

    // The page's form: an admin waives a second visit's fee; a patient's post is refused.
    let other = app.new_patient().await;
    let start = app.later_slots(v.doctor.id).await[0].clone();
    let r = app.book(&other, v.doctor.id, &start).await;
    let second = r.body["id"].as_i64().expect("id");
    let other_browser = browser_of(&app, &other, "/appointments").await;
    let p = post_form(
        &app,
        &format!("/appointments/{second}/payment"),
        Some(&other_browser.cookie),
        &format!("csrf={}&payment_status=waived", other_browser.csrf),
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = post_form(
        &app,
        &format!("/appointments/{second}/payment"),
        Some(&admin_page.cookie),
        &format!("csrf={}&payment_status=waived", admin_page.csrf),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let r = app
        .get(
            &format!("/api/v1/appointments/{second}"),
            Some(&other.token),
        )
        .await;
    assert_eq!(r.body["payment_status"], "waived");
}

/// The cells of one `class="..."` column of the dashboard's money table.
fn cells(html: &str, class: &str) -> Vec<String> {
    html.split(&format!("class=\"{class}\">"))
        .skip(1)
        .filter_map(|s| s.split('<').next().map(str::to_owned))
        .collect()
}

async fn the_dashboard_shows_revenue_and_outstanding_per_doctor(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let a = app.everyday_doctor(&admin).await; // fee 50.00
    let b = app.everyday_doctor(&admin).await;
    let fee = |id: i64, fee: &'static str| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let r = app
                .call(
                    Method::PATCH,
                    &format!("/api/v1/doctors/{id}"),
                    Some(&token),
                    Some(json!({"fee": fee})),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    fee(b.id, "80.00").await;
    let mut visits = Vec::new();
    for (doctor, n) in [(&a, 3), (&b, 2)] {
        let slots = app.later_slots(doctor.id).await;
        for slot in slots.iter().take(n) {
            let p = app.new_patient().await;
            let r = app.book(&p, doctor.id, slot).await;
            assert_eq!(r.status, 201, "{}", r.body);
            visits.push(r.body["id"].as_i64().expect("id"));
        }
    }
    let [a1, a2, _a3_over_and_unpaid, b1, b2] = visits[..] else {
        panic!("five visits")
    };
    // Three days on: every visit is over.
    app.clock.advance(3 * 86_400);
    let run = |doctor: &User, id: i64, what: &str| {
        let path = format!("/api/v1/appointments/{id}/{what}");
        let token = doctor.token.clone();
        let app = &app;
        async move {
            let r = app.call(Method::POST, &path, Some(&token), None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
        }
    };
    run(&a, a1, "complete").await;
    run(&a, a2, "complete").await;
    run(&b, b1, "complete").await;
    run(&b, b2, "no-show").await;
    // a1 paid (50.00 recorded), a2 waived, a3 still booked but over:
    // outstanding; b1 completed and unpaid: outstanding; b2 a no-show: not owed.
    assert_eq!(pay(&app, &admin, a1, "paid").await.status, 200);
    assert_eq!(pay(&app, &admin, a2, "waived").await.status, 200);
    // A later fee does not rewrite revenue, but prices what is owed.
    fee(a.id, "60.00").await;

    let browser = browser_of(&app, &admin, "/admin").await;
    let page = get(&app, "/admin", Some(&browser.cookie)).await;
    assert_eq!(
        cells(&page.body, "revenue"),
        ["50.00", "0.00"],
        "{}",
        page.body
    );
    assert_eq!(cells(&page.body, "outstanding"), ["60.00", "80.00"]);
    assert!(page.body.contains("id=\"revenue-total\">50.00<"));
    assert!(page.body.contains("id=\"outstanding-total\">140.00<"));

    // A refund takes the visit out of revenue; it is not owed either.
    assert_eq!(pay(&app, &admin, a1, "refunded").await.status, 200);
    let page = get(&app, "/admin", Some(&browser.cookie)).await;
    assert_eq!(cells(&page.body, "revenue"), ["0.00", "0.00"]);
    assert_eq!(cells(&page.body, "outstanding"), ["60.00", "80.00"]);
}

async fn the_audit_log_filters_pages_and_exports_csv(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/appointments/{}/cancel", v.id),
            Some(&v.admin.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A record name that a spreadsheet would run (as if a hostile value had
    // reached the log): the export must neutralize it.
    app.store
        .audit_read(
            medimeet::domain::ids::AccountId::new(v.patient.id),
            "=HYPERLINK(\"http://evil\")",
            7,
            app.clock.now().as_second(),
        )
        .await
        .expect("audit");
    // Two days later, another admin acts.
    app.clock.advance(2 * 86_400);
    let v2 = booked_visit(&app).await;
    assert_eq!(pay(&app, &v2.admin, v2.id, "paid").await.status, 200);

    // Who: only that admin's entries.
    let by_admin = audit(&app, &v.admin, &format!("actor_account_id={}", v.admin.id)).await;
    assert!(!by_admin.is_empty());
    assert!(by_admin.iter().all(|e| e["actor_account_id"] == v.admin.id));
    assert!(by_admin.iter().any(|e| e["action"] == "cancelled"));
    // What: only cancellations.
    let cancels = audit(&app, &v.admin, "action=cancelled").await;
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["entity_id"], v.id);
    // Which record.
    let of_v2 = audit(
        &app,
        &v.admin,
        &format!("entity=appointment&entity_id={}", v2.id),
    )
    .await;
    let actions: Vec<&str> = of_v2
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["payment", "book"]);
    // When: before the two days passed, neither the payment nor v2 exist.
    let cut = (app.clock.now() - jiff::SignedDuration::from_hours(24)).to_string();
    let early = audit(&app, &v.admin, &format!("to={}", urlencode(&cut))).await;
    assert!(early.iter().all(|e| e["action"] != "payment"));
    assert!(early.iter().any(|e| e["action"] == "cancelled"));
    let late = audit(&app, &v.admin, &format!("from={}", urlencode(&cut))).await;
    assert!(late.iter().all(|e| e["action"] != "cancelled"));
    assert!(late.iter().any(|e| e["action"] == "payment"));
    for bad in ["from=yesterday", "to=", "from=", "limit=0", "limit=201"] {
        for path in ["/api/v1/audit", "/api/v1/audit/export"] {
            let r = app
                .get(&format!("{path}?{bad}"), Some(&v.admin.token))
                .await;
            r.assert_problem(422, "validation_failed");
        }
    }
    let r = app
        .get(
            &format!("/api/v1/audit?from={0}&to={0}", urlencode(&cut)),
            Some(&v.admin.token),
        )
        .await;
    r.assert_problem(422, "validation_failed");

    // Pages of one entry walk the same filter without repeats or gaps.
    let all_by_admin: Vec<i64> = by_admin
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app
            .get(
                &format!(
                    "/api/v1/audit?actor_account_id={}&limit=1{cursor}",
                    v.admin.id
                ),
                Some(&v.admin.token),
            )
            .await;
        walked.extend(
            r.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| e["id"].as_i64().expect("id")),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(walked, all_by_admin);

    // The CSV export of a filter holds exactly its entries, read back with the csv crate.
    let csv_of = |bytes: &[u8]| -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_reader(bytes);
        let header: Vec<String> = r
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            header,
            [
                "id",
                "at",
                "actor_account_id",
                "action",
                "entity",
                "entity_id",
                "detail"
            ]
        );
        r.records()
            .map(|rec| rec.expect("a record").iter().map(str::to_owned).collect())
            .collect()
    };
    let export = crate::helpers::client()
        .get(app.url(&format!(
            "/api/v1/audit/export?actor_account_id={}",
            v.admin.id
        )))
        .bearer_auth(&v.admin.token)
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let rows = csv_of(&export.bytes().await.expect("body"));
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().expect("id")).collect();
    assert_eq!(ids, all_by_admin);
    assert!(rows.iter().all(|r| r[2] == v.admin.id.to_string()));

    // The page's export, same filters; the formula-looking cell is inert.
    let browser = browser_of(&app, &v.admin, "/admin").await;
    let page = get(
        &app,
        &format!("/admin/audit.csv?actor={}", v.patient.id),
        Some(&browser.cookie),
    )
    .await;
    assert_eq!(page.status, 200);
    let rows = csv_of(page.body.as_bytes());
    let hostile: Vec<&Vec<String>> = rows.iter().filter(|r| r[4].contains("HYPERLINK")).collect();
    assert_eq!(hostile.len(), 1, "{rows:?}");
    assert_eq!(hostile[0][4], "'=HYPERLINK(\"http://evil\")");
    assert!(
        rows.iter()
            .flatten()
            .all(|c| !c.starts_with(['=', '+', '-', '@']))
    );

    // The page: filtered rows only, the export link carries the filters.
    let page = get(&app, "/admin/audit?action=cancelled", Some(&browser.cookie)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.matches("class=\"audit-action\">").count(),
        1,
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"audit-action\">cancelled<"));
    assert!(
        page.body
            .contains("href=\"/admin/audit.csv?action=cancelled\"")
    );
    let page = get(&app, "/admin/audit?from=someday", Some(&browser.cookie)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("YYYY-MM-DD"));

    // Nobody else has an audit log.
    let patient = browser_of(&app, &v.patient, "/appointments").await;
    assert_eq!(
        get(&app, "/admin/audit", Some(&patient.cookie))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&app, "/admin/audit.csv", Some(&patient.cookie))
            .await
            .status,
        404
    );
    app.get("/api/v1/audit/export", Some(&v.patient.token))
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/audit/export", Some(&v.doctor.token))
        .await
        .assert_problem(404, "not_found");
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn admins_are_added_and_switched_within_the_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.new_admin().await;
    let r = app.get("/api/v1/admins", Some(&a.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], a.id);
    assert_eq!(items[0]["you"], true);

    let add = |email: &str, password: &str| {
        app.post(
            "/api/v1/admins",
            Some(&a.token),
            json!({"email": email, "password": password}),
        )
    };
    let r = add("second@clinic.test", "short").await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "password");
    add("not an email", "a long admin secret")
        .await
        .assert_problem(422, "validation_failed");
    let r = add("second@clinic.test", "a long admin secret").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b_id = r.body["id"].as_i64().expect("id");
    add("Second@Clinic.test", "another long secret")
        .await
        .assert_problem(409, "already_registered");
    let b = User {
        token: app
            .login(json!({"email": "second@clinic.test", "password": "a long admin secret"}))
            .await,
        id: b_id,
    };
    let entries = audit(&app, &a, &format!("entity=admin&entity_id={b_id}")).await;
    assert_eq!(entries[0]["action"], "create");
    assert_eq!(entries[0]["actor_account_id"], a.id);

    let switch = |who: &User, id: i64, active: bool| {
        let token = who.token.clone();
        let app = &app;
        async move {
            app.call(
                Method::PUT,
                &format!("/api/v1/admins/{id}/active"),
                Some(&token),
                Some(json!({ "active": active })),
            )
            .await
        }
    };
    // Never yourself.
    switch(&a, a.id, false)
        .await
        .assert_problem(422, "own_account");
    // Not an admin account (a patient's), or none at all.
    let p = app.new_patient().await;
    let patient_account = app.get("/api/v1/me", Some(&p.token)).await.body["account_id"]
        .as_i64()
        .expect("account id");
    switch(&a, patient_account, false)
        .await
        .assert_problem(404, "not_found");
    switch(&a, 999_999, false)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/admins", Some(&p.token))
        .await
        .assert_problem(403, "forbidden");
    switch(&p, b_id, false)
        .await
        .assert_problem(403, "forbidden");

    // Deactivated: logged out everywhere and unable to log in; reactivated: back.
    assert_eq!(switch(&a, b_id, false).await.status, 204);
    assert_eq!(app.get("/api/v1/admins", Some(&b.token)).await.status, 401);
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "second@clinic.test", "password": "a long admin secret"}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(switch(&a, b_id, true).await.status, 204);
    let b = User {
        token: app
            .login(json!({"email": "second@clinic.test", "password": "a long admin secret"}))
            .await,
        id: b_id,
    };

    // Two admins turning each other off at once: one wins, the clinic keeps
    // an active admin.
    let (x, y) = tokio::join!(switch(&a, b.id, false), switch(&b, a.id, false));
    let mut statuses = [x.status.as_u16(), y.status.as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [204, 401] || statuses == [204, 422],
        "{statuses:?} {} {}",
        x.body,
        y.body
    );
    if statuses[1] == 422 {
        assert!(x.code() == "last_active_admin" || y.code() == "last_active_admin");
    }
    let survivor = if x.status == 204 { &a } else { &b };
    let r = app.get("/api/v1/admins", Some(&survivor.token)).await;
    let active = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["active"] == true)
        .count();
    assert_eq!(active, 1, "{}", r.body);

    // The page lists them and adds one through its form.
    let browser = browser_of(&app, survivor, "/admin/admins").await;
    let page = get(&app, "/admin/admins", Some(&browser.cookie)).await;
    assert!(page.body.contains("second@clinic.test") && page.body.contains("(you)"));
    let p = post_form(
        &app,
        "/admin/admins",
        Some(&browser.cookie),
        &format!(
            "csrf={}&email=third%40clinic.test&password=short",
            browser.csrf
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("third@clinic.test"), "the email is kept");
    let p = post_form(
        &app,
        "/admin/admins",
        Some(&browser.cookie),
        &format!(
            "csrf={}&email=third%40clinic.test&password=a+long+third+secret",
            browser.csrf
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    app.login(json!({"email": "third@clinic.test", "password": "a long third secret"}))
        .await;
}

/// Rows per table.
async fn counts(app: &TestApp) -> BTreeMap<String, i64> {
    app.store
        .row_counts()
        .await
        .expect("counts")
        .into_iter()
        .collect()
}

/// The real clinic next to the demo: an admin, a doctor, a patient and a
/// visit between them; then a real patient books a demo doctor and the demo
/// patient books the real doctor (rows the removal must take too).
struct Mixed {
    admin: User,
    patient: User,
    real_visit: i64,
    real_doctor: i64,
    /// The real doctor's slot the demo patient took.
    taken: String,
    before_demo_cross: BTreeMap<String, i64>,
}

async fn mix_real_data(app: &TestApp) -> Mixed {
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let slots = app.later_slots(doctor.id).await;
    let r = app.book(&patient, doctor.id, &slots[0]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let real_visit = r.body["id"].as_i64().expect("id");
    assert_eq!(pay(app, &admin, real_visit, "paid").await.status, 200);
    // Real rows of the later migrations' tables, which must stay: a second
    // factor with its recovery codes, a one-time code and its text message.
    crate::totp::enable(app, &admin.token).await;
    let r = app
        .post(
            "/api/v1/me/phone",
            Some(&patient.token),
            json!({"phone": crate::helpers::next_phone()}),
        )
        .await;
    assert_eq!(r.status.as_u16() / 100, 2, "{}", r.body);
    let before_demo_cross = counts(app).await;

    let r = app.get("/api/v1/doctors?limit=200", None).await;
    let demo_doctor = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["first_name"] == "Amara")
        .and_then(|d| d["id"].as_i64())
        .expect("the demo's first doctor");
    let demo_slot = app.later_slots(demo_doctor).await[0].clone();
    let r = app.book(&patient, demo_doctor, &demo_slot).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let demo_patient = User {
        token: app
            .login(json!({"phone": medimeet::demo::PATIENT_PHONE, "password": medimeet::demo::PATIENT_PASSWORD}))
            .await,
        id: 0,
    };
    // The demo's own rows in those tables, which must go.
    let r = app
        .post(
            "/api/v1/me/phone",
            Some(&demo_patient.token),
            json!({"phone": crate::helpers::next_phone()}),
        )
        .await;
    assert_eq!(r.status.as_u16() / 100, 2, "{}", r.body);
    let demo_doctor_token = app
        .login(json!({"email": medimeet::demo::FIRST_DOCTOR_EMAIL, "password": medimeet::demo::DOCTOR_PASSWORD}))
        .await;
    crate::totp::enable(app, &demo_doctor_token).await;
    let taken = slots[1].clone();
    let r = app.book(&demo_patient, doctor.id, &taken).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!app.slots(doctor.id, "").await.contains(&taken));
    Mixed {
        admin,
        patient,
        real_visit,
        real_doctor: doctor.id,
        taken,
        before_demo_cross,
    }
}

/// After the removal: exactly the demo's rows are gone (and the cross rows
/// with them), real data is as it was.
async fn assert_only_the_demo_is_gone(
    app: &TestApp,
    demo_only: &BTreeMap<String, i64>,
    m: &Mixed,
    after: &BTreeMap<String, i64>,
) {
    for (table, n) in after {
        // Address counters of logins are not anyone's data.
        if table == "login_throttle" {
            continue;
        }
        let expected = m.before_demo_cross.get(table).copied().unwrap_or(0)
            - demo_only.get(table).copied().unwrap_or(0)
            // The removal writes one audit entry of its own.
            + i64::from(table == "audit_log");
        assert_eq!(*n, expected, "rows left in {table}: {after:?}");
    }
    assert!(
        demo_only["accounts"] > 20 && demo_only["appointments"] > 100,
        "{demo_only:?}"
    );
    // Real data is untouched: the visit, its payment, its doctor's free slot
    // again, the patient's list without the demo doctor's visit.
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", m.real_visit),
            Some(&m.patient.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["payment_status"].as_str()),
        (Some("booked"), Some("paid"))
    );
    let r = app
        .get("/api/v1/appointments", Some(&m.patient.token))
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    assert!(app.slots(m.real_doctor, "").await.contains(&m.taken));
    let r = app.get("/api/v1/admins", Some(&m.admin.token)).await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    // The demo logins are gone, and so are the landing page's buttons.
    let r = app
        .post("/api/v1/sessions", None, json!({"email": medimeet::demo::ADMIN_EMAIL, "password": medimeet::demo::ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status, 401);
    let landing = get(app, "/", None).await;
    assert!(
        !landing.body.contains("Continue as demo"),
        "{}",
        landing.body
    );
}

async fn the_dashboard_button_removes_the_demo_and_nothing_else(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_on_opts(db.url(), backend, test_settings(), Clock::default(), false).await;
    medimeet::demo::load_if_empty(&app.store, app.clock.now().as_second())
        .await
        .expect("demo loads")
        .expect("an empty database");
    let demo_only = counts(&app).await;
    let landing = get(&app, "/", None).await;
    assert!(landing.body.contains("Continue as demo patient"));
    let m = mix_real_data(&app).await;

    // Only a real admin removes it: not the demo admin, not a patient.
    let demo_admin = User {
        token: app
            .login(json!({"email": medimeet::demo::ADMIN_EMAIL, "password": medimeet::demo::ADMIN_PASSWORD}))
            .await,
        id: 0,
    };
    app.call(
        Method::DELETE,
        "/api/v1/demo",
        Some(&demo_admin.token),
        None,
    )
    .await
    .assert_problem(403, "forbidden");
    app.call(Method::DELETE, "/api/v1/demo", Some(&m.patient.token), None)
        .await
        .assert_problem(403, "forbidden");

    let browser: Browser = browser_of(&app, &m.admin, "/admin").await;
    let page = get(&app, "/admin", Some(&browser.cookie)).await;
    assert!(page.body.contains("action=\"/admin/demo/remove\""));
    // Without the confirmation box ticked nothing happens.
    let p = post_form(
        &app,
        "/admin/demo/remove",
        Some(&browser.cookie),
        &format!("csrf={}", browser.csrf),
    )
    .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        counts(&app).await["accounts"],
        m.before_demo_cross["accounts"]
    );
    let p = post_form(
        &app,
        "/admin/demo/remove",
        Some(&browser.cookie),
        &format!("csrf={}&confirm=yes", browser.csrf),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // The demo's own sessions went with it.
    assert_eq!(
        app.get("/api/v1/me", Some(&demo_admin.token)).await.status,
        401
    );
    let after = counts(&app).await;
    assert_only_the_demo_is_gone(&app, &demo_only, &m, &after).await;
    let page = get(&app, "/admin", Some(&browser.cookie)).await;
    assert!(!page.body.contains("/admin/demo/remove"));
    let entries = audit(&app, &m.admin, "action=remove+demo").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor_account_id"], m.admin.id);
    // A second removal finds nothing.
    let r = app
        .call(Method::DELETE, "/api/v1/demo", Some(&m.admin.token), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["removed"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|t| t["rows"] == 0)
    );
}

async fn medimeet(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_medimeet"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn demo_remove_on_the_command_line_removes_the_demo_and_nothing_else(backend: Backend) {
    let db = TestDb::new(backend).await;
    let url = db.url().to_owned();
    let (ok, out) = medimeet(&["demo", "--database-url", &url]).await;
    assert!(ok && out.contains("Demo clinic loaded"), "{out}");
    let app = spawn_on_opts(&url, backend, test_settings(), Clock::default(), false).await;
    let demo_only = counts(&app).await;
    let m = mix_real_data(&app).await;

    let (ok, out) = medimeet(&["demo", "remove", "--database-url", &url]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("Demo clinic removed") && out.contains("appointments:"),
        "{out}"
    );
    let after = counts(&app).await;
    assert_only_the_demo_is_gone(&app, &demo_only, &m, &after).await;
    let (ok, out) = medimeet(&["demo", "remove", "--database-url", &url]).await;
    assert!(ok && out.contains("nothing removed"), "{out}");
}

crate::both_backends!(
    payments_follow_their_rules_are_audited_and_shown_to_the_patient,
    the_dashboard_shows_revenue_and_outstanding_per_doctor,
    the_audit_log_filters_pages_and_exports_csv,
    admins_are_added_and_switched_within_the_rules,
    the_dashboard_button_removes_the_demo_and_nothing_else,
    demo_remove_on_the_command_line_removes_the_demo_and_nothing_else,
);
