//! `explain`: the plans of the hot queries.

use crate::{ExplainArgs, client};
use jiff::{SignedDuration, Timestamp};
use medimeet::store::Store;

pub async fn run(a: ExplainArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    let store = Store::connect_read_only(&a.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let (doctor, patient) = match (a.doctor, a.patient) {
        (Some(d), Some(p)) => (d, p),
        _ => {
            let sample = store
                .sample_seeded_patients(1)
                .await
                .map_err(|e| e.to_string())?;
            let p = a
                .patient
                .or_else(|| sample.first().map(|s| s.0))
                .ok_or("no seeded patient with visits: give --patient")?;
            (a.doctor.unwrap_or(1), p)
        }
    };
    let now = Timestamp::now();
    let to = now + SignedDuration::from_hours(24 * 14);
    let plans = store
        .explain_hot_queries(doctor, patient, now.as_second(), to.as_second())
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    for p in plans {
        println!("== {} (doctor {doctor}, patient {patient})", p.name);
        println!("-- {}", p.sql);
        println!("{}\n", p.plan);
    }
    Ok(true)
}
