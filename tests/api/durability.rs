//! Invariant 2, a confirmed booking is durable: the real binary is killed with
//! SIGKILL in the middle of a stream of bookings and restarted; every booking
//! a client saw confirmed (201) is still there.

use crate::helpers::{Backend, BinaryServer, TestDb, client, next_phone, start_binary};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

async fn start(url: &str) -> BinaryServer {
    start_binary(
        url,
        &["--demo"],
        &[("MEDIMEET_MIN_NOTICE_MINUTES", "0"), ("RUST_LOG", "warn")],
        false,
    )
    .await
}

async fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> Option<(u16, Value)> {
    let mut req = client()
        .post(format!("{base}{path}"))
        .json(&body)
        .timeout(Duration::from_secs(10));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    // A request cut off by the kill has no answer: it was never confirmed.
    let res = req.send().await.ok()?;
    let status = res.status().as_u16();
    let body = res.json().await.ok()?;
    Some((status, body))
}

async fn confirmed_bookings_survive_kill_9(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = start(db.url()).await;
    let base = server.base.clone();

    // Patients, and the free slots of every demo doctor.
    let mut tokens = Vec::new();
    for _ in 0..6 {
        let phone = next_phone();
        let (s, _) = post(
            &base,
            "/api/v1/patients",
            None,
            json!({"first_name": "K", "last_name": "Nine",
            "phone": phone, "password": "long enough pw", "date_of_birth": "1980-05-05"}),
        )
        .await
        .expect("register");
        assert_eq!(s, 201);
        let (_, b) = post(
            &base,
            "/api/v1/sessions",
            None,
            json!({"phone": phone, "password": "long enough pw"}),
        )
        .await
        .expect("login");
        tokens.push(b["token"].as_str().expect("token").to_owned());
    }
    let doctors: Value = client()
        .get(format!("{base}/api/v1/doctors?limit=200"))
        .send()
        .await
        .expect("doctors")
        .json()
        .await
        .expect("json");
    let mut targets = Vec::new();
    for d in doctors["items"].as_array().expect("items") {
        let id = d["id"].as_i64().expect("id");
        let slots: Value = client()
            .get(format!("{base}/api/v1/doctors/{id}/slots"))
            .send()
            .await
            .expect("slots")
            .json()
            .await
            .expect("json");
        for s in slots["items"].as_array().expect("items") {
            targets.push((id, s["start"].as_str().expect("start").to_owned()));
        }
    }
    assert!(targets.len() > 100, "demo clinic offers slots");

    // Book as fast as possible from several clients, and kill the server mid-way.
    let confirmed = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let mine: Vec<_> = targets.iter().skip(i).step_by(6).cloned().collect();
        let (base, confirmed, stop) = (base.clone(), confirmed.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            for (doctor_id, start) in mine {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let r = post(
                    &base,
                    "/api/v1/appointments",
                    Some(&token),
                    json!({"doctor_id": doctor_id, "start": start}),
                )
                .await;
                match r {
                    Some((201, b)) => confirmed.lock().await.push(b["id"].as_i64().expect("id")),
                    Some(_) => {}
                    None => break,
                }
            }
        }));
    }
    // Wait until some bookings are confirmed, then SIGKILL.
    for _ in 0..200 {
        if confirmed.lock().await.len() >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.child.start_kill().expect("kill -9");
    let _ = server.child.wait().await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let confirmed = confirmed.lock().await.clone();
    assert!(
        confirmed.len() >= 15,
        "only {} bookings before the kill",
        confirmed.len()
    );

    // Restart on the same database: every confirmed booking is there.
    let server = start(db.url()).await;
    let (_, b) = post(
        &server.base,
        "/api/v1/sessions",
        None,
        json!({"email": medimeet::demo::ADMIN_EMAIL, "password": medimeet::demo::ADMIN_PASSWORD}),
    )
    .await
    .expect("admin login");
    let admin = b["token"].as_str().expect("token").to_owned();
    for id in &confirmed {
        let r = client()
            .get(format!("{}/api/v1/appointments/{id}", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "confirmed booking {id} lost after kill -9");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["status"], "booked");
    }
    drop(server);
}

crate::both_backends!(confirmed_bookings_survive_kill_9);
