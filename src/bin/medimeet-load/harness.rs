//! The frame every HTTP run (`flow`, `storm`, `reads`) shares: its bounds, the
//! servers (started here or given), the doctors' directory and the setup, then
//! the figures, memory and CPU, the baseline ratio and the database checks.

use crate::baseline::{backend_of, effective_connections};
use crate::client::{self, Target};
use crate::scenario::{self, Booking, Client, DoctorInfo, Limits};
use crate::server::{self, Server, ServerSpec};
use crate::{Common, MAX_CLIENTS, MAX_DURATION_SECS, MAX_REQUESTS, check, stats};
use medimeet::config::DatabaseConfig;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Samples of server memory taken while clients run.
pub struct MemoryWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(u32, u64)>>,
    cpu_before: f64,
    own_cpu_before: f64,
    switches_before: u64,
    machine_before: (u64, u64),
}

/// The servers of a run: started here (and stopped at the end) or given.
pub struct Servers {
    pub targets: Vec<Target>,
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
                database: DatabaseConfig {
                    url: url.clone(),
                    connections: c.db_connections,
                },
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
    pub fn watch_memory(&self) -> MemoryWatch {
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
pub fn setup_limits(clients: usize) -> Arc<Limits> {
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
pub struct Setup {
    pub duration: Duration,
    pub max_requests: u64,
    pub n: usize,
    pub servers: Servers,
    pub timeout: Duration,
    pub doctors: Vec<DoctorInfo>,
    rec: stats::Recorder,
    started: Instant,
}

impl Setup {
    pub async fn begin(c: &Common) -> Result<Self, String> {
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
    pub async fn registered_clients(&self) -> Result<Vec<Client>, String> {
        scenario::registered_clients(
            &self.servers.targets,
            self.n,
            self.timeout,
            &setup_limits(self.n),
        )
        .await
    }

    /// Folds the clients' setup requests into the record and prints it.
    pub fn done(&mut self, clients: &mut [Client]) {
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
pub async fn finish(
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
