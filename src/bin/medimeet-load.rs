//! `medimeet-load`: drives a medimeet server on this machine with virtual
//! patients and checks, afterwards, that the database agrees with what they
//! were told. Every run is bounded in time and in requests, and only talks to
//! loopback addresses. See docs/PERFORMANCE.md for how the figures were taken.
//!
//! - `flow`: the real patient flow (register, log in, list doctors, read slots,
//!   book, some cancel or reschedule); `--mix book` books as fast as it can.
//! - `storm`: everyone races for the same few slots of one doctor.
//! - `reads`: free-slots (or my-appointments) reads only.
//! - `baseline`: the raw durable commit rate of the database.
//! - `seed`: bulk data (doctors, patients, two years of appointments).
//! - `crash`: kill -9 the server mid-storm, restart, check; repeated.
//! - `explain`: the plans of the hot queries.

#[path = "medimeet_load/check.rs"]
mod check;
#[path = "medimeet_load/client.rs"]
mod client;
#[path = "medimeet_load/scenario.rs"]
mod scenario;
#[path = "medimeet_load/server.rs"]
mod server;
#[path = "medimeet_load/stats.rs"]
mod stats;

use clap::{Args, Parser, Subcommand, ValueEnum};
use client::Target;
use jiff::{SignedDuration, Timestamp};
use medimeet::store::{ConnectOptions, SeedSpec, Store};
use scenario::{Booking, Client, DoctorInfo, FlowMix, Limits, SlotSupply};
use server::{Server, ServerSpec};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Hard ceilings, whatever the flags say.
const MAX_DURATION_SECS: u64 = 3600;
const MAX_REQUESTS: u64 = 100_000_000;
const MAX_CLIENTS: usize = 4096;

#[derive(Debug, Parser)]
#[command(
    name = "medimeet-load",
    version,
    about = "Load, storm and crash tests for medimeet, with correctness checks."
)]
struct Cli {
    /// Worker threads of this tool (it shares the machine with the server).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Virtual patients doing the real flow.
    Flow(FlowArgs),
    /// All clients race for the same few slots of one doctor.
    Storm(StormArgs),
    /// Reads only: free slots (or a patient's appointments).
    Reads(ReadsArgs),
    /// The raw durable commit rate of the database.
    Baseline(BaselineArgs),
    /// Bulk data straight into the database (not through HTTP).
    Seed(SeedArgs),
    /// Kill -9 the server during a booking storm, restart it, check; repeat.
    Crash(CrashArgs),
    /// Query plans of the hot queries (taken slots, a patient's appointments).
    Explain(ExplainArgs),
}

#[derive(Debug, Clone, Args)]
struct Common {
    /// Server(s) to drive, http://127.0.0.1:PORT (repeat or comma-separate for
    /// several instances; clients are spread over them). Loopback only.
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
    /// Instead of --target: start this `medimeet` binary on the database.
    #[arg(long, conflicts_with = "target")]
    spawn: Option<PathBuf>,
    /// With --spawn: how many server instances on the one database.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// With --spawn: the servers' --db-connections.
    #[arg(long)]
    db_connections: Option<u32>,
    /// With --spawn: RUST_LOG of the servers (default: their own, `info`).
    #[arg(long)]
    server_log_level: Option<String>,
    /// With --spawn: append the servers' output to this file (default: discard).
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// The server's database: enables the checks after the run (read-only) and
    /// the baseline. Required with --spawn.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Concurrent virtual patients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds the measured phase may last.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Requests the measured phase may send, in total.
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Seconds before a request counts as unanswered.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Skip the commit-rate baseline after the run.
    #[arg(long)]
    no_baseline: bool,
    /// Writer concurrencies of the baseline (SQLite always has one writer).
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    baseline_connections: Vec<u32>,
    /// Seconds of each baseline measurement.
    #[arg(long, default_value_t = 5)]
    baseline_seconds: u64,
    /// PID of a --target server, to report its peak memory.
    #[arg(long)]
    server_pid: Vec<u32>,
    /// Look at most at this many doctors of the directory.
    #[arg(long, default_value_t = 10_000)]
    max_doctors: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mix {
    /// List doctors, browse slots, book, list mine, some cancel/reschedule.
    Mixed,
    /// Bookings only (after one slot read per doctor): booking throughput.
    Book,
}

#[derive(Debug, Args)]
struct FlowArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum, default_value = "mixed")]
    mix: Mix,
    /// Doctors whose slots a patient reads before each booking.
    #[arg(long, default_value_t = 3)]
    browse: usize,
    /// Days of slots a patient reads (default: 7 for `mixed`, 62 for `book`).
    #[arg(long)]
    window_days: Option<i64>,
    /// Chance per round that a patient cancels a visit.
    #[arg(long, default_value_t = 0.1)]
    cancel_share: f64,
    /// Chance per round that a patient reschedules a visit.
    #[arg(long, default_value_t = 0.1)]
    reschedule_share: f64,
}

#[derive(Debug, Args)]
struct StormArgs {
    #[command(flatten)]
    common: Common,
    /// The doctor to storm (default: the first listed); more are used in turn
    /// when its slots run out.
    #[arg(long)]
    doctor: Option<i64>,
    /// Slots raced for in each round.
    #[arg(long, default_value_t = 3)]
    slots: usize,
    /// Chance a winner cancels, freeing the slot for another race.
    #[arg(long, default_value_t = 0.2)]
    cancel_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReadKind {
    /// GET /doctors/{id}/slots of random doctors.
    Slots,
    /// GET /appointments of the logged-in patient.
    Mine,
    /// GET /doctors/{id} of random doctors: one query per request (a floor).
    Doctor,
    /// GET /healthz: no database at all (the HTTP floor).
    Health,
}

#[derive(Debug, Args)]
struct ReadsArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum, default_value = "slots")]
    kind: ReadKind,
    /// Days of slots per read (default: the endpoint's own, 14).
    #[arg(long)]
    window_days: Option<i64>,
    /// `mine`: log in as seeded patients (found through --database-url) instead
    /// of registering new ones.
    #[arg(long)]
    seeded: bool,
}

#[derive(Debug, Args)]
struct BaselineArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    connections: Vec<u32>,
    #[arg(long, default_value_t = 5)]
    duration: u64,
    #[arg(long, default_value_t = 10_000_000)]
    requests: u64,
}

#[derive(Debug, Args)]
struct SeedArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 100)]
    doctors: u64,
    #[arg(long, default_value_t = 10_000)]
    patients: u64,
    #[arg(long, default_value_t = 100_000)]
    appointments: u64,
    /// Appointments span this many days before today ...
    #[arg(long, default_value_t = 365)]
    days_back: i64,
    /// ... and this many after.
    #[arg(long, default_value_t = 365)]
    days_ahead: i64,
    /// Working hours, local to each doctor, e.g. `08:00-12:00,13:00-17:00`.
    #[arg(long, default_value = "08:00-12:00,13:00-17:00")]
    hours: String,
    /// Working days, 1 = Monday, e.g. `1-5` or `1,2,3`.
    #[arg(long, default_value = "1-5")]
    weekdays: String,
    #[arg(long, default_value_t = 30)]
    visit_minutes: i32,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "Europe/Berlin,America/New_York,Asia/Kolkata,Europe/London,America/Los_Angeles,UTC"
    )]
    time_zones: Vec<String>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 100_000)]
    chunk_rows: usize,
}

#[derive(Debug, Args)]
struct CrashArgs {
    /// The `medimeet` binary to start and kill.
    #[arg(long)]
    binary: PathBuf,
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 20)]
    iterations: u32,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Slots raced for in each round.
    #[arg(long, default_value_t = 3)]
    slots: usize,
    /// The kill comes at a random time in this window after the storm starts, ms.
    #[arg(long, default_value_t = 150)]
    kill_after_min_ms: u64,
    #[arg(long, default_value_t = 1200)]
    kill_after_max_ms: u64,
    /// Requests per iteration, at most.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    #[arg(long)]
    server_log: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long)]
    doctor: Option<i64>,
    #[arg(long)]
    patient: Option<i64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.clamp(1, 64))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(false)` is a correctness failure; `Err` is a failure to run at all.
async fn run(command: Command) -> Result<bool, String> {
    match command {
        Command::Flow(a) => flow(a).await,
        Command::Storm(a) => storm(a).await,
        Command::Reads(a) => reads(a).await,
        Command::Baseline(a) => {
            client::database_is_local(&a.database_url).await?;
            let backend = backend_of(&a.database_url);
            for c in effective_connections(&a.database_url, &a.connections) {
                let b = check::baseline(
                    &a.database_url,
                    c,
                    Duration::from_secs(a.duration.min(MAX_DURATION_SECS)),
                    a.requests.min(MAX_REQUESTS),
                )
                .await?;
                check::print_baseline(&b, backend);
            }
            Ok(true)
        }
        Command::Seed(a) => seed(a).await,
        Command::Crash(a) => crash(a).await,
        Command::Explain(a) => explain(a).await,
    }
}

fn backend_of(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    }
}

/// SQLite has exactly one writer connection, whatever is asked.
fn effective_connections(url: &str, asked: &[u32]) -> Vec<u32> {
    if backend_of(url) == "sqlite" {
        vec![1]
    } else {
        let mut v: Vec<u32> = asked.iter().map(|c| (*c).clamp(1, 256)).collect();
        v.dedup();
        v
    }
}

/// Samples of server memory taken while clients run.
struct MemoryWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(u32, u64)>>,
    cpu_before: f64,
    own_cpu_before: f64,
    switches_before: u64,
    machine_before: (u64, u64),
}

/// The servers of a run: started here (and stopped at the end) or given.
struct Servers {
    targets: Vec<Target>,
    spawned: Vec<Server>,
    pids: Vec<u32>,
}

impl Servers {
    async fn open(c: &Common) -> Result<Servers, String> {
        if let Some(url) = &c.database_url {
            client::database_is_local(url).await?;
        }
        if let Some(binary) = &c.spawn {
            let Some(url) = &c.database_url else {
                return Err("--spawn needs --database-url".into());
            };
            let spec = ServerSpec {
                binary: binary.clone(),
                database_url: url.clone(),
                db_connections: c.db_connections,
                log_file: c.server_log.clone(),
                log_level: c.server_log_level.clone(),
                env: Vec::new(),
            };
            let mut spawned = Vec::new();
            for _ in 0..c.instances.clamp(1, 8) {
                spawned.push(Server::start(&spec).await?);
            }
            let targets = spawned.iter().map(|s| s.target.clone()).collect();
            let pids = spawned.iter().map(|s| s.pid).collect();
            return Ok(Servers {
                targets,
                spawned,
                pids,
            });
        }
        if c.target.is_empty() {
            return Err("give --target http://127.0.0.1:PORT or --spawn BINARY".into());
        }
        let mut targets = Vec::new();
        for t in &c.target {
            targets.push(Target::parse(t).await?);
        }
        Ok(Servers {
            targets,
            spawned: Vec::new(),
            pids: c.server_pid.clone(),
        })
    }

    /// Starts sampling the servers' resident memory (for the measured phase).
    fn watch_memory(&self) -> MemoryWatch {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = server::sample_rss(self.pids.clone(), stop.clone());
        let cpu_before = self
            .pids
            .iter()
            .map(|p| server::cpu_seconds(Some(*p)).unwrap_or(0.0))
            .sum();
        let switches_before = self.switches();
        MemoryWatch {
            machine_before: server::machine_ticks().unwrap_or((0, 0)),
            stop,
            task,
            cpu_before,
            own_cpu_before: server::cpu_seconds(None).unwrap_or(0.0),
            switches_before,
        }
    }

    fn switches(&self) -> u64 {
        self.pids
            .iter()
            .map(|p| server::context_switches(*p).unwrap_or(0))
            .sum()
    }

    /// CPU the servers and this tool used since `watch` started, per request.
    fn report_cpu(&self, watch: &MemoryWatch, requests: u64, elapsed: Duration) {
        let servers: f64 = self
            .pids
            .iter()
            .map(|p| server::cpu_seconds(Some(*p)).unwrap_or(0.0))
            .sum::<f64>()
            - watch.cpu_before;
        let own = server::cpu_seconds(None).unwrap_or(0.0) - watch.own_cpu_before;
        let n = requests.max(1) as f64;
        if !self.pids.is_empty() {
            let switches = self.switches().saturating_sub(watch.switches_before);
            println!(
                "cpu: servers {:.2} s ({:.0} us/request, {:.2} cores, {:.1} context switches/request), \
                 load generator {:.2} s ({:.0} us/request, {:.2} cores); load average {}",
                servers,
                servers * 1e6 / n,
                servers / elapsed.as_secs_f64().max(1e-9),
                switches as f64 / n,
                own,
                own * 1e6 / n,
                own / elapsed.as_secs_f64().max(1e-9),
                std::fs::read_to_string("/proc/loadavg")
                    .unwrap_or_default()
                    .split_whitespace()
                    .next()
                    .unwrap_or("?")
            );
        }
        // Everything else on the machine (the database server, other work).
        if let Some((busy, total)) = server::machine_ticks() {
            let (b0, t0) = watch.machine_before;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let share = (busy.saturating_sub(b0)) as f64 / (total.saturating_sub(t0)).max(1) as f64;
            println!(
                "machine: {:.2} of {cores:.0} cores busy during the run (servers + load generator + \
                 database + anything else)",
                share * cores
            );
        }
    }

    async fn report_memory(&self, watch: MemoryWatch) {
        watch.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let during = watch.task.await.unwrap_or_default();
        for pid in &self.pids {
            let measured = during.iter().find(|(p, _)| p == pid).map_or(0, |(_, k)| *k);
            match server::peak_rss_kib(*pid) {
                Some(peak) => println!(
                    "server pid {pid}: resident memory during the measured phase at most {:.1} MiB; \
                     peak since start (incl. setup) {:.1} MiB",
                    measured as f64 / 1024.0,
                    peak as f64 / 1024.0
                ),
                None => println!("server pid {pid}: memory not readable"),
            }
        }
    }

    async fn stop(mut self) {
        for s in &mut self.spawned {
            s.stop().await;
        }
    }
}

fn bounded(c: &Common) -> Result<(Duration, u64, usize), String> {
    if c.clients == 0 || c.clients > MAX_CLIENTS {
        return Err(format!("--clients must be 1..={MAX_CLIENTS}"));
    }
    if c.duration == 0 || c.duration > MAX_DURATION_SECS {
        return Err(format!("--duration must be 1..={MAX_DURATION_SECS} s"));
    }
    if c.requests == 0 || c.requests > MAX_REQUESTS {
        return Err(format!("--requests must be 1..={MAX_REQUESTS}"));
    }
    Ok((Duration::from_secs(c.duration), c.requests, c.clients))
}

/// Budget for setting up (registering patients, listing doctors).
fn setup_limits(clients: usize) -> Arc<Limits> {
    Limits::new(Duration::from_secs(300), (clients as u64) * 40 + 10_000)
}

async fn doctors(
    c: &Common,
    targets: &[Target],
) -> Result<(Vec<DoctorInfo>, stats::Recorder), String> {
    let names: Vec<&str> = targets.iter().map(|t| t.base.as_str()).collect();
    println!("driving {} from {} client(s)", names.join(", "), c.clients);
    let mut probe = Client::new(0, targets[0].clone(), Duration::from_secs(c.timeout.max(1)));
    let limits = setup_limits(1);
    let list = scenario::discover_doctors(&mut probe, &limits, c.max_doctors.max(1)).await?;
    Ok((list, probe.rec))
}

/// The start of every HTTP run: its bounds, the servers and the doctors'
/// directory, with the setup's requests recorded apart from the measured phase.
struct Setup {
    duration: Duration,
    max_requests: u64,
    n: usize,
    servers: Servers,
    timeout: Duration,
    doctors: Vec<DoctorInfo>,
    rec: stats::Recorder,
    started: Instant,
}

impl Setup {
    async fn begin(c: &Common) -> Result<Self, String> {
        let (duration, max_requests, n) = bounded(c)?;
        let servers = Servers::open(c).await?;
        let started = Instant::now();
        let (doctors, rec) = doctors(c, &servers.targets).await?;
        Ok(Self {
            duration,
            max_requests,
            n,
            servers,
            timeout: Duration::from_secs(c.timeout.max(1)),
            doctors,
            rec,
            started,
        })
    }

    /// One newly registered, logged-in patient per client, spread over the servers.
    async fn registered_clients(&self) -> Result<Vec<Client>, String> {
        scenario::registered_clients(
            &self.servers.targets,
            self.n,
            self.timeout,
            &setup_limits(self.n),
        )
        .await
    }

    /// Folds the clients' setup requests into the record and prints it.
    fn done(&mut self, clients: &mut [Client]) {
        for cl in clients {
            self.rec.merge(std::mem::take(&mut cl.rec));
        }
        print_setup(&mut self.rec, self.started.elapsed());
    }
}

fn print_setup(rec: &mut stats::Recorder, elapsed: Duration) {
    let rows = rec.summary(elapsed);
    stats::print_table(
        &format!(
            "setup ({:.1} s; logins hash passwords with Argon2id on purpose):",
            elapsed.as_secs_f64()
        ),
        &rows,
    );
}

/// The end of every HTTP run: figures, memory, baseline ratio, checks.
#[allow(clippy::too_many_arguments)]
async fn finish(
    c: &Common,
    servers: Servers,
    watch: MemoryWatch,
    title: &str,
    clients: Vec<Client>,
    elapsed: Duration,
    client_double_confirmed: u64,
    unexpected: u64,
) -> Result<bool, String> {
    let mut rec = stats::Recorder::default();
    let mut bookings: Vec<Booking> = Vec::new();
    for cl in clients {
        rec.merge(cl.rec);
        bookings.extend(cl.bookings);
    }
    let rows = rec.summary(elapsed);
    stats::print_table(
        &format!("{title} ({:.1} s measured):", elapsed.as_secs_f64()),
        &rows,
    );
    let all_requests: u64 = rec.ops.values().map(stats::OpStats::count).sum();
    servers.report_cpu(&watch, all_requests, elapsed);
    let book = rec.op("book");
    let confirmed_rate = book.status(201) as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "bookings confirmed (201): {} = {:.1}/s; 409 conflicts: {}; 5xx: {}; no answer: {}",
        book.status(201),
        confirmed_rate,
        book.status(409),
        rec.ops
            .values()
            .map(|s| s
                .statuses
                .iter()
                .filter(|(k, _)| **k >= 500)
                .map(|(_, v)| v)
                .sum::<u64>())
            .sum::<u64>(),
        rec.ops.values().map(|s| s.transport_errors).sum::<u64>(),
    );
    if unexpected > 0 {
        println!("unexpected booking answers (not 201/409): {unexpected}");
    }
    servers.report_memory(watch).await;
    servers.stop().await;
    let Some(url) = &c.database_url else {
        println!("no --database-url: database checks skipped (nothing verified)");
        return Ok(unexpected == 0 && client_double_confirmed == 0);
    };
    if !c.no_baseline && book.status(201) > 0 {
        let backend = backend_of(url);
        for conns in effective_connections(url, &c.baseline_connections) {
            let b = check::baseline(
                url,
                conns,
                Duration::from_secs(c.baseline_seconds.clamp(1, 60)),
                MAX_REQUESTS,
            )
            .await?;
            check::print_baseline(&b, backend);
            println!(
                "booking throughput / raw commit rate ({} writer{}): {:.1} / {:.0} = {:.2}",
                conns,
                if conns == 1 { "" } else { "s" },
                confirmed_rate,
                b.per_sec,
                confirmed_rate / b.per_sec.max(1e-9)
            );
        }
    }
    let verdict = check::verify(url, &bookings, client_double_confirmed).await?;
    verdict.print();
    Ok(verdict.pass() && unexpected == 0)
}

async fn flow(a: FlowArgs) -> Result<bool, String> {
    let mut setup = Setup::begin(&a.common).await?;
    let mut clients = setup.registered_clients().await?;
    setup.done(&mut clients);
    let (n, servers) = (setup.n, setup.servers);
    let doctors = Arc::new(setup.doctors);
    let limits = Limits::new(setup.duration, setup.max_requests);
    let watch = servers.watch_memory();
    let (clients, elapsed) = match a.mix {
        Mix::Mixed => {
            let mix = FlowMix {
                browse: a.browse.clamp(1, 20),
                window_days: a.window_days.unwrap_or(7).clamp(1, 62),
                cancel_share: a.cancel_share.clamp(0.0, 1.0),
                reschedule_share: a.reschedule_share.clamp(0.0, 1.0),
            };
            scenario::run_clients(clients, |c| {
                scenario::flow_client(c, limits.clone(), doctors.clone(), mix.clone())
            })
            .await?
        }
        Mix::Book => {
            let days = a.window_days.unwrap_or(62).clamp(1, 62);
            scenario::run_clients(clients, |c| {
                scenario::book_client(c, limits.clone(), doctors.clone(), days)
            })
            .await?
        }
    };
    let title = format!(
        "flow --mix {:?}: {n} clients over {} server(s), {} doctors",
        a.mix,
        servers.targets.len(),
        doctors.len()
    )
    .to_lowercase();
    finish(&a.common, servers, watch, &title, clients, elapsed, 0, 0).await
}

async fn storm(a: StormArgs) -> Result<bool, String> {
    let mut setup = Setup::begin(&a.common).await?;
    let mut clients = setup.registered_clients().await?;
    setup.done(&mut clients);
    let (n, servers) = (setup.n, setup.servers);
    let mut ids: Vec<i64> = setup.doctors.iter().map(|d| d.id).collect();
    if let Some(d) = a.doctor {
        ids.retain(|x| *x != d);
        ids.insert(0, d);
    }
    let mut supply = SlotSupply::new(ids);
    let limits = Limits::new(setup.duration, setup.max_requests);
    let watch = servers.watch_memory();
    let (clients, outcome, elapsed) = scenario::storm(
        clients,
        limits,
        &mut supply,
        a.slots.clamp(1, 50),
        a.cancel_share.clamp(0.0, 1.0),
    )
    .await?;
    println!(
        "storm: {} rounds of {} clients racing for {} slot(s) each",
        outcome.rounds, n, a.slots
    );
    let title = format!(
        "storm: {n} clients over {} server(s)",
        servers.targets.len()
    );
    finish(
        &a.common,
        servers,
        watch,
        &title,
        clients,
        elapsed,
        outcome.double_confirmed,
        outcome.unexpected,
    )
    .await
}

async fn reads(a: ReadsArgs) -> Result<bool, String> {
    let mut setup = Setup::begin(&a.common).await?;
    let (n, timeout) = (setup.n, setup.timeout);
    let mine = a.kind == ReadKind::Mine;
    let mut clients: Vec<Client> = if !mine {
        (0..n)
            .map(|i| {
                let targets = &setup.servers.targets;
                Client::new(i, targets[i % targets.len()].clone(), timeout)
            })
            .collect()
    } else if a.seeded {
        let Some(url) = &a.common.database_url else {
            return Err("--seeded needs --database-url".into());
        };
        let store = Store::connect_read_only(url)
            .await
            .map_err(|e| e.to_string())?;
        let sample = store
            .sample_seeded_patients(i64::try_from(n).unwrap_or(64))
            .await
            .map_err(|e| e.to_string())?;
        store.close().await;
        if sample.len() < n {
            return Err(format!(
                "only {} seeded patients with visits found; seed more",
                sample.len()
            ));
        }
        scenario::logged_in_clients(
            &setup.servers.targets,
            &sample,
            medimeet::store::SEED_PASSWORD,
            timeout,
            &setup_limits(n),
        )
        .await?
    } else {
        setup.registered_clients().await?
    };
    setup.done(&mut clients);
    let servers = setup.servers;
    let doctors = Arc::new(setup.doctors);
    let limits = Limits::new(setup.duration, setup.max_requests);
    let window = a.window_days.map(|d| d.clamp(1, 62));
    let kind = match a.kind {
        ReadKind::Slots => scenario::Read::Slots(window),
        ReadKind::Mine => scenario::Read::Mine,
        ReadKind::Doctor => scenario::Read::Doctor,
        ReadKind::Health => scenario::Read::Health,
    };
    let watch = servers.watch_memory();
    let (clients, elapsed) = scenario::run_clients(clients, |c| {
        scenario::read_client(c, limits.clone(), doctors.clone(), kind)
    })
    .await?;
    let title = format!(
        "reads --kind {:?}: {n} clients over {} server(s), {} doctors",
        a.kind,
        servers.targets.len(),
        doctors.len()
    )
    .to_lowercase();
    finish(&a.common, servers, watch, &title, clients, elapsed, 0, 0).await
}

fn parse_hours(s: &str) -> Result<Vec<(i32, i32)>, String> {
    let minute = |t: &str| -> Result<i32, String> {
        let (h, m) = t
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("{t}: expected HH:MM"))?;
        let h: i32 = h.parse().map_err(|_| format!("{t}: bad hour"))?;
        let m: i32 = m.parse().map_err(|_| format!("{t}: bad minute"))?;
        Ok(h * 60 + m)
    };
    s.split(',')
        .map(|iv| {
            let (a, b) = iv
                .split_once('-')
                .ok_or_else(|| format!("{iv}: expected HH:MM-HH:MM"))?;
            Ok((minute(a)?, minute(b)?))
        })
        .collect()
}

fn parse_weekdays(s: &str) -> Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once('-') {
            let a: i32 = a.trim().parse().map_err(|_| format!("{part}: bad day"))?;
            let b: i32 = b.trim().parse().map_err(|_| format!("{part}: bad day"))?;
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| format!("{part}: bad day"))?);
        }
    }
    Ok(out)
}

async fn seed(a: SeedArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    let hash = tokio::task::spawn_blocking(|| {
        medimeet::auth::hash_password(medimeet::store::SEED_PASSWORD)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let plan = SeedSpec {
        doctors: a.doctors,
        patients: a.patients,
        appointments: a.appointments,
        days_back: a.days_back.clamp(0, 3660),
        days_ahead: a.days_ahead.clamp(1, 3660),
        now: Timestamp::now().as_second(),
        password_hash: hash,
        hours: parse_hours(&a.hours)?,
        weekdays: parse_weekdays(&a.weekdays)?,
        visit_minutes: a.visit_minutes,
        time_zones: a.time_zones.clone(),
        chunk_rows: a.chunk_rows.clamp(1, 1_000_000),
    }
    .plan()?;
    let store = Store::connect(&ConnectOptions {
        url: a.database_url.clone(),
        max_connections: Some(2),
    })
    .await
    .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut progress = |table: &str, rows: u64| {
        if last.elapsed() > Duration::from_secs(5) || rows == 0 {
            println!(
                "  {table}: {rows} rows ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
    };
    let report = store
        .seed(&plan, &mut progress)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} doctors (from id {}), {} patients (from id {}), {} appointments in {:.1} s \
         ({:.0} appointments/s, each with its slot); seeded logins use the password {:?}",
        report.doctors,
        report.first_doctor_id,
        report.patients,
        report.first_patient_id,
        report.appointments,
        secs,
        report.appointments as f64 / secs.max(1e-9),
        medimeet::store::SEED_PASSWORD
    );
    Ok(true)
}

async fn explain(a: ExplainArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    let store = Store::connect_read_only(&a.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let (doctor, patient) = match (a.doctor, a.patient) {
        (Some(d), Some(p)) => (d, p),
        _ => {
            let sample = store
                .sample_seeded_patients(1)
                .await
                .map_err(|e| e.to_string())?;
            let p = a
                .patient
                .or_else(|| sample.first().map(|s| s.0))
                .ok_or("no seeded patient with visits: give --patient")?;
            (a.doctor.unwrap_or(1), p)
        }
    };
    let now = Timestamp::now();
    let to = now + SignedDuration::from_hours(24 * 14);
    let plans = store
        .explain_hot_queries(doctor, patient, now.as_second(), to.as_second())
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    for p in plans {
        println!("== {} (doctor {doctor}, patient {patient})", p.name);
        println!("-- {}", p.sql);
        println!("{}\n", p.plan);
    }
    Ok(true)
}

async fn crash(a: CrashArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    if a.clients == 0 || a.clients > MAX_CLIENTS || a.iterations == 0 || a.iterations > 1000 {
        return Err("--clients 1..=4096 and --iterations 1..=1000".into());
    }
    if a.kill_after_min_ms > a.kill_after_max_ms || a.kill_after_max_ms > 60_000 {
        return Err("the kill window must be within 0..=60000 ms, min <= max".into());
    }
    // A clinic to book at: the schema, and doctors seeded if there are none.
    {
        let store = Store::connect(&ConnectOptions {
            url: a.database_url.clone(),
            max_connections: Some(2),
        })
        .await
        .map_err(|e| e.to_string())?;
        store.migrate().await.map_err(|e| e.to_string())?;
        let has_doctors = !store
            .list_doctors(&medimeet::store::DoctorFilter::default(), None, 1)
            .await
            .map_err(|e| e.to_string())?
            .is_empty();
        if !has_doctors {
            let hash = tokio::task::spawn_blocking(|| {
                medimeet::auth::hash_password(medimeet::store::SEED_PASSWORD)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let plan = SeedSpec {
                doctors: 8,
                patients: 0,
                appointments: 0,
                days_back: 0,
                days_ahead: 90,
                now: Timestamp::now().as_second(),
                password_hash: hash,
                hours: vec![(0, 1440)],
                weekdays: (1..=7).collect(),
                visit_minutes: 15,
                time_zones: vec!["UTC".into()],
                chunk_rows: 1000,
            }
            .plan()?;
            store
                .seed(&plan, &mut |_, _| {})
                .await
                .map_err(|e| e.to_string())?;
        }
        store.close().await;
    }
    let spec = ServerSpec {
        binary: a.binary.clone(),
        database_url: a.database_url.clone(),
        db_connections: None,
        log_file: a.server_log.clone(),
        log_level: Some("warn".into()),
        env: Vec::new(),
    };
    let timeout = Duration::from_secs(5);
    let mut server = Server::start(&spec).await?;
    let targets = vec![server.target.clone()];
    let (list, _) = {
        let mut probe = Client::new(0, targets[0].clone(), timeout);
        let l = scenario::discover_doctors(&mut probe, &setup_limits(1), 1000).await?;
        (l, probe.rec)
    };
    let mut clients =
        scenario::registered_clients(&targets, a.clients, timeout, &setup_limits(a.clients))
            .await?;
    let mut supply = SlotSupply::new(list.iter().map(|d| d.id).collect());
    let mut all_bookings: Vec<Booking> = Vec::new();
    let mut rng = scenario::Rng::new(rand::random::<u64>());
    let mut ok = true;
    for it in 1..=a.iterations {
        let span = a.kill_after_max_ms - a.kill_after_min_ms;
        let kill_at = a.kill_after_min_ms + (rng.next_u64() % (span + 1));
        let limits = Limits::new(
            Duration::from_millis(kill_at + 30_000),
            a.requests.min(MAX_REQUESTS),
        );
        for c in &mut clients {
            c.conn = client::Conn::new(server.target.clone(), timeout);
            c.bookings.clear();
        }
        let storm_limits = limits.clone();
        let slots = a.slots.clamp(1, 50);
        let storm_run = scenario::storm(clients, storm_limits, &mut supply, slots, 0.2);
        let killer = async {
            tokio::time::sleep(Duration::from_millis(kill_at)).await;
            server.kill9();
            limits.stop();
        };
        let (result, ()) = tokio::join!(storm_run, killer);
        let (back, outcome, _) = result?;
        clients = back;
        let mut confirmed_now = 0;
        let mut unanswered = 0;
        for c in &mut clients {
            confirmed_now += c.bookings.len();
            unanswered += c.rec.op("book").transport_errors;
            c.rec = stats::Recorder::default();
            all_bookings.append(&mut c.bookings);
        }
        let restart = Instant::now();
        server = Server::start(&spec).await?;
        let restarted_in = restart.elapsed();
        let verdict =
            check::verify(&a.database_url, &all_bookings, outcome.double_confirmed).await?;
        let pass = verdict.pass() && outcome.unexpected == 0;
        println!(
            "iteration {it}/{}: kill -9 after {kill_at} ms, {} rounds, {confirmed_now} bookings \
             confirmed ({} in total), {unanswered} unanswered at the kill; restart {:.2} s; \
             missing {}, changed {}, double bookings {}: {}",
            a.iterations,
            outcome.rounds,
            all_bookings.len(),
            restarted_in.as_secs_f64(),
            verdict.missing.len(),
            verdict.changed.len(),
            verdict.invariants.overlapping_slots
                + verdict.invariants.overlapping_appointments
                + i64::try_from(verdict.client_double_confirmed).unwrap_or(i64::MAX),
            if pass { "ok" } else { "FAIL" }
        );
        if confirmed_now == 0 {
            println!("  (no booking was confirmed before this kill: widen the kill window)");
        }
        if !pass {
            verdict.print();
            ok = false;
        }
    }
    server.stop().await;
    println!(
        "{}",
        if ok {
            format!(
                "PASS: {} kill -9 cycles, {} confirmed bookings all present, 0 double bookings",
                a.iterations,
                all_bookings.len()
            )
        } else {
            "FAIL: a confirmed booking was lost or double-booked (see above)".to_owned()
        }
    );
    Ok(ok)
}
