//! The test harness: a real server on a random port over a fresh database of
//! either backend, and typed helpers for the flows tests need.
//!
//! Every test runs against SQLite and PostgreSQL (see `both_backends!`). Each
//! test gets its own database: a temporary SQLite file, or a PostgreSQL database
//! `medimeet_test_<random>` created on the server at `MEDIMEET_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the
//! test ends, pass or fail. PostgreSQL being down is a failure, never a skip.

#![allow(dead_code)]

use medimeet::clock::Clock;
use medimeet::config::{Config, DatabaseConfig, Settings};
use medimeet::domain::limits::RateLimit;
use medimeet::startup::Application;
use medimeet::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

pub fn pg_admin_url() -> String {
    std::env::var("MEDIMEET_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database made for one test and removed after it.
pub enum TestDb {
    Sqlite { dir: tempfile::TempDir, url: String },
    Postgres { name: String, url: String },
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("test.db").display());
                TestDb::Sqlite { dir, url }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = pg_admin_url();
                let name = format!("medimeet_test_{:016x}", rand_u64());
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the tests and is not reachable at {admin}: {e}. \
                         Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
                    )
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                let url = format!("{base}/{name}");
                TestDb::Postgres { name, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name, .. } = self {
            let name = name.clone();
            // Drop runs inside the test's runtime: do the async work on a thread
            // of its own so it completes even while a test is unwinding.
            let handle = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            });
            let _ = handle.join();
        }
    }
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

static PHONE_SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh, valid and unique (within this test process) US phone number.
pub fn next_phone() -> String {
    let n = PHONE_SEQ.fetch_add(1, Ordering::Relaxed);
    // 201-555-01xx .. are reserved for fiction; use several valid area codes.
    let area = [212, 213, 312, 415, 617, 718, 202, 305][(n / 9000) as usize % 8];
    format!("+1{area}{:07}", 2_010_000 + n % 9000)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub store: Store,
    pub clock: Clock,
    /// The database, owned by the first instance and dropped with it.
    pub db: Option<TestDb>,
    /// Whether this clinic sends text messages (`--sms-url`): its sign-ups
    /// go by a code (decision 0027), so [`TestApp::new_patient`] makes the
    /// patient in the store instead.
    pub texts: bool,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// A signed-in user as tests see them.
#[derive(Debug, Clone)]
pub struct User {
    pub token: String,
    pub id: i64,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The problem document's `code`, if this is one.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, test_settings()).await
}

/// Test settings: the defaults, with sessions (and staff sessions' idle time)
/// long enough to outlive the clock jumps tests make, and without the per-address abuse limits: every test
/// client is 127.0.0.1, and many tests sign up and book more than one
/// address may in an hour. `limits.rs` tests the limits at their defaults.
pub fn test_settings() -> Settings {
    Settings {
        session_hours: 24 * 365,
        // Likewise for staff sessions' idle end (decision 0026).
        staff_idle_minutes: 43_200,
        signups_per_address: RateLimit::OFF,
        bookings_per_address: RateLimit::OFF,
        bookings_per_account: RateLimit::OFF,
        chat_per_address: RateLimit::OFF,
        codes_per_account: RateLimit::OFF,
        codes_per_address: RateLimit::OFF,
        ..Settings::default()
    }
}

pub async fn spawn_app_with(backend: Backend, settings: Settings) -> TestApp {
    let db = TestDb::new(backend).await;
    let url = db.url().to_owned();
    let mut app = spawn_on(&url, backend, settings, Clock::default()).await;
    app.db = Some(db);
    app
}

/// A second app instance on the same database as `app`, sharing its clock.
pub async fn second_instance(app: &TestApp) -> TestApp {
    let url = app
        .db
        .as_ref()
        .expect("first instance owns the db")
        .url()
        .to_owned();
    spawn_on(&url, app.backend, test_settings(), app.clock.clone()).await
}

/// Starts an app over a database URL.
pub async fn spawn_on(url: &str, backend: Backend, settings: Settings, clock: Clock) -> TestApp {
    spawn_on_opts(url, backend, settings, clock, true).await
}

/// Starts an app over a database URL, with or without the notification
/// worker (without it, nothing but requests writes: tests that count rows).
pub async fn spawn_on_opts(
    url: &str,
    backend: Backend,
    settings: Settings,
    clock: Clock,
    worker: bool,
) -> TestApp {
    // Server errors show in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let texts = settings.sms_url.is_some();
    let cfg = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: DatabaseConfig::new(url).with_connections(8),
        settings,
    };
    let app = Application::build(&cfg, clock.clone())
        .await
        .expect("app builds");
    let app = if worker { app } else { app.without_worker() };
    let addr = app.local_addr().expect("bound");
    let store = app.store().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_until(async move {
                let _ = rx.await;
            })
            .await;
    });
    TestApp {
        addr,
        backend,
        store,
        clock,
        db: None,
        texts,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = client().request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let mut body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert_ne!(status.as_u16(), 500, "server error on {path}: {body}");
        own_request_id_checked(&headers, &mut body);
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Registers a patient and logs them in.
    pub async fn new_patient(&self) -> User {
        let phone = next_phone();
        if self.texts {
            let id = self.patient_in_store(&phone).await;
            let token = self
                .login(json!({"phone": phone, "password": "long enough pw"}))
                .await;
            return User { token, id };
        }
        let r = self
            .post(
                "/api/v1/patients",
                None,
                json!({"first_name": "Test", "last_name": "Patient", "phone": phone,
                       "password": "long enough pw", "date_of_birth": "1990-01-01"}),
            )
            .await;
        assert_eq!(r.status, 201, "register: {}", r.body);
        let id = r.body["id"].as_i64().expect("patient id");
        let token = self
            .login(json!({"phone": phone, "password": "long enough pw"}))
            .await;
        User { token, id }
    }

    /// A patient made in the store (password "long enough pw"), not logged
    /// in; their id. For a clinic that sends text messages, whose sign-up
    /// goes by a code (tested in signup_code.rs), so that tests about other
    /// texts see no sign-up code.
    pub async fn patient_in_store(&self, phone: &str) -> i64 {
        let hash = medimeet::auth::hash_password("long enough pw").expect("hash");
        let p = self
            .store
            .create_patient(
                medimeet::store::NewPatient {
                    phone,
                    password_hash: &hash,
                    first_name: "Test",
                    last_name: "Patient",
                    email: None,
                    date_of_birth: jiff::civil::date(1990, 1, 1),
                },
                self.clock.now().as_second(),
            )
            .await
            .expect("patient");
        p.id.get()
    }

    pub async fn login(&self, creds: Value) -> String {
        let r = self.post("/api/v1/sessions", None, creds).await;
        assert_eq!(r.status, 201, "login: {}", r.body);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Creates an admin the way `medimeet admin create` does, and logs in.
    pub async fn new_admin(&self) -> User {
        let email = format!("admin{}@clinic.test", rand_u64() % 1_000_000_000);
        let hash = medimeet::auth::hash_password("admin password").expect("hash");
        let id = self
            .store
            .create_admin(&email, &hash, self.clock.now().as_second())
            .await
            .expect("admin");
        let token = self
            .login(json!({"email": email, "password": "admin password"}))
            .await;
        User {
            token,
            id: id.get(),
        }
    }

    /// Onboards a doctor through the API with the given zone and weekly hours
    /// (`[(weekday, "09:00", "12:00"), ...]`), and logs them in.
    pub async fn new_doctor(
        &self,
        admin: &User,
        tz: &str,
        visit: i32,
        hours: &[(&str, &str, &str)],
    ) -> User {
        let email = format!("doc{}@clinic.test", rand_u64() % 1_000_000_000);
        let r = self
            .post(
                "/api/v1/doctors",
                Some(&admin.token),
                json!({"email": email, "password": "doctor password", "first_name": "Doc",
                       "last_name": "Tor", "specialty": "Cardiology", "experience_years": 10,
                       "timezone": tz, "visit_minutes": visit, "fee": "50.00"}),
            )
            .await;
        assert_eq!(r.status, 201, "create doctor: {}", r.body);
        let id = r.body["id"].as_i64().expect("doctor id");
        let weekly: Vec<Value> = hours
            .iter()
            .map(|(d, s, e)| json!({"weekday": d, "start": s, "end": e}))
            .collect();
        let r = self
            .call(
                Method::PUT,
                &format!("/api/v1/doctors/{id}/availability"),
                Some(&admin.token),
                Some(json!({"visit_minutes": visit, "weekly": weekly})),
            )
            .await;
        assert_eq!(r.status, 200, "availability: {}", r.body);
        let token = self
            .login(json!({"email": email, "password": "doctor password"}))
            .await;
        User { token, id }
    }

    /// A doctor working every day 08:00-18:00 in UTC with 30-minute visits.
    pub async fn everyday_doctor(&self, admin: &User) -> User {
        let days = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let hours: Vec<(&str, &str, &str)> = days.iter().map(|d| (*d, "08:00", "18:00")).collect();
        self.new_doctor(admin, "UTC", 30, &hours).await
    }

    /// Free slot starts of a doctor in an optional window.
    pub async fn slots(&self, doctor_id: i64, query: &str) -> Vec<String> {
        let r = self
            .get(&format!("/api/v1/doctors/{doctor_id}/slots{query}"), None)
            .await;
        assert_eq!(r.status, 200, "slots: {}", r.body);
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| s["start"].as_str().expect("start").to_owned())
            .collect()
    }

    /// Free slots at least two days ahead (outside the cancellation window).
    pub async fn later_slots(&self, doctor_id: i64) -> Vec<String> {
        let from = (self.clock.now() + jiff::SignedDuration::from_hours(48)).to_string();
        self.slots(doctor_id, &format!("?from={from}")).await
    }

    pub async fn book(&self, patient: &User, doctor_id: i64, start: &str) -> Resp {
        self.post(
            "/api/v1/appointments",
            Some(&patient.token),
            json!({"doctor_id": doctor_id, "start": start, "reason": "check-up"}),
        )
        .await
    }

    /// Active (unreleased) taken slots of a doctor, straight from the database.
    pub async fn active_slot_count(&self, doctor_id: i64) -> i64 {
        self.store
            .taken_periods(
                medimeet::domain::ids::DoctorId::new(doctor_id),
                jiff::Timestamp::UNIX_EPOCH,
                jiff::Timestamp::MAX,
            )
            .await
            .expect("taken")
            .len() as i64
    }
}

/// The real `medimeet` binary, serving.
pub struct BinaryServer {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

/// Starts `medimeet serve --listen 127.0.0.1:0 --database-url URL <extra>` and
/// waits for the address it prints. Logs (stderr) are kept in the child's pipe
/// when `keep_logs`, else discarded.
pub async fn start_binary(
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    keep_logs: bool,
) -> BinaryServer {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_medimeet"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(if keep_logs {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("medimeet starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let base = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("running at ").nth(1) {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_owned();
            }
        }
        String::new()
    })
    .await
    .expect("server printed its address");
    assert!(base.starts_with("http://"), "no address printed");
    BinaryServer { child, base }
}

/// A booked visit and its people.
pub struct Visit {
    pub id: i64,
    pub start: jiff::Timestamp,
    pub patient: User,
    pub doctor: User,
    pub admin: User,
}

/// A new patient's visit with a new everyday doctor, two days ahead.
pub async fn booked_visit(app: &TestApp) -> Visit {
    let admin = app.new_admin().await;
    let doctor = app.everyday_doctor(&admin).await;
    let patient = app.new_patient().await;
    let start = app.later_slots(doctor.id).await[0].clone();
    let r = app.book(&patient, doctor.id, &start).await;
    assert_eq!(r.status, 201, "{}", r.body);
    Visit {
        id: r.body["id"].as_i64().expect("id"),
        start: start.parse().expect("an instant"),
        patient,
        doctor,
        admin,
    }
}

/// The audit log's actions on one visit's room (entity `visit`), newest first.
pub async fn visit_audit_actions(app: &TestApp, admin: &User, id: i64) -> Vec<String> {
    let r = app
        .get(
            &format!("/api/v1/audit?entity=visit&entity_id={id}"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

/// Every answer names its request id in `X-Request-Id`; a problem document
/// names the same one in `request_id`. Checked here for every call, then
/// taken out of the body: it is the one part of two answers that must
/// differ, so tests can compare the rest ("every failure looks alike").
pub fn own_request_id_checked(headers: &reqwest::header::HeaderMap, body: &mut Value) {
    let id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer has an X-Request-Id")
        .to_owned();
    if let Some(problem) = body.as_object_mut()
        && problem
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("urn:medimeet:problem:"))
    {
        let named = problem.remove("request_id");
        assert_eq!(
            named.as_ref().and_then(Value::as_str),
            Some(id.as_str()),
            "the problem names its request"
        );
    }
}

/// A page's text with its own request id (the reference error pages show)
/// replaced by a fixed mark, so two error pages can be compared.
pub fn blank_request_id(headers: &reqwest::header::HeaderMap, body: &str) -> String {
    let id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer has an X-Request-Id");
    body.replace(id, "<request id>")
}
