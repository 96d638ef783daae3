//! Webhooks and SMS (issue 10, decision 0014), through a real HTTP receiver
//! (tests/notify/receiver.py) that checks every webhook signature with the
//! Standard Webhooks reference package, not with medimeet's code.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, booked_visit, spawn_app_with, test_settings};
use medimeet::config::{Secret, Settings};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// The receiver: a Python process on a free port, killed on drop.
pub(crate) struct Receiver {
    base: String,
    _child: tokio::process::Child,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/notify/receiver.py"
            ))
            .arg(port.to_string())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "python3 tests/notify/receiver.py (pip install standardwebhooks; .ci/run does)",
            );
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{base}/_log")).await.is_ok() {
                return Receiver {
                    base,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver did not start (is standardwebhooks installed?)");
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next answers on `path`, and the secrets to verify it with.
    async fn configure(&self, path: &str, statuses: &[u16], secrets: &[&str]) {
        let r = reqwest::Client::new()
            .post(self.url("/_config"))
            .json(&json!({"path": path, "statuses": statuses, "secrets": secrets}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    pub(crate) async fn log(&self) -> Vec<Value> {
        reqwest::get(self.url("/_log"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits (at most 10 s) for `n` requests on `path`; all of them.
    pub(crate) async fn wait_for(&self, path: &str, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let on: Vec<Value> = self
                .log()
                .await
                .into_iter()
                .filter(|r| r["path"] == path)
                .collect();
            if on.len() >= n {
                return on;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("fewer than {n} requests on {path}: {:?}", self.log().await);
    }
}

pub(crate) fn body(r: &Value) -> Value {
    serde_json::from_str(r["body"].as_str().unwrap()).unwrap()
}

async fn add_endpoint(app: &TestApp, admin: &User, url: &str, events: &[&str]) -> (i64, String) {
    let r = app
        .post(
            "/api/v1/webhooks",
            Some(&admin.token),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (r.body["id"].as_i64().unwrap(), secret)
}

const ALL: [&str; 4] = [
    "appointment.booked",
    "appointment.cancelled",
    "appointment.rescheduled",
    "appointment.status_changed",
];

async fn signed_thin_webhooks_reach_the_clinics_system(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, test_settings()).await;
    let admin = app.new_admin().await;
    let (hook, secret) = add_endpoint(&app, &admin, &rx.url("/hook"), &ALL).await;
    let (_, other_secret) = add_endpoint(&app, &admin, &rx.url("/cancels"), &ALL[1..2]).await;
    rx.configure("/hook", &[], &[&secret]).await;
    rx.configure("/cancels", &[], &[&other_secret, &secret])
        .await;

    let v = booked_visit(&app).await;
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/cancel", v.id),
            Some(&v.patient.token),
            json!({"reason": "Secret illness Xyzzy"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let visit = app
        .get(
            &format!("/api/v1/appointments/{}", v.id),
            Some(&v.admin.token),
        )
        .await
        .body;
    let calls = rx.wait_for("/hook", 2).await;
    let types: Vec<Value> = calls.iter().map(|c| body(c)["type"].clone()).collect();
    assert_eq!(
        types,
        vec![json!("appointment.booked"), json!("appointment.cancelled")]
    );
    for c in &calls {
        assert_eq!(
            c["verified"],
            json!([true]),
            "the reference package verifies it: {c}"
        );
        let h = &c["headers"];
        assert!(h["webhook-id"].as_str().unwrap().starts_with("msg_"), "{h}");
        assert_eq!(h["content-type"], "application/json");
        // Thin: ids, times and status; no names, reasons or contacts.
        let b = body(c);
        let mut keys: Vec<&str> = b["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "appointment_id",
                "doctor_id",
                "end",
                "patient_id",
                "start",
                "status"
            ]
        );
        assert_eq!(b["data"]["appointment_id"], v.id);
        assert_eq!(b["data"]["patient_id"], visit["patient_id"]);
        assert_eq!(b["data"]["doctor_id"], visit["doctor_id"]);
        assert_eq!(b["data"]["end"], visit["end"]);
        assert_eq!(b["data"]["start"], v.start.to_string());
        let raw = c["body"].as_str().unwrap();
        assert!(!raw.contains("Xyzzy") && !raw.contains("Doc"), "{raw}");
    }
    assert_eq!(body(&calls[0])["data"]["status"], "booked");
    assert_eq!(body(&calls[1])["data"]["status"], "cancelled");
    assert_ne!(
        calls[0]["headers"]["webhook-id"],
        calls[1]["headers"]["webhook-id"]
    );

    // The endpoint subscribed to cancellations only heard of that one; its
    // own secret verifies it, another endpoint's does not.
    let cancels = rx.wait_for("/cancels", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.wait_for("/cancels", 1).await.len(), 1);
    assert_eq!(body(&cancels[0])["type"], "appointment.cancelled");
    assert_eq!(cancels[0]["verified"], json!([true, false]));

    // The admin sees each delivery as sent.
    let r = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let states: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["state"])
        .collect();
    assert_eq!(states, [&json!("sent"), &json!("sent")], "{}", r.body);
}

async fn a_rotation_signs_with_both_secrets_for_a_day(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, test_settings()).await;
    let admin = app.new_admin().await;
    let (hook, old) = add_endpoint(&app, &admin, &rx.url("/hook"), &ALL).await;
    let r = app
        .post(
            &format!("/api/v1/webhooks/{hook}/rotate"),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(r.body["previous_secret_until"].is_string(), "{}", r.body);
    rx.configure("/hook", &[], &[&old, &new]).await;

    let test = format!("/api/v1/webhooks/{hook}/test");
    let r = app.post(&test, Some(&admin.token), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let calls = rx.wait_for("/hook", 1).await;
    assert_eq!(body(&calls[0])["type"], "webhook.test");
    assert_eq!(calls[0]["headers"]["webhook-id"], r.body["message_id"]);
    assert_eq!(
        calls[0]["verified"],
        json!([true, true]),
        "during the rotation both secrets verify: {}",
        calls[0]
    );

    // A day later only the new one signs.
    app.clock.advance(25 * 3600);
    app.post(&test, Some(&admin.token), json!({})).await;
    let calls = rx.wait_for("/hook", 2).await;
    assert_eq!(calls[1]["verified"], json!([false, true]), "{}", calls[1]);
    let r = app
        .get(&format!("/api/v1/webhooks/{hook}"), Some(&admin.token))
        .await;
    assert_eq!(r.body["previous_secret_until"], Value::Null);
    assert!(
        r.body.get("secret").is_none(),
        "never shown again: {}",
        r.body
    );
}

async fn failures_are_retried_and_410_disables_the_endpoint(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(backend, test_settings()).await;
    let admin = app.new_admin().await;
    let (hook, secret) = add_endpoint(&app, &admin, &rx.url("/hook"), &ALL).await;
    let test = format!("/api/v1/webhooks/{hook}/test");
    let deliveries = format!("/api/v1/webhooks/{hook}/deliveries");

    // 500, then 404: tried again each time after the backoff (a refusal may
    // be a passing misconfiguration), then delivered, under one id.
    rx.configure("/hook", &[500, 404], &[&secret]).await;
    app.post(&test, Some(&admin.token), json!({})).await;
    rx.wait_for("/hook", 1).await;
    let r = app.get(&deliveries, Some(&admin.token)).await;
    let d = &r.body["items"][0];
    assert_eq!(d["state"], "pending", "{d}");
    assert_eq!(d["attempts"], 1);
    assert!(d["last_error"].as_str().unwrap().contains("500"), "{d}");
    for n in 2..=3 {
        app.clock.advance(3600);
        rx.wait_for("/hook", n).await;
    }
    let calls = rx.wait_for("/hook", 3).await;
    let statuses: Vec<&Value> = calls.iter().map(|c| &c["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(404), &json!(200)]);
    assert!(
        calls
            .iter()
            .all(|c| c["headers"]["webhook-id"] == calls[0]["headers"]["webhook-id"])
    );
    for _ in 0..50 {
        let r = app.get(&deliveries, Some(&admin.token)).await;
        if r.body["items"][0]["state"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = app.get(&deliveries, Some(&admin.token)).await;
    assert_eq!(r.body["items"][0]["state"], "sent", "{}", r.body);
    assert_eq!(r.body["items"][0]["attempts"], 3, "three tries");

    // 410 Gone: the endpoint is turned off, with the reason; nothing more goes.
    rx.configure("/hook", &[410], &[&secret]).await;
    app.post(&test, Some(&admin.token), json!({})).await;
    rx.wait_for("/hook", 4).await;
    let mut endpoint = Value::Null;
    for _ in 0..50 {
        endpoint = app
            .get(&format!("/api/v1/webhooks/{hook}"), Some(&admin.token))
            .await
            .body;
        if endpoint["active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(endpoint["active"], false, "{endpoint}");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{endpoint}"
    );
    let v = booked_visit(&app).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.log().await.len(), 4, "a disabled endpoint hears nothing");
    let r = app.get("/api/v1/notifications", Some(&admin.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["dead"].as_i64().unwrap() >= 1, "{}", r.body);
    assert!(
        r.body["recent_dead"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["webhook_id"] == hook),
        "{}",
        r.body
    );

    // Turned back on, it hears of the next change.
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/webhooks/{hook}"),
            Some(&admin.token),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["disabled_reason"], Value::Null);
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/cancel", v.id),
            Some(&v.doctor.token),
            json!({"reason": "away"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let calls = rx.wait_for("/hook", 5).await;
    assert_eq!(body(&calls[4])["type"], "appointment.cancelled");

    // Deleted: gone from the list, and its id answers 404.
    let path = format!("/api/v1/webhooks/{hook}");
    let r = app
        .call(Method::DELETE, &path, Some(&admin.token), None)
        .await;
    assert_eq!(r.status, 204);
    app.get(&path, Some(&admin.token))
        .await
        .assert_problem(404, "not_found");
    let r = app.get("/api/v1/webhooks", Some(&admin.token)).await;
    assert_eq!(r.body["items"], json!([]));
}

async fn only_admins_manage_webhooks_and_bad_ones_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, test_settings()).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let (hook, _) = add_endpoint(&app, &admin, "https://ehr.clinic.test/hooks", &ALL[..1]).await;
    let item = format!("/api/v1/webhooks/{hook}");
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/webhooks".into(), None),
        (
            Method::POST,
            "/api/v1/webhooks".into(),
            Some(json!({"url": "https://x.test/", "events": ALL})),
        ),
        (Method::GET, item.clone(), None),
        (Method::PATCH, item.clone(), Some(json!({"active": false}))),
        (Method::DELETE, item.clone(), None),
        (Method::POST, format!("{item}/rotate"), None),
        (Method::POST, format!("{item}/test"), None),
        (Method::GET, format!("{item}/deliveries"), None),
        (Method::GET, "/api/v1/notifications".into(), None),
    ];
    for (method, path, body) in &calls {
        for who in [&doctor, &patient] {
            app.call(method.clone(), path, Some(&who.token), body.clone())
                .await
                .assert_problem(403, "forbidden");
        }
        app.call(method.clone(), path, None, body.clone())
            .await
            .assert_problem(401, "unauthenticated");
    }
    // Nothing changed.
    let r = app.get(&item, Some(&admin.token)).await;
    assert_eq!(r.body["active"], true);
    assert_eq!(
        app.get("/api/v1/webhooks", Some(&admin.token)).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    for (body, field) in [
        (json!({"url": "ftp://x.test/", "events": ALL}), "url"),
        (json!({"url": "https://", "events": ALL}), "url"),
        (json!({"url": "https://x.test/", "events": []}), "events"),
        (
            json!({"url": "https://x.test/", "events": ["appointment.deleted"]}),
            "events",
        ),
    ] {
        let r = app
            .post("/api/v1/webhooks", Some(&admin.token), body.clone())
            .await;
        r.assert_problem(422, "validation_failed");
        assert!(r.body.to_string().contains(field), "{body}: {}", r.body);
    }
    let r = app
        .call(
            Method::PATCH,
            &item,
            Some(&admin.token),
            Some(json!({"events": ["nope"]})),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let r = app.get(&item, Some(&admin.token)).await;
    assert_eq!(r.body["events"], json!(["appointment.booked"]));
    app.get("/api/v1/webhooks/999999", Some(&admin.token))
        .await
        .assert_problem(404, "not_found");
}

fn sms_settings(rx: &Receiver, body: &str, auth: &str) -> Settings {
    Settings {
        sms_url: Some(rx.url("/sms")),
        sms_auth_header: Some(Secret::new(auth)),
        sms_body: Some(body.into()),
        public_url: Some("https://clinic.test".into()),
        ..test_settings()
    }
}

async fn text_messages_reach_the_provider_with_the_link(backend: Backend) {
    let rx = Receiver::start().await;
    let app = spawn_app_with(
        backend,
        sms_settings(
            &rx,
            r#"{"to":"{to}","text":"{text}","ref":"{id}"}"#,
            "Authorization: Bearer sms-key-123",
        ),
    )
    .await;
    let v = booked_visit(&app).await;
    let sms = rx.wait_for("/sms", 1).await;
    let h = &sms[0]["headers"];
    assert_eq!(h["authorization"], "Bearer sms-key-123");
    assert_eq!(h["content-type"], "application/json");
    let b = body(&sms[0]);
    assert_eq!(h["idempotency-key"], b["ref"], "{h}");
    assert!(b["to"].as_str().unwrap().starts_with('+'), "E.164: {b}");
    let text = b["text"].as_str().unwrap();
    assert!(text.contains("is booked"), "{text}");
    assert!(
        text.contains(&format!("https://clinic.test/appointments/{}/visit", v.id)),
        "{text}"
    );

    // The room opens ten minutes before: the patient is told, with the link
    // (after the 24- and 1-hour reminders, which came due on the way and
    // still went out: the visit is ahead).
    let opens = v.start.as_second() - 600;
    app.clock.advance(opens - app.clock.now().as_second() + 5);
    let sms = rx.wait_for("/sms", 4).await;
    let texts: Vec<String> = sms
        .iter()
        .map(|s| body(s)["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        texts[1].contains("tomorrow") && texts[2].contains("in one hour"),
        "{texts:?}"
    );
    assert!(texts[3].contains("is open"), "{texts:?}");
    assert!(texts[3].contains(&format!("https://clinic.test/appointments/{}/visit", v.id)));
    app.clock
        .advance(v.start.as_second() - app.clock.now().as_second() + 60);

    // The doctor writes the note: the patient hears it is there, once.
    let visit = format!("/api/v1/appointments/{}", v.id);
    let r = app
        .post(&format!("{visit}/start"), Some(&v.doctor.token), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = rx.log().await.len();
    for text in ["first", "second"] {
        let r = app
            .call(
                Method::PUT,
                &format!("{visit}/note"),
                Some(&v.doctor.token),
                Some(json!({"body": text})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let sms = rx.wait_for("/sms", before + 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after: Vec<Value> = rx.log().await.into_iter().skip(before).collect();
    assert_eq!(
        after.len(),
        1,
        "one notice for the note, not one per edit: {after:?}"
    );
    let text = body(sms.last().unwrap())["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("note") && text.contains("ready"), "{text}");
}

async fn a_provider_refusal_is_dead_at_once_and_shown(backend: Backend) {
    let rx = Receiver::start().await;
    rx.configure("/sms", &[400, 400, 400, 400], &[]).await;
    let app = spawn_app_with(
        backend,
        sms_settings(&rx, "To={to}&Body={text}&Ref={id}", "X-Api-Key: key-456"),
    )
    .await;
    let v = booked_visit(&app).await;
    let sms = rx.wait_for("/sms", 1).await;
    assert_eq!(sms[0]["headers"]["x-api-key"], "key-456");
    assert_eq!(
        sms[0]["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(
        sms[0]["body"].as_str().unwrap().starts_with("To=%2B"),
        "{}",
        sms[0]["body"]
    );
    for _ in 0..50 {
        let r = app.get("/api/v1/notifications", Some(&v.admin.token)).await;
        if r.body["dead"] == 1 {
            let d = &r.body["recent_dead"][0];
            assert_eq!(d["channel"], "sms");
            assert_eq!(d["appointment_id"], v.id);
            assert!(d["last_error"].as_str().unwrap().contains("400"), "{d}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the refused SMS never died");
}

both_backends!(
    signed_thin_webhooks_reach_the_clinics_system,
    a_rotation_signs_with_both_secrets_for_a_day,
    failures_are_retried_and_410_disables_the_endpoint,
    only_admins_manage_webhooks_and_bad_ones_are_refused,
    text_messages_reach_the_provider_with_the_link,
    a_provider_refusal_is_dead_at_once_and_shown,
);
