//! `flow`: the real patient flow (register, log in, list doctors, read slots,
//! book, some cancel or reschedule); `--mix book` books as fast as it can.

use crate::harness::{Setup, finish};
use crate::scenario::{self, FlowMix, Limits};
use crate::{FlowArgs, Mix};
use std::sync::Arc;

pub async fn run(a: FlowArgs) -> Result<bool, String> {
    let mut setup = Setup::begin(&a.common).await?;
    let mut clients = setup.registered_clients().await?;
    setup.done(&mut clients);
    let (n, servers) = (setup.n, setup.servers);
    let doctors = Arc::new(setup.doctors);
    let limits = Limits::new(setup.duration, setup.max_requests);
    let watch = servers.watch_memory();
    let (clients, elapsed) = match a.mix {
        Mix::Mixed => {
            let mix = FlowMix {
                browse: a.browse.clamp(1, 20),
                window_days: a.window_days.unwrap_or(7).clamp(1, 62),
                cancel_share: a.cancel_share.clamp(0.0, 1.0),
                reschedule_share: a.reschedule_share.clamp(0.0, 1.0),
            };
            scenario::run_clients(clients, |c| {
                scenario::flow_client(c, limits.clone(), doctors.clone(), mix.clone())
            })
            .await?
        }
        Mix::Book => {
            let days = a.window_days.unwrap_or(62).clamp(1, 62);
            scenario::run_clients(clients, |c| {
                scenario::book_client(c, limits.clone(), doctors.clone(), days)
            })
            .await?
        }
    };
    let title = format!(
        "flow --mix {:?}: {n} clients over {} server(s), {} doctors",
        a.mix,
        servers.targets.len(),
        doctors.len()
    )
    .to_lowercase();
    finish(&a.common, servers, watch, &title, clients, elapsed, 0, 0).await
}
