//! The HTTP server's connection handling (decision 0024): what a slow or
//! greedy client may hold.
//!
//! `axum::serve` keeps a connection whose request head never finishes, or an
//! idle keep-alive connection, open forever, and takes connections until the
//! process runs out of file descriptors (then every request fails). Here:
//!
//! - a request head must arrive whole within `header_read` (hyper's header
//!   read timeout, with a timer);
//! - a connection with no bytes in either direction for `idle` is closed
//!   (between keep-alive requests, a stalled body, a client that stops
//!   reading an answer);
//! - at most `max` connections at once: at the cap the server stops
//!   accepting, so new clients wait in the kernel's backlog instead of
//!   costing a descriptor each, and it never reaches its descriptor limit;
//! - at most `per_address` at once from one client address: one client
//!   cannot take the whole `max`. Connections over it are closed at once.
//!
//! A WebSocket, once upgraded, leaves hyper; it keeps the idle rule (the
//! server pings every 20 s) but no longer counts towards the caps.

use crate::config::ConnectionLimits;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The caps as they apply to this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max: usize,
    /// `None`: no cap per address (behind a trusted proxy every connection
    /// is the proxy's).
    pub per_address: Option<usize>,
    pub header_read: Duration,
    pub idle: Duration,
}

/// Descriptors kept for everything but client connections: the database
/// pool and files, logs, the worker's outgoing connections.
const RESERVED_DESCRIPTORS: u64 = 64;

impl Caps {
    /// The caps of `limits`, with the automatic ones derived from the
    /// process's descriptor limit (`nofile`, `None` if unknown).
    pub fn of(limits: &ConnectionLimits, nofile: Option<u64>, behind_proxy: bool) -> Caps {
        let max = limits.max_connections.map_or_else(
            || {
                let from_limit = nofile
                    .map_or(4096, |n| n.saturating_sub(RESERVED_DESCRIPTORS))
                    .clamp(16, 65_536);
                usize::try_from(from_limit).unwrap_or(65_536)
            },
            |m| m as usize,
        );
        let per_address = if behind_proxy {
            None
        } else {
            Some(
                limits
                    .max_connections_per_address
                    .map_or_else(|| (max / 4).clamp(1, 256), |m| m as usize)
                    .min(max),
            )
        };
        Caps {
            max,
            per_address,
            header_read: Duration::from_secs(limits.header_read_timeout_seconds),
            idle: Duration::from_secs(limits.idle_timeout_seconds),
        }
    }
}

/// The soft descriptor limit of this process, if it can be read.
pub fn descriptor_limit() -> Option<u64> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    limit.current
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in its address's count, given back on drop.
struct Seat {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(table: &Arc<PerAddress>, ip: IpAddr, cap: Option<usize>) -> Option<Seat> {
        let mut map = table.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if cap.is_some_and(|c| *n >= c) {
            return None;
        }
        *n += 1;
        Some(Seat {
            table: table.clone(),
            ip,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut map = self
            .table
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` under `caps` until `shutdown` completes,
/// then lets the open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    caps: Caps,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let open = Arc::new(Semaphore::new(caps.max));
    let per_address = Arc::new(PerAddress::default());
    // Shutdown reaches every connection through `stop`; each holds a clone
    // of `alive`, so its channel closes when the last connection is done.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (alive, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(caps.header_read)
        .keep_alive(true);
    tokio::pin!(shutdown);
    let mut warned_at: Option<Instant> = None;
    loop {
        // At the cap: accept nothing until a connection ends.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = open.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (another part of the process) or
                    // a connection reset before it was accepted: wait a
                    // little, say so at most once a minute.
                    if warned_at.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!(error = %e, "accept failed");
                        warned_at = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(seat) = PerAddress::take(&per_address, peer.ip(), caps.per_address) else {
            // Over its address's cap: closed at once, before any read.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(IdleTimeout::new(stream, caps.idle));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let (mut stop, alive) = (stop.clone(), alive.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    // Finish the request in flight, take no other.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop((seat, permit, alive));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive);
    let _ = all_done.recv().await;
    Ok(())
}

/// A layer giving every request's body `total` to arrive whole: a body that
/// trickles in a byte at a time (never idle) is cut when the time is up,
/// and its request fails like one whose client went away.
pub fn body_deadline_layer(
    total: Duration,
) -> axum::middleware::FromFnLayer<
    impl Fn(
        axum::extract::Request,
        axum::middleware::Next,
    ) -> Pin<Box<dyn Future<Output = axum::response::Response> + Send>>
    + Clone,
    (),
    (axum::extract::Request,),
> {
    axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let req = req.map(|body| axum::body::Body::new(DeadlineBody::new(body, total)));
        Box::pin(next.run(req)) as Pin<Box<dyn Future<Output = _> + Send>>
    })
}

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: axum::body::Body,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: axum::body::Body, total: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(total)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body not received in time",
                ))))),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection that fails once nothing was read or written for `idle`.
struct IdleTimeout {
    inner: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    fn new(inner: TcpStream, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn active(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// `Ready(Err)` once the deadline passed while the stream had nothing.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.expired(cx).map(Err),
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.active();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.expired(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.active();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits::default()
    }

    #[test]
    fn automatic_caps_leave_descriptors_for_the_rest() {
        let c = Caps::of(&limits(), Some(256), false);
        assert_eq!(c.max, 192);
        assert_eq!(c.per_address, Some(48));
        let c = Caps::of(&limits(), Some(1024), false);
        assert_eq!((c.max, c.per_address), (960, Some(240)));
        let c = Caps::of(&limits(), Some(1_048_576), false);
        assert_eq!((c.max, c.per_address), (65_536, Some(256)));
        // A tiny limit still serves someone; an unknown one is 4096.
        assert_eq!(Caps::of(&limits(), Some(20), false).max, 16);
        assert_eq!(Caps::of(&limits(), None, false).max, 4096);
        // Behind a proxy every connection is the proxy's.
        assert_eq!(Caps::of(&limits(), Some(256), true).per_address, None);
    }

    #[test]
    fn set_caps_are_kept_and_the_address_cap_is_never_above_the_total() {
        let l = ConnectionLimits {
            max_connections: Some(100),
            max_connections_per_address: Some(500),
            ..limits()
        };
        let c = Caps::of(&l, Some(256), false);
        assert_eq!((c.max, c.per_address), (100, Some(100)));
    }

    #[test]
    fn an_address_gets_its_seats_back() {
        let t = Arc::new(PerAddress::default());
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = PerAddress::take(&t, ip, Some(2));
        let b = PerAddress::take(&t, ip, Some(2));
        assert!(a.is_some() && b.is_some());
        assert!(PerAddress::take(&t, ip, Some(2)).is_none());
        assert!(PerAddress::take(&t, [10, 0, 0, 2].into(), Some(2)).is_some());
        drop(a);
        assert!(PerAddress::take(&t, ip, Some(2)).is_some());
        drop(b);
        // Emptied addresses leave the table.
        let len = t.0.lock().map(|m| m.len()).unwrap_or(99);
        assert_eq!(len, 0);
    }
}
