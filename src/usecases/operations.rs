//! What `GET /metrics` shows (issue 12, decision 0016): the counters this
//! instance kept, and the notification queue and database pools read now.
//!
//! The caller is whoever holds the metrics token (`--metrics-token`), not a
//! person: no account, no session. The figures are counts only, never a
//! name, a phone, an id or a message.

use super::{Clinic, Error, Result, Thing};
use crate::auth::same_secret;
use crate::metrics::{Gauges, PoolGauge};

/// The metrics text (Prometheus text format 0.0.4) for a scraper that
/// sent `bearer`: not found while no token is configured, unauthenticated
/// unless `bearer` is the token (compared in constant time).
pub async fn scrape(clinic: &Clinic, bearer: Option<&str>) -> Result<String> {
    let Some(token) = &clinic.settings().metrics_token else {
        return Err(Error::NotFound(Thing::Resource));
    };
    if !bearer.is_some_and(|b| same_secret(b, token.expose())) {
        return Err(Error::Unauthenticated);
    }
    let gauges = gauges(clinic).await?;
    clinic
        .metrics()
        .render(&gauges)
        .map_err(|e| Error::internal(&e))
}

/// The notification queue and the database pools now.
async fn gauges(clinic: &Clinic) -> Result<Gauges> {
    let now = clinic.now().as_second();
    let q = clinic.store.queue_figures(now).await?;
    Ok(Gauges {
        queue_pending: q.pending,
        queue_due: q.due,
        queue_retrying: q.retrying,
        queue_oldest_due_age_secs: q.oldest_due_at.map_or(0, |d| (now - d).max(0)),
        queue_unexpanded_events: q.unexpanded,
        deliveries_by_state: vec![
            ("sent", q.sent),
            ("dead", q.dead),
            ("dropped", q.dropped),
            ("not_configured", q.not_configured),
        ],
        pools: clinic
            .store
            .pool_use()
            .into_iter()
            .map(|p| PoolGauge {
                pool: p.pool,
                open: p.open,
                idle: p.idle,
                max: p.max,
            })
            .collect(),
    })
}
