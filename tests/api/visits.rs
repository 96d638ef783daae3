//! The video visit through the API and its signaling WebSocket (issue 9,
//! docs/visit.md): who enters, when, what crosses between the two sockets,
//! and what a bad frame or a second tab does.

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, Visit, booked_visit, second_instance, spawn_app, spawn_app_with,
    test_settings, visit_audit_actions,
};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Moves the app's clock to `secs` seconds after the visit's start.
fn at_start_plus(app: &TestApp, v: &Visit, secs: i64) {
    let target = v.start.as_second() + secs;
    app.clock.advance(target - app.clock.now().as_second());
}

async fn open_socket(
    app: &TestApp,
    id: i64,
    token: &str,
    origin: Option<&str>,
) -> Result<Ws, WsError> {
    let mut req = format!("ws://{}/api/v1/appointments/{id}/visit/signal", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

async fn socket(app: &TestApp, id: i64, user: &User) -> Ws {
    open_socket(app, id, &user.token, None)
        .await
        .expect("socket opens")
}

/// The HTTP status (and problem code) of a refused handshake.
async fn refused(app: &TestApp, id: i64, token: &str, origin: Option<&str>) -> (u16, String) {
    match open_socket(app, id, token, origin).await {
        Ok(_) => panic!("the socket opened"),
        Err(WsError::Http(res)) => {
            let body: Value = res
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (
                res.status().as_u16(),
                body["code"].as_str().unwrap_or("").to_owned(),
            )
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// The next JSON frame (pings and pongs skipped), within five seconds.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next frame of this type, skipping others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let f = next(ws).await;
        if f["type"] == kind {
            return f;
        }
    }
}

/// Waits for the server to close the socket; its close code and reason.
async fn closed(ws: &mut Ws) -> (u16, String) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("closed within 5 s");
        match msg {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => return (0, String::new()),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket error instead of a close: {e}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Nothing arrives on the socket for a moment (but pings).
async fn quiet(ws: &mut Ws) {
    let got = tokio::time::timeout(Duration::from_millis(400), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => return other,
            }
        }
    })
    .await;
    assert!(got.is_err(), "unexpected frame: {got:?}");
}

async fn the_room_its_chat_and_note_are_its_two_peoples_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    at_start_plus(&app, &v, -300);
    let other_patient = app.new_patient().await;
    let other_doctor = app.everyday_doctor(&v.admin).await;
    let room = format!("/api/v1/appointments/{}/visit", v.id);
    let chat = format!("/api/v1/appointments/{}/messages", v.id);
    let note = format!("/api/v1/appointments/{}/note", v.id);

    let r = app.get(&room, Some(&v.patient.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "open");
    assert_eq!(r.body["you"], "patient");
    assert_eq!(r.body["peer_name"], "Dr. Doc Tor");
    assert_eq!(r.body["present"], json!([]));
    assert_eq!(r.body["ice_servers"], json!([]), "none configured");
    assert_eq!(r.body["ice_transport_policy"], "all");
    assert_eq!(r.body["signal_url"], format!("{room}/signal"));
    let r = app.get(&room, Some(&v.doctor.token)).await;
    assert_eq!(r.body["you"], "doctor");

    for outsider in [&other_patient, &other_doctor, &v.admin] {
        let t = Some(outsider.token.as_str());
        app.get(&room, t).await.assert_problem(404, "not_found");
        app.get(&chat, t).await.assert_problem(404, "not_found");
        app.post(&chat, t, json!({"text": "hello"}))
            .await
            .assert_problem(404, "not_found");
        app.call(Method::PUT, &note, t, Some(json!({"body": "x"})))
            .await
            .assert_problem(404, "not_found");
        assert_eq!(
            refused(&app, v.id, &outsider.token, None).await,
            (404, "not_found".into())
        );
    }
    // The admin still sees the appointment, but not its note.
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", v.id),
            Some(&v.admin.token),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["visit_note"], Value::Null);
    app.get(&room, None)
        .await
        .assert_problem(401, "unauthenticated");
    // Nothing the outsiders did left a message behind.
    let r = app.get(&chat, Some(&v.patient.token)).await;
    assert_eq!(r.body["items"], json!([]));
}

async fn the_room_opens_and_closes_with_the_clock_and_the_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let room = format!("/api/v1/appointments/{}/visit", v.id);
    let chat = format!("/api/v1/appointments/{}/messages", v.id);

    // Eleven minutes early: not open yet (it opens ten minutes before).
    at_start_plus(&app, &v, -660);
    let r = app.get(&room, Some(&v.patient.token)).await;
    assert_eq!(r.body["state"], "not_open");
    let opens = (v.start - jiff::SignedDuration::from_mins(10)).to_string();
    assert_eq!(r.body["opens_at"], opens.as_str());
    assert_eq!(
        refused(&app, v.id, &v.patient.token, None).await,
        (409, "visit_not_open".into())
    );
    app.post(&chat, Some(&v.patient.token), json!({"text": "early"}))
        .await
        .assert_problem(409, "visit_not_open");

    at_start_plus(&app, &v, -540);
    assert_eq!(
        app.get(&room, Some(&v.patient.token)).await.body["state"],
        "open"
    );
    let mut ws = socket(&app, v.id, &v.patient).await;
    assert_eq!(next(&mut ws).await["type"], "welcome");

    // Cancelled (by the doctor): the open socket is told and closed, and
    // the room refuses everyone from then on.
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/cancel", v.id),
            Some(&v.doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let state = next_of(&mut ws, "visit_state").await;
    assert_eq!(state["status"], "cancelled");
    assert_eq!(closed(&mut ws).await.0, 4002);
    assert_eq!(
        app.get(&room, Some(&v.patient.token)).await.body["state"],
        "closed"
    );
    assert_eq!(
        refused(&app, v.id, &v.patient.token, None).await,
        (409, "visit_closed".into())
    );
    app.post(&chat, Some(&v.patient.token), json!({"text": "late"}))
        .await
        .assert_problem(409, "visit_closed");

    // Half an hour after its end a booked visit's room has closed too.
    let w = booked_visit(&app).await;
    at_start_plus(&app, &w, 30 * 60 + 30 * 60);
    let r = app
        .get(
            &format!("/api/v1/appointments/{}/visit", w.id),
            Some(&w.patient.token),
        )
        .await;
    assert_eq!(r.body["state"], "closed");
}

async fn a_call_is_signaled_between_patient_and_doctor(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    at_start_plus(&app, &v, -300);

    // The patient waits.
    let mut p = socket(&app, v.id, &v.patient).await;
    let w = next(&mut p).await;
    assert_eq!(w["type"], "welcome");
    assert_eq!(w["you"], "patient");
    assert_eq!(w["peer_name"], "Dr. Doc Tor");
    assert_eq!(w["peer_present"], false);
    assert_eq!(w["status"], "booked");
    let r = app
        .get(
            &format!("/api/v1/appointments/{}/visit", v.id),
            Some(&v.doctor.token),
        )
        .await;
    assert_eq!(
        r.body["present"],
        json!(["patient"]),
        "the doctor sees the patient waiting"
    );

    // The doctor arrives (early: the visit does not start yet).
    let mut d = socket(&app, v.id, &v.doctor).await;
    let w = next(&mut d).await;
    assert_eq!(
        (w["you"].as_str(), w["peer_present"].as_bool()),
        (Some("doctor"), Some(true))
    );
    assert_eq!(w["status"], "booked");
    assert_eq!(next(&mut p).await["type"], "peer_joined");

    // Offer, answer and candidates cross as they were sent.
    send(&mut d, json!({"type": "offer", "sdp": "v=0 offer"})).await;
    assert_eq!(
        next(&mut p).await,
        json!({"type": "offer", "sdp": "v=0 offer"})
    );
    send(&mut p, json!({"type": "answer", "sdp": "v=0 answer"})).await;
    assert_eq!(
        next(&mut d).await,
        json!({"type": "answer", "sdp": "v=0 answer"})
    );
    let cand = json!({"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"});
    send(&mut p, json!({"type": "ice", "candidate": cand})).await;
    assert_eq!(
        next(&mut d).await,
        json!({"type": "ice", "candidate": cand})
    );
    send(&mut d, json!({"type": "ice", "candidate": null})).await;
    assert_eq!(
        next(&mut p).await,
        json!({"type": "ice", "candidate": null})
    );

    // Chat crosses both ways, reaches both sockets, and is kept.
    send(&mut p, json!({"type": "chat", "text": "  Hello doctor  "})).await;
    for ws in [&mut p, &mut d] {
        let m = next(ws).await;
        assert_eq!(m["type"], "chat");
        assert_eq!(m["author"], "patient");
        assert_eq!(m["text"], "Hello doctor");
        assert!(
            m["id"].as_i64().is_some() && m["at"].as_str().is_some(),
            "{m}"
        );
    }
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/messages", v.id),
            Some(&v.doctor.token),
            json!({"text": "Hello <b>Ann</b>"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(next(&mut p).await["text"], "Hello <b>Ann</b>");
    assert_eq!(next(&mut d).await["author_name"], "Dr. Doc Tor");
    let r = app
        .get(
            &format!("/api/v1/appointments/{}/messages", v.id),
            Some(&v.patient.token),
        )
        .await;
    let texts: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hello doctor", "Hello <b>Ann</b>"]);
    // A message the rules refuse comes back as an error; the socket stays.
    send(&mut p, json!({"type": "chat", "text": "   "})).await;
    let e = next(&mut p).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("validation_failed"))
    );

    // A second tab replaces the first: the patient sees one doctor, not two.
    let mut d2 = socket(&app, v.id, &v.doctor).await;
    assert_eq!(next(&mut d2).await["type"], "welcome");
    assert_eq!(closed(&mut d).await.0, 4001, "the older tab is replaced");
    assert_eq!(next(&mut p).await["type"], "peer_joined");
    let r = app
        .get(
            &format!("/api/v1/appointments/{}/visit", v.id),
            Some(&v.patient.token),
        )
        .await;
    assert_eq!(r.body["present"], json!(["doctor", "patient"]));
    quiet(&mut p).await; // no peer_left for the replaced tab

    // At the start time the doctor's presence starts the visit (here, on
    // entering again: a ping would do it within 20 s).
    at_start_plus(&app, &v, 0);
    let mut d3 = socket(&app, v.id, &v.doctor).await;
    assert_eq!(next(&mut d3).await["type"], "welcome");
    assert_eq!(closed(&mut d2).await.0, 4001);
    assert_eq!(next(&mut p).await["type"], "peer_joined");
    assert_eq!(
        next_of(&mut p, "visit_state").await["status"],
        "in_progress"
    );
    assert_eq!(
        next_of(&mut d3, "visit_state").await["status"],
        "in_progress"
    );
    let r = app
        .get(
            &format!("/api/v1/appointments/{}", v.id),
            Some(&v.patient.token),
        )
        .await;
    assert_eq!(r.body["status"], "in_progress");
    let mut d2 = d3;

    // Hanging up tells the other side.
    send(&mut p, json!({"type": "leave"})).await;
    assert_eq!(closed(&mut p).await.0, 1000);
    assert_eq!(next(&mut d2).await["type"], "peer_left");

    // The doctor completes the visit: the room closes for the socket still open.
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/complete", v.id),
            Some(&v.doctor.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(next_of(&mut d2, "visit_state").await["status"], "completed");
    assert_eq!(closed(&mut d2).await.0, 4002);

    // Entering, leaving and reading the chat are audited.
    let actions = visit_audit_actions(&app, &v.admin, v.id).await;
    for a in ["enter", "leave", "read chat"] {
        assert!(actions.iter().any(|x| x == a), "{a} not in {actions:?}");
    }
}

async fn bad_frames_close_only_their_own_socket(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    at_start_plus(&app, &v, -300);
    let mut d = socket(&app, v.id, &v.doctor).await;
    next(&mut d).await;

    let bad: [(Message, u16); 5] = [
        (Message::Text("not json".into()), 1008),
        (
            Message::Text(json!({"type": "offer"}).to_string().into()),
            1008,
        ),
        (
            Message::Text(
                json!({"type": "offer", "sdp": "x", "to": "admin"})
                    .to_string()
                    .into(),
            ),
            1008,
        ),
        (Message::Binary(vec![1, 2, 3].into()), 1008),
        (
            Message::Text(
                json!({"type": "offer", "sdp": "x".repeat(70 * 1024)})
                    .to_string()
                    .into(),
            ),
            1009,
        ),
    ];
    for (frame, code) in bad {
        let mut p = socket(&app, v.id, &v.patient).await;
        assert_eq!(next(&mut p).await["type"], "welcome");
        p.send(frame).await.unwrap();
        let (got, reason) = closed(&mut p).await;
        assert_eq!(got, code, "reason: {reason}");
        assert!(!reason.is_empty(), "a close says why");
        // The doctor's socket goes on, and hears the patient come and go.
        assert_eq!(next_of(&mut d, "peer_left").await["type"], "peer_left");
    }
    // More than fifty frames in a second.
    let mut p = socket(&app, v.id, &v.patient).await;
    next(&mut p).await;
    for _ in 0..60 {
        if p.send(Message::Text(
            json!({"type": "ice", "candidate": null}).to_string().into(),
        ))
        .await
        .is_err()
        {
            break;
        }
    }
    let (code, _) = loop {
        match tokio::time::timeout(Duration::from_secs(5), p.next())
            .await
            .expect("closed")
        {
            Some(Ok(Message::Close(Some(f)))) => break (u16::from(f.code), f.reason.to_string()),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(code, u16::from(CloseCode::Policy));
    // The doctor's socket still works: a chat message arrives.
    let r = app
        .post(
            &format!("/api/v1/appointments/{}/messages", v.id),
            Some(&v.patient.token),
            json!({"text": "still here"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(next_of(&mut d, "chat").await["text"], "still here");
}

async fn a_foreign_origin_cannot_open_the_socket(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    at_start_plus(&app, &v, -60);
    assert_eq!(
        refused(&app, v.id, &v.patient.token, Some("http://evil.example")).await,
        (403, "foreign_origin".into())
    );
    let own = format!("http://{}", app.addr);
    let mut ws = open_socket(&app, v.id, &v.patient.token, Some(&own))
        .await
        .expect("own origin");
    assert_eq!(next(&mut ws).await["type"], "welcome");
    // A plain GET (no handshake) is told what the address is.
    app.get(
        &format!("/api/v1/appointments/{}/visit/signal", v.id),
        Some(&v.patient.token),
    )
    .await
    .assert_problem(426, "upgrade_required");
}

async fn the_doctor_writes_the_note_and_both_read_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    let note = format!("/api/v1/appointments/{}/note", v.id);
    let one = format!("/api/v1/appointments/{}", v.id);
    at_start_plus(&app, &v, -60);
    app.call(
        Method::PUT,
        &note,
        Some(&v.doctor.token),
        Some(json!({"body": "early"})),
    )
    .await
    .assert_problem(409, "visit_not_started");
    at_start_plus(&app, &v, 60);
    let r = app
        .post(&format!("{one}/start"), Some(&v.doctor.token), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.call(
        Method::PUT,
        &note,
        Some(&v.patient.token),
        Some(json!({"body": "mine"})),
    )
    .await
    .assert_problem(403, "forbidden");
    app.call(
        Method::PUT,
        &note,
        Some(&v.doctor.token),
        Some(json!({"body": "  "})),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.call(
        Method::PUT,
        &note,
        Some(&v.doctor.token),
        Some(json!({"body": "x".repeat(10_001)})),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = app
        .call(
            Method::PUT,
            &note,
            Some(&v.doctor.token),
            Some(json!({"body": "Rest; fluids."})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["body"], "Rest; fluids.");
    let r = app
        .call(
            Method::PUT,
            &note,
            Some(&v.doctor.token),
            Some(json!({"body": "Rest; fluids; ibuprofen."})),
        )
        .await;
    assert_eq!(r.status, 200);
    // The patient never joined: a no-show after the start, note and all.
    let r = app
        .post(&format!("{one}/no-show"), Some(&v.doctor.token), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "no_show");
    for who in [&v.patient, &v.doctor] {
        let r = app.get(&one, Some(&who.token)).await;
        assert_eq!(r.body["visit_note"]["body"], "Rest; fluids; ibuprofen.");
    }
    let listed = app
        .get("/api/v1/appointments", Some(&v.patient.token))
        .await;
    assert_eq!(
        listed.body["items"][0]["visit_note"],
        Value::Null,
        "lists carry no notes"
    );
    let actions = visit_audit_actions(&app, &v.admin, v.id).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "read note").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "write note").count(),
        2,
        "{actions:?}"
    );
}

async fn the_chat_is_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let v = booked_visit(&app).await;
    at_start_plus(&app, &v, -60);
    let chat = format!("/api/v1/appointments/{}/messages", v.id);
    for i in 0..20 {
        let r = app
            .post(
                &chat,
                Some(&v.patient.token),
                json!({"text": format!("m{i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = app
        .post(
            &chat,
            Some(&v.patient.token),
            json!({"text": "one too many"}),
        )
        .await;
    r.assert_problem(429, "too_many_messages");
    assert!(r.headers.get("retry-after").is_some());
    // The other person is not limited by it.
    assert_eq!(
        app.post(&chat, Some(&v.doctor.token), json!({"text": "ok"}))
            .await
            .status,
        201
    );
    app.post(
        &chat,
        Some(&v.patient.token),
        json!({"text": "x".repeat(2001)}),
    )
    .await
    .assert_problem(422, "validation_failed");
    // Pages of the chat follow the cursor.
    let r = app
        .get(&format!("{chat}?limit=15"), Some(&v.doctor.token))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 15);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .get(
            &format!("{chat}?limit=15&cursor={cursor}"),
            Some(&v.doctor.token),
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 6);
    assert_eq!(r.body["items"][5]["text"], "ok");
    assert_eq!(r.body["next_cursor"], Value::Null);
}

async fn turn_logins_are_issued_from_the_shared_secret(backend: Backend) {
    let settings = medimeet::config::Settings {
        stun_urls: vec!["stun:stun.clinic.test:3478".into()],
        turn_urls: vec!["turn:turn.clinic.test:3478?transport=udp".into()],
        turn_secret: Some(medimeet::config::Secret::new(
            "a-shared-secret-of-the-clinic",
        )),
        turn_ttl_minutes: 60,
        turn_relay_only: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let v = booked_visit(&app).await;
    at_start_plus(&app, &v, -60);
    let r = app
        .get(
            &format!("/api/v1/appointments/{}/visit", v.id),
            Some(&v.patient.token),
        )
        .await;
    let servers = r.body["ice_servers"].as_array().unwrap();
    assert_eq!(servers[0], json!({"urls": ["stun:stun.clinic.test:3478"]}));
    assert_eq!(r.body["ice_transport_policy"], "relay");
    let username = servers[1]["username"].as_str().unwrap();
    let (expiry, _account) = username.split_once(':').unwrap();
    let expiry: i64 = expiry.parse().unwrap();
    let now = app.clock.now().as_second();
    assert!(
        (now + 3590..=now + 3610).contains(&expiry),
        "{expiry} vs {now}"
    );
    let (_, password) = medimeet::auth::turn_credentials(
        "a-shared-secret-of-the-clinic",
        _account.parse().unwrap(),
        expiry,
    );
    assert_eq!(servers[1]["credential"], password.as_str());
    let text = r.body.to_string();
    assert!(
        !text.contains("a-shared-secret"),
        "the secret never leaves the server"
    );
}

both_backends!(
    the_room_its_chat_and_note_are_its_two_peoples_only,
    the_room_opens_and_closes_with_the_clock_and_the_visit,
    a_call_is_signaled_between_patient_and_doctor,
    bad_frames_close_only_their_own_socket,
    a_foreign_origin_cannot_open_the_socket,
    the_doctor_writes_the_note_and_both_read_it,
    the_chat_is_rate_limited,
    turn_logins_are_issued_from_the_shared_secret,
);

/// Two instances on one PostgreSQL: the patient's socket on one, the
/// doctor's on the other; signals and chat cross through NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_relay_the_call_through_postgresql() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_instance(&a).await;
    let v = booked_visit(&a).await;
    at_start_plus(&a, &v, -120);
    let mut p = socket(&a, v.id, &v.patient).await;
    assert_eq!(next(&mut p).await["peer_present"], false);
    let mut d = socket(&b, v.id, &v.doctor).await;
    assert_eq!(
        next(&mut d).await["peer_present"],
        true,
        "presence is shared"
    );
    assert_eq!(next(&mut p).await["type"], "peer_joined");
    send(&mut d, json!({"type": "offer", "sdp": "v=0 across"})).await;
    assert_eq!(next(&mut p).await["sdp"], "v=0 across");
    send(&mut p, json!({"type": "answer", "sdp": "v=0 back"})).await;
    assert_eq!(next(&mut d).await["sdp"], "v=0 back");
    send(&mut p, json!({"type": "chat", "text": "across instances"})).await;
    assert_eq!(next(&mut d).await["text"], "across instances");
    assert_eq!(next(&mut p).await["text"], "across instances");
    // Both listeners lose their connection (a database failover, a proxy's
    // idle timeout); they reconnect, reload what they missed, and the call
    // goes on.
    let medimeet::store::Store::Postgres(pool) = &a.store else {
        unreachable!()
    };
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(cut.len(), 2, "one listener per instance");
    send(
        &mut d,
        json!({"type": "ice", "candidate": {"candidate": "after the cut"}}),
    )
    .await;
    assert_eq!(
        next(&mut p).await["candidate"]["candidate"],
        "after the cut"
    );
    send(&mut p, json!({"type": "chat", "text": "still connected"})).await;
    assert_eq!(next(&mut d).await["text"], "still connected");
    assert_eq!(next(&mut p).await["text"], "still connected");
    // A second doctor tab on the first instance replaces the one on the second.
    let mut d2 = socket(&a, v.id, &v.doctor).await;
    next(&mut d2).await;
    assert_eq!(closed(&mut d).await.0, 4001);
    assert_eq!(next(&mut p).await["type"], "peer_joined");
    drop(b);
}
