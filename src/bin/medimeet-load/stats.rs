//! Latency and status counts per operation; each virtual client records its
//! own and they are merged once at the end (no locks on the hot path).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Default, Clone)]
pub struct OpStats {
    /// Latencies of answered requests, microseconds.
    pub latencies_us: Vec<u32>,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests with no answer (refused, reset, timed out).
    pub transport_errors: u64,
    /// Error answers by status and problem `code`, e.g. `409 slot_taken`.
    pub codes: BTreeMap<String, u64>,
}

impl OpStats {
    pub fn count(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.transport_errors
    }

    pub fn status(&self, code: u16) -> u64 {
        self.statuses.get(&code).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub ops: BTreeMap<&'static str, OpStats>,
}

impl Recorder {
    pub fn answered(&mut self, op: &'static str, status: u16, latency: Duration) {
        let s = self.ops.entry(op).or_default();
        s.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        *s.statuses.entry(status).or_default() += 1;
    }

    /// An error answer's problem code (`application/problem+json`).
    pub fn error_code(&mut self, op: &'static str, status: u16, code: &str) {
        let s = self.ops.entry(op).or_default();
        *s.codes.entry(format!("{status} {code}")).or_default() += 1;
    }

    pub fn failed(&mut self, op: &'static str) {
        self.ops.entry(op).or_default().transport_errors += 1;
    }

    pub fn merge(&mut self, other: Recorder) {
        for (op, s) in other.ops {
            let mine = self.ops.entry(op).or_default();
            mine.latencies_us.extend(s.latencies_us);
            for (k, v) in s.statuses {
                *mine.statuses.entry(k).or_default() += v;
            }
            mine.transport_errors += s.transport_errors;
            for (k, v) in s.codes {
                *mine.codes.entry(k).or_default() += v;
            }
        }
    }

    pub fn op(&self, op: &str) -> OpStats {
        self.ops.get(op).cloned().unwrap_or_default()
    }

    /// Summary of every operation and of all together over `elapsed`.
    pub fn summary(&mut self, elapsed: Duration) -> Vec<OpSummary> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut out = Vec::new();
        let mut all = Vec::new();
        let mut all_statuses: BTreeMap<u16, u64> = BTreeMap::new();
        let mut all_errors = 0;
        for (op, s) in &mut self.ops {
            s.latencies_us.sort_unstable();
            all.extend_from_slice(&s.latencies_us);
            for (k, v) in &s.statuses {
                *all_statuses.entry(*k).or_default() += v;
            }
            all_errors += s.transport_errors;
            out.push(OpSummary::new(op, s, secs));
        }
        all.sort_unstable();
        let total = OpStats {
            latencies_us: all,
            statuses: all_statuses,
            transport_errors: all_errors,
            codes: BTreeMap::new(),
        };
        out.push(OpSummary::new("all", &total, secs));
        out
    }
}

/// The figures of one operation.
#[derive(Debug, Clone)]
pub struct OpSummary {
    pub op: String,
    pub count: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub statuses: String,
}

/// The `q`-quantile of sorted values (nearest rank), in milliseconds.
pub fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let n = sorted_us.len();
    let rank = (q * n as f64).ceil() as usize;
    let i = rank.clamp(1, n) - 1;
    f64::from(sorted_us[i]) / 1000.0
}

impl OpSummary {
    fn new(op: &str, s: &OpStats, secs: f64) -> Self {
        let mut statuses = String::new();
        for (k, v) in &s.statuses {
            let _ = write!(statuses, "{k}:{v} ");
        }
        if s.transport_errors > 0 {
            let _ = write!(statuses, "no-answer:{} ", s.transport_errors);
        }
        if !s.codes.is_empty() {
            let codes: Vec<String> = s.codes.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let _ = write!(statuses, "({})", codes.join(", "));
        }
        Self {
            op: op.to_owned(),
            count: s.count(),
            per_sec: s.count() as f64 / secs,
            p50_ms: quantile_ms(&s.latencies_us, 0.50),
            p99_ms: quantile_ms(&s.latencies_us, 0.99),
            p999_ms: quantile_ms(&s.latencies_us, 0.999),
            max_ms: s
                .latencies_us
                .last()
                .map_or(0.0, |v| f64::from(*v) / 1000.0),
            statuses: statuses.trim_end().to_owned(),
        }
    }
}

pub fn print_table(title: &str, rows: &[OpSummary]) {
    println!("{title}");
    println!(
        "  {:<18} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}  statuses",
        "operation", "count", "per s", "p50 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    for r in rows {
        println!(
            "  {:<18} {:>9} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>8.1}  {}",
            r.op, r.count, r.per_sec, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms, r.statuses
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&v, 0.5), 500.0);
        assert_eq!(quantile_ms(&v, 0.99), 990.0);
        assert_eq!(quantile_ms(&v, 0.999), 999.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
        assert_eq!(quantile_ms(&[7000], 0.999), 7.0);
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = Recorder::default();
        a.answered("book", 201, Duration::from_millis(2));
        let mut b = Recorder::default();
        b.answered("book", 409, Duration::from_millis(1));
        b.failed("book");
        a.merge(b);
        let s = a.op("book");
        assert_eq!(s.count(), 3);
        assert_eq!(s.status(201), 1);
        assert_eq!(s.transport_errors, 1);
    }
}
