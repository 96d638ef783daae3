//! The clinic's operational figures, for `GET /metrics` (issue 12,
//! docs/decisions/0016-metrics.md).
//!
//! A small facade over the `prometheus` crate: the use cases and the HTTP
//! layer call the methods here ([`Metrics::booked`], [`Metrics::login`],
//! [`Metrics::request`], ...) and never the exporter. Each [`Metrics`] has
//! a registry of its own, so two clinics in one process (the tests) never
//! count each other's requests.
//!
//! No label ever carries personal data or an id: routes are templates
//! (`/api/v1/appointments/{id}`), methods and outcomes come from fixed lists.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::sync::Arc;

/// The content type of [`Metrics::render`]'s text: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// A session was opened.
    Ok,
    /// Wrong login or password (or an inactive account).
    Failed,
    /// Refused before the password was checked: too many failures.
    Throttled,
}

impl LoginOutcome {
    fn label(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::Failed => "failed",
            LoginOutcome::Throttled => "throttled",
        }
    }
}

/// The notification queue and the database pools at one moment, read when
/// Prometheus scrapes (see [`crate::usecases::operations`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Deliveries waiting, due now or later.
    pub queue_pending: i64,
    /// Deliveries waiting and due now.
    pub queue_due: i64,
    /// Waiting deliveries that failed at least once.
    pub queue_retrying: i64,
    /// How long the oldest due delivery has waited, in seconds.
    pub queue_oldest_due_age_secs: i64,
    /// Events not yet expanded into deliveries.
    pub queue_unexpanded_events: i64,
    /// Finished deliveries by state: `sent`, `dead`, `dropped`, `not_configured`.
    pub deliveries_by_state: Vec<(&'static str, i64)>,
    /// Each database pool: its name, open connections, idle ones, the maximum.
    pub pools: Vec<PoolGauge>,
}

/// One database pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGauge {
    /// `main` (PostgreSQL), `read` or `write` (SQLite).
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// An error building the registry or rendering it (a bug, never a request's fault).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// This instance's metrics. Cheap to clone (one shared registry).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: HistogramVec,
    bookings: IntCounter,
    conflicts: IntCounter,
    logins: IntCounterVec,
    queue_pending: IntGauge,
    queue_due: IntGauge,
    queue_retrying: IntGauge,
    queue_oldest_due_age: IntGauge,
    queue_unexpanded: IntGauge,
    deliveries: IntGaugeVec,
    pool_open: IntGaugeVec,
    pool_idle: IntGaugeVec,
    pool_max: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

const NS: &str = "medimeet";

/// Latency buckets in seconds: 1 ms to 10 s (a booking is a few ms, a login's
/// Argon2 tens of ms, a slow database seconds).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn register<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> Result<M, MetricsError> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
    register(
        registry,
        IntGauge::with_opts(Opts::new(name, help).namespace(NS))?,
    )
}

fn gauge_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, MetricsError> {
    register(
        registry,
        IntGaugeVec::new(Opts::new(name, help).namespace(NS), labels)?,
    )
}

impl Metrics {
    /// A fresh registry with every metric of the clinic, all at zero.
    pub fn new() -> Result<Self, MetricsError> {
        let r = Registry::new();
        let requests = register(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP requests by method, route template and status, and how long they took.",
                )
                .namespace(NS)
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["method", "route", "status"],
            )?,
        )?;
        let bookings = register(
            &r,
            IntCounter::with_opts(Opts::new("bookings_total", "Visits booked.").namespace(NS))?,
        )?;
        let conflicts = register(
            &r,
            IntCounter::with_opts(
                Opts::new(
                    "booking_conflicts_total",
                    "Bookings refused because the slot was taken (409).",
                )
                .namespace(NS),
            )?,
        )?;
        let logins = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "logins_total",
                    "Login attempts by outcome: ok, failed (wrong login or password), throttled.",
                )
                .namespace(NS),
                &["outcome"],
            )?,
        )?;
        for outcome in [
            LoginOutcome::Ok,
            LoginOutcome::Failed,
            LoginOutcome::Throttled,
        ] {
            // Present at 0 from the start, so rates work from the first scrape.
            logins.with_label_values(&[outcome.label()]);
        }
        let inner = Inner {
            queue_pending: gauge(
                &r,
                "notification_queue_pending",
                "Notification deliveries waiting, due now or later.",
            )?,
            queue_due: gauge(
                &r,
                "notification_queue_due",
                "Notification deliveries waiting and due now.",
            )?,
            queue_retrying: gauge(
                &r,
                "notification_queue_retrying",
                "Waiting notification deliveries that failed at least once.",
            )?,
            queue_oldest_due_age: gauge(
                &r,
                "notification_queue_oldest_due_age_seconds",
                "How long the oldest due notification delivery has waited.",
            )?,
            queue_unexpanded: gauge(
                &r,
                "notification_events_unexpanded",
                "Notification events not yet turned into deliveries.",
            )?,
            deliveries: gauge_vec(
                &r,
                "notification_deliveries",
                "Finished notification deliveries by state (sent, dead, dropped, not_configured).",
                &["state"],
            )?,
            pool_open: gauge_vec(
                &r,
                "db_pool_connections",
                "Open database connections by pool.",
                &["pool"],
            )?,
            pool_idle: gauge_vec(
                &r,
                "db_pool_idle_connections",
                "Idle database connections by pool.",
                &["pool"],
            )?,
            pool_max: gauge_vec(
                &r,
                "db_pool_max_connections",
                "The most connections each database pool opens.",
                &["pool"],
            )?,
            registry: r,
            requests,
            bookings,
            conflicts,
            logins,
        };
        Ok(Self(Arc::new(inner)))
    }

    /// One HTTP request served: `route` is the matched route's template (or
    /// [`UNMATCHED`]), never the path as sent.
    pub fn request(&self, method: &http_method::Method, route: &str, status: u16, secs: f64) {
        self.0
            .requests
            .with_label_values(&[http_method::label(method), route, &status.to_string()])
            .observe(secs);
    }

    /// A visit was booked (not a replay of an earlier booking).
    pub fn booked(&self) {
        self.0.bookings.inc();
    }

    /// A booking found its slot taken.
    pub fn booking_conflict(&self) {
        self.0.conflicts.inc();
    }

    /// A login attempt ended.
    pub fn login(&self, outcome: LoginOutcome) {
        self.0.logins.with_label_values(&[outcome.label()]).inc();
    }

    /// Every metric in the Prometheus text format, the gauges set to `gauges`.
    pub fn render(&self, gauges: &Gauges) -> Result<String, MetricsError> {
        let m = &self.0;
        m.queue_pending.set(gauges.queue_pending);
        m.queue_due.set(gauges.queue_due);
        m.queue_retrying.set(gauges.queue_retrying);
        m.queue_oldest_due_age.set(gauges.queue_oldest_due_age_secs);
        m.queue_unexpanded.set(gauges.queue_unexpanded_events);
        for (state, n) in &gauges.deliveries_by_state {
            m.deliveries.with_label_values(&[*state]).set(*n);
        }
        for p in &gauges.pools {
            m.pool_open
                .with_label_values(&[p.pool])
                .set(i64::from(p.open));
            m.pool_idle
                .with_label_values(&[p.pool])
                .set(i64::from(p.idle));
            m.pool_max
                .with_label_values(&[p.pool])
                .set(i64::from(p.max));
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&m.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| MetricsError(prometheus::Error::Msg(e.to_string())))
    }
}

/// HTTP methods as a label: the standard ones by name, anything else `other`
/// (a client cannot mint new label values).
pub mod http_method {
    pub use axum::http::Method;

    pub fn label(m: &Method) -> &'static str {
        match *m {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            Method::CONNECT => "CONNECT",
            Method::TRACE => "TRACE",
            _ => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_registered_and_rendered() {
        let m = Metrics::new().unwrap();
        m.request(&http_method::Method::GET, "/healthz", 200, 0.003);
        m.booked();
        m.booking_conflict();
        m.login(LoginOutcome::Failed);
        let text = m
            .render(&Gauges {
                queue_pending: 3,
                deliveries_by_state: vec![("dead", 2)],
                pools: vec![PoolGauge {
                    pool: "main",
                    open: 5,
                    idle: 4,
                    max: 16,
                }],
                ..Gauges::default()
            })
            .unwrap();
        for line in [
            "medimeet_bookings_total 1",
            "medimeet_booking_conflicts_total 1",
            "medimeet_logins_total{outcome=\"failed\"} 1",
            "medimeet_logins_total{outcome=\"ok\"} 0",
            "medimeet_notification_queue_pending 3",
            "medimeet_notification_queue_due 0",
            "medimeet_notification_deliveries{state=\"dead\"} 2",
            "medimeet_db_pool_connections{pool=\"main\"} 5",
            "medimeet_db_pool_idle_connections{pool=\"main\"} 4",
            "medimeet_db_pool_max_connections{pool=\"main\"} 16",
            "medimeet_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
            "medimeet_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"0.005\"} 1",
            "medimeet_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"0.0025\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn two_instances_count_apart() {
        let (a, b) = (Metrics::new().unwrap(), Metrics::new().unwrap());
        a.booked();
        let text = b.render(&Gauges::default()).unwrap();
        assert!(
            text.lines().any(|l| l == "medimeet_bookings_total 0"),
            "{text}"
        );
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let odd = http_method::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(http_method::label(&odd), "other");
        assert_eq!(http_method::label(&http_method::Method::DELETE), "DELETE");
    }
}
