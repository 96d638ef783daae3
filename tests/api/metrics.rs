//! `GET /metrics` (issue 12, decision 0016): only to the bearer of the
//! metrics token, a 404 like any unknown address while none is set; the
//! whole text parsed by the Prometheus Python client's own parser
//! (tests/metrics/parse.py); the counts exactly what happened; and no
//! personal data, id or token anywhere in it.

use crate::helpers::{
    Backend, TestApp, client, next_phone, rand_u64, spawn_app, spawn_app_with, test_settings,
};
use medimeet::config::{Secret, Settings};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const TOKEN: &str = "scrape-token-0123456789abcdef";

async fn app_with_token(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Settings {
            metrics_token: Some(Secret::new(TOKEN)),
            ..test_settings()
        },
    )
    .await
}

/// A raw GET with an optional `Authorization` header: status, content type, body.
async fn raw_get(app: &TestApp, path: &str, authorization: Option<&str>) -> (u16, String, String) {
    let mut req = client().get(app.url(path));
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let headers = res.headers().clone();
    let body = res.text().await.expect("body");
    (
        status,
        kind,
        crate::helpers::blank_request_id(&headers, &body),
    )
}

/// The metrics text, scraped with the token.
async fn scrape_text(app: &TestApp) -> String {
    let (status, kind, body) = raw_get(app, "/metrics", Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind, "text/plain; version=0.0.4");
    body
}

/// One sample as the outside parser read it.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The text read by `prometheus_client`'s parser: its families (name to type)
/// and every sample.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/metrics/parse.py"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (pip install prometheus_client; .ci/run does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let families: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for f in &families {
        types.insert(
            f["name"].as_str().unwrap().to_owned(),
            f["type"].as_str().unwrap().to_owned(),
        );
        for s in f["samples"].as_array().unwrap() {
            samples.push(Sample {
                name: s["name"].as_str().unwrap().to_owned(),
                labels: s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect(),
                value: s["value"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("a finite value: {s}")),
            });
        }
    }
    (types, samples)
}

/// The value of the sample `name` with exactly `labels`; 0 when absent (a
/// labelled counter appears with its first increment).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == want)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} twice");
    found.first().map_or(0.0, |s| s.value)
}

/// How many requests of `method route status` were counted.
fn requests(samples: &[Sample], method: &str, route: &str, status: &str) -> f64 {
    value(
        samples,
        "medimeet_http_request_duration_seconds_count",
        &[("method", method), ("route", route), ("status", status)],
    )
}

async fn without_a_token_metrics_is_an_unknown_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let unknown = raw_get(&app, &format!("/no-such-page-{}", rand_u64()), None).await;
    assert_eq!(unknown.0, 404);
    for auth in [None, Some("Bearer "), Some(&*format!("Bearer {TOKEN}"))] {
        let metrics = raw_get(&app, "/metrics", auth).await;
        assert_eq!(metrics, unknown, "with {auth:?}");
    }
}

async fn only_the_tokens_bearer_reads_metrics(backend: Backend) {
    let app = app_with_token(backend).await;
    let patient = app.new_patient().await;
    // The same length as the token, one character off; a patient's session;
    // the token in another scheme or without one.
    let mut off = TOKEN.to_owned();
    off.pop();
    off.push('g');
    for auth in [
        None,
        Some(format!("Bearer {off}")),
        Some(format!("Bearer {}", patient.token)),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
        Some("Bearer ".to_owned()),
    ] {
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        app.call_with(Method::GET, "/metrics", None, None, &headers)
            .await
            .assert_problem(401, "unauthenticated");
    }
    // The scheme's name is not case-sensitive (RFC 9110).
    let lower = format!("bearer {TOKEN}");
    let r = app
        .call_with(
            Method::GET,
            "/metrics",
            None,
            None,
            &[("authorization", lower.as_str())],
        )
        .await;
    assert_eq!(r.status, 200);
    let text = scrape_text(&app).await;
    let (types, samples) = parse(&text);
    // Every family the README lists, with its type.
    for (family, kind) in [
        ("medimeet_http_request_duration_seconds", "histogram"),
        ("medimeet_bookings", "counter"),
        ("medimeet_booking_conflicts", "counter"),
        ("medimeet_logins", "counter"),
        ("medimeet_notification_queue_pending", "gauge"),
        ("medimeet_notification_queue_due", "gauge"),
        ("medimeet_notification_queue_retrying", "gauge"),
        (
            "medimeet_notification_queue_oldest_due_age_seconds",
            "gauge",
        ),
        ("medimeet_notification_events_unexpanded", "gauge"),
        ("medimeet_notification_deliveries", "gauge"),
        ("medimeet_db_pool_connections", "gauge"),
        ("medimeet_db_pool_idle_connections", "gauge"),
        ("medimeet_db_pool_max_connections", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    // The unauthorized scrapes were requests like any other.
    assert_eq!(requests(&samples, "GET", "/metrics", "401"), 7.0);
    // The pools as the test harness opened them (8 connections).
    let pools: &[(&str, f64)] = match backend {
        Backend::Sqlite => &[("read", 8.0), ("write", 1.0)],
        Backend::Postgres => &[("main", 8.0)],
    };
    for (pool, max) in pools {
        let l = [("pool", *pool)];
        assert_eq!(
            value(&samples, "medimeet_db_pool_max_connections", &l),
            *max
        );
        let open = value(&samples, "medimeet_db_pool_connections", &l);
        let idle = value(&samples, "medimeet_db_pool_idle_connections", &l);
        assert!(open >= 1.0 && open <= *max, "{pool}: {open} open");
        assert!(idle <= open, "{pool}: {idle} idle of {open}");
    }
    let names: Vec<&str> = samples
        .iter()
        .filter(|s| s.name.starts_with("medimeet_db_pool_max"))
        .map(|s| s.labels["pool"].as_str())
        .collect();
    assert_eq!(names.len(), pools.len(), "{names:?}");
}

async fn metrics_count_what_happened_and_name_no_one(backend: Backend) {
    let app = app_with_token(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;

    let before = parse(&scrape_text(&app).await).1;

    // A patient with a name, email and phone of their own.
    let n = rand_u64() % 1_000_000;
    let (first, last) = (format!("Zelinda{n}"), format!("Quarrington{n}"));
    let email = format!("zq{n}@mail.example");
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": first, "last_name": last, "phone": phone, "email": email,
                   "password": "long enough pw", "date_of_birth": "1984-02-29"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = app
        .login(json!({"phone": phone, "password": "long enough pw"}))
        .await;
    let wrong = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": phone, "password": "not the password"}),
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");

    let start = app.later_slots(doctor.id).await[0].clone();
    let reason = format!("persistent cough since march {n}");
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&token),
            json!({"doctor_id": doctor.id, "start": start, "reason": reason}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    // Another patient wants the same slot.
    let other = app.new_patient().await;
    app.book(&other, doctor.id, &start)
        .await
        .assert_problem(409, "slot_taken");
    // The visit read by its id; a calendar feed and an unsubscribe link
    // with made-up tokens; an address that does not exist.
    let visit_path = format!("/api/v1/appointments/{id}");
    assert_eq!(app.get(&visit_path, Some(&token)).await.status, 200);
    let feed_token = format!("{n}.feedsecret{}", rand_u64());
    assert_eq!(
        raw_get(&app, &format!("/calendar/{feed_token}.ics"), None)
            .await
            .0,
        404
    );
    let unsub_token = format!("unsubsecret{}", rand_u64());
    raw_get(&app, &format!("/unsubscribe?t={unsub_token}"), None).await;
    let nowhere = format!("/nowhere-{}", rand_u64());
    assert_eq!(raw_get(&app, &nowhere, None).await.0, 404);

    let text = scrape_text(&app).await;
    let after = parse(&text).1;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(delta("medimeet_bookings_total", &[]), 1.0, "{text}");
    assert_eq!(delta("medimeet_booking_conflicts_total", &[]), 1.0);
    assert_eq!(
        delta("medimeet_logins_total", &[("outcome", "failed")]),
        1.0
    );
    // This patient and the other one.
    assert_eq!(delta("medimeet_logins_total", &[("outcome", "ok")]), 2.0);
    assert_eq!(
        delta("medimeet_logins_total", &[("outcome", "throttled")]),
        0.0
    );
    // Admin's and doctor's logins came before the first scrape.
    assert_eq!(
        value(&before, "medimeet_logins_total", &[("outcome", "ok")]),
        2.0
    );
    assert_eq!(value(&before, "medimeet_bookings_total", &[]), 0.0);

    // Requests by route template and status.
    let route = "/api/v1/appointments/{id}";
    assert_eq!(requests(&after, "GET", route, "200"), 1.0, "{text}");
    assert_eq!(requests(&after, "POST", "/api/v1/appointments", "201"), 1.0);
    assert_eq!(requests(&after, "POST", "/api/v1/appointments", "409"), 1.0);
    assert_eq!(requests(&after, "POST", "/api/v1/sessions", "401"), 1.0);
    // Four logins: admin, doctor, this patient, the other one.
    assert_eq!(requests(&after, "POST", "/api/v1/sessions", "201"), 4.0);
    assert_eq!(requests(&after, "GET", "/calendar/{file}", "404"), 1.0);
    let unsubscribe: f64 = after
        .iter()
        .filter(|s| {
            s.name == "medimeet_http_request_duration_seconds_count"
                && s.labels["route"] == "/unsubscribe"
        })
        .map(|s| s.value)
        .sum();
    assert_eq!(unsubscribe, 1.0, "{text}");
    assert!(requests(&after, "GET", "unmatched", "404") >= 1.0);
    // The scrape before this one, counted once it was answered.
    assert_eq!(requests(&after, "GET", "/metrics", "200"), 1.0);
    assert_eq!(requests(&before, "GET", "/metrics", "200"), 0.0);

    // Each latency histogram is whole: buckets rise to the count, which the
    // +Inf bucket equals, and the sum is a duration.
    let series: Vec<&Sample> = after
        .iter()
        .filter(|s| s.name == "medimeet_http_request_duration_seconds_count")
        .collect();
    assert!(series.len() >= 8, "{series:?}");
    for c in series {
        let mut buckets: Vec<(f64, f64)> = after
            .iter()
            .filter(|s| {
                s.name == "medimeet_http_request_duration_seconds_bucket"
                    && s.labels
                        .iter()
                        .filter(|(k, _)| *k != "le")
                        .eq(c.labels.iter())
            })
            .map(|s| {
                let le = s.labels["le"].as_str();
                (
                    if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    },
                    s.value,
                )
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(buckets.len(), 15, "{:?}", c.labels);
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
        assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, c.value));
        let mut sum_labels: Vec<(&str, &str)> = c
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        sum_labels.sort();
        let sum = value(
            &after,
            "medimeet_http_request_duration_seconds_sum",
            &sum_labels,
        );
        assert!(sum > 0.0 && sum < 60.0 * c.value, "{sum}");
    }

    // Every route label is a template or `unmatched`, never a path as sent.
    for s in &after {
        if let Some(route) = s.labels.get("route") {
            assert!(route == "unmatched" || route.starts_with('/'), "{route}");
            assert!(
                !route
                    .split('/')
                    .any(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit())),
                "an id in {route}"
            );
        }
    }
    // No personal data, id-bearing path or secret anywhere in the text.
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    for secret in [
        first.as_str(),
        last.as_str(),
        email.as_str(),
        phone.as_str(),
        &digits,
        &token,
        &other.token,
        &admin.token,
        &reason,
        "persistent cough",
        "1984-02-29",
        &visit_path,
        &feed_token,
        "feedsecret",
        &unsub_token,
        &nowhere,
        TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret:?} in /metrics:\n{text}");
    }
}

/// The queue gauges are the admin's queue figures, read by the same query.
async fn the_queue_gauges_are_the_queue(backend: Backend) {
    let app = app_with_token(backend).await;
    let visit = crate::helpers::booked_visit(&app).await;
    // The worker may expand the booking's events between two reads: retry
    // until the admin's figures are the same before and after the scrape.
    for _ in 0..50 {
        let a = app
            .get("/api/v1/notifications", Some(&visit.admin.token))
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let samples = parse(&scrape_text(&app).await).1;
        let b = app
            .get("/api/v1/notifications", Some(&visit.admin.token))
            .await;
        let fields = [
            "pending",
            "due",
            "retrying",
            "sent",
            "dead",
            "dropped",
            "not_configured",
            "unexpanded_events",
        ];
        if fields.iter().any(|f| a.body[f] != b.body[f]) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        let q = |f: &str| a.body[f].as_f64().unwrap();
        // The booking's notifications are somewhere in the queue, so the
        // comparisons below are not all 0 = 0.
        assert!(
            fields.iter().map(|f| q(f)).sum::<f64>() >= 1.0,
            "{}",
            a.body
        );
        for (metric, field) in [
            ("medimeet_notification_queue_pending", "pending"),
            ("medimeet_notification_queue_due", "due"),
            ("medimeet_notification_queue_retrying", "retrying"),
            (
                "medimeet_notification_events_unexpanded",
                "unexpanded_events",
            ),
        ] {
            assert_eq!(value(&samples, metric, &[]), q(field), "{metric}");
        }
        for state in ["sent", "dead", "dropped", "not_configured"] {
            assert_eq!(
                value(
                    &samples,
                    "medimeet_notification_deliveries",
                    &[("state", state)]
                ),
                q(state),
                "{state}"
            );
        }
        return;
    }
    panic!("the queue never stood still");
}

crate::both_backends!(
    without_a_token_metrics_is_an_unknown_address,
    only_the_tokens_bearer_reads_metrics,
    metrics_count_what_happened_and_name_no_one,
    the_queue_gauges_are_the_queue,
);
