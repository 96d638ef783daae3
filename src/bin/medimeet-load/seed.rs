//! `seed`: bulk data (doctors, patients, two years of appointments), straight
//! into the database, not through HTTP.

use crate::{SeedArgs, client};
use jiff::Timestamp;
use medimeet::config::{DatabaseConfig, DatabaseUrl};
use medimeet::store::Store;
use medimeet::store::seed::SeedSpec;
use std::time::{Duration, Instant};

fn parse_hours(s: &str) -> Result<Vec<(i32, i32)>, String> {
    let minute = |t: &str| -> Result<i32, String> {
        let (h, m) = t
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("{t}: expected HH:MM"))?;
        let h: i32 = h.parse().map_err(|_| format!("{t}: bad hour"))?;
        let m: i32 = m.parse().map_err(|_| format!("{t}: bad minute"))?;
        Ok(h * 60 + m)
    };
    s.split(',')
        .map(|iv| {
            let (a, b) = iv
                .split_once('-')
                .ok_or_else(|| format!("{iv}: expected HH:MM-HH:MM"))?;
            Ok((minute(a)?, minute(b)?))
        })
        .collect()
}

fn parse_weekdays(s: &str) -> Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once('-') {
            let a: i32 = a.trim().parse().map_err(|_| format!("{part}: bad day"))?;
            let b: i32 = b.trim().parse().map_err(|_| format!("{part}: bad day"))?;
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| format!("{part}: bad day"))?);
        }
    }
    Ok(out)
}

pub async fn run(a: SeedArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    let hash = tokio::task::spawn_blocking(|| {
        medimeet::auth::hash_password(medimeet::store::seed::SEED_PASSWORD)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let plan = SeedSpec {
        doctors: a.doctors,
        patients: a.patients,
        appointments: a.appointments,
        days_back: a.days_back.clamp(0, 3660),
        days_ahead: a.days_ahead.clamp(1, 3660),
        now: Timestamp::now().as_second(),
        password_hash: hash,
        hours: parse_hours(&a.hours)?,
        weekdays: parse_weekdays(&a.weekdays)?,
        visit_minutes: a.visit_minutes,
        time_zones: a.time_zones.clone(),
        chunk_rows: a.chunk_rows.clamp(1, 1_000_000),
    }
    .plan()?;
    let store = open_migrated(&a.database_url).await?;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut progress = |table: &str, rows: u64| {
        if last.elapsed() > Duration::from_secs(5) || rows == 0 {
            println!(
                "  {table}: {rows} rows ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
    };
    let report = store
        .seed(&plan, &mut progress)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} doctors (from id {}), {} patients (from id {}), {} appointments in {:.1} s \
         ({:.0} appointments/s, each with its slot); seeded logins use the password {:?}",
        report.doctors,
        report.first_doctor_id,
        report.patients,
        report.first_patient_id,
        report.appointments,
        secs,
        report.appointments as f64 / secs.max(1e-9),
        medimeet::store::seed::SEED_PASSWORD
    );
    Ok(true)
}

/// The database at `url` with its schema up to date, on a small pool (the
/// seeding and crash runs write through one or two connections).
pub async fn open_migrated(url: &DatabaseUrl) -> Result<Store, String> {
    let store = Store::connect(&DatabaseConfig::new(url.clone()).with_connections(2))
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}
