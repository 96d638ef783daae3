//! `storm`: everyone races for the same few slots of one doctor.

use crate::StormArgs;
use crate::harness::{Setup, finish};
use crate::scenario::{self, Limits, SlotSupply};

pub async fn run(a: StormArgs) -> Result<bool, String> {
    let mut setup = Setup::begin(&a.common).await?;
    let mut clients = setup.registered_clients().await?;
    setup.done(&mut clients);
    let (n, servers) = (setup.n, setup.servers);
    let mut ids: Vec<i64> = setup.doctors.iter().map(|d| d.id).collect();
    if let Some(d) = a.doctor {
        ids.retain(|x| *x != d);
        ids.insert(0, d);
    }
    let mut supply = SlotSupply::new(ids);
    let limits = Limits::new(setup.duration, setup.max_requests);
    let watch = servers.watch_memory();
    let (clients, outcome, elapsed) = scenario::storm(
        clients,
        limits,
        &mut supply,
        a.slots.clamp(1, 50),
        a.cancel_share.clamp(0.0, 1.0),
    )
    .await?;
    println!(
        "storm: {} rounds of {} clients racing for {} slot(s) each",
        outcome.rounds, n, a.slots
    );
    let title = format!(
        "storm: {n} clients over {} server(s)",
        servers.targets.len()
    );
    finish(
        &a.common,
        servers,
        watch,
        &title,
        clients,
        elapsed,
        outcome.double_confirmed,
        outcome.unexpected,
    )
    .await
}
