//! The notification pages' forms (issue 10), through the real server: the
//! patient's profile choices (`/profile`) and the admin's webhooks page
//! (`/admin/webhooks`). Each form checks its CSRF token, is there for its
//! role only (anyone else gets the 404 page and changes nothing), and saves
//! exactly what the API then reads back.

use crate::helpers::{Backend, TestApp, User, next_phone, spawn_app};
use crate::pages::{Page, browser_of, browser_session, get, patient_browser, post_form};
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};

async fn profile(app: &TestApp, patient: &User) -> Value {
    let r = app
        .get(
            &format!("/api/v1/patients/{}", patient.id),
            Some(&patient.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn flash_of(p: &Page) -> Option<String> {
    p.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("medimeet_flash="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

async fn profile_choices_are_saved_and_only_a_patient_has_a_profile(backend: Backend) {
    let app = spawn_app(backend).await;

    // A patient with an email address: both boxes, both on at first.
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Rosa", "last_name": "Parkes", "phone": phone,
                   "password": "long enough pw", "date_of_birth": "1980-05-05",
                   "email": "rosa@example.org"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let browser =
        browser_session(&app, json!({"phone": phone, "password": "long enough pw"})).await;
    let patient = User {
        token: browser
            .cookie
            .trim_start_matches("medimeet_session=")
            .to_owned(),
        id: r.body["id"].as_i64().expect("id"),
    };
    let page = get(&app, "/profile", Some(&browser.cookie)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Rosa Parkes") && page.body.contains("rosa@example.org"));
    assert!(page.body.contains(&phone));
    assert!(page.body.contains("How should we reach you?"));
    assert!(page.body.contains("one-click unsubscribe link"));
    assert!(
        !page
            .body
            .contains(" disabled aria-describedby=\"h-notify_email\""),
        "email can be chosen"
    );
    assert_eq!(count(&page.body, " checked"), 2, "both boxes start ticked");

    // Untick text messages (the box is simply absent from the form).
    let p = post_form(
        &app,
        "/profile/notifications",
        Some(&browser.cookie),
        &format!("csrf={}&notify_email=yes", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/profile");
    assert_eq!(flash_of(&p).as_deref(), Some("notify_saved"));
    let saved = profile(&app, &patient).await;
    assert_eq!(saved["notify_sms"], false);
    assert_eq!(saved["notify_email"], true);
    let page = get(&app, "/profile", Some(&browser.cookie)).await;
    assert_eq!(count(&page.body, " checked"), 1, "the page shows it saved");

    // Email off, text messages on.
    post_form(
        &app,
        "/profile/notifications",
        Some(&browser.cookie),
        &format!("csrf={}&notify_sms=yes", browser.csrf),
    )
    .await;
    let saved = profile(&app, &patient).await;
    assert_eq!(
        (saved["notify_email"].clone(), saved["notify_sms"].clone()),
        (json!(false), json!(true))
    );

    // Without its token the form is refused and changes nothing.
    for form in [
        "notify_email=yes&notify_sms=yes".to_owned(),
        "csrf=wrong".to_owned(),
    ] {
        let p = post_form(&app, "/profile/notifications", Some(&browser.cookie), &form).await;
        assert_eq!(p.status, 403, "{form}");
        let saved = profile(&app, &patient).await;
        assert_eq!(
            (saved["notify_email"].clone(), saved["notify_sms"].clone()),
            (json!(false), json!(true)),
            "{form}"
        );
    }

    // A patient without an email address: the box is disabled and explained,
    // and saving the form leaves that choice as it was.
    let (plain, plain_browser) = patient_browser(&app).await;
    let page = get(&app, "/profile", Some(&plain_browser.cookie)).await;
    assert!(page.body.contains("None on file"));
    assert!(page.body.contains("We have no email address for you"));
    assert!(
        page.body
            .contains(" disabled aria-describedby=\"h-notify_email\"")
    );
    let p = post_form(
        &app,
        "/profile/notifications",
        Some(&plain_browser.cookie),
        &format!("csrf={}", plain_browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303);
    let saved = profile(&app, &plain).await;
    assert_eq!(saved["notify_sms"], false);
    assert_eq!(
        saved["notify_email"], true,
        "a disabled box switches nothing off"
    );

    // Nobody else has a profile page: admins and doctors get the 404 page,
    // and their (valid) form changes nothing; visitors log in first.
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    for (who, user, home) in [
        ("admin", &admin, "/admin"),
        ("doctor", &doctor, "/doctor/week"),
    ] {
        let b = browser_of(&app, user, home).await;
        let p = get(&app, "/profile", Some(&b.cookie)).await;
        assert_eq!(p.status, 404, "{who}");
        assert!(p.body.contains("Page not found"), "{who}");
        let p = post_form(
            &app,
            "/profile/notifications",
            Some(&b.cookie),
            &format!("csrf={}&notify_sms=yes&notify_email=yes", b.csrf),
        )
        .await;
        assert_eq!(p.status, 404, "{who}");
        let nav = get(&app, home, Some(&b.cookie)).await;
        assert!(
            !nav.body.contains("href=\"/profile\""),
            "{who} has no Profile link"
        );
    }
    let saved = profile(&app, &patient).await;
    assert_eq!(
        (saved["notify_email"].clone(), saved["notify_sms"].clone()),
        (json!(false), json!(true))
    );
    let p = get(&app, "/appointments", Some(&browser.cookie)).await;
    assert!(
        p.body.contains("href=\"/profile\""),
        "patients have a Profile link"
    );
    let anon = get(&app, "/profile", None).await;
    assert_eq!(anon.status, 303);
    assert_eq!(anon.header(LOCATION), "/login?next=/profile");
}

async fn endpoints(app: &TestApp, admin: &User) -> Vec<Value> {
    let r = app.get("/api/v1/webhooks", Some(&admin.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().expect("items").clone()
}

const ALL_EVENTS: &str = "events=appointment.booked&events=appointment.cancelled\
    &events=appointment.rescheduled&events=appointment.status_changed";

async fn the_webhooks_page_forms_check_their_token_and_show_a_secret_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let b = browser_of(&app, &admin, "/admin").await;
    assert!(
        get(&app, "/admin", Some(&b.cookie))
            .await
            .body
            .contains("href=\"/admin/webhooks\""),
        "the admin's navigation links the page"
    );
    let page = get(&app, "/admin/webhooks", Some(&b.cookie)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Notification queue"));
    assert!(page.body.contains("No endpoints yet."));

    // No token, a wrong one: refused, nothing made.
    let good = format!("url=https%3A%2F%2Fehr.clinic.test%2Fhooks&{ALL_EVENTS}");
    for form in [
        good.clone(),
        format!("{good}&csrf="),
        format!("{good}&csrf=guess"),
    ] {
        let p = post_form(&app, "/admin/webhooks", Some(&b.cookie), &form).await;
        assert_eq!(p.status, 403, "{form}");
        assert!(p.body.contains("This form has expired"));
        assert!(!p.body.contains("whsec_"));
        assert!(endpoints(&app, &admin).await.is_empty(), "{form}");
    }

    // Mistakes come back at their fields, and make nothing either.
    let p = post_form(
        &app,
        "/admin/webhooks",
        Some(&b.cookie),
        &format!(
            "csrf={}&url=ftp%3A%2F%2Fehr.clinic.test&{ALL_EVENTS}",
            b.csrf
        ),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(
        p.body
            .contains("The URL must start with http:// or https://"),
        "{}",
        p.body
    );
    assert!(p.body.contains("id=\"f-url\"") && p.body.contains("aria-invalid=\"true\""));
    assert!(
        p.body.contains("value=\"ftp://ehr.clinic.test\""),
        "what was typed stays"
    );
    let p = post_form(
        &app,
        "/admin/webhooks",
        Some(&b.cookie),
        &format!("csrf={}&url=https%3A%2F%2Fehr.clinic.test%2Fhooks", b.csrf),
    )
    .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Choose at least one of the events below."));
    assert!(!p.body.contains("whsec_"));
    assert!(endpoints(&app, &admin).await.is_empty());

    // Made: the secret is on the answer once, and nowhere after.
    let p = post_form(
        &app,
        "/admin/webhooks",
        Some(&b.cookie),
        &format!(
            "csrf={}&url=https%3A%2F%2Fehr.clinic.test%2Fhooks&events=appointment.booked",
            b.csrf
        ),
    )
    .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(count(&p.body, "whsec_"), 1);
    assert!(p.body.contains("it is not shown again"));
    assert!(
        p.set_cookies().iter().all(|c| !c.contains("whsec_")),
        "no cookie carries it"
    );
    let list = endpoints(&app, &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["url"], "https://ehr.clinic.test/hooks");
    assert_eq!(list[0]["events"], json!(["appointment.booked"]));
    let id = list[0]["id"].as_i64().expect("id");
    let after = get(&app, "/admin/webhooks", Some(&b.cookie)).await;
    assert_eq!(count(&after.body, "whsec_"), 0, "shown once only");
    assert!(after.body.contains(&format!("id=\"endpoint-{id}\"")));

    // Rotating needs the token too, and shows the new secret once.
    let rotate = format!("/admin/webhooks/{id}/rotate");
    let p = post_form(&app, &rotate, Some(&b.cookie), "csrf=guess").await;
    assert_eq!(p.status, 403);
    assert!(endpoints(&app, &admin).await[0]["previous_secret_until"].is_null());
    let p = post_form(&app, &rotate, Some(&b.cookie), &format!("csrf={}", b.csrf)).await;
    assert_eq!(p.status, 200);
    assert_eq!(count(&p.body, "whsec_"), 1);
    assert!(
        p.body
            .contains("keeps signing beside the new one for 24 hours")
    );
    assert!(!endpoints(&app, &admin).await[0]["previous_secret_until"].is_null());

    // A test event: queued for this endpoint.
    let test = format!("/admin/webhooks/{id}/test");
    let p = post_form(&app, &test, Some(&b.cookie), "").await;
    assert_eq!(p.status, 403);
    let p = post_form(&app, &test, Some(&b.cookie), &format!("csrf={}", b.csrf)).await;
    assert_eq!(p.status, 303);
    assert_eq!(p.header(LOCATION), format!("/admin/webhooks#endpoint-{id}"));
    let r = app
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries"),
            Some(&admin.token),
        )
        .await;
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", r.body);
    assert_eq!(items[0]["kind"], "test");

    // Off (with its reason), on again.
    let active = format!("/admin/webhooks/{id}/active");
    let p = post_form(
        &app,
        &active,
        Some(&b.cookie),
        &format!("csrf={}&active=false", b.csrf),
    )
    .await;
    assert_eq!(p.status, 303);
    let w = &endpoints(&app, &admin).await[0];
    assert_eq!(
        (w["active"].clone(), w["disabled_reason"].clone()),
        (json!(false), json!("turned off by an admin"))
    );
    let page = get(&app, "/admin/webhooks", Some(&b.cookie)).await;
    assert!(page.body.contains("turned off by an admin") && page.body.contains(">Turn on<"));
    let p = post_form(
        &app,
        &active,
        Some(&b.cookie),
        &format!("csrf={}&active=true", b.csrf),
    )
    .await;
    assert_eq!(p.status, 303);
    assert_eq!(endpoints(&app, &admin).await[0]["active"], true);

    // Deleting: the token first, then it is gone.
    let delete = format!("/admin/webhooks/{id}/delete");
    let p = post_form(&app, &delete, Some(&b.cookie), "csrf=").await;
    assert_eq!(p.status, 403);
    assert_eq!(endpoints(&app, &admin).await.len(), 1);
    let p = post_form(&app, &delete, Some(&b.cookie), &format!("csrf={}", b.csrf)).await;
    assert_eq!(p.status, 303);
    assert_eq!(flash_of(&p).as_deref(), Some("webhook_deleted"));
    assert!(endpoints(&app, &admin).await.is_empty());
    let p = post_form(&app, &delete, Some(&b.cookie), &format!("csrf={}", b.csrf)).await;
    assert_eq!(p.status, 404, "a deleted endpoint is not there any more");
}

async fn only_admins_have_the_webhooks_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let a = browser_of(&app, &admin, "/admin").await;
    let p = post_form(
        &app,
        "/admin/webhooks",
        Some(&a.cookie),
        &format!(
            "csrf={}&url=https%3A%2F%2Fehr.clinic.test%2Fa&{ALL_EVENTS}",
            a.csrf
        ),
    )
    .await;
    assert_eq!(p.status, 201);
    let id = endpoints(&app, &admin).await[0]["id"].as_i64().expect("id");

    let doctor = app.everyday_doctor(&admin).await;
    let d = browser_of(&app, &doctor, "/doctor/week").await;
    let (_, patient) = patient_browser(&app).await;
    for (who, b) in [("doctor", &d), ("patient", &patient)] {
        let p = get(&app, "/admin/webhooks", Some(&b.cookie)).await;
        assert_eq!(p.status, 404, "{who}");
        assert!(p.body.contains("Page not found"), "{who}");
        assert!(
            !p.body.contains("ehr.clinic.test"),
            "{who} sees no endpoint"
        );
        // Their own valid token does not make these forms theirs.
        let csrf = format!("csrf={}", b.csrf);
        for (path, form) in [
            (
                "/admin/webhooks".to_owned(),
                format!("{csrf}&url=https%3A%2F%2Fevil.test&{ALL_EVENTS}"),
            ),
            (format!("/admin/webhooks/{id}/rotate"), csrf.clone()),
            (format!("/admin/webhooks/{id}/test"), csrf.clone()),
            (
                format!("/admin/webhooks/{id}/active"),
                format!("{csrf}&active=false"),
            ),
            (format!("/admin/webhooks/{id}/delete"), csrf.clone()),
        ] {
            let p = post_form(&app, &path, Some(&b.cookie), &form).await;
            assert_eq!(p.status, 404, "{who} {path}");
            assert!(!p.body.contains("whsec_"), "{who} {path}");
        }
    }
    // Nothing changed: one endpoint, on, never rotated, nothing queued.
    let list = endpoints(&app, &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["active"], true);
    assert!(list[0]["previous_secret_until"].is_null());
    let r = app
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
    // Visitors log in first.
    let anon = get(&app, "/admin/webhooks", None).await;
    assert_eq!(anon.status, 303);
    assert_eq!(anon.header(LOCATION), "/login?next=/admin/webhooks");
}

crate::both_backends!(
    profile_choices_are_saved_and_only_a_patient_has_a_profile,
    the_webhooks_page_forms_check_their_token_and_show_a_secret_once,
    only_admins_have_the_webhooks_page,
);
