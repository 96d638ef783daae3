//! The delivery worker: expands notification events into deliveries and
//! sends those that are due, with a lease on each so that any number of
//! instances share the work (decision 0013). Runs inside `medimeet serve`.

use crate::usecases::Clinic;
use crate::usecases::notifications::{self, Channel};
use std::time::Duration;
use tokio::sync::watch;

/// How often the worker looks for work when there was none.
const IDLE: Duration = Duration::from_secs(1);

/// The channels this clinic can send on. None yet is configured by any
/// setting: every delivery is kept as `not_configured` (never lost), to be
/// sent once its channel exists.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    configured: Vec<Channel>,
}

impl Channels {
    pub fn configured(&self) -> &[Channel] {
        &self.configured
    }
}

/// One round: expand new events, then handle what is due. The number of
/// events and deliveries handled.
pub async fn tick(
    clinic: &Clinic,
    owner: &str,
    channels: &Channels,
) -> crate::usecases::Result<usize> {
    let expanded = notifications::expand(clinic).await?;
    let due = notifications::due(clinic, owner, channels.configured(), 50).await?;
    let handled = due.len();
    for o in due {
        // No channel can send yet (see `Channels`): unreachable until one is
        // configured, but recorded honestly if it ever happens.
        notifications::failed(clinic, owner, &o, "no sender for this channel", true, 0.0).await?;
    }
    Ok(expanded + handled)
}

/// Runs rounds until `stop` turns true.
pub async fn run(clinic: Clinic, channels: Channels, mut stop: watch::Receiver<bool>) {
    let bytes: [u8; 8] = rand::random();
    let owner: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    loop {
        let busy = match tick(&clinic, &owner, &channels).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = ?e, "notification worker round failed");
                false
            }
        };
        if *stop.borrow() {
            return;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
