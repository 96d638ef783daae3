//! Building and running the server. `Application::build` binds the listener
//! first, so tests pass port 0 and go through the real TCP stack.

use crate::clock::Clock;
use crate::config::Config;
use crate::http::{AppState, app};
use crate::store::{Store, StoreError};
use crate::usecases::Clinic;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
    #[error("invalid setting {0}")]
    Config(String),
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// How the notification worker sends (checked at start-up).
    channels: crate::notify::worker::Channels,
    /// Whether this process runs the notification worker too.
    worker: bool,
}

impl Application {
    /// Opens and migrates the database and binds the listener.
    pub async fn build(cfg: &Config, clock: Clock) -> Result<Self, StartupError> {
        let store = Store::connect(&cfg.database).await?;
        store.migrate().await?;
        Self::with_store(cfg, store, clock).await
    }

    /// Binds the listener for an already opened store.
    pub async fn with_store(
        cfg: &Config,
        store: Store,
        clock: Clock,
    ) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(cfg.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: cfg.listen,
                    source,
                })?;
        let public_url = match &cfg.settings.public_url {
            Some(u) => u.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let channels = crate::notify::worker::Channels::from_settings(&cfg.settings, &public_url)
            .map_err(StartupError::Config)?;
        // The faces' links (the calendar feeds' URLs) use the same address
        // as the messages' links.
        let mut settings = cfg.settings.clone();
        settings.public_url = Some(public_url);
        Ok(Self {
            listener,
            state: AppState {
                clinic: Clinic::new(store, clock, Arc::new(settings))
                    .map_err(|e| StartupError::Config(e.to_string()))?,
            },
            channels,
            worker: true,
        })
    }

    /// Leaves the notification queue to `medimeet worker` processes.
    pub fn without_worker(mut self) -> Self {
        self.worker = false;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The database the server runs on (to load demo data before serving).
    pub fn store(&self) -> &Store {
        self.state.clinic.store()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and
    /// closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let clinic = self.state.clinic.clone();
        let (stop_worker, stop) = tokio::sync::watch::channel(false);
        let worker = self.worker.then(|| {
            tokio::spawn(crate::notify::worker::run(
                clinic.clone(),
                self.channels,
                stop,
            ))
        });
        let settings = self.state.clinic.settings();
        let caps = crate::http::server::Caps::of(
            &settings.connections,
            crate::http::server::descriptor_limit(),
            settings.trust_forwarded_for,
        );
        tracing::info!(
            max_connections = caps.max,
            per_address = ?caps.per_address,
            "connection caps"
        );
        let router = app(self.state);
        crate::http::server::serve(self.listener, router, caps, shutdown).await?;
        let _ = stop_worker.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        clinic.close().await;
        Ok(())
    }
}

/// `medimeet worker`: delivers notifications until `shutdown` completes,
/// with no web server (decision 0014). Any number of these (and of `serve`)
/// share the queue.
pub async fn run_worker(
    cfg: &Config,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let public_url = match &cfg.settings.public_url {
        Some(u) => u.clone(),
        None => format!("http://{}", cfg.listen),
    };
    let channels = crate::notify::worker::Channels::from_settings(&cfg.settings, &public_url)
        .map_err(StartupError::Config)?;
    let store = Store::connect(&cfg.database).await?;
    store.migrate().await?;
    let clinic = Clinic::new(store, clock, Arc::new(cfg.settings.clone()))
        .map_err(|e| StartupError::Config(e.to_string()))?;
    let (stop_worker, stop) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::notify::worker::run(clinic.clone(), channels, stop));
    tracing::info!(
        backend = clinic.store().backend(),
        "medimeet worker running"
    );
    shutdown.await;
    let _ = stop_worker.send(true);
    let _ = worker.await;
    clinic.close().await;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
