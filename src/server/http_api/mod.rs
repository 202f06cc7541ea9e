//! The HTTP API for machine clients (DESIGN §4), compatible with Photon
//! Spectrum's paths and envelope. Every route sits under
//! `/projects/{projectId}/…`, works with and without a trailing slash, and
//! needs HTTP Basic `projectId:projectSecret`.

mod envelope;
pub mod openapi;
mod webhooks;

pub use envelope::ApiError;

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

pub fn router(state: AppState) -> Router<AppState> {
    let per_second = NonZeroU32::new(state.config.api_rate_limit).unwrap_or(NonZeroU32::MIN);
    let limiter: Arc<DefaultKeyedRateLimiter<String>> =
        Arc::new(RateLimiter::keyed(Quota::per_second(per_second)));

    let routes: [(&str, MethodRouter<AppState>); 3] = [
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
    ];
    let mut router = Router::new();
    for (path, method_router) in routes {
        router = router
            .route(path, method_router.clone())
            .route(&format!("{path}/"), method_router);
    }
    router
        // Anything else under a project: a JSON 404, not the dashboard's page.
        .route("/projects/{pid}/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state((state, limiter), authenticate))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "No such endpoint")
}

/// Checks Basic credentials against the project in the path, then the
/// project's rate limit.
async fn authenticate(
    State((state, limiter)): State<(AppState, Arc<DefaultKeyedRateLimiter<String>>)>,
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
            format!(
                "Over the rate limit of {} requests per second for this project",
                state.config.api_rate_limit
            ),
        );
        err.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return err.into_response();
    }
    next.run(req).await
}
