//! Everything that runs only on the server. This module is the one `ssr`
//! gate: the rest of the crate is shared with the browser build.

pub mod account;
pub mod alerts;
pub mod assets;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod context;
pub mod db;
pub mod delivery;
pub mod delivery_log;
pub mod errors;
pub mod events;
pub mod filters;
pub mod health;
pub mod http_api;
pub mod listener;
pub mod metrics;
pub mod portal;
pub mod projects;
pub mod replays;
pub mod router;
pub mod scope;
pub mod secrets;
pub mod state;
pub mod system;
pub mod team;
pub mod url_guard;
pub mod webhooks;

use anyhow::Context;
use config::Config;
use db::sessions::Sessions;
use state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

/// Opens and migrates the database and builds the shared state.
pub async fn prepare(config: Config) -> anyhow::Result<(AppState, Sessions)> {
    let db = db::connect_with(
        &config.database_url,
        config.sqlite_synchronous.synchronous(),
    )
    .await?;
    db::migrate(&db).await?;
    let sessions = Sessions::open(&db)
        .await
        .context("creating the session table")?;
    let mut leptos = leptos::config::get_configuration(None)
        .context("reading the Leptos configuration")?
        .leptos_options;
    if let Some(addr) = config.addr {
        leptos.site_addr = addr;
    }
    assets::use_hashed_names(&mut leptos);
    let secrets = secrets::SecretBox::load(config.secret_key.as_deref(), &config.key_file())?;
    // Every process must seal and open webhook secrets with one key.
    let first = db::settings::agree(
        &db,
        db::settings::SECRET_KEY_FINGERPRINT,
        secrets.fingerprint(),
    )
    .await
    .context("reading the secret key's fingerprint")?;
    if first != secrets.fingerprint() {
        anyhow::bail!(
            "this database's webhook secrets were sealed with another secret key: give this \
             process the same SIGNPOST_SECRET_KEY (or key file) as the first process that \
             used the database"
        );
    }
    Ok((AppState::new(db, config, leptos, secrets), sessions))
}

/// Serves on `listener` until `shutdown` completes. Tests call this with a
/// listener on 127.0.0.1:0.
pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (state, sessions) = prepare(config).await?;
    serve_prepared(listener, state, sessions, shutdown).await
}

/// Serves what [`prepare`] made (tests keep a clone of the state, to look
/// at what the worker holds).
pub async fn serve_prepared(
    listener: TcpListener,
    state: AppState,
    sessions: Sessions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let worker = start_worker(&state).await?;
    let maintenance = tokio::spawn(maintenance(state.clone(), Some(sessions.clone())));
    let metrics = serve_metrics(&state).await?;
    let limits = listener::Limits {
        max_connections: state.config.max_connections as usize,
        header_timeout: Duration::from_millis(state.config.header_timeout_ms),
        shutdown_grace: Duration::from_millis(state.config.delivery.shutdown_grace_ms),
    };
    let local = listener.local_addr()?;
    auth::setup_token::arm(&state, local).await?;
    let alerting = alerts::spawn(state.clone(), state.config.base_url(&local.to_string()));
    let replaying = replays::spawn(state.clone());
    let app = router::router(state, sessions);
    tracing::info!("listening on http://{local}");
    let served = listener::serve(listener, app, limits, shutdown)
        .await
        .context("server failed");
    // No more requests: finish or hand back the deliveries in flight.
    maintenance.abort();
    replaying.abort();
    alerting.iter().for_each(|t| t.abort());
    if let Some(m) = metrics {
        m.abort();
    }
    worker.shutdown().await;
    served
}

/// The metrics listener, when `--metrics-addr` asks for one.
async fn serve_metrics(state: &AppState) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(addr) = state.config.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for /metrics on {addr}"))?;
    let local = listener.local_addr()?;
    let _ = state.metrics_addr.set(local);
    tracing::info!("serving /metrics on http://{local}/metrics");
    let app = metrics::endpoint::own_listener(state.clone());
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the metrics listener failed: {e}");
        }
    })))
}

async fn start_worker(state: &AppState) -> anyhow::Result<delivery::Worker> {
    delivery::start(
        state.db.clone(),
        state.config.delivery.clone(),
        state.config.allow_targets.clone(),
        state.resolver.clone(),
        state.delivery.clone(),
    )
    .await
}

/// `signpost worker`: delivers until Ctrl-C or SIGTERM, serving nothing.
pub async fn work(config: Config) -> anyhow::Result<()> {
    let (state, _) = prepare(config).await?;
    let worker = start_worker(&state).await?;
    let maintenance = tokio::spawn(maintenance(state.clone(), None));
    let metrics = serve_metrics(&state).await?;
    let alerting = alerts::spawn(
        state.clone(),
        state
            .config
            .base_url(&listen_addr(&state.config)?.to_string()),
    );
    let replaying = replays::spawn(state.clone());
    tracing::info!(worker = %state.delivery.worker_id, "worker started");
    shutdown_signal().await;
    maintenance.abort();
    replaying.abort();
    alerting.iter().for_each(|t| t.abort());
    if let Some(m) = metrics {
        m.abort();
    }
    worker.shutdown().await;
    Ok(())
}

/// The address `serve` listens on: `--addr`, else Leptos's site address.
pub fn listen_addr(config: &Config) -> anyhow::Result<SocketAddr> {
    Ok(match config.addr {
        Some(addr) => addr,
        None => {
            leptos::config::get_configuration(None)
                .context("reading the Leptos configuration")?
                .leptos_options
                .site_addr
        }
    })
}

/// `signpost serve`: binds the configured address and serves until Ctrl-C
/// or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = listen_addr(&config)?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    serve_on(listener, config, shutdown_signal()).await
}

/// Periodic clean-up: expired sessions, old sign-in failures, and
/// deliveries past the retention period; one process at a time on a
/// shared database.
async fn maintenance(state: AppState, sessions: Option<Sessions>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let sweep = sweep(&state, sessions.as_ref());
        match state.db.exclusive(db::Exclusive::Maintenance, sweep).await {
            Ok(Some(())) => {}
            Ok(None) => tracing::debug!("another process is sweeping"),
            Err(e) => tracing::warn!("maintenance: {e}"),
        }
    }
}

async fn sweep(state: &AppState, sessions: Option<&Sessions>) {
    if let Some(sessions) = sessions {
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!("deleting expired sessions: {e}");
        }
    }
    // On SQLite beside the writer's commits, through its connection (one
    // writer anyway); on PostgreSQL through the pool, not taking one of the
    // writer tasks' two connections.
    let retention_db = if state.db.is_postgres() {
        &state.db
    } else {
        &state.delivery.writer
    };
    match delivery::retention::sweep(retention_db, state.config.delivery.retention_days).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deliveries = n,
            "deleted deliveries past the retention period"
        ),
        Err(e) => tracing::warn!("retention: {e}"),
    }
    let before = db::now_ms() - auth::throttle::WINDOW_MS;
    alerts::forget(state).await;
    // Tenants no link has called for a while take no room.
    state.portal_limiter.retain_recent();
    if let Err(e) = db::portal::forget_shown(&state.db).await {
        tracing::warn!("forgetting portal results no page took: {e}");
    }
    if let Err(e) = db::login_failures::delete_older_than(&state.db, before).await {
        tracing::warn!("deleting old sign-in failures: {e}");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
