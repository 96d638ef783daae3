//! What a slow or greedy client may hold (decision 0024): the real binary,
//! limited to 256 file descriptors, against a few hundred half-sent requests.

use crate::helpers::{Backend, TestDb, client};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// `medimeet serve` on a random port with at most `nofile` descriptors
/// (`prlimit`), its log lines collected.
struct Limited {
    child: tokio::process::Child,
    addr: SocketAddr,
    log: std::sync::Arc<tokio::sync::Mutex<String>>,
}

impl Limited {
    async fn start(url: &str, nofile: u32, extra: &[&str]) -> Limited {
        let mut cmd = tokio::process::Command::new("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}"))
            .arg(env!("CARGO_BIN_EXE_medimeet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("prlimit runs medimeet");
        let log = std::sync::Arc::new(tokio::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let mut s = sink.lock().await;
                s.push_str(&l);
                s.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("running at http://").nth(1) {
                    return rest.split(['/', ' ']).next().unwrap_or("").parse().ok();
                }
            }
            None
        })
        .await
        .expect("the server starts")
        .expect("it prints its address");
        Limited { child, addr, log }
    }
}

/// A connection from `from` (any 127.x address is this machine).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((from, 0)))?;
    s.connect(to).await
}

/// A GET answered over a fresh connection from `from`, within `within`.
async fn answered(from: [u8; 4], to: SocketAddr, path: &str, within: Duration) -> Option<u16> {
    tokio::time::timeout(within, async {
        let mut s = connect_from(from, to).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        String::from_utf8_lossy(&buf)
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
    })
    .await
    .ok()
    .flatten()
}

/// Whether the server closed `s` (or answered and closed) within `within`.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or other answer, then the close
            Err(_) => return false,
        }
    }
}

async fn half_sent_requests_do_not_starve_the_others(backend: Backend) {
    let db = TestDb::new(backend).await;
    // The attack: 256 descriptors, 300 half-sent request heads.
    let server = Limited::start(db.url(), 256, &["--header-read-timeout-seconds", "4"]).await;
    let mut attack = Vec::new();
    for _ in 0..300 {
        match connect_from([127, 0, 0, 1], server.addr).await {
            Ok(mut s) => {
                // The head never finishes.
                let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
                attack.push(s);
            }
            Err(_) => break,
        }
    }
    assert!(attack.len() >= 250, "only {} attack sockets opened", attack.len());

    // Meanwhile other clients are served, the database too.
    for i in 0..20u8 {
        let from = [127, 0, 0, 2 + i % 5];
        assert_eq!(
            answered(from, server.addr, "/healthz", Duration::from_secs(3)).await,
            Some(200),
            "request {i} from {from:?} not answered while under attack"
        );
        assert_eq!(
            answered(from, server.addr, "/api/v1/doctors", Duration::from_secs(3)).await,
            Some(200)
        );
    }

    // The half-sent heads are cut after the header timeout.
    let mut cut = 0;
    for s in &mut attack {
        if closed_by_server(s, Duration::from_secs(8)).await {
            cut += 1;
        }
    }
    assert_eq!(cut, attack.len(), "connections left open past the header timeout");
    let log = server.log.lock().await.clone();
    assert!(!log.contains("Too many open files"), "{log}");
    drop(server.child);
}

async fn idle_and_stalled_connections_are_closed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Limited::start(
        db.url(),
        1024,
        &[
            "--idle-timeout-seconds",
            "2",
            "--body-read-timeout-seconds",
            "3",
            "--header-read-timeout-seconds",
            "2",
        ],
    )
    .await;
    // A keep-alive connection after its answer, left idle: closed.
    let mut s = connect_from([127, 0, 0, 1], server.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    assert!(closed_by_server(&mut s, Duration::from_secs(6)).await, "idle keep-alive kept");
    assert!(idle_from.elapsed() >= Duration::from_millis(1500));

    // A connection that sends nothing at all: closed.
    let mut s = connect_from([127, 0, 0, 1], server.addr).await.unwrap();
    assert!(closed_by_server(&mut s, Duration::from_secs(6)).await, "silent connection kept");

    // A body that stalls half-way: not served, the connection closed.
    let mut s = connect_from([127, 0, 0, 1], server.addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"phone\":",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let done = tokio::time::timeout(Duration::from_secs(8), s.read_to_end(&mut got)).await;
    assert!(done.is_ok(), "a stalled body kept its connection");
    let text = String::from_utf8_lossy(&got);
    assert!(text.is_empty() || !text.starts_with("HTTP/1.1 2"), "{text}");

    // A body that trickles a byte a second (never idle): cut by the body
    // timeout, not served.
    let mut s = connect_from([127, 0, 0, 1], server.addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    while started.elapsed() < Duration::from_secs(10) {
        if s.write_all(b" ").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "a trickled body held the connection for {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.is_empty() || !text.starts_with("HTTP/1.1 2"), "{text}");

    // Ordinary clients are unaffected.
    let r = client()
        .get(format!("http://{}/api/v1/doctors", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn one_address_cannot_hold_every_connection(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Limited::start(
        db.url(),
        1024,
        &["--max-connections", "40", "--max-connections-per-address", "10"],
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(connect_from([127, 0, 0, 1], server.addr).await.unwrap());
    }
    // Give the server a moment to count them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The eleventh from that address is closed at once...
    let mut extra = connect_from([127, 0, 0, 1], server.addr).await.unwrap();
    assert!(closed_by_server(&mut extra, Duration::from_secs(2)).await);
    // ...while another address is served.
    assert_eq!(
        answered([127, 0, 0, 9], server.addr, "/healthz", Duration::from_secs(3)).await,
        Some(200)
    );
    // A held one ending gives its address a seat back.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        answered([127, 0, 0, 1], server.addr, "/healthz", Duration::from_secs(3)).await,
        Some(200)
    );
}

crate::both_backends!(
    half_sent_requests_do_not_starve_the_others,
    idle_and_stalled_connections_are_closed,
    one_address_cannot_hold_every_connection,
);
