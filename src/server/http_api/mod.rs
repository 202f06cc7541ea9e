//! The HTTP API for machine clients (docs/http-api.md), compatible with Photon
//! Spectrum's paths and envelope. Every route sits under
//! `/projects/{projectId}/…`, works with and without a trailing slash, and
//! needs HTTP Basic `projectId:projectSecret`.

mod alerts;
mod deliveries;
mod envelope;
mod event_log;
mod event_types;
mod events;
pub mod openapi;
mod portal;
mod replays;
mod webhooks;

pub use envelope::{iso, ApiError};

use super::state::AppState;
use crate::server::projects;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Largest JSON body the management API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest batch of events, in bytes (each event is also held to
/// `SIGNPOST_MAX_EVENT_BYTES`).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

fn limiter(per_second: u32) -> Limiter {
    let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_second(per_second)))
}

/// Every route both with and without a trailing slash.
fn routes(list: Vec<(&str, MethodRouter<AppState>)>) -> Router<AppState> {
    let mut router = Router::new();
    for (path, method_router) in list {
        router = router
            .route(path, method_router.clone())
            .route(&format!("{path}/"), method_router);
    }
    router
}

pub fn router(state: AppState) -> Router<AppState> {
    // One quota per project for the management calls, wherever they sit.
    let manage_auth = from_fn_with_state(
        (
            state.clone(),
            limiter(state.config.api_rate_limit),
            state.config.api_rate_limit,
        ),
        authenticate,
    );
    let manage = routes(vec![
        (
            "/projects/{pid}/webhooks",
            get(webhooks::list).post(webhooks::create),
        ),
        (
            "/projects/{pid}/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        ),
        (
            "/projects/{pid}/webhooks/{id}/rotate",
            post(webhooks::rotate),
        ),
        (
            "/projects/{pid}/webhooks/{id}/rotate/finish",
            post(webhooks::finish_rotation),
        ),
        ("/projects/{pid}/webhooks/{id}/test", post(events::test)),
        (
            "/projects/{pid}/webhooks/{id}/deliveries",
            get(deliveries::list),
        ),
        (
            "/projects/{pid}/webhooks/{id}/replay",
            post(deliveries::replay),
        ),
        ("/projects/{pid}/deliveries/{did}", get(deliveries::get)),
        (
            "/projects/{pid}/deliveries/{did}/redeliver",
            post(deliveries::redeliver),
        ),
        (
            "/projects/{pid}/deliveries/{did}/cancel",
            post(deliveries::cancel),
        ),
        ("/projects/{pid}/events/{id}", get(event_log::get)),
        ("/projects/{pid}/replay", post(replays::start)),
        ("/projects/{pid}/replays/{id}", get(replays::get)),
        ("/projects/{pid}/event-types", get(event_types::list)),
        (
            "/projects/{pid}/event-types/{name}",
            get(event_types::get)
                .put(event_types::put)
                .delete(event_types::delete),
        ),
        ("/projects/{pid}/portal-links", post(portal::create)),
        ("/projects/{pid}/alerts", get(alerts::get).put(alerts::put)),
    ])
    // Anything else under a project: a JSON 404, not the dashboard's page.
    .route("/projects/{pid}/{*rest}", axum::routing::any(not_found))
    .method_not_allowed_fallback(method_not_allowed)
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(manage_auth.clone());
    // Publishing has its own body limits and its own (higher) rate limit:
    // the platform publishes far more often than people manage webhooks.
    // Reading the events (`GET /events`) shares the path and is a
    // management call.
    let max_event = state.config.delivery.max_event_bytes as usize;
    let ingest_auth = from_fn_with_state(
        (
            state.clone(),
            limiter(state.config.ingest_rate_limit),
            state.config.ingest_rate_limit,
        ),
        authenticate,
    );
    let publish = routes(vec![(
        "/projects/{pid}/events",
        post(events::publish)
            .layer(DefaultBodyLimit::max(max_event))
            .layer(ingest_auth.clone())
            .merge(
                get(event_log::list)
                    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                    .layer(manage_auth),
            ),
    )])
    .merge(routes(vec![(
        "/projects/{pid}/events/batch",
        post(events::publish_batch)
            .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES.max(max_event)))
            .layer(ingest_auth),
    )]))
    .method_not_allowed_fallback(method_not_allowed);
    manage.merge(publish)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "No such endpoint")
}

/// A known path with a method it does not take (axum adds `Allow`).
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "This endpoint does not take that method",
    )
}

/// Checks Basic credentials against the project in the path, then the
/// project's rate limit.
async fn authenticate(
    State((state, limiter, per_second)): State<(AppState, Limiter, u32)>,
    req: Request,
    next: Next,
) -> Response {
    let pid = req
        .uri()
        .path()
        .split('/')
        .nth(2)
        .unwrap_or_default()
        .to_string();
    let credentials = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| B64.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let Some((user, secret)) = credentials.as_deref().and_then(|c| c.split_once(':')) else {
        return ApiError::unauthorized().into_response();
    };
    if user != pid {
        return ApiError::unauthorized().into_response();
    }
    match projects::authenticate(&state, &pid, secret).await {
        Ok(true) => {}
        Ok(false) => return ApiError::unauthorized().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    }
    if let Err(not_until) = limiter.check_key(&pid) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Over the rate limit of {per_second} requests per second for this project"),
        );
        err.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return err.into_response();
    }
    next.run(req).await
}
