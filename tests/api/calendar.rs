//! Calendar feeds and a visit's `.ics` download (issue 11, decision 0015),
//! through the real server. What a calendar app would read is read by an
//! outside parser, Python's `icalendar` (tests/notify/inspect_ics.py); what
//! such parsers forgive (bare LF, long lines, unescaped text, a TZID without
//! its VTIMEZONE) is checked here on the raw bytes.

use crate::helpers::{Backend, TestApp, User, client, next_phone, spawn_app};
use crate::pages::{Browser, browser_of, browser_session, get, post_form};
use reqwest::Method;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

/// The feed's path as the card on `home` shows it (the full URL in the
/// readonly box, and the same as a webcal:// link).
async fn feed_path(app: &TestApp, browser: &Browser, home: &str) -> String {
    let page = get(app, home, Some(&browser.cookie)).await;
    assert_eq!(page.status, 200, "{home}");
    assert!(page.body.contains("Calendar subscription"), "{home}");
    let url = page
        .body
        .split("id=\"f-calendar-url\" type=\"text\" readonly value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the feed URL in a readonly box")
        .to_owned();
    let base = app.url("");
    let path = url
        .strip_prefix(&base)
        .unwrap_or_else(|| panic!("{url} is not on {base}"))
        .to_owned();
    assert!(
        path.starts_with("/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    let webcal = format!("webcal://{}", url.trim_start_matches("http://"));
    assert!(
        page.body.contains(&format!("href=\"{webcal}\"")),
        "a webcal link"
    );
    for app_name in ["Google Calendar", "Apple Calendar", "Outlook"] {
        assert!(
            page.body.contains(app_name),
            "how to subscribe in {app_name}"
        );
    }
    path
}

/// A GET with no login (a calendar app), or with a session cookie.
async fn fetch(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut req = client().get(app.url(path));
    if let Some(c) = cookie {
        req = req.header(reqwest::header::COOKIE, c);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let headers = res.headers().clone();
    let body = res.bytes().await.expect("body").to_vec();
    assert_ne!(status, 500, "server error on {path}");
    let body = if kind.starts_with("text/html") {
        crate::helpers::blank_request_id(&headers, &String::from_utf8_lossy(&body)).into_bytes()
    } else {
        body
    };
    (status, kind, body)
}

/// A feed (200, text/calendar) as the outside parser reads it, after the
/// checks of its raw bytes.
async fn feed(app: &TestApp, path: &str) -> (Value, String) {
    let (status, kind, body) = fetch(app, path, None).await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    assert_eq!(kind, "text/calendar; charset=utf-8");
    let text = well_formed(&body);
    (parsed(&body), text)
}

/// Python's `icalendar` reading of an `.ics`.
fn parsed(ics: &[u8]) -> Value {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/notify/inspect_ics.py"
        ))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (pip install icalendar; .ci/run does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ics)
        .expect("written");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(ics)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], "2.0");
    assert_eq!(v["timezones"], 0, "UTC times need no VTIMEZONE");
    v
}

/// RFC 5545 §3.1 on the raw bytes: CRLF after every line and no bare CR or
/// LF, no line over 75 octets, a folded line's continuation starting with a
/// space, every other line a property (`NAME:` or `NAME;`). The unfolded
/// text back.
fn well_formed(ics: &[u8]) -> String {
    let text = std::str::from_utf8(ics).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "the last line ends with CRLF");
    let lines: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    for line in &lines {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "a bare CR or LF in {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        let name_end = line.find([':', ';']).unwrap_or(0);
        let is_property = name_end > 0
            && line[..name_end]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        assert!(
            is_property || line.starts_with(' '),
            "neither a property nor a continuation: {line:?}"
        );
    }
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    text.replace("\r\n ", "")
}

fn events(cal: &Value) -> &Vec<Value> {
    cal["events"].as_array().expect("events")
}

/// The one event of the visit `id` in a calendar.
fn event_of(cal: &Value, id: i64) -> &Value {
    let uid_start = format!("appointment-{id}@");
    let found: Vec<&Value> = events(cal)
        .iter()
        .filter(|e| e["uid"].as_str().unwrap_or("").starts_with(&uid_start))
        .collect();
    assert_eq!(found.len(), 1, "visit {id} once in {cal}");
    found[0]
}

/// A patient whose name needs escaping (a comma, a semicolon, quotes, a
/// backslash) and is long and not all ASCII (so its line folds, between
/// characters), signed in as a browser.
async fn awkward_patient(app: &TestApp) -> (User, Browser) {
    let phone = next_phone();
    let r = app
        .post(
            "/api/v1/patients",
            None,
            json!({"first_name": "Ann, \"the; first\"",
                   "last_name": "Ångström-Øresund Wellington-Smythe O\\Brien",
                   "phone": phone, "password": "long enough pw",
                   "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let browser = browser_session(app, json!({"phone": phone, "password": "long enough pw"})).await;
    let token = browser
        .cookie
        .trim_start_matches("medimeet_session=")
        .to_owned();
    (
        User {
            token,
            id: r.body["id"].as_i64().expect("id"),
        },
        browser,
    )
}

const NAME: &str = "Ann, \"the; first\" Ångström-Øresund Wellington-Smythe O\\Brien";
const ESCAPED: &str = "Ann\\, \"the\\; first\" Ångström-Øresund Wellington-Smythe O\\\\Brien";
const REASON: &str = "Secret reason Qwx";

async fn a_visit_keeps_its_uid_and_its_sequence_rises_with_every_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (patient, patient_browser) = awkward_patient(&app).await;
    let doctor_browser = browser_of(&app, &doctor, "/doctor/week").await;
    let patient_feed = feed_path(&app, &patient_browser, "/profile").await;
    let doctor_feed = feed_path(&app, &doctor_browser, "/doctor/week").await;

    // Nothing booked yet: an empty, named, published calendar.
    let (cal, _) = feed(&app, &patient_feed).await;
    assert!(events(&cal).is_empty(), "{cal}");
    assert_eq!(cal["method"], "PUBLISH");
    assert_eq!(cal["name"], "medimeet: my visits");

    let slots = app.later_slots(doctor.id).await;
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&patient.token),
            json!({"doctor_id": doctor.id, "start": slots[0], "reason": REASON}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().expect("id");
    let host = app.addr.ip().to_string();
    let uid = format!("appointment-{id}@{host}");

    // Booked: SEQUENCE 0, confirmed, at the booked instant in UTC.
    let (cal, text) = feed(&app, &patient_feed).await;
    let e = event_of(&cal, id);
    assert_eq!(e["uid"], uid.as_str());
    assert_eq!(e["sequence"], 0);
    assert_eq!(e["status"], "CONFIRMED");
    assert_eq!(e["all_utc"], true, "{e}");
    let booked: jiff::Timestamp = slots[0].parse().expect("instant");
    assert_eq!(
        e["start"]
            .as_str()
            .expect("start")
            .parse::<jiff::Timestamp>()
            .expect("instant"),
        booked
    );
    assert!(
        text.contains(&format!(
            "DTSTART:{}\r\n",
            booked.strftime("%Y%m%dT%H%M%SZ")
        )),
        "DTSTART in UTC form: {text}"
    );
    assert_eq!(e["summary"], "Video visit with Dr. Doc Tor");
    let page = app.url(&format!("/appointments/{id}"));
    assert_eq!(e["url"], page.as_str());
    assert_eq!(e["description"], format!("Join: {page}/visit").as_str());
    assert!(!text.contains(REASON), "no reason in the patient's feed");

    // The doctor's feed: the same event, named for the doctor, the name
    // escaped on the wire and read back whole.
    let (cal, text) = feed(&app, &doctor_feed).await;
    assert_eq!(cal["name"], "medimeet: my schedule");
    let e = event_of(&cal, id);
    assert_eq!(e["uid"], uid.as_str());
    assert_eq!(e["sequence"], 0);
    assert_eq!(e["summary"], format!("Video visit: {NAME}").as_str());
    assert!(
        text.contains(&format!("SUMMARY:Video visit: {ESCAPED}\r\n")),
        "escaped: {text}"
    );
    assert!(!text.contains(REASON), "no reason in the doctor's feed");
    let raw = String::from_utf8(fetch(&app, &doctor_feed, None).await.2).expect("UTF-8");
    let lines: Vec<&str> = raw.split("\r\n").collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("SUMMARY:"))
        .expect("a SUMMARY line");
    assert!(
        lines[at + 1].starts_with(' '),
        "the long summary is folded: {:?}",
        &lines[at..at + 2]
    );

    // Moved: same UID, SEQUENCE 1, the new time.
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&patient.token),
            json!({"start": slots[2]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for path in [&patient_feed, &doctor_feed] {
        let (cal, _) = feed(&app, path).await;
        let e = event_of(&cal, id);
        assert_eq!(e["uid"], uid.as_str());
        assert_eq!(e["sequence"], 1);
        assert_eq!(e["status"], "CONFIRMED");
        assert_eq!(
            e["start"]
                .as_str()
                .expect("start")
                .parse::<jiff::Timestamp>()
                .expect("instant"),
            slots[2].parse::<jiff::Timestamp>().expect("instant")
        );
    }

    // Cancelled (with a reason): kept, SEQUENCE 2, STATUS:CANCELLED, and
    // the cancellation's reason is not in it either.
    let r = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&patient.token),
            json!({"reason": "Private cancel Zyx"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for path in [&patient_feed, &doctor_feed] {
        let (cal, text) = feed(&app, path).await;
        let e = event_of(&cal, id);
        assert_eq!(e["uid"], uid.as_str());
        assert_eq!(e["sequence"], 2);
        assert_eq!(e["status"], "CANCELLED");
        assert_eq!(e["all_utc"], true);
        assert!(!text.contains("Private cancel Zyx") && !text.contains(REASON));
    }

    // A visit ten days on, then a month on: the cancelled one is kept 30
    // days after its cancellation (and start), then left out; the other,
    // started 23 days before, is still there (a feed reaches 30 days back).
    let from = (app.clock.now() + jiff::SignedDuration::from_hours(240)).to_string();
    let later = app.slots(doctor.id, &format!("?from={from}")).await;
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&patient.token),
            json!({"doctor_id": doctor.id, "start": later[0]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let kept = r.body["id"].as_i64().expect("id");
    app.clock.advance(29 * 86_400);
    let (cal, _) = feed(&app, &patient_feed).await;
    assert_eq!(event_of(&cal, id)["status"], "CANCELLED");
    app.clock.advance(4 * 86_400);
    let (cal, _) = feed(&app, &patient_feed).await;
    assert_eq!(events(&cal).len(), 1, "{cal}");
    assert_eq!(event_of(&cal, kept)["sequence"], 0);
}

async fn a_new_link_retires_the_old_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (patient, browser) = awkward_patient(&app).await;
    let start = app.later_slots(doctor.id).await[0].clone();
    assert_eq!(app.book(&patient, doctor.id, &start).await.status, 201);
    let old = feed_path(&app, &browser, "/profile").await;
    assert_eq!(events(&feed(&app, &old).await.0).len(), 1);
    assert_eq!(
        feed_path(&app, &browser, "/profile").await,
        old,
        "the page shows the same URL until it is rotated"
    );

    // Without the form's token: refused, and the URL still works.
    let p = post_form(
        &app,
        "/profile/calendar",
        Some(&browser.cookie),
        "csrf=wrong",
    )
    .await;
    assert_eq!(p.status, 403);
    assert_eq!(fetch(&app, &old, None).await.0, 200);

    // A new link: the old one is a 404 at once, the new one works.
    let p = post_form(
        &app,
        "/profile/calendar",
        Some(&browser.cookie),
        &format!("csrf={}", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/profile");
    let new = feed_path(&app, &browser, "/profile").await;
    assert_ne!(new, old);
    assert_eq!(fetch(&app, &old, None).await.0, 404);
    assert_eq!(events(&feed(&app, &new).await.0).len(), 1);

    // The doctor's link, from the week page; a patient cannot post there.
    let doctor_browser = browser_of(&app, &doctor, "/doctor/week").await;
    let doctor_old = feed_path(&app, &doctor_browser, "/doctor/week").await;
    let p = post_form(
        &app,
        "/doctor/calendar",
        Some(&browser.cookie),
        &format!("csrf={}", browser.csrf),
    )
    .await;
    assert_eq!(p.status, 404);
    assert_eq!(fetch(&app, &doctor_old, None).await.0, 200);
    let p = post_form(
        &app,
        "/doctor/calendar",
        Some(&doctor_browser.cookie),
        &format!("csrf={}", doctor_browser.csrf),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header(LOCATION), "/doctor/week");
    let doctor_new = feed_path(&app, &doctor_browser, "/doctor/week").await;
    assert_eq!(fetch(&app, &doctor_old, None).await.0, 404);
    assert_eq!(events(&feed(&app, &doctor_new).await.0).len(), 1);
    // The patient's current link was not touched by the doctor's.
    assert_eq!(fetch(&app, &new, None).await.0, 200);

    // Rotations are in the audit log, by their account.
    let r = app
        .get("/api/v1/audit?entity=calendar", Some(&admin.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rotations = r.body["items"].as_array().expect("items");
    assert_eq!(rotations.len(), 2, "{}", r.body);
    assert!(rotations.iter().all(|e| e["action"] == "rotate"));
}

async fn a_token_opens_its_own_feed_and_nothing_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (ann, ann_browser) = awkward_patient(&app).await;
    let (bob, bob_browser) = awkward_patient(&app).await;
    let slots = app.later_slots(doctor.id).await;
    let ann_visit = app.book(&ann, doctor.id, &slots[0]).await.body["id"]
        .as_i64()
        .expect("id");
    assert_eq!(app.book(&bob, doctor.id, &slots[1]).await.status, 201);
    let ann_feed = feed_path(&app, &ann_browser, "/profile").await;
    let bob_feed = feed_path(&app, &bob_browser, "/profile").await;

    // Bob's feed has Bob's visit only.
    let (cal, _) = feed(&app, &bob_feed).await;
    assert_eq!(events(&cal).len(), 1);
    assert!(
        !events(&cal)[0]["uid"]
            .as_str()
            .expect("uid")
            .starts_with(&format!("appointment-{ann_visit}@")),
        "another patient's visit in Bob's feed"
    );

    // Bob's signature with Ann's account, a later generation, no signature,
    // no .ics, junk: all the same 404 page, saying nothing of the account.
    let token = |path: &str| {
        path.trim_start_matches("/calendar/")
            .trim_end_matches(".ics")
            .to_owned()
    };
    let (ann_t, bob_t) = (token(&ann_feed), token(&bob_feed));
    let ann_account = ann_t.split('.').next().expect("account");
    let bob_parts: Vec<&str> = bob_t.split('.').collect();
    let not_found_body = fetch(&app, "/calendar/1.0.nothing.ics", None).await.2;
    for bad in [
        format!(
            "/calendar/{ann_account}.{}.{}.ics",
            bob_parts[1], bob_parts[2]
        ),
        format!("/calendar/{}.1.{}.ics", bob_parts[0], bob_parts[2]),
        format!("/calendar/{}.{}.ics", bob_parts[0], bob_parts[1]),
        format!("/calendar/{bob_t}"),
        format!("/calendar/{bob_t}.ics.ics"),
        "/calendar/.ics".to_owned(),
        "/calendar/999999.0.abc.ics".to_owned(),
    ] {
        let (status, kind, body) = fetch(&app, &bad, None).await;
        assert_eq!(status, 404, "{bad}");
        assert!(kind.starts_with("text/html"), "{bad}: {kind}");
        assert_eq!(body, not_found_body, "{bad}: one 404 for every bad token");
    }
    assert_eq!(fetch(&app, &ann_feed, None).await.0, 200);

    // Admins have no feed (no card, no page).
    let page = get(
        &app,
        "/profile",
        Some(&format!("medimeet_session={}", admin.token)),
    )
    .await;
    assert_eq!(page.status, 404);

    // A deactivated doctor's feed stops working with their login (the admin
    // keeps the two booked visits: decision 0022 asks about them first).
    let doctor_browser = browser_of(&app, &doctor, "/doctor/week").await;
    let doctor_feed = feed_path(&app, &doctor_browser, "/doctor/week").await;
    assert_eq!(events(&feed(&app, &doctor_feed).await.0).len(), 2);
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/doctors/{}", doctor.id),
            Some(&admin.token),
            Some(json!({"active": false, "affected": "keep"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(fetch(&app, &doctor_feed, None).await.0, 404);
}

async fn a_visit_downloads_for_its_people_and_admins_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let (patient, patient_browser) = awkward_patient(&app).await;
    let (_, stranger) = awkward_patient(&app).await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let r = app
        .post(
            "/api/v1/appointments",
            Some(&patient.token),
            json!({"doctor_id": doctor.id, "start": start, "reason": REASON}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().expect("id");
    let path = format!("/appointments/{id}/calendar.ics");

    // The appointment's page links to it.
    let page = get(
        &app,
        &format!("/appointments/{id}"),
        Some(&patient_browser.cookie),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("href=\"{path}\"")), "the link");
    assert!(page.body.contains("Add to calendar (.ics)"));

    let feed_uid = {
        let feed_path = feed_path(&app, &patient_browser, "/profile").await;
        event_of(&feed(&app, &feed_path).await.0, id)["uid"].clone()
    };
    let summaries = [
        (
            patient_browser.cookie.clone(),
            "Video visit with Dr. Doc Tor".to_owned(),
        ),
        (
            format!("medimeet_session={}", doctor.token),
            format!("Video visit: {NAME}"),
        ),
        (
            format!("medimeet_session={}", admin.token),
            format!("Video visit: {NAME}"),
        ),
    ];
    for (cookie, summary) in &summaries {
        let res = client()
            .get(app.url(&path))
            .header(reqwest::header::COOKIE, cookie.as_str())
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()[CONTENT_TYPE].to_str().expect("ascii"),
            "text/calendar; charset=utf-8"
        );
        assert_eq!(
            res.headers()[CONTENT_DISPOSITION].to_str().expect("ascii"),
            format!("attachment; filename=\"visit-{id}.ics\"")
        );
        let body = res.bytes().await.expect("body");
        let text = well_formed(&body);
        assert!(!text.contains(REASON), "no reason in the download");
        let cal = parsed(&body);
        assert_eq!(cal["method"], "PUBLISH");
        assert_eq!(events(&cal).len(), 1);
        let e = event_of(&cal, id);
        assert_eq!(e["uid"], feed_uid, "the feed's UID");
        assert_eq!(e["sequence"], 0);
        assert_eq!(e["status"], "CONFIRMED");
        assert_eq!(e["all_utc"], true);
        assert_eq!(e["summary"], summary.as_str());
    }

    // Another patient: the 404 page, as for the appointment itself. Nobody
    // signed in: to the login page.
    let (status, kind, _) = fetch(&app, &path, Some(&stranger.cookie)).await;
    assert_eq!(status, 404);
    assert!(kind.starts_with("text/html"), "{kind}");
    let anonymous = get(&app, &path, None).await;
    assert_eq!(anonymous.status, 303);
    assert!(anonymous.header(LOCATION).starts_with("/login"));
    assert_eq!(
        fetch(
            &app,
            "/appointments/999999/calendar.ics",
            Some(&patient_browser.cookie)
        )
        .await
        .0,
        404
    );
}

/// Around the start of summer time in Berlin (2027-03-28), a visit booked
/// just before and one just after the change are the same instants in the
/// JSON API, in FHIR and in the patient's feed (UTC there).
async fn visits_across_a_dst_change_are_the_same_instants_in_every_face(backend: Backend) {
    let settings = medimeet::config::Settings {
        horizon_days: 730,
        ..crate::helpers::test_settings()
    };
    let app = crate::helpers::spawn_app_with(backend, settings).await;
    let admin = app.new_admin().await;
    let days = ["friday", "saturday", "sunday", "monday"];
    let hours: Vec<(&str, &str, &str)> = days.iter().map(|d| (*d, "01:00", "04:00")).collect();
    let doctor = app.new_doctor(&admin, "Europe/Berlin", 60, &hours).await;
    let (user, browser) = awkward_patient(&app).await;
    // 01:00 Berlin on Friday (UTC+1) and on Monday (UTC+2).
    let (before, after) = ("2027-03-26T00:00:00Z", "2027-03-28T23:00:00Z");
    let r = app.book(&user, doctor.id, before).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let via_api = r.body["id"].as_i64().expect("id");
    let r = app
        .call_with(
            Method::POST,
            "/fhir/Appointment",
            Some(&user.token),
            Some(json!({"resourceType": "Appointment", "status": "booked", "start": after,
                "participant": [{"actor": {"reference": format!("Practitioner/{}", doctor.id)}, "status": "accepted"}]})),
            &[("content-type", "application/fhir+json")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let via_fhir: i64 = r.body["id"].as_str().expect("id").parse().expect("number");
    let path = feed_path(&app, &browser, "/profile").await;
    let (cal, _) = feed(&app, &path).await;
    for (id, start) in [(via_api, before), (via_fhir, after)] {
        let api = app
            .get(&format!("/api/v1/appointments/{id}"), Some(&user.token))
            .await;
        assert_eq!(api.body["start"], start, "{}", api.body);
        let fhir = app
            .get(&format!("/fhir/Appointment/{id}"), Some(&user.token))
            .await;
        assert_eq!(fhir.body["start"], start, "{}", fhir.body);
        let event = event_of(&cal, id);
        let parsed: jiff::Timestamp = event["start"]
            .as_str()
            .expect("start")
            .parse()
            .expect("an instant with its offset");
        assert_eq!(parsed.to_string(), start, "{event}");
        assert_eq!(event["all_utc"], true);
    }
}

crate::both_backends!(
    visits_across_a_dst_change_are_the_same_instants_in_every_face,
    a_visit_keeps_its_uid_and_its_sequence_rises_with_every_change,
    a_new_link_retires_the_old_one,
    a_token_opens_its_own_feed_and_nothing_else,
    a_visit_downloads_for_its_people_and_admins_only,
);
