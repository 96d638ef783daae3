//! Issue 13's attacks on logins and sessions, each shown to fail now
//! (decision 0026): a crowd of wrong logins from one address cannot lock
//! that address's people out; a proxy in front without
//! --trust-forwarded-for is said once; logging in again ends the session
//! the request came with; staff sessions end when unused; security events
//! are logged with who and where, without personal data in clear.

use crate::helpers::{
    Backend, TestDb, User, client, next_phone, spawn_app, spawn_app_with, start_binary,
    test_settings,
};
use crate::pages::{get, post_form};
use medimeet::config::Settings;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

const PASSWORD: &str = "long enough pw";

async fn register(app: &crate::helpers::TestApp) -> (String, i64) {
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Hard", "last_name": "Ening", "phone": phone,
                   "password": PASSWORD, "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (phone, r.body["id"].as_i64().expect("id"))
}

/// A login from `addr` (the app trusts X-Forwarded-For), with how long its
/// answer took.
async fn login_from(
    app: &crate::helpers::TestApp,
    addr: &str,
    phone: &str,
    password: &str,
) -> (crate::helpers::Resp, Duration) {
    let started = Instant::now();
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"phone": phone, "password": password})),
            &[("x-forwarded-for", addr)],
        )
        .await;
    (r, started.elapsed())
}

/// Twenty-five wrong logins from one address (a clinic's NAT, a proxy)
/// against different accounts: none is refused outright, the later ones
/// are answered slower and slower, and a right password from that same
/// address logs in at once. The per-account lock still holds.
async fn wrong_logins_from_one_address_slow_down_but_never_lock_it(backend: Backend) {
    let settings = Settings {
        trust_forwarded_for: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let (victim, _) = register(&app).await;
    let mut accounts = Vec::new();
    for _ in 0..5 {
        accounts.push(register(&app).await.0);
    }
    let nat = "203.0.113.7";
    let mut took = Vec::new();
    for i in 0..25 {
        // Existing accounts (fewer than five guesses each) and unknown phones.
        let guess = if i % 5 == 0 {
            accounts[i / 5].clone()
        } else {
            format!("+1212555{:04}", 1000 + i)
        };
        let (r, t) = login_from(&app, nat, &guess, "guess guess guess").await;
        r.assert_problem(401, "invalid_credentials");
        took.push(t);
    }
    // Failures 21 to 25 wait 0.5 s more each (decision 0026): the 25th at
    // least two seconds more than the first ones.
    let first = took[..10].iter().max().copied().unwrap_or_default();
    let last = took[24];
    assert!(
        last >= first + Duration::from_millis(1500),
        "the 25th failure was not slowed: first ones {first:?}, 25th {last:?}"
    );
    assert!(took[23] >= Duration::from_millis(1500), "{took:?}");

    // The right password from the same address: in at once.
    let (r, t) = login_from(&app, nat, &victim, PASSWORD).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        t < last - Duration::from_millis(1000),
        "a right password was held up: {t:?} (the 25th failure took {last:?})"
    );
    // Still so after more failures from that address.
    let (r, _) = login_from(&app, nat, "+12125559999", "guess guess guess").await;
    r.assert_problem(401, "invalid_credentials");
    let (r, t) = login_from(&app, nat, &accounts[0], PASSWORD).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(t < Duration::from_millis(1500), "{t:?}");

    // The account's own lock stays: five wrong passwords lock that account,
    // for everyone, with 429 and Retry-After.
    let (target, _) = register(&app).await;
    for _ in 0..5 {
        login_from(&app, "198.51.100.4", &target, "wrong password 1")
            .await
            .0
            .assert_problem(401, "invalid_credentials");
    }
    let (r, _) = login_from(&app, nat, &target, PASSWORD).await;
    r.assert_problem(429, "too_many_attempts");
    let wait: i64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
}

/// Sends one request (to a page that needs nothing) with the headers.
async fn hit(base: &str, headers: &[(&str, &str)]) {
    let mut req = client().get(format!("{base}/healthz"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    assert!(r.status().is_success(), "{}", r.status());
}

/// Stops a server started by `start_binary` and returns its logs.
async fn stop_and_read_logs(mut child: tokio::process::Child) -> String {
    let pid = child.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits after SIGTERM");
    let mut logs = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut logs).await.expect("logs");
    }
    logs
}

const PROXY_WARNING: &str = "X-Forwarded-For but --trust-forwarded-for is off";

/// A request carrying X-Forwarded-For while the proxy is not trusted means
/// every client shares the proxy's address: the real binary says so once
/// per process, however many such requests come, and not at all when the
/// proxy is trusted.
async fn an_untrusted_forwarded_for_is_warned_of_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = start_binary(db.url(), &[], &[("RUST_LOG", "warn")], true).await;
    hit(&server.base, &[]).await;
    for i in 0..3 {
        hit(
            &server.base,
            &[("x-forwarded-for", &format!("198.51.100.{i}"))],
        )
        .await;
    }
    let logs = stop_and_read_logs(server.child).await;
    assert_eq!(
        logs.lines().filter(|l| l.contains(PROXY_WARNING)).count(),
        1,
        "{logs}"
    );

    let trusted = start_binary(
        db.url(),
        &["--trust-forwarded-for"],
        &[("RUST_LOG", "warn")],
        true,
    )
    .await;
    hit(&trusted.base, &[("x-forwarded-for", "198.51.100.9")]).await;
    let logs = stop_and_read_logs(trusted.child).await;
    assert!(!logs.contains(PROXY_WARNING), "{logs}");
}

async fn me_status(app: &crate::helpers::TestApp, headers: &[(&str, &str)]) -> u16 {
    app.call_with(Method::GET, "/api/v1/me", None, None, headers)
        .await
        .status
        .as_u16()
}

/// Logging in again, with the old token (bearer) or cookie on the request,
/// ends the old session: its token stops working at once. A failed login
/// ends nothing.
async fn logging_in_again_ends_the_session_it_came_with(backend: Backend) {
    let app = spawn_app(backend).await;
    let (phone, _) = register(&app).await;
    let creds = json!({"phone": phone, "password": PASSWORD});
    let first = app.login(creds.clone()).await;
    let bearer = |t: &str| format!("Bearer {t}");

    // A wrong password carrying the session ends nothing.
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"phone": phone, "password": "wrong password 1"})),
            &[("authorization", &bearer(&first))],
        )
        .await;
    r.assert_problem(401, "invalid_credentials");
    assert_eq!(
        me_status(&app, &[("authorization", &bearer(&first))]).await,
        200
    );

    // API, bearer: the new login ends the first session.
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(creds.clone()),
            &[("authorization", &bearer(&first))],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["token"].as_str().expect("token").to_owned();
    assert_eq!(
        me_status(&app, &[("authorization", &bearer(&first))]).await,
        401
    );
    assert_eq!(
        me_status(&app, &[("authorization", &bearer(&second))]).await,
        200
    );

    // API, cookie: likewise.
    let cookie = format!("medimeet_session={second}");
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(creds.clone()),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let third = r.body["token"].as_str().expect("token").to_owned();
    assert_eq!(me_status(&app, &[("cookie", &cookie)]).await, 401);

    // Pages: the login form posted with the session cookie ends it.
    let page = get(&app, "/login", None).await;
    let csrf = page.cookie_value("medimeet_csrf").expect("csrf cookie");
    let cookies = format!("medimeet_csrf={csrf}; medimeet_session={third}");
    let form = format!(
        "login={}&password={}&csrf={csrf}",
        phone.replace('+', "%2B"),
        PASSWORD.replace(' ', "+")
    );
    let p = post_form(&app, "/login", Some(&cookies), &form).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let fourth = p.cookie_value("medimeet_session").expect("a new session");
    assert_ne!(fourth, third);
    assert_eq!(
        me_status(&app, &[("authorization", &bearer(&third))]).await,
        401
    );
    assert_eq!(
        me_status(&app, &[("authorization", &bearer(&fourth))]).await,
        200
    );
    // The session list has just the one left.
    let r = app.get("/api/v1/sessions", Some(&fourth)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let n = r.body["items"].as_array().map(Vec::len);
    assert_eq!(n, Some(1), "{}", r.body);
}

/// A doctor's or admin's session ends after `--staff-idle-minutes` unused
/// (each use counts, at most a minute late); a patient's lasts its hours.
async fn staff_sessions_end_after_the_idle_time(backend: Backend) {
    let settings = Settings {
        staff_idle_minutes: 30,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let admin: User = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let alive = |u: &User| {
        let token = u.token.clone();
        let app = &app;
        async move { app.get("/api/v1/me", Some(&token)).await.status.as_u16() }
    };

    // A second admin session, never used.
    let unused = app
        .login(json!({"email": admin_email(&app, &admin).await, "password": "admin password"}))
        .await;
    // Used every 29 minutes: alive well past 30 minutes since login.
    for _ in 0..2 {
        app.clock.advance(29 * 60);
        assert_eq!(alive(&admin).await, 200);
        assert_eq!(alive(&doctor).await, 200);
    }
    // The unused one is over: not in the session list, and refused.
    let r = app.get("/api/v1/sessions", Some(&admin.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    let r = app.get("/api/v1/me", Some(&unused)).await;
    r.assert_problem(401, "unauthenticated");
    // 31 minutes unused: ended, for both staff roles.
    app.clock.advance(31 * 60);
    assert_eq!(alive(&admin).await, 401);
    assert_eq!(alive(&doctor).await, 401);
    // It stays ended once the clock is back in range (it was deleted).
    app.clock.advance(-31 * 60);
    assert_eq!(alive(&admin).await, 401);
    // The patient, unused all that while (about 1.5 hours): still in.
    assert_eq!(alive(&patient).await, 200);
    app.clock.advance(6 * 3600);
    assert_eq!(alive(&patient).await, 200);
}

/// The login (email) of a signed-in staff member.
async fn admin_email(app: &crate::helpers::TestApp, u: &User) -> String {
    let r = app.get("/api/v1/me", Some(&u.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["login"].as_str().expect("login").to_owned()
}

fn json_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

fn security_events(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|l| l["target"] == "medimeet::security")
        .collect()
}

/// Failed and successful logins, a lockout and a refused record are logged
/// by the real binary under `medimeet::security`, with the outcome, a
/// pseudonym of the login and the client address, or the account and the
/// record refused; no phone number appears in any form.
async fn security_events_are_logged_with_who_and_where(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = start_binary(
        db.url(),
        &["--log-format", "json"],
        &[("RUST_LOG", "info")],
        true,
    )
    .await;
    let base = server.base.clone();
    let post = |path: &str, body: Value, token: Option<&str>| {
        let mut req = client().post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mut phones = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let phone = next_phone();
        let (s, body) = post(
            "/api/v1/patients",
            json!({"first_name": "Sec", "last_name": "Log", "phone": phone,
                   "password": PASSWORD, "date_of_birth": "1990-01-01"}),
            None,
        )
        .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_i64().expect("id"));
        phones.push(phone);
    }
    // A failure and a success for the first patient.
    let (s, _) = post(
        "/api/v1/sessions",
        json!({"phone": phones[0], "password": "wrong password 1"}),
        None,
    )
    .await;
    assert_eq!(s, 401);
    let (s, body) = post(
        "/api/v1/sessions",
        json!({"phone": phones[0], "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let me: Value = client()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let account = me["account_id"].as_i64().expect("account id");
    // The first patient asks for the second's record: refused (404).
    let r = client()
        .get(format!("{base}/api/v1/patients/{}", ids[1]))
        .bearer_auth(&token)
        .send()
        .await
        .expect("read");
    assert_eq!(r.status(), 404);
    // The second patient's account is locked by five wrong passwords.
    for _ in 0..5 {
        let (s, _) = post(
            "/api/v1/sessions",
            json!({"phone": phones[1], "password": "wrong password 2"}),
            None,
        )
        .await;
        assert_eq!(s, 401);
    }
    let (s, _) = post(
        "/api/v1/sessions",
        json!({"phone": phones[1], "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(s, 429);

    let logs = stop_and_read_logs(server.child).await;
    let lines = json_lines(&logs);
    let events = security_events(&lines);
    let auth = |outcome: &str| -> Vec<&Value> {
        events
            .iter()
            .copied()
            .filter(|e| {
                e["fields"]["event"] == "authentication" && e["fields"]["outcome"] == outcome
            })
            .collect()
    };
    let failures = auth("failure");
    let successes = auth("success");
    let locked = auth("locked");
    assert_eq!(failures.len(), 6, "{logs}");
    assert_eq!(successes.len(), 1, "{logs}");
    assert_eq!(locked.len(), 1, "{logs}");
    for e in failures.iter().chain(&successes).chain(&locked) {
        let login = e["fields"]["login_hash"].as_str().unwrap_or("");
        assert!(
            login.len() == 16 && login.bytes().all(|b| b.is_ascii_hexdigit()),
            "a pseudonym of the login: {e}"
        );
        assert_eq!(e["fields"]["client"], "127.0.0.1", "{e}");
    }
    // One login, one pseudonym; another login, another.
    let hash = |e: &Value| e["fields"]["login_hash"].clone();
    assert_eq!(hash(failures[0]), hash(successes[0]));
    assert_eq!(hash(failures[1]), hash(locked[0]));
    assert_ne!(hash(failures[0]), hash(locked[0]));

    let refused: Vec<&&Value> = events
        .iter()
        .filter(|e| e["fields"]["event"] == "access_refused")
        .collect();
    assert_eq!(refused.len(), 1, "{logs}");
    let f = &refused[0]["fields"];
    assert_eq!(f["account_id"], account, "{f}");
    assert_eq!(f["resource"], "patient", "{f}");
    assert_eq!(f["resource_id"], ids[1], "{f}");

    // No phone in clear, in any of its common forms.
    for phone in &phones {
        let national = phone.trim_start_matches("+1");
        for form in [phone.as_str(), national] {
            assert!(!logs.contains(form), "a phone in the logs: {form}");
        }
    }
    assert!(!logs.contains(&token), "a token in the logs");
}

crate::both_backends!(
    wrong_logins_from_one_address_slow_down_but_never_lock_it,
    an_untrusted_forwarded_for_is_warned_of_once,
    logging_in_again_ends_the_session_it_came_with,
    staff_sessions_end_after_the_idle_time,
    security_events_are_logged_with_who_and_where,
);
