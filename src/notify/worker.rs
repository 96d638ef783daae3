//! The delivery worker: expands notification events into deliveries and
//! sends those that are due, with a lease on each so that any number of
//! instances share the work (decision 0013). Runs inside `medimeet serve`.

use super::email::{Mailer, SendError};
use crate::usecases::Clinic;
use crate::usecases::notifications::{self, Channel};
use std::time::Duration;
use tokio::sync::watch;

/// How often the worker looks for work when there was none.
const IDLE: Duration = Duration::from_secs(1);

/// The channels this clinic can send on: email once `--smtp-url` is set.
/// A delivery on a channel that is not configured is kept as
/// `not_configured` (never lost).
#[derive(Debug, Clone, Default)]
pub struct Channels {
    configured: Vec<Channel>,
    mailer: Option<Mailer>,
}

impl Channels {
    /// The channels of these settings; `public_url` is the site's address
    /// for links in messages.
    pub fn from_settings(s: &crate::config::Settings, public_url: &str) -> Result<Self, String> {
        let mut c = Channels::default();
        if let Some(url) = &s.smtp_url {
            c.mailer = Some(Mailer::new(url.expose(), &s.mail_from, public_url)?);
            c.configured.push(Channel::Email);
        }
        Ok(c)
    }

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
        let result = match (o.channel, &channels.mailer) {
            (Channel::Email, Some(mailer)) => mailer.send(&o).await,
            _ => Err(SendError {
                permanent: true,
                message: "no sender for this channel".into(),
            }),
        };
        match result {
            Ok(()) => notifications::sent(clinic, owner, &o).await?,
            Err(e) => {
                let jitter: f64 = rand::random();
                notifications::failed(clinic, owner, &o, &e.message, e.permanent, jitter).await?;
            }
        }
    }
    Ok(expanded + handled)
}

/// Runs rounds until `stop` turns true.
pub async fn run(clinic: Clinic, channels: Channels, mut stop: watch::Receiver<bool>) {
    let owner = crate::auth::new_token();
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
