//! Delivering relayed signaling messages to this instance's sockets
//! (decision 0011, docs/visit.md).
//!
//! Every message is a `visit_signal` row ([`Store::publish_signal`]). On
//! SQLite, one instance, the writer hands it to the [`Hub`] directly. On
//! PostgreSQL the writer NOTIFYs the row's id and every instance's listener
//! loads the rows after the last one it delivered: a notification is only a
//! wake-up, so one lost while the listener reconnected (PostgreSQL keeps none
//! for an absent listener) costs nothing, the next load finds the row.

use super::Store;
use super::visits::Signal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// The channel the signal ids are NOTIFYed on.
pub(crate) const CHANNEL: &str = "medimeet_visit";

/// How many undelivered signals a slow socket may fall behind before it is
/// told so (and closes; its browser reconnects).
const BACKLOG: usize = 1024;

/// This instance's fan-out of relayed signals to its sockets. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<Arc<Signal>>,
    /// The PostgreSQL listener, started by the first subscriber.
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BACKLOG);
        Self {
            inner: Arc::new(Inner {
                tx,
                listener: Mutex::new(None),
            }),
        }
    }

    /// Every signal relayed from now on (each socket filters its visit's).
    /// On PostgreSQL the first call starts this instance's listener.
    pub fn subscribe(&self, store: &Store) -> broadcast::Receiver<Arc<Signal>> {
        let rx = self.inner.tx.subscribe();
        if let Store::Postgres(_) = store
            && let Ok(mut listener) = self.inner.listener.lock()
            && listener.as_ref().is_none_or(JoinHandle::is_finished)
        {
            *listener = Some(tokio::spawn(listen(store.clone(), self.inner.tx.clone())));
        }
        rx
    }

    /// Hands a signal to this instance's sockets.
    pub(crate) fn deliver(&self, signal: Signal) {
        // No receiver: no socket open on this instance; nothing to do.
        let _ = self.inner.tx.send(Arc::new(signal));
    }

    /// Stops the listener (on shutdown, before the pool closes).
    pub fn close(&self) {
        if let Ok(mut listener) = self.inner.listener.lock()
            && let Some(task) = listener.take()
        {
            task.abort();
        }
    }
}

/// PostgreSQL: LISTEN, and on every notification (and every reconnection)
/// deliver the rows after the last one delivered, in id order.
async fn listen(store: Store, tx: broadcast::Sender<Arc<Signal>>) {
    let Store::Postgres(pool) = &store else {
        return;
    };
    // Start after what exists: older rows were for sockets of before.
    let mut last = loop {
        match store.last_signal_id().await {
            Ok(id) => break id,
            Err(e) if pool.is_closed() => {
                tracing::debug!(error = %e, "signal listener stopping");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "signal listener cannot start; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "signal listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "signal listener cannot LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever was written while no listener was there.
        catch_up(&store, &mut last, &tx).await;
        loop {
            match listener.try_recv().await {
                // A wake-up (`Ok(Some)`), or the connection was lost and is
                // back (`Ok(None)`), notifications in between lost: either
                // way, load what is new.
                Ok(_) => catch_up(&store, &mut last, &tx).await,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "signal listener lost; reconnecting");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

/// Delivers every row after `last`, moving `last` along.
async fn catch_up(store: &Store, last: &mut i64, tx: &broadcast::Sender<Arc<Signal>>) {
    const BATCH: i64 = 500;
    loop {
        let rows = match store.signals_after(*last, BATCH).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load relayed signals");
                return;
            }
        };
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
        for s in rows {
            *last = (*last).max(s.id);
            let _ = tx.send(Arc::new(s));
        }
        if !full {
            return;
        }
    }
}
