//! What the virtual patients do: the real flow, a booking storm, reads.

use crate::client::{Conn, Resp, Target};
use crate::stats::Recorder;
use hyper::Method;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The password of the patients this tool registers.
pub const PATIENT_PASSWORD: &str = "load-test-patient-pass";

/// Bounds of a run: a deadline and a request budget, shared by all clients.
pub struct Limits {
    deadline: Instant,
    max_requests: u64,
    issued: AtomicU64,
    stopped: AtomicBool,
}

impl Limits {
    pub fn new(duration: Duration, max_requests: u64) -> Arc<Self> {
        Arc::new(Self {
            deadline: Instant::now() + duration,
            max_requests,
            issued: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        })
    }

    /// Takes one request from the budget; false once time or budget is spent.
    pub fn take(&self) -> bool {
        !self.stopped.load(Ordering::Relaxed)
            && Instant::now() < self.deadline
            && self.issued.fetch_add(1, Ordering::Relaxed) < self.max_requests
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    pub fn is_over(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
            || Instant::now() >= self.deadline
            || self.issued.load(Ordering::Relaxed) >= self.max_requests
    }
}

/// A small, fast pseudo-random generator (splitmix64), one per client.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }
}

/// What the client expects of a booking it saw confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Booked,
    Cancelled,
    /// A change was sent and no answer came: it may or may not have happened.
    Unknown,
}

/// A booking a client saw confirmed with 201.
#[derive(Debug, Clone)]
pub struct Booking {
    pub id: i64,
    pub doctor_id: i64,
    pub patient_id: i64,
    pub start_at: i64,
    pub expect: Expect,
}

#[derive(Debug, Clone)]
pub struct Patient {
    pub token: String,
    pub patient_id: i64,
}

#[derive(Debug, Clone)]
pub struct DoctorInfo {
    pub id: i64,
    pub tz: TimeZone,
}

#[derive(Debug, Clone)]
pub struct Slot {
    pub start: String,
    pub at: Timestamp,
}

pub enum Call {
    Answered(Resp),
    NoAnswer,
    Exhausted,
}

/// One virtual patient: a connection, its own figures and random numbers.
pub struct Client {
    pub index: usize,
    pub conn: Conn,
    pub rec: Recorder,
    pub rng: Rng,
    pub patient: Option<Patient>,
    pub bookings: Vec<Booking>,
}

impl Client {
    pub fn new(index: usize, target: Target, timeout: Duration) -> Self {
        Self {
            index,
            conn: Conn::new(target, timeout),
            rec: Recorder::default(),
            rng: Rng::new(rand::random::<u64>() ^ index as u64),
            patient: None,
            bookings: Vec::new(),
        }
    }

    fn token(&self) -> Option<String> {
        self.patient.as_ref().map(|p| p.token.clone())
    }

    /// One measured request, if the run's budget allows it.
    pub async fn call(
        &mut self,
        limits: &Limits,
        op: &'static str,
        method: Method,
        path: &str,
        auth: bool,
        body: Option<Value>,
    ) -> Call {
        if !limits.take() {
            return Call::Exhausted;
        }
        let token = if auth { self.token() } else { None };
        let body = body.map(|b| serde_json::to_vec(&b).unwrap_or_default());
        let started = Instant::now();
        match self
            .conn
            .request(method, path, token.as_deref(), body)
            .await
        {
            Ok(r) => {
                self.rec.answered(op, r.status, started.elapsed());
                if r.status >= 400 {
                    let code = r.json()["code"].as_str().unwrap_or("?").to_owned();
                    self.rec.error_code(op, r.status, &code);
                }
                Call::Answered(r)
            }
            Err(_) => {
                self.rec.failed(op);
                Call::NoAnswer
            }
        }
    }

    /// Registers a new patient and logs in (retrying a taken phone number).
    pub async fn register_and_login(&mut self, limits: &Limits) -> Result<(), String> {
        for _ in 0..8 {
            let phone = flow_phone(&mut self.rng);
            let body = json!({
                "first_name": "Load", "last_name": format!("Patient{}", self.index),
                "phone": phone, "password": PATIENT_PASSWORD, "date_of_birth": "1985-06-15",
            });
            let r = match self
                .call(
                    limits,
                    "register",
                    Method::POST,
                    "/api/v1/patients",
                    false,
                    Some(body),
                )
                .await
            {
                Call::Answered(r) => r,
                Call::NoAnswer => return Err("register: no answer".into()),
                Call::Exhausted => return Err("register: out of budget".into()),
            };
            match r.status {
                201 => {}
                409 | 422 => continue, // taken or refused number: another one
                s => {
                    return Err(format!(
                        "register: {s} {}",
                        String::from_utf8_lossy(&r.body)
                    ));
                }
            }
            let patient_id = r.json()["id"].as_i64().unwrap_or(0);
            return self
                .login(limits, &phone, PATIENT_PASSWORD, patient_id)
                .await;
        }
        Err("register: no usable phone number after 8 tries".into())
    }

    pub async fn login(
        &mut self,
        limits: &Limits,
        phone: &str,
        password: &str,
        patient_id: i64,
    ) -> Result<(), String> {
        let body = json!({"phone": phone, "password": password});
        match self
            .call(
                limits,
                "login",
                Method::POST,
                "/api/v1/sessions",
                false,
                Some(body),
            )
            .await
        {
            Call::Answered(r) if r.status == 201 => {
                let token = r.json()["token"].as_str().unwrap_or_default().to_owned();
                if token.is_empty() {
                    return Err("login: no token".into());
                }
                self.patient = Some(Patient { token, patient_id });
                Ok(())
            }
            Call::Answered(r) => Err(format!(
                "login: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            _ => Err("login: no answer".into()),
        }
    }

    /// Free slots of a doctor in `[from, to)` (server defaults when `None`).
    pub async fn slots(
        &mut self,
        limits: &Limits,
        doctor_id: i64,
        window: Option<(Timestamp, Timestamp)>,
    ) -> Option<Vec<Slot>> {
        let path = match window {
            Some((from, to)) => format!("/api/v1/doctors/{doctor_id}/slots?from={from}&to={to}"),
            None => format!("/api/v1/doctors/{doctor_id}/slots"),
        };
        let Call::Answered(r) = self
            .call(limits, "slots", Method::GET, &path, false, None)
            .await
        else {
            return None;
        };
        if r.status != 200 {
            return None;
        }
        let v = r.json();
        let items = v["items"].as_array()?;
        Some(
            items
                .iter()
                .filter_map(|s| {
                    let start = s["start"].as_str()?.to_owned();
                    let at = start.parse::<Timestamp>().ok()?;
                    Some(Slot { start, at })
                })
                .collect(),
        )
    }

    /// Books; on 201 remembers the booking. Returns the status (0: no answer).
    pub async fn book(&mut self, limits: &Limits, doctor_id: i64, slot: &Slot) -> Option<u16> {
        let body = json!({"doctor_id": doctor_id, "start": slot.start, "reason": "load test"});
        match self
            .call(
                limits,
                "book",
                Method::POST,
                "/api/v1/appointments",
                true,
                Some(body),
            )
            .await
        {
            Call::Answered(r) => {
                if r.status == 201 {
                    let v = r.json();
                    let id = v["id"].as_i64().unwrap_or(0);
                    let start_at = v["start"]
                        .as_str()
                        .and_then(|s| s.parse::<Timestamp>().ok())
                        .map_or(slot.at.as_second(), |t| t.as_second());
                    self.bookings.push(Booking {
                        id,
                        doctor_id,
                        patient_id: self.patient.as_ref().map_or(0, |p| p.patient_id),
                        start_at,
                        expect: Expect::Booked,
                    });
                }
                Some(r.status)
            }
            Call::NoAnswer => Some(0),
            Call::Exhausted => None,
        }
    }

    /// Cancels booking `i` of this client. `None` when out of budget.
    pub async fn cancel(&mut self, limits: &Limits, i: usize) -> Option<u16> {
        let id = self.bookings[i].id;
        let path = format!("/api/v1/appointments/{id}/cancel");
        let body = json!({"reason": "load test"});
        match self
            .call(limits, "cancel", Method::POST, &path, true, Some(body))
            .await
        {
            Call::Answered(r) => {
                if r.status == 200 {
                    self.bookings[i].expect = Expect::Cancelled;
                }
                Some(r.status)
            }
            Call::NoAnswer => {
                self.bookings[i].expect = Expect::Unknown;
                Some(0)
            }
            Call::Exhausted => None,
        }
    }
}

/// A valid North American number under area codes the seed never uses.
fn flow_phone(rng: &mut Rng) -> String {
    const AREAS: &[u32] = &[206, 303, 512, 602, 702, 808, 919, 971];
    let area = AREAS[rng.below(AREAS.len())];
    let exchange = 200 + rng.below(800);
    let line = rng.below(10_000);
    format!("+1{area}{exchange:03}{line:04}")
}

/// Every doctor the directory lists (up to `max`), with their time zones.
pub async fn discover_doctors(
    client: &mut Client,
    limits: &Limits,
    max: usize,
) -> Result<Vec<DoctorInfo>, String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    while out.len() < max {
        let path = match &cursor {
            Some(c) => format!("/api/v1/doctors?limit=200&cursor={c}"),
            None => "/api/v1/doctors?limit=200".to_owned(),
        };
        let r = match client
            .call(limits, "doctors", Method::GET, &path, false, None)
            .await
        {
            Call::Answered(r) if r.status == 200 => r,
            Call::Answered(r) => return Err(format!("doctors: {}", r.status)),
            _ => return Err("doctors: no answer".into()),
        };
        let v = r.json();
        for d in v["items"].as_array().into_iter().flatten() {
            let (Some(id), Some(tz)) = (d["id"].as_i64(), d["timezone"].as_str()) else {
                continue;
            };
            if let Ok(tz) = TimeZone::get(tz) {
                out.push(DoctorInfo { id, tz });
            }
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out.truncate(max);
    if out.is_empty() {
        return Err("the clinic lists no doctors: seed some first (medimeet-load seed)".into());
    }
    Ok(out)
}

/// Makes `n` clients spread over `targets`, each a freshly registered and
/// logged-in patient (concurrently: registration hashes a password).
pub async fn registered_clients(
    targets: &[Target],
    n: usize,
    timeout: Duration,
    limits: &Arc<Limits>,
) -> Result<Vec<Client>, String> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let target = targets[i % targets.len()].clone();
        let limits = limits.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(i, target, timeout);
            c.register_and_login(&limits).await.map(|()| c)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.map_err(|e| e.to_string())??);
    }
    Ok(out)
}

/// Logs clients in as given (phone, patient id) accounts with one password.
pub async fn logged_in_clients(
    targets: &[Target],
    accounts: &[(i64, String)],
    password: &str,
    timeout: Duration,
    limits: &Arc<Limits>,
) -> Result<Vec<Client>, String> {
    let mut tasks = Vec::new();
    for (i, (patient_id, phone)) in accounts.iter().cloned().enumerate() {
        let target = targets[i % targets.len()].clone();
        let limits = limits.clone();
        let password = password.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(i, target, timeout);
            c.login(&limits, &phone, &password, patient_id)
                .await
                .map(|()| c)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.map_err(|e| e.to_string())??);
    }
    Ok(out)
}

/// Runs `body` once per client concurrently; returns the clients and the wall
/// time from start to the last one finishing.
pub async fn run_clients<F, Fut>(
    clients: Vec<Client>,
    body: F,
) -> Result<(Vec<Client>, Duration), String>
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Client> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = clients.into_iter().map(|c| tokio::spawn(body(c))).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.map_err(|e| format!("client task failed: {e}"))?);
    }
    Ok((out, started.elapsed()))
}

// ---------------------------------------------------------------------------
// The mixed flow

#[derive(Debug, Clone)]
pub struct FlowMix {
    /// Doctors whose slots a patient looks at before booking.
    pub browse: usize,
    /// Days of slots a patient looks at.
    pub window_days: i64,
    /// Per round, the chance to cancel, and to reschedule, a visit.
    pub cancel_share: f64,
    pub reschedule_share: f64,
}

/// Visits of a patient can be changed until 24 h before; keep a margin.
fn changeable(now: Timestamp) -> Timestamp {
    now + SignedDuration::from_hours(26)
}

fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    tz.to_datetime(at).date()
}

/// One patient's real flow until the run's limits: list doctors, look at a few
/// doctors' free slots, book one, list my appointments, and now and then cancel
/// or reschedule a visit.
pub async fn flow_client(
    mut c: Client,
    limits: Arc<Limits>,
    doctors: Arc<Vec<DoctorInfo>>,
    mix: FlowMix,
) -> Client {
    let mut taken_days: HashSet<(i64, Date)> = HashSet::new();
    let tz_of: HashMap<i64, TimeZone> = doctors.iter().map(|d| (d.id, d.tz.clone())).collect();
    'run: loop {
        let page = if doctors.len() > 20 {
            c.rng.below(doctors.len() / 20)
        } else {
            0
        };
        let path = match page {
            0 => "/api/v1/doctors?limit=20".to_owned(),
            p => format!(
                "/api/v1/doctors?limit=20&cursor={}",
                cursor_after(doctors[p * 20 - 1].id)
            ),
        };
        if let Call::Exhausted = c
            .call(&limits, "doctors", Method::GET, &path, false, None)
            .await
        {
            break;
        }
        let mut last: Option<(i64, Vec<Slot>)> = None;
        for _ in 0..mix.browse.max(1) {
            let d = &doctors[c.rng.below(doctors.len())];
            let from = changeable(Timestamp::now());
            let to = from + SignedDuration::from_hours(24 * mix.window_days);
            match c.slots(&limits, d.id, Some((from, to))).await {
                Some(s) => last = Some((d.id, s)),
                None if limits.is_over() => break 'run,
                None => {}
            }
        }
        if let Some((doctor_id, slots)) = last {
            let tz = tz_of.get(&doctor_id).cloned().unwrap_or(TimeZone::UTC);
            let open: Vec<&Slot> = slots
                .iter()
                .filter(|s| !taken_days.contains(&(doctor_id, local_date(s.at, &tz))))
                .collect();
            if !open.is_empty() {
                let slot = open[c.rng.below(open.len())].clone();
                match c.book(&limits, doctor_id, &slot).await {
                    None => break,
                    Some(201) => {
                        taken_days.insert((doctor_id, local_date(slot.at, &tz)));
                    }
                    Some(_) => {}
                }
            }
        }
        if let Call::Exhausted = c
            .call(
                &limits,
                "my_appointments",
                Method::GET,
                "/api/v1/appointments?status=booked&limit=20",
                true,
                None,
            )
            .await
        {
            break;
        }
        let roll = c.rng.next_u64() as f64 / u64::MAX as f64;
        let now = Timestamp::now();
        let changeable_ids: Vec<usize> = c
            .bookings
            .iter()
            .enumerate()
            .filter(|(_, b)| b.expect == Expect::Booked && b.start_at > changeable(now).as_second())
            .map(|(i, _)| i)
            .collect();
        if changeable_ids.is_empty() {
            continue;
        }
        let i = changeable_ids[c.rng.below(changeable_ids.len())];
        if roll < mix.cancel_share {
            let (doctor_id, start_at) = (c.bookings[i].doctor_id, c.bookings[i].start_at);
            match c.cancel(&limits, i).await {
                None => break,
                Some(200) => {
                    if let (Some(tz), Ok(at)) =
                        (tz_of.get(&doctor_id), Timestamp::from_second(start_at))
                    {
                        taken_days.remove(&(doctor_id, local_date(at, tz)));
                    }
                }
                Some(_) => {}
            }
        } else if roll < mix.cancel_share + mix.reschedule_share {
            let b = c.bookings[i].clone();
            let tz = tz_of.get(&b.doctor_id).cloned().unwrap_or(TimeZone::UTC);
            let Ok(old_at) = Timestamp::from_second(b.start_at) else {
                continue;
            };
            let old_day = local_date(old_at, &tz);
            let from = changeable(Timestamp::now());
            let to = from + SignedDuration::from_hours(24 * mix.window_days);
            let Some(slots) = c.slots(&limits, b.doctor_id, Some((from, to))).await else {
                if limits.is_over() {
                    break;
                }
                continue;
            };
            let open: Vec<&Slot> = slots
                .iter()
                .filter(|s| s.at != old_at)
                .filter(|s| {
                    let day = local_date(s.at, &tz);
                    day == old_day || !taken_days.contains(&(b.doctor_id, day))
                })
                .collect();
            if open.is_empty() {
                continue;
            }
            let slot = open[c.rng.below(open.len())].clone();
            let path = format!("/api/v1/appointments/{}/reschedule", b.id);
            match c
                .call(
                    &limits,
                    "reschedule",
                    Method::POST,
                    &path,
                    true,
                    Some(json!({"start": slot.start})),
                )
                .await
            {
                Call::Exhausted => break,
                Call::NoAnswer => c.bookings[i].expect = Expect::Unknown,
                Call::Answered(r) if r.status == 200 => {
                    c.bookings[i].start_at = slot.at.as_second();
                    taken_days.remove(&(b.doctor_id, old_day));
                    taken_days.insert((b.doctor_id, local_date(slot.at, &tz)));
                }
                Call::Answered(_) => {}
            }
        }
    }
    c
}

/// The directory's cursor after doctor `id` (its paging key is the id).
fn cursor_after(id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_string())
}

/// Booking as fast as the server confirms: each patient walks the doctors
/// (starting at its own), reads a doctor's free slots over the next weeks once,
/// and books one slot on each day.
pub async fn book_client(
    mut c: Client,
    limits: Arc<Limits>,
    doctors: Arc<Vec<DoctorInfo>>,
    window_days: i64,
) -> Client {
    for k in 0..doctors.len() {
        let d = &doctors[(c.index + k) % doctors.len()];
        let from = Timestamp::now() + SignedDuration::from_hours(2);
        let to = from + SignedDuration::from_hours(24 * window_days.clamp(1, 62));
        let Some(slots) = c.slots(&limits, d.id, Some((from, to))).await else {
            if limits.is_over() {
                break;
            }
            continue;
        };
        let mut by_day: BTreeMap<Date, Vec<Slot>> = BTreeMap::new();
        for s in slots {
            by_day.entry(local_date(s.at, &d.tz)).or_default().push(s);
        }
        for (n, (_, day)) in by_day.into_iter().enumerate() {
            // Patients on the same doctor at the same time pick different slots.
            let slot = &day[(c.index + n) % day.len()];
            if c.book(&limits, d.id, slot).await.is_none() {
                return c;
            }
        }
    }
    c
}

/// What a read-only client reads.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// A random doctor's free slots over `Some(days)` or the endpoint's default.
    Slots(Option<i64>),
    /// The patient's own appointments.
    Mine,
    /// A random doctor's public profile.
    Doctor,
    /// The liveness check.
    Health,
}

/// Reads only, until the run's limits.
pub async fn read_client(
    mut c: Client,
    limits: Arc<Limits>,
    doctors: Arc<Vec<DoctorInfo>>,
    kind: Read,
) -> Client {
    loop {
        let call = match kind {
            Read::Mine => {
                c.call(
                    &limits,
                    "my_appointments",
                    Method::GET,
                    "/api/v1/appointments?limit=50",
                    true,
                    None,
                )
                .await
            }
            Read::Slots(window_days) => {
                let d = doctors[c.rng.below(doctors.len())].id;
                let path = match window_days {
                    None => format!("/api/v1/doctors/{d}/slots"),
                    Some(days) => {
                        let from = Timestamp::now();
                        let to = from + SignedDuration::from_hours(24 * days);
                        format!("/api/v1/doctors/{d}/slots?from={from}&to={to}")
                    }
                };
                c.call(&limits, "slots", Method::GET, &path, false, None)
                    .await
            }
            Read::Doctor => {
                let d = doctors[c.rng.below(doctors.len())].id;
                let path = format!("/api/v1/doctors/{d}");
                c.call(&limits, "doctor", Method::GET, &path, false, None)
                    .await
            }
            Read::Health => {
                c.call(&limits, "healthz", Method::GET, "/healthz", false, None)
                    .await
            }
        };
        if let Call::Exhausted = call {
            break;
        }
    }
    c
}

// ---------------------------------------------------------------------------
// The storm

/// Slots to race for, a doctor at a time; fetched as rounds need them.
pub struct SlotSupply {
    doctors: Vec<i64>,
    next_doctor: usize,
    queue: VecDeque<(i64, Slot)>,
}

impl SlotSupply {
    pub fn new(doctors: Vec<i64>) -> Self {
        Self {
            doctors,
            next_doctor: 0,
            queue: VecDeque::new(),
        }
    }

    /// The next `k` slots, all of one doctor (refilling from the next doctor).
    async fn take(
        &mut self,
        c: &mut Client,
        limits: &Limits,
        k: usize,
    ) -> Option<(i64, Vec<Slot>)> {
        while self.queue.len() < k && self.next_doctor < self.doctors.len() {
            let d = self.doctors[self.next_doctor];
            self.next_doctor += 1;
            // Outside the cancellation window, so winners may cancel.
            let from = Timestamp::now() + SignedDuration::from_hours(48);
            let to = from + SignedDuration::from_hours(24 * 60);
            if let Some(slots) = c.slots(limits, d, Some((from, to))).await {
                if !self.queue.is_empty() && self.queue.iter().any(|(qd, _)| *qd != d) {
                    // Keep rounds to one doctor: drop a tail of another doctor.
                    self.queue.clear();
                }
                self.queue.extend(slots.into_iter().map(|s| (d, s)));
            }
        }
        let (doctor, _) = self.queue.front()?.clone();
        let mut out = Vec::new();
        while out.len() < k {
            match self.queue.front() {
                Some((d, _)) if *d == doctor => {
                    if let Some((_, s)) = self.queue.pop_front() {
                        out.push(s);
                    }
                }
                _ => break,
            }
        }
        Some((doctor, out))
    }

    /// A freed slot goes back to the front, to be raced for again.
    fn put_back(&mut self, doctor: i64, slot: Slot) {
        if self.queue.front().is_none_or(|(d, _)| *d == doctor) {
            self.queue.push_front((doctor, slot));
        }
    }
}

/// What a storm saw.
#[derive(Debug, Default)]
pub struct StormOutcome {
    pub rounds: u64,
    /// Slots that two clients both saw confirmed (must be 0).
    pub double_confirmed: u64,
    /// Answers other than 201 and 409 to a booking.
    pub unexpected: u64,
}

/// All clients race for the same few slots of one doctor, round after round;
/// each tries the round's slots in its own order until it wins one. Some
/// winners cancel, and the freed slot is raced for again.
pub async fn storm(
    mut clients: Vec<Client>,
    limits: Arc<Limits>,
    supply: &mut SlotSupply,
    slots_per_round: usize,
    cancel_share: f64,
) -> Result<(Vec<Client>, StormOutcome, Duration), String> {
    let started = Instant::now();
    let mut out = StormOutcome::default();
    while !limits.is_over() {
        let Some(first) = clients.first_mut() else {
            break;
        };
        let Some((doctor, slots)) = supply.take(first, &limits, slots_per_round).await else {
            break;
        };
        let slots = Arc::new(slots);
        let barrier = Arc::new(tokio::sync::Barrier::new(clients.len()));
        let mut tasks = Vec::new();
        for mut c in clients.drain(..) {
            let (slots, limits, barrier) = (slots.clone(), limits.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut results = Vec::new();
                for k in 0..slots.len() {
                    let j = (c.index + k) % slots.len();
                    match c.book(&limits, doctor, &slots[j]).await {
                        None => break,
                        Some(status) => {
                            results.push((j, status));
                            if status == 201 || status == 0 {
                                break;
                            }
                        }
                    }
                }
                (c, results)
            }));
        }
        let mut winners: HashMap<usize, Vec<usize>> = HashMap::new();
        for t in tasks {
            let (c, results) = t.await.map_err(|e| format!("storm task failed: {e}"))?;
            for (j, status) in results {
                match status {
                    201 => winners.entry(j).or_default().push(clients.len()),
                    409 | 0 => {}
                    _ => out.unexpected += 1,
                }
            }
            clients.push(c);
        }
        out.rounds += 1;
        for (j, who) in &winners {
            if who.len() > 1 {
                out.double_confirmed += who.len() as u64 - 1;
            }
            // Some winners change their mind: the slot is raced for again.
            let ci = who[0];
            if clients[ci].rng.chance(cancel_share) {
                let last = clients[ci].bookings.len().saturating_sub(1);
                if clients[ci]
                    .bookings
                    .get(last)
                    .is_some_and(|b| b.doctor_id == doctor)
                    && clients[ci].cancel(&limits, last).await == Some(200)
                {
                    supply.put_back(doctor, slots[*j].clone());
                }
            }
        }
    }
    Ok((clients, out, started.elapsed()))
}
