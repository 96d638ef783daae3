//! The delivery worker: expands notification events into deliveries and
//! sends those that are due, with a lease on each so that any number of
//! instances share the work (decision 0013). Runs inside `medimeet serve`.

use super::SendError;
use super::email::Mailer;
use super::sms::Texter;
use super::webhook;
use crate::usecases::Clinic;
use crate::usecases::notifications::{self, Channel, Due};
use std::time::Duration;
use tokio::sync::watch;

/// How often the worker looks for work when there was none.
const IDLE: Duration = Duration::from_secs(1);

/// The channels this clinic can send on: email once `--smtp-url` is set,
/// SMS once `--sms-url` is, webhooks always (an admin adds the endpoints).
/// A delivery on a channel that is not configured is kept as
/// `not_configured` (never lost).
#[derive(Debug, Clone, Default)]
pub struct Channels {
    configured: Vec<Channel>,
    mailer: Option<Mailer>,
    texter: Option<Texter>,
    webhooks: Option<webhook::Caller>,
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
        if let (Some(url), Some(body)) = (&s.sms_url, &s.sms_body) {
            c.texter = Some(Texter::new(
                url,
                s.sms_auth_header.as_ref(),
                body,
                public_url,
            )?);
            c.configured.push(Channel::Sms);
        }
        c.webhooks = Some(webhook::Caller::new()?);
        c.configured.push(Channel::Webhook);
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
    // Holds that ran out free their slots here (decision 0015).
    crate::usecases::appointments::release_expired_holds(clinic).await?;
    let expanded = notifications::expand(clinic).await?;
    let due = notifications::due(clinic, owner, channels.configured(), 50).await?;
    let handled = due.len();
    for d in due {
        let result = match (&d, &channels.mailer, &channels.texter, &channels.webhooks) {
            (Due::Person(o), Some(mailer), _, _) if o.channel == Channel::Email => {
                mailer.send(o).await
            }
            (Due::Person(o), _, Some(texter), _) if o.channel == Channel::Sms => {
                texter.send(o).await
            }
            (Due::Code(c), Some(mailer), _, _) if c.channel == Channel::Email => {
                mailer.send_code(c).await
            }
            (Due::Code(c), _, Some(texter), _) if c.channel == Channel::Sms => {
                texter.send_code(c).await
            }
            // Signed at the wall-clock time: the receiver checks it against its own clock.
            (Due::Webhook(call), _, _, Some(caller)) => {
                caller.send(call, jiff::Timestamp::now()).await
            }
            _ => Err(SendError::permanent("no sender for this channel")),
        };
        match result {
            Ok(()) => notifications::sent(clinic, owner, &d).await?,
            Err(e) => match &d {
                Due::Webhook(call) if e.gone => {
                    notifications::gone(clinic, owner, call, &e.message).await?
                }
                _ => {
                    let jitter: f64 = rand::random();
                    notifications::failed(clinic, owner, &d, &e.message, e.permanent, jitter)
                        .await?
                }
            },
        }
    }
    Ok(expanded + handled)
}

/// How often the worker logs the queue's figures while there is work.
const REPORT: Duration = Duration::from_secs(60);

/// Logs the queue: what waits, how late the oldest is, what went out and
/// what died (figures only; no addresses, no names).
async fn report(clinic: &Clinic) {
    match crate::usecases::webhooks::queue_report(clinic).await {
        Ok(r) if r.figures.pending > 0 || r.figures.unexpanded > 0 => tracing::info!(
            pending = r.figures.pending,
            due = r.figures.due,
            oldest_due_age_secs = r.oldest_due_age_secs,
            retrying = r.figures.retrying,
            sent = r.figures.sent,
            dead = r.figures.dead,
            dropped = r.figures.dropped,
            not_configured = r.figures.not_configured,
            "notification queue"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = ?e, "cannot read the notification queue"),
    }
}

/// Runs rounds until `stop` turns true.
pub async fn run(clinic: Clinic, channels: Channels, mut stop: watch::Receiver<bool>) {
    let owner = crate::auth::new_token();
    let mut last_report = tokio::time::Instant::now();
    loop {
        if last_report.elapsed() >= REPORT {
            report(&clinic).await;
            last_report = tokio::time::Instant::now();
        }
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
