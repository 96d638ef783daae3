//! `crash`: kill -9 the server mid-storm, restart, check; repeated.

use crate::harness::setup_limits;
use crate::scenario::{self, Booking, Client, Limits, SlotSupply};
use crate::server::{Server, ServerSpec};
use crate::{CrashArgs, MAX_CLIENTS, MAX_REQUESTS, check, client, stats};
use jiff::Timestamp;
use medimeet::config::DatabaseConfig;
use medimeet::store::seed::SeedSpec;
use std::time::{Duration, Instant};

pub async fn run(a: CrashArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    if a.clients == 0 || a.clients > MAX_CLIENTS || a.iterations == 0 || a.iterations > 1000 {
        return Err("--clients 1..=4096 and --iterations 1..=1000".into());
    }
    if a.kill_after_min_ms > a.kill_after_max_ms || a.kill_after_max_ms > 60_000 {
        return Err("the kill window must be within 0..=60000 ms, min <= max".into());
    }
    // A clinic to book at: the schema, and doctors seeded if there are none.
    {
        let store = super::seed::open_migrated(&a.database_url).await?;
        let has_doctors = !store
            .list_doctors(&medimeet::store::DoctorFilter::default(), None, 1)
            .await
            .map_err(|e| e.to_string())?
            .is_empty();
        if !has_doctors {
            let hash = tokio::task::spawn_blocking(|| {
                medimeet::auth::hash_password(medimeet::store::seed::SEED_PASSWORD)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let plan = SeedSpec {
                doctors: 8,
                patients: 0,
                appointments: 0,
                days_back: 0,
                days_ahead: 90,
                now: Timestamp::now().as_second(),
                password_hash: hash,
                hours: vec![(0, 1440)],
                weekdays: (1..=7).collect(),
                visit_minutes: 15,
                time_zones: vec!["UTC".into()],
                chunk_rows: 1000,
            }
            .plan()?;
            store
                .seed(&plan, &mut |_, _| {})
                .await
                .map_err(|e| e.to_string())?;
        }
        store.close().await;
    }
    let spec = ServerSpec {
        binary: a.binary.clone(),
        database: DatabaseConfig::new(a.database_url.clone()),
        log_file: a.server_log.clone(),
        log_level: Some("warn".into()),
        env: Vec::new(),
    };
    let timeout = Duration::from_secs(5);
    let mut server = Server::start(&spec).await?;
    let targets = vec![server.target.clone()];
    let (list, _) = {
        let mut probe = Client::new(0, targets[0].clone(), timeout);
        let l = scenario::discover_doctors(&mut probe, &setup_limits(1), 1000).await?;
        (l, probe.rec)
    };
    let mut clients =
        scenario::registered_clients(&targets, a.clients, timeout, &setup_limits(a.clients))
            .await?;
    let mut supply = SlotSupply::new(list.iter().map(|d| d.id).collect());
    let mut all_bookings: Vec<Booking> = Vec::new();
    let mut rng = scenario::Rng::new(rand::random::<u64>());
    let mut ok = true;
    for it in 1..=a.iterations {
        let span = a.kill_after_max_ms - a.kill_after_min_ms;
        let kill_at = a.kill_after_min_ms + (rng.next_u64() % (span + 1));
        let limits = Limits::new(
            Duration::from_millis(kill_at + 30_000),
            a.requests.min(MAX_REQUESTS),
        );
        for c in &mut clients {
            c.conn = client::Conn::new(server.target.clone(), timeout);
            c.bookings.clear();
        }
        let storm_limits = limits.clone();
        let slots = a.slots.clamp(1, 50);
        let storm_run = scenario::storm(clients, storm_limits, &mut supply, slots, 0.2);
        let killer = async {
            tokio::time::sleep(Duration::from_millis(kill_at)).await;
            server.kill9();
            limits.stop();
        };
        let (result, ()) = tokio::join!(storm_run, killer);
        let (back, outcome, _) = result?;
        clients = back;
        let mut confirmed_now = 0;
        let mut unanswered = 0;
        for c in &mut clients {
            confirmed_now += c.bookings.len();
            unanswered += c.rec.op("book").transport_errors;
            c.rec = stats::Recorder::default();
            all_bookings.append(&mut c.bookings);
        }
        let restart = Instant::now();
        server = Server::start(&spec).await?;
        let restarted_in = restart.elapsed();
        let verdict =
            check::verify(&a.database_url, &all_bookings, outcome.double_confirmed).await?;
        let pass = verdict.pass() && outcome.unexpected == 0;
        println!(
            "iteration {it}/{}: kill -9 after {kill_at} ms, {} rounds, {confirmed_now} bookings \
             confirmed ({} in total), {unanswered} unanswered at the kill; restart {:.2} s; \
             missing {}, changed {}, double bookings {}: {}",
            a.iterations,
            outcome.rounds,
            all_bookings.len(),
            restarted_in.as_secs_f64(),
            verdict.missing.len(),
            verdict.changed.len(),
            verdict.invariants.overlapping_slots
                + verdict.invariants.overlapping_appointments
                + i64::try_from(verdict.client_double_confirmed).unwrap_or(i64::MAX),
            if pass { "ok" } else { "FAIL" }
        );
        if confirmed_now == 0 {
            println!("  (no booking was confirmed before this kill: widen the kill window)");
        }
        if !pass {
            verdict.print();
            ok = false;
        }
    }
    server.stop().await;
    println!(
        "{}",
        if ok {
            format!(
                "PASS: {} kill -9 cycles, {} confirmed bookings all present, 0 double bookings",
                a.iterations,
                all_bookings.len()
            )
        } else {
            "FAIL: a confirmed booking was lost or double-booked (see above)".to_owned()
        }
    );
    Ok(ok)
}
