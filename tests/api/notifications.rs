//! The notification outbox (issue 10, decision 0013): every change writes
//! its event in its own transaction, the worker inside the server expands it
//! into deliveries, and reminders follow the visit. No channel is configured
//! here, so nothing is sent: deliveries are kept as `not_configured`.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, booked_visit, spawn_app, spawn_app_with};
use medimeet::domain::ids::AppointmentId;
use medimeet::store::{DeliveryState, Store};
use serde_json::json;
use std::time::Duration;

type Row = DeliveryState;

async fn deliveries(app: &TestApp, id: i64) -> Vec<Row> {
    app.store
        .deliveries_of(AppointmentId::new(id))
        .await
        .unwrap()
}

/// Waits (at most 10 s) until the worker has made the deliveries `ready`
/// says are there.
async fn wait_for(app: &TestApp, id: i64, ready: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    for _ in 0..100 {
        let rows = deliveries(app, id).await;
        if ready(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "deliveries never became ready: {:?}",
        deliveries(app, id).await
    );
}

async fn event_count(app: &TestApp) -> i64 {
    let q = "SELECT COUNT(*) FROM notification_event";
    let (n,): (i64,) = match &app.store {
        Store::Sqlite { read, .. } => sqlx::query_as(q).fetch_one(read).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(q).fetch_one(pool).await.unwrap(),
    };
    n
}

fn of<'a>(rows: &'a [Row], kind: &str, state: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.kind == kind && r.state == state)
        .collect()
}

async fn a_booking_is_told_and_reminded(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = booked_visit(&app).await;
    // Notices: the patient by SMS (no email given), the doctor by email;
    // reminders 24 h and 1 h before, and when the room opens (10 minutes
    // before), by SMS.
    let rows = wait_for(&app, b.id, |r| {
        r.len() == 5 && of(r, "notice", "pending").is_empty()
    })
    .await;
    let notices = of(&rows, "notice", "not_configured");
    assert_eq!(notices.len(), 2, "{rows:?}");
    assert!(notices.iter().any(|n| n.channel == "sms"));
    assert!(notices.iter().any(|n| n.channel == "email"));
    let reminders = of(&rows, "reminder", "pending");
    let mut due: Vec<jiff::Timestamp> = reminders.iter().map(|r| r.due_at).collect();
    due.sort();
    let hours = |h| b.start - jiff::SignedDuration::from_hours(h);
    let room_opens = b.start - jiff::SignedDuration::from_mins(10);
    assert_eq!(due, vec![hours(24), hours(1), room_opens], "{rows:?}");

    // The 24-hour reminder's time comes: with no SMS sender it is kept,
    // marked as not configured, not lost and not sent.
    app.clock
        .advance(hours(24).as_second() - app.clock.now().as_second() + 60);
    let rows = wait_for(&app, b.id, |r| {
        of(r, "reminder", "not_configured").len() == 1
    })
    .await;
    assert_eq!(
        of(&rows, "reminder", "pending").len(),
        2,
        "the 1-hour one and the room's wait: {rows:?}"
    );
}

async fn cancelling_drops_the_reminders_in_the_same_transaction(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = booked_visit(&app).await;
    wait_for(&app, b.id, |r| of(r, "reminder", "pending").len() == 3).await;
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/cancel", b.id),
            Some(&b.doctor.token),
            json!({"reason": "ill"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // At once, with no worker round in between.
    let rows = deliveries(&app, b.id).await;
    let dropped = of(&rows, "reminder", "dropped");
    assert_eq!(dropped.len(), 3, "{rows:?}");
    assert!(
        dropped
            .iter()
            .all(|d| d.last_error.as_deref() == Some("the visit was cancelled"))
    );
    // And the cancellation is told to both.
    wait_for(&app, b.id, |r| {
        r.iter().filter(|d| d.kind == "notice").count() == 4
    })
    .await;
}

async fn a_move_moves_the_reminders(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = booked_visit(&app).await;
    wait_for(&app, b.id, |r| of(r, "reminder", "pending").len() == 3).await;
    let next_day = b.start + jiff::SignedDuration::from_hours(24);
    let slots: Vec<String> = app
        .later_slots(b.doctor.id)
        .await
        .into_iter()
        .filter(|s| s.parse::<jiff::Timestamp>().unwrap() >= next_day)
        .collect();
    let new_start: jiff::Timestamp = slots[0].parse().unwrap();
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/reschedule", b.id),
            Some(&b.patient.token),
            json!({"start": slots[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = deliveries(&app, b.id).await;
    assert_eq!(
        of(&rows, "reminder", "dropped").len(),
        3,
        "old ones dropped at once: {rows:?}"
    );
    let rows = wait_for(&app, b.id, |r| of(r, "reminder", "pending").len() == 3).await;
    let mut due: Vec<jiff::Timestamp> = of(&rows, "reminder", "pending")
        .iter()
        .map(|r| r.due_at)
        .collect();
    due.sort();
    assert_eq!(
        due,
        vec![
            new_start - jiff::SignedDuration::from_hours(24),
            new_start - jiff::SignedDuration::from_hours(1),
            new_start - jiff::SignedDuration::from_mins(10),
        ]
    );
}

async fn a_refused_booking_writes_no_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = booked_visit(&app).await;
    let before = event_count(&app).await;
    let other = app.new_patient().await;
    let r = app.book(&other, b.doctor.id, &b.start.to_string()).await;
    r.assert_problem(409, "slot_taken");
    assert_eq!(event_count(&app).await, before);
}

async fn a_mail_server_that_is_down_gets_every_message_once_it_is_back(backend: Backend) {
    let port = free_port();
    let app = crate::helpers::spawn_app_with(backend, smtp_settings(port)).await;
    let EmailedVisit { id, .. } = emailed_visit(&app, "down@example.test").await;
    // Nothing listens: both emails fail, are kept, and wait for a retry.
    let rows = wait_for(&app, id, |r| {
        r.iter()
            .filter(|d| {
                d.channel == "email"
                    && d.kind == "notice"
                    && d.state == "pending"
                    && d.last_error.is_some()
            })
            .count()
            == 2
    })
    .await;
    assert!(rows.iter().all(|d| d.state != "sent"), "{rows:?}");
    // The server comes back; the retry time comes (the test clock, not sleep).
    let sink = SmtpSink::start_on(port, tempfile::tempdir().unwrap()).await;
    app.clock.advance(120);
    let mail = sink.wait_for(2).await;
    wait_for(&app, id, |r| {
        r.iter()
            .filter(|d| d.channel == "email" && d.state == "sent")
            .count()
            == 2
    })
    .await;
    // Nothing twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = sink.messages();
    assert_eq!(again.len(), mail.len(), "{again:?}");
}

async fn a_patient_turns_email_off_with_one_click_and_on_again(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = crate::helpers::spawn_app_with(backend, smtp_settings(sink.port)).await;
    let EmailedVisit {
        id,
        doctor,
        patient,
        ..
    } = emailed_visit(&app, "quiet@example.test").await;
    let me = app.get("/api/v1/me", Some(&patient)).await;
    let patient_id = me.body["patient"]["id"].as_i64().unwrap();
    let profile = format!("/api/v1/patients/{patient_id}");
    assert_eq!(
        app.get(&profile, Some(&patient)).await.body["notify_email"],
        true
    );
    let mail = sink.wait_for(2).await;
    let mine = mail
        .iter()
        .find(|m| m["to"].as_str().unwrap().contains("quiet@"))
        .unwrap();
    assert_eq!(mine["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let header = mine["list_unsubscribe"].as_str().unwrap();
    let link = header.trim_start_matches('<').trim_end_matches('>');
    assert!(
        link.starts_with("https://clinic.test/unsubscribe?t="),
        "{link}"
    );
    assert!(mine["text/plain"].as_str().unwrap().contains(link));
    let path = link.trim_start_matches("https://clinic.test");
    // The doctor's email has no such link (it is the patient's choice).
    let theirs = mail
        .iter()
        .find(|m| !m["to"].as_str().unwrap().contains("quiet@"))
        .unwrap();
    assert_eq!(theirs["list_unsubscribe"], serde_json::Value::Null);

    // Opening the link only asks; a forged token is refused.
    let page = app.get(path, None).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        app.get(&profile, Some(&patient)).await.body["notify_email"],
        true
    );
    let forged = path.replace("t=", "t=9");
    let r = app
        .call_with(reqwest::Method::POST, &forged, None, None, &[])
        .await;
    assert_eq!(r.status, 404);
    // The mail client's one click (RFC 8058), with no login.
    let r = crate::helpers::client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get(&profile, Some(&patient)).await.body["notify_email"],
        false
    );

    // The next change reaches the doctor only; the patient's email is dropped.
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    sink.wait_for(3).await;
    let rows = wait_for(&app, id, |r| {
        r.iter().any(|d| {
            d.channel == "email" && d.last_error.as_deref() == Some("turned off by the patient")
        })
    })
    .await;
    assert_eq!(
        rows.iter()
            .filter(|d| d.channel == "email" && d.state == "sent")
            .count(),
        3,
        "{rows:?}"
    );
    assert_eq!(sink.messages().len(), 3);

    // Back on, through the API.
    let r = app
        .call(
            reqwest::Method::PATCH,
            &profile,
            Some(&patient),
            Some(json!({"notify_email": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["notify_email"], true);
}

/// A mail server that refuses a recipient for good (550): the delivery is
/// dead at once, with the server's words for the admin. One that refuses for
/// now (451): tried again with backoff, 20 tries in all, then dead. Neither
/// stops the doctor's email.
async fn refusals_for_good_die_at_once_and_for_now_after_twenty_tries(backend: Backend) {
    let sink = SmtpSink::start_refusing().await;
    let app = spawn_app_with(backend, smtp_settings(sink.port)).await;
    let rejected = emailed_visit(&app, "reject@example.test").await;
    let busy = emailed_visit(&app, "busy@example.test").await;
    let email_to_patient =
        |rows: &[Row], patient_account: Option<medimeet::domain::ids::AccountId>| {
            rows.iter()
                .find(|d| {
                    d.kind == "notice" && d.channel == "email" && d.account_id == patient_account
                })
                .cloned()
        };
    let patient_of = |rows: &[Row]| {
        rows.iter()
            .find(|d| d.channel == "sms")
            .and_then(|d| d.account_id)
    };
    let rows = wait_for(&app, rejected.id, |r| {
        email_to_patient(r, patient_of(r)).is_some_and(|d| d.state == "dead")
    })
    .await;
    let dead = email_to_patient(&rows, patient_of(&rows)).unwrap();
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.contains("550")),
        "{dead:?}"
    );
    // The doctor's copy went through: two doctors' messages arrived.
    sink.wait_for(2).await;

    // The busy mailbox: each round of the clock is one more try, until the
    // twentieth, which kills it.
    let mut tries = 0;
    for _ in 0..40 {
        let rows = deliveries(&app, busy.id).await;
        let d = email_to_patient(&rows, patient_of(&rows)).unwrap();
        if d.state == "dead" {
            assert!(
                d.last_error.as_deref().is_some_and(|e| e.contains("451")),
                "{d:?}"
            );
            break;
        }
        assert_eq!(d.state, "pending", "{d:?}");
        tries += 1;
        app.clock.advance(3 * 3600);
        let before = d.due_at;
        for _ in 0..50 {
            let rows = deliveries(&app, busy.id).await;
            let d = email_to_patient(&rows, patient_of(&rows)).unwrap();
            if d.due_at != before || d.state != "pending" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!((19..=21).contains(&tries), "gave up after {tries} rounds");
    let ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| m["to"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        ids.iter()
            .all(|to| !to.contains("busy") && !to.contains("reject")),
        "{ids:?}"
    );
    let r = app
        .get("/api/v1/notifications", Some(&busy.doctor.token))
        .await;
    r.assert_problem(403, "forbidden");
}

both_backends!(
    refusals_for_good_die_at_once_and_for_now_after_twenty_tries,
    a_patient_turns_email_off_with_one_click_and_on_again,
    a_mail_server_that_is_down_gets_every_message_once_it_is_back,
    a_booking_is_told_and_reminded,
    cancelling_drops_the_reminders_in_the_same_transaction,
    a_move_moves_the_reminders,
    a_refused_booking_writes_no_event,
    emails_reach_a_real_smtp_server_with_the_visit_for_the_calendar,
);

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn smtp_settings(port: u16) -> medimeet::config::Settings {
    medimeet::config::Settings {
        smtp_url: Some(medimeet::config::SecretUrl::new(format!(
            "smtp://127.0.0.1:{port}"
        ))),
        mail_from: "Clinic <visits@clinic.test>".into(),
        public_url: Some("https://clinic.test".into()),
        ..crate::helpers::test_settings()
    }
}

/// Registers a patient with an email address; their token.
async fn patient_with_email(app: &TestApp, email: &str) -> String {
    let phone = crate::helpers::next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Ann", "last_name": "Mail", "phone": phone, "password": "long enough pw",
                   "date_of_birth": "1990-01-01", "email": email}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.login(json!({"phone": phone, "password": "long enough pw"}))
        .await
}

/// A visit booked by a new patient who gave `email`, with a new everyday
/// doctor, on an app that sends email.
struct EmailedVisit {
    id: i64,
    doctor: crate::helpers::User,
    /// The patient's session token.
    patient: String,
    /// The doctor's free slots when it was booked (the first is the visit's).
    slots: Vec<String>,
}

async fn emailed_visit(app: &TestApp, email: &str) -> EmailedVisit {
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = patient_with_email(app, email).await;
    let slots = app.later_slots(doctor.id).await;
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&patient),
            json!({"doctor_id": doctor.id, "start": slots[0]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    EmailedVisit {
        id: r.body["id"].as_i64().unwrap(),
        doctor,
        patient,
        slots,
    }
}

/// A real SMTP server for the tests: Python's aiosmtpd storing what it
/// receives in a Maildir. Stopped (and its files removed) on drop.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    pub(crate) dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl SmtpSink {
    pub(crate) async fn start() -> SmtpSink {
        Self::start_on(free_port(), tempfile::tempdir().unwrap()).await
    }

    async fn start_on(port: u16, dir: tempfile::TempDir) -> SmtpSink {
        Self::start_with(port, dir, "aiosmtpd.handlers.Mailbox").await
    }

    /// A sink that refuses `reject...@` recipients for good (550) and
    /// `busy...@` ones for now (451): tests/notify/refusing_smtp.py.
    async fn start_refusing() -> SmtpSink {
        Self::start_with(
            free_port(),
            tempfile::tempdir().unwrap(),
            "refusing_smtp.RefusingMailbox",
        )
        .await
    }

    async fn start_with(port: u16, dir: tempfile::TempDir, handler: &str) -> SmtpSink {
        let child = tokio::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                handler,
            ])
            .env(
                "PYTHONPATH",
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/notify"),
            )
            .arg(dir.path().join("mail"))
            .kill_on_drop(true)
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; .ci/run does)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpSink { port, dir, child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SMTP sink did not start (is aiosmtpd installed?)");
    }

    /// The messages received, as Python's email and icalendar parsers read them.
    pub(crate) fn messages(&self) -> Vec<serde_json::Value> {
        let mail = self.dir.path().join("mail");
        if !mail.exists() {
            return Vec::new();
        }
        let out = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/notify/inspect_mail.py"
            ))
            .arg(&mail)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..100 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{n} messages never arrived: {:?}", self.messages());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn emails_reach_a_real_smtp_server_with_the_visit_for_the_calendar(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = crate::helpers::spawn_app_with(backend, smtp_settings(sink.port)).await;
    let EmailedVisit {
        id,
        doctor,
        patient,
        slots,
    } = emailed_visit(&app, "ann@example.test").await;

    // The patient's and the doctor's confirmations.
    let mail = sink.wait_for(2).await;
    let to_ann: Vec<_> = mail
        .iter()
        .filter(|m| m["to"].as_str().unwrap().contains("ann@example.test"))
        .collect();
    assert_eq!(to_ann.len(), 1, "{mail:?}");
    let m = to_ann[0];
    assert!(
        m["subject"].as_str().unwrap().contains("Dr. Doc Tor"),
        "{m}"
    );
    assert!(
        m["text/plain"]
            .as_str()
            .unwrap()
            .contains(&format!("https://clinic.test/appointments/{id}/visit")),
        "{m}"
    );
    assert!(m["text/html"].as_str().unwrap().contains("<p>"), "{m}");
    let ics = &m["ics"];
    assert_eq!(ics["method"], "REQUEST");
    assert_eq!(ics["uid"], format!("appointment-{id}@clinic.test"));
    assert_eq!(ics["sequence"], 0);
    let start: jiff::Timestamp = slots[0].parse().unwrap();
    assert_eq!(ics["start"], start.to_string().replace('Z', "+00:00"));
    // The delivery's id is the message's: a receiver can drop a repeat.
    let first_id = m["message_id"].as_str().unwrap().to_owned();
    assert!(
        first_id.starts_with('<') && first_id.ends_with("@medimeet>"),
        "{first_id}"
    );

    // Moved, then cancelled: the same UID, a higher SEQUENCE, then CANCEL.
    let later: Vec<String> = slots
        .iter()
        .filter(|s| {
            s.parse::<jiff::Timestamp>().unwrap() >= start + jiff::SignedDuration::from_hours(24)
        })
        .cloned()
        .collect();
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&patient),
            json!({"start": later[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&doctor.token),
            json!({"reason": "The doctor is ill"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mail = sink.wait_for(6).await;
    let ann: Vec<_> = mail
        .iter()
        .filter(|m| m["to"].as_str().unwrap().contains("ann@example.test"))
        .collect();
    assert_eq!(ann.len(), 3, "{mail:?}");
    let mut seen: Vec<(String, i64)> = ann
        .iter()
        .map(|m| {
            (
                m["ics"]["method"].as_str().unwrap().to_owned(),
                m["ics"]["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort_by_key(|s| s.1);
    assert_eq!(
        seen,
        vec![
            ("REQUEST".to_owned(), 0),
            ("REQUEST".to_owned(), 1),
            ("CANCEL".to_owned(), 2)
        ]
    );
    assert!(
        ann.iter()
            .all(|m| m["ics"]["uid"] == format!("appointment-{id}@clinic.test"))
    );
    let cancel = ann.iter().find(|m| m["ics"]["method"] == "CANCEL").unwrap();
    assert!(
        cancel["text/plain"]
            .as_str()
            .unwrap()
            .contains("Reason: The doctor is ill"),
        "{cancel}"
    );
    // Every message once: no id twice.
    let mut ids: Vec<&str> = mail
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), mail.len());
    // The stored deliveries say so too.
    let rows = deliveries(&app, id).await;
    assert_eq!(
        rows.iter()
            .filter(|r| r.channel == "email" && r.state == "sent")
            .count(),
        6,
        "{rows:?}"
    );
}

/// Two instances on one PostgreSQL drain one queue: every message goes out
/// once, never claimed by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_queue_and_send_each_message_once() {
    let sink = SmtpSink::start().await;
    let a = crate::helpers::spawn_app_with(Backend::Postgres, smtp_settings(sink.port)).await;
    let url = a.db.as_ref().unwrap().url().to_owned();
    let b = crate::helpers::spawn_on(
        &url,
        Backend::Postgres,
        smtp_settings(sink.port),
        a.clock.clone(),
    )
    .await;
    let admin = a.new_admin().await;
    let doctor = a.everyday_doctor(&admin).await;
    let slots = a.later_slots(doctor.id).await;
    let mut ids = Vec::new();
    // Ten visits on ten days (one a day per patient and doctor), booked
    // through both instances.
    let mut day = None;
    for s in &slots {
        let t: jiff::Timestamp = s.parse().unwrap();
        if day.is_some_and(|d: jiff::Timestamp| t < d + jiff::SignedDuration::from_hours(24)) {
            continue;
        }
        day = Some(t);
        let app = if ids.len() % 2 == 0 { &a } else { &b };
        let patient = patient_with_email(app, &format!("p{}@example.test", ids.len())).await;
        let r = app
            .post(
                "/api/v1/appointments",
                Some(&patient),
                json!({"doctor_id": doctor.id, "start": s}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_i64().unwrap());
        if ids.len() == 10 {
            break;
        }
    }
    assert_eq!(ids.len(), 10);
    let mail = sink.wait_for(20).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mail_after = sink.messages();
    assert_eq!(mail_after.len(), 20, "{}", mail.len());
    let mut msg_ids: Vec<&str> = mail_after
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    msg_ids.sort();
    msg_ids.dedup();
    assert_eq!(msg_ids.len(), 20, "a message went out twice");
    drop(b);
}
