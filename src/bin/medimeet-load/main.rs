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

mod baseline;
mod check;
mod client;
mod crash;
mod explain;
mod flow;
mod harness;
mod reads;
mod scenario;
mod seed;
mod server;
mod stats;
mod storm;

use clap::{Args, Parser, Subcommand, ValueEnum};
use medimeet::config::DatabaseUrl;
use std::path::PathBuf;
use std::process::ExitCode;

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
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<DatabaseUrl>,
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
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: DatabaseUrl,
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    connections: Vec<u32>,
    #[arg(long, default_value_t = 5)]
    duration: u64,
    #[arg(long, default_value_t = 10_000_000)]
    requests: u64,
}

#[derive(Debug, Args)]
struct SeedArgs {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: DatabaseUrl,
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
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: DatabaseUrl,
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
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: DatabaseUrl,
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
        Command::Flow(a) => flow::run(a).await,
        Command::Storm(a) => storm::run(a).await,
        Command::Reads(a) => reads::run(a).await,
        Command::Baseline(a) => baseline::run(a).await,
        Command::Seed(a) => seed::run(a).await,
        Command::Crash(a) => crash::run(a).await,
        Command::Explain(a) => explain::run(a).await,
    }
}
