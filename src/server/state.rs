use super::secrets::SecretBox;
use super::url_guard::Resolver;
use super::{config::Config, db::Db};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos: LeptosOptions,
    pub secrets: SecretBox,
    /// Resolves webhook hosts for the URL guard (stubbed in tests).
    pub resolver: Resolver,
    /// The delivery worker of this process.
    pub delivery: super::delivery::Handle,
    /// What this process counts, for `/metrics`.
    pub metrics: Arc<super::metrics::Metrics>,
    /// Where the metrics listener listens, once it does.
    pub metrics_addr: Arc<std::sync::OnceLock<std::net::SocketAddr>>,
    /// Once a user exists one always does (the last admin cannot be removed),
    /// so after the first `true` the database is not asked again.
    has_users: Arc<AtomicBool>,
    /// What `/setup` needs while no user exists, if anything (decided once,
    /// when the server starts listening: see [`super::auth::setup_token`]).
    pub setup_token: Arc<std::sync::OnceLock<String>>,
    /// Server-function calls of portal links, per tenant: `--api-rate-limit`
    /// a second, as the platform's own API calls per project.
    pub portal_limiter: Arc<governor::DefaultKeyedRateLimiter<String>>,
    /// Each project's event schemas, compiled.
    pub catalog: Arc<super::catalog::Catalog>,
    /// Wakes this process's replay loop when a replay starts here.
    pub replays: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(db: Db, config: Config, leptos: LeptosOptions, secrets: SecretBox) -> Self {
        let metrics = Arc::new(super::metrics::Metrics::new());
        let per_second =
            std::num::NonZeroU32::new(config.api_rate_limit).unwrap_or(std::num::NonZeroU32::MIN);
        AppState {
            portal_limiter: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_second(
                per_second,
            ))),
            delivery: super::delivery::Handle::new(
                db.clone(),
                // The URL already opened `db`, so it parses.
                super::db::writer(
                    &config.database_url,
                    config.sqlite_synchronous.synchronous(),
                )
                .expect("the database URL parses"),
                secrets.clone(),
                config.allow_targets.clone(),
                &config.delivery,
                metrics.clone(),
            ),
            metrics,
            metrics_addr: Default::default(),
            catalog: Default::default(),
            replays: Default::default(),
            db,
            resolver: config.resolver.0.clone(),
            config: Arc::new(config),
            leptos,
            secrets,
            has_users: Arc::new(AtomicBool::new(false)),
            setup_token: Default::default(),
        }
    }

    pub async fn has_users(&self) -> sqlx::Result<bool> {
        if self.has_users.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let exists = super::db::users::any_exist(&self.db).await?;
        if exists {
            self.has_users.store(true, Ordering::Relaxed);
        }
        Ok(exists)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
