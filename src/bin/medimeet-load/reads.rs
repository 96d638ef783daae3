//! `reads`: free-slots (or my-appointments) reads only.

use crate::harness::{Setup, finish, setup_limits};
use crate::scenario::{self, Client, Limits};
use crate::{ReadKind, ReadsArgs};
use medimeet::store::Store;
use std::sync::Arc;

pub async fn run(a: ReadsArgs) -> Result<bool, String> {
    let mut setup = Setup::begin(&a.common).await?;
    let (n, timeout) = (setup.n, setup.timeout);
    let mine = a.kind == ReadKind::Mine;
    let mut clients: Vec<Client> = if !mine {
        (0..n)
            .map(|i| {
                let targets = &setup.servers.targets;
                Client::new(i, targets[i % targets.len()].clone(), timeout)
            })
            .collect()
    } else if a.seeded {
        let Some(url) = &a.common.database_url else {
            return Err("--seeded needs --database-url".into());
        };
        let store = Store::connect_read_only(url)
            .await
            .map_err(|e| e.to_string())?;
        let sample = store
            .sample_seeded_patients(i64::try_from(n).unwrap_or(64))
            .await
            .map_err(|e| e.to_string())?;
        store.close().await;
        if sample.len() < n {
            return Err(format!(
                "only {} seeded patients with visits found; seed more",
                sample.len()
            ));
        }
        scenario::logged_in_clients(
            &setup.servers.targets,
            &sample,
            medimeet::store::seed::SEED_PASSWORD,
            timeout,
            &setup_limits(n),
        )
        .await?
    } else {
        setup.registered_clients().await?
    };
    setup.done(&mut clients);
    let servers = setup.servers;
    let doctors = Arc::new(setup.doctors);
    let limits = Limits::new(setup.duration, setup.max_requests);
    let window = a.window_days.map(|d| d.clamp(1, 62));
    let kind = match a.kind {
        ReadKind::Slots => scenario::Read::Slots(window),
        ReadKind::Mine => scenario::Read::Mine,
        ReadKind::Doctor => scenario::Read::Doctor,
        ReadKind::Health => scenario::Read::Health,
    };
    let watch = servers.watch_memory();
    let (clients, elapsed) = scenario::run_clients(clients, |c| {
        scenario::read_client(c, limits.clone(), doctors.clone(), kind)
    })
    .await?;
    let title = format!(
        "reads --kind {:?}: {n} clients over {} server(s), {} doctors",
        a.kind,
        servers.targets.len(),
        doctors.len()
    )
    .to_lowercase();
    finish(&a.common, servers, watch, &title, clients, elapsed, 0, 0).await
}
