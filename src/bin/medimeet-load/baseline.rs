//! `baseline`: the raw durable commit rate of the database, on its own (the
//! HTTP runs measure it too, after the run, unless `--no-baseline`).

use crate::{BaselineArgs, MAX_DURATION_SECS, MAX_REQUESTS, check, client};
use medimeet::config::DatabaseUrl;
use std::time::Duration;

pub async fn run(a: BaselineArgs) -> Result<bool, String> {
    client::database_is_local(&a.database_url).await?;
    let backend = backend_of(&a.database_url);
    for c in effective_connections(&a.database_url, &a.connections) {
        let b = check::baseline(
            &a.database_url,
            c,
            Duration::from_secs(a.duration.min(MAX_DURATION_SECS)),
            a.requests.min(MAX_REQUESTS),
        )
        .await?;
        check::print_baseline(&b, backend);
    }
    Ok(true)
}

pub fn backend_of(url: &DatabaseUrl) -> &'static str {
    if url.expose().trim().starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    }
}

/// SQLite has exactly one writer connection, whatever is asked.
pub fn effective_connections(url: &DatabaseUrl, asked: &[u32]) -> Vec<u32> {
    if backend_of(url) == "sqlite" {
        vec![1]
    } else {
        let mut v: Vec<u32> = asked.iter().map(|c| (*c).clamp(1, 256)).collect();
        v.dedup();
        v
    }
}
