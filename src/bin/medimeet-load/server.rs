//! Starting, killing and watching `medimeet serve` processes on loopback.

use crate::client::{Conn, Target};
use hyper::Method;
use medimeet::config::DatabaseConfig;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process this tool started; killed when dropped.
pub struct Server {
    child: Child,
    pub target: Target,
    pub pid: u32,
}

/// How to start servers.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub binary: PathBuf,
    /// The servers' `--database-url` and `--db-connections`.
    pub database: DatabaseConfig,
    /// Appended to, if set; otherwise the server's output is discarded.
    pub log_file: Option<PathBuf>,
    /// `RUST_LOG` for the server; `None` keeps its default (`info`).
    pub log_level: Option<String>,
    /// Extra environment (e.g. `MEDIMEET_MIN_NOTICE_MINUTES`).
    pub env: Vec<(String, String)>,
}

/// A free loopback port (the race with another process taking it before the
/// server binds is harmless here: the start then fails loudly).
fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn output(spec: &ServerSpec) -> Result<Stdio, String> {
    match &spec.log_file {
        None => Ok(Stdio::null()),
        Some(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(Stdio::from(f))
        }
    }
}

impl Server {
    /// Starts `medimeet serve` on a free loopback port and waits until it
    /// answers `/readyz` (at most 60 s).
    pub async fn start(spec: &ServerSpec) -> Result<Server, String> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(&spec.binary);
        cmd.args(["serve", "--listen", &listen]);
        // In the environment, not the arguments: any password in the URL
        // then stays out of the process list.
        cmd.env("DATABASE_URL", spec.database.url.expose());
        if let Some(n) = spec.database.connections {
            cmd.args(["--db-connections", &n.to_string()]);
        }
        // Every simulated patient comes from this one address, and books
        // far more than a person would: the abuse limits would measure
        // themselves, not the booking path (README, "Abuse limits").
        for limit in [
            "MEDIMEET_LIMIT_SIGNUPS_PER_ADDRESS",
            "MEDIMEET_LIMIT_BOOKINGS_PER_ACCOUNT",
            "MEDIMEET_LIMIT_BOOKINGS_PER_ADDRESS",
            "MEDIMEET_LIMIT_CHAT_PER_ADDRESS",
        ] {
            cmd.env(limit, "off");
        }
        if let Some(level) = &spec.log_level {
            cmd.env("RUST_LOG", level);
        }
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(output(spec)?)
            .stderr(output(spec)?);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", spec.binary.display()))?;
        let pid = child.id();
        let target = Target::parse(&format!("http://{listen}")).await?;
        let mut server = Server { child, target, pid };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        let mut conn = Conn::new(self.target.clone(), Duration::from_secs(2));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited at start ({status})"));
            }
            if let Ok(r) = conn.request(Method::GET, "/readyz", None, None).await
                && r.status == 200
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err("the server did not become ready within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (graceful), then SIGKILL after 10 s.
    pub async fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill9();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `VmHWM` (peak resident set since start) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

/// `VmRSS` (resident set now) of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// CPU time (user + system) a process has used, in seconds, from
/// `/proc/PID/stat` (ticks of 1/100 s, Linux's USER_HZ).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => Path::new("/proc").join(p.to_string()).join("stat"),
        None => Path::new("/proc/self/stat").to_path_buf(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Busy and total CPU time of the whole machine so far, in ticks (`/proc/stat`).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    // idle + iowait
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// Context switches of all threads of a process so far (voluntary and not).
pub fn context_switches(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task")).ok()?;
    let mut total = 0;
    for t in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        for l in status.lines() {
            if let Some(v) = l
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Some(total)
}

/// Samples the resident memory of `pids` every 100 ms until `stop` is set;
/// returns the largest sample of each.
pub fn sample_rss(
    pids: Vec<u32>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(u32, u64)>> {
    tokio::spawn(async move {
        let mut max: Vec<(u32, u64)> = pids.iter().map(|p| (*p, 0)).collect();
        loop {
            for (pid, m) in &mut max {
                if let Some(kib) = rss_kib(*pid) {
                    *m = (*m).max(kib);
                }
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        max
    })
}
