//! After a run: the database's own account of it (read-only), and the raw
//! durable commit rate of the same database.

use crate::scenario::{Booking, Expect};
use crate::stats::quantile_ms;
use medimeet::config::{DatabaseConfig, DatabaseUrl};
use medimeet::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the database says about the bookings clients saw confirmed.
#[derive(Debug, Default)]
pub struct Verdict {
    pub confirmed: usize,
    pub missing: Vec<i64>,
    pub changed: Vec<i64>,
    pub invariants: medimeet::store::checks::InvariantReport,
    pub client_double_confirmed: u64,
}

impl Verdict {
    pub fn pass(&self) -> bool {
        self.missing.is_empty()
            && self.changed.is_empty()
            && self.invariants.is_clean()
            && self.client_double_confirmed == 0
    }

    pub fn print(&self) {
        let i = &self.invariants;
        println!(
            "check: double bookings: {} overlapping active slots, {} overlapping visits; \
             {} visits inconsistent with their slot; {} one-visit-a-day violations; \
             {} slots confirmed to two clients",
            i.overlapping_slots,
            i.overlapping_appointments,
            i.inconsistent_appointments,
            i.one_per_day_violations,
            self.client_double_confirmed
        );
        println!(
            "check: {} bookings confirmed with 201: {} missing, {} not as the client left them",
            self.confirmed,
            self.missing.len(),
            self.changed.len()
        );
        if !self.missing.is_empty() {
            println!(
                "check: missing ids (first 20): {:?}",
                &self.missing[..self.missing.len().min(20)]
            );
        }
        if !self.changed.is_empty() {
            println!(
                "check: changed ids (first 20): {:?}",
                &self.changed[..self.changed.len().min(20)]
            );
        }
        println!(
            "{}",
            if self.pass() {
                "PASS: 0 double bookings, 0 lost confirmations"
            } else {
                "FAIL: correctness violated (see above)"
            }
        );
    }
}

/// Reads the database (read-only) and compares it with what clients saw.
pub async fn verify(
    database_url: &DatabaseUrl,
    bookings: &[Booking],
    client_double_confirmed: u64,
) -> Result<Verdict, String> {
    let store = Store::connect_read_only(database_url)
        .await
        .map_err(|e| format!("cannot open the database for checks: {e}"))?;
    let invariants = store
        .check_invariants()
        .await
        .map_err(|e| format!("invariant check: {e}"))?;
    let ids: Vec<i64> = bookings.iter().map(|b| b.id).collect();
    let found: HashMap<i64, _> = store
        .appointments_by_id(&ids)
        .await
        .map_err(|e| format!("reading confirmed bookings: {e}"))?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    store.close().await;
    let mut v = Verdict {
        confirmed: bookings.len(),
        invariants,
        client_double_confirmed,
        ..Verdict::default()
    };
    for b in bookings {
        let Some(a) = found.get(&b.id) else {
            v.missing.push(b.id);
            continue;
        };
        let same_visit = a.doctor_id == b.doctor_id && a.patient_id == b.patient_id;
        let as_left = match b.expect {
            Expect::Booked => a.status == "booked" && a.start_at == b.start_at,
            Expect::Cancelled => a.status == "cancelled",
            Expect::Unknown => true,
        };
        if !(same_visit && as_left) {
            v.changed.push(b.id);
        }
    }
    Ok(v)
}

/// The raw durable commit rate at one concurrency.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub connections: u32,
    pub commits: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Single-row INSERTs, each its own transaction, into a scratch table, through
/// the store opened exactly as the server opens it (SQLite: WAL,
/// synchronous=FULL, one writer connection; PostgreSQL: a pool of
/// `connections`), from `connections` concurrent writers.
pub async fn baseline(
    database_url: &DatabaseUrl,
    connections: u32,
    duration: Duration,
    max_commits: u64,
) -> Result<Baseline, String> {
    let store =
        Store::connect(&DatabaseConfig::new(database_url.clone()).with_connections(connections))
            .await
            .map_err(|e| format!("baseline: cannot open the database: {e}"))?;
    store
        .baseline_prepare()
        .await
        .map_err(|e| format!("baseline: {e}"))?;
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections.max(1) {
        let (store, issued) = (store.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_commits
            {
                let t = Instant::now();
                store
                    .baseline_insert(i64::from(w), started.elapsed().as_micros() as i64)
                    .await
                    .map_err(|e| format!("baseline insert: {e}"))?;
                lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut all = Vec::new();
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok(Ok(l)) => all.extend(l),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(e.to_string()),
        }
    }
    let elapsed = started.elapsed();
    let dropped = store.baseline_drop().await;
    store.close().await;
    if let Some(e) = failure {
        return Err(e);
    }
    dropped.map_err(|e| format!("baseline: dropping the scratch table: {e}"))?;
    all.sort_unstable();
    Ok(Baseline {
        connections,
        commits: all.len() as u64,
        per_sec: all.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: quantile_ms(&all, 0.5),
        p99_ms: quantile_ms(&all, 0.99),
    })
}

pub fn print_baseline(b: &Baseline, backend: &str) {
    println!(
        "baseline ({backend}, {} writer{}): {} single-row INSERT commits, {:.0}/s (p50 {:.2} ms, p99 {:.2} ms)",
        b.connections,
        if b.connections == 1 { "" } else { "s" },
        b.commits,
        b.per_sec,
        b.p50_ms,
        b.p99_ms
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_violation_fails_the_run() {
        assert!(Verdict::default().pass());
        let missing = Verdict {
            missing: vec![7],
            ..Verdict::default()
        };
        assert!(!missing.pass());
        let mut overlap = Verdict::default();
        overlap.invariants.overlapping_slots = 1;
        assert!(!overlap.pass());
        let seen_twice = Verdict {
            client_double_confirmed: 1,
            ..Verdict::default()
        };
        assert!(!seen_twice.pass());
    }
}
