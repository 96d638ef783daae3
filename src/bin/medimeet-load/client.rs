//! A lean HTTP/1.1 client: one keep-alive connection per virtual patient, to
//! loopback addresses only.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use medimeet::config::DatabaseUrl;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// A server to drive: `http://HOST:PORT` where HOST resolves to loopback only.
#[derive(Debug, Clone)]
pub struct Target {
    pub base: String,
    pub addr: SocketAddr,
    host: String,
}

impl Target {
    /// Parses `http://HOST:PORT` and refuses anything that is not loopback.
    pub async fn parse(url: &str) -> Result<Target, String> {
        let url = url.trim().trim_end_matches('/');
        let authority = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http://127.0.0.1:PORT targets are supported"))?;
        if authority.is_empty() || authority.contains('/') || authority.contains('@') {
            return Err(format!("{url}: expected http://HOST:PORT"));
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .collect();
        let Some(addr) = addrs.first().copied() else {
            return Err(format!("{url}: no address"));
        };
        if addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "{url}: refusing a non-loopback target; this tool only drives servers on this machine"
            ));
        }
        Ok(Target {
            base: format!("http://{authority}"),
            addr,
            host: authority.to_owned(),
        })
    }
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One keep-alive connection, reopened when the server closes it.
pub struct Conn {
    pub target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
}

impl Conn {
    pub fn new(target: Target, timeout: Duration) -> Self {
        Self {
            target,
            sender: None,
            timeout,
        }
    }

    async fn connect(&mut self) -> Result<(), String> {
        let stream = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            // Ends when the connection closes; its errors surface on requests.
            let _ = conn.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    /// Sends one request and reads the whole answer, within the timeout. A
    /// transport error (refused, reset, timeout) is `Err`: no answer was seen.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Resp, String> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.request_inner(method, path, token, body)).await {
            Ok(r) => {
                if r.is_err() {
                    self.sender = None;
                }
                r
            }
            Err(_) => {
                self.sender = None;
                Err("timeout".into())
            }
        }
    }

    async fn request_inner(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Resp, String> {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            self.connect().await?;
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err("not connected".into());
        };
        sender.ready().await.map_err(|e| format!("ready: {e}"))?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.target.host);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).map_err(|e| format!("request: {e}"))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = res.status().as_u16();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Resp { status, body })
    }
}

/// Whether a database URL points at this machine (PostgreSQL on loopback or a
/// Unix socket; SQLite files always are).
pub async fn database_is_local(url: &DatabaseUrl) -> Result<(), String> {
    let url = url.expose().trim();
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Ok(());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hostport = authority.rsplit('@').next().unwrap_or_default();
    if hostport.is_empty() {
        return Ok(()); // the default Unix socket
    }
    let with_port = if hostport.starts_with('[') {
        if hostport.contains("]:") {
            hostport.to_owned()
        } else {
            format!("{hostport}:5432")
        }
    } else if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("database host {hostport}: {e}"))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "refusing database host {hostport}: only databases on this machine (loopback)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_loopback_targets_are_accepted() {
        assert!(Target::parse("http://127.0.0.1:8080").await.is_ok());
        assert!(Target::parse("http://localhost:8080/").await.is_ok());
        assert!(Target::parse("http://[::1]:8080").await.is_ok());
        assert!(Target::parse("http://10.0.0.1:8080").await.is_err());
        assert!(Target::parse("http://192.168.1.2:80").await.is_err());
        assert!(Target::parse("https://127.0.0.1:8080").await.is_err());
        assert!(Target::parse("http://127.0.0.1:8080/api").await.is_err());
    }

    #[tokio::test]
    async fn only_local_databases_are_accepted() {
        assert!(database_is_local(&"sqlite:/tmp/x.db".into()).await.is_ok());
        assert!(
            database_is_local(&"postgres://postgres@127.0.0.1:5432/db".into())
                .await
                .is_ok()
        );
        assert!(
            database_is_local(&"postgres://u@localhost/db".into())
                .await
                .is_ok()
        );
        assert!(
            database_is_local(&"postgres://u@10.1.2.3:5432/db".into())
                .await
                .is_err()
        );
    }
}
