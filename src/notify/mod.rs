//! The notification face (decision 0013): what a notification looks like on
//! each channel. Rendering only; what is sent, to whom and when is the use
//! cases' and the domain's ([`crate::domain::notify`]).
//!
//! - [`code`]: what a one-time code's message says.
//! - [`email`]: a notification as an email, sent over SMTP.
//! - [`ics`]: the calendar attachment of a visit's emails (RFC 5545).
//! - [`sms`]: a notification as a text message, through an HTTP provider.
//! - [`webhook`]: an event as a signed call to a clinic's system.
//! - [`worker`]: expands events and handles due deliveries.

pub mod code;
pub mod email;
pub mod ics;
pub mod sms;
pub mod webhook;
pub mod worker;

/// Why a message did not go out.
#[derive(Debug)]
pub struct SendError {
    /// The receiver refused it for good: no retry helps.
    pub permanent: bool,
    /// The receiver answered 410 Gone: it wants no more (webhooks).
    pub gone: bool,
    /// The HTTP status the receiver answered with, if it answered.
    pub status: Option<u16>,
    pub message: String,
}

impl SendError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            gone: false,
            status: None,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            gone: false,
            status: None,
            message: message.into(),
        }
    }

    /// What an HTTP answer other than 2xx means: 408, 429 and 5xx may pass,
    /// other 4xx will not (410 says so explicitly).
    fn of_status(status: u16, body: &str) -> Self {
        let snippet: String = body.chars().take(200).collect();
        let message = format!("answered {status}: {}", snippet.trim());
        Self {
            permanent: (400..500).contains(&status) && status != 408 && status != 429,
            gone: status == 410,
            status: Some(status),
            message,
        }
    }
}

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;
type Body = http_body_util::Full<hyper::body::Bytes>;

/// How long one call may take, answer included.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The HTTP client of the SMS provider and the webhooks: hyper with rustls
/// on ring and the Mozilla roots; no redirects followed (a receiver that
/// moved says so with an error), 15 seconds per call.
#[derive(Clone)]
struct Http {
    client: hyper_util::client::legacy::Client<Connector, Body>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http")
    }
}

impl Http {
    fn new() -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self { client })
    }

    /// Posts `body` to `url` with `headers`: `Ok` on a 2xx answer.
    async fn post(
        &self,
        url: &str,
        headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
        body: String,
    ) -> Result<(), SendError> {
        use http_body_util::BodyExt;
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| SendError::permanent("the URL is not a valid URL"))?;
        let mut request = hyper::Request::post(uri)
            .header(
                hyper::header::USER_AGENT,
                concat!("medimeet/", env!("CARGO_PKG_VERSION")),
            )
            .body(Body::new(hyper::body::Bytes::from(body)))
            .map_err(|e| SendError::permanent(e.to_string()))?;
        for (name, value) in headers {
            request.headers_mut().append(name, value);
        }
        let call = async {
            let answer = self
                .client
                .request(request)
                .await
                .map_err(|e| SendError::retry(format!("no answer: {}", chain(&e))))?;
            let status = answer.status();
            if status.is_success() {
                return Ok(());
            }
            // The start of the answer, for the admin's error column.
            let limited = http_body_util::Limited::new(answer.into_body(), 4096);
            let text = match limited.collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
                Err(_) => String::new(),
            };
            Err(SendError::of_status(status.as_u16(), &text))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .unwrap_or_else(|_| Err(SendError::retry("no answer within 15 seconds")))
    }
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
