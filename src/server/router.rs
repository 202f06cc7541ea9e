//! The HTTP surface: dashboard pages, server functions, health checks, and
//! the layers in front of them.

use super::assets;
use super::auth::guard;
use super::db::sessions::Sessions;
use super::health;
use super::http_api;
use super::metrics;
use super::state::AppState;
use crate::app::{shell, App};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::OnceLock;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{time::Duration, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

/// Largest request body a page or a server function accepts (the HTTP API
/// sets its own limits, so that it can answer in its envelope).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The app's routes, worked out once per process. Working them out runs the
/// app with resource loading switched off for the whole process
/// (leptos_server's `SuppressResourceLoad`), so a page that another server in
/// the same process (the integration tests run dozens) starts rendering in
/// that moment would wait forever (leptos-rs/leptos#4773).
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState, sessions: Sessions) -> Router {
    let sessions = SessionManagerLayer::new(sessions)
        .with_name("signpost_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        // Idle expiry, pushed back by `guard::renew_session` every few
        // minutes of use rather than written on every request (it would
        // compete with the delivery engine's writer). Anonymous requests
        // have empty sessions, which are never saved.
        .with_expiry(Expiry::OnInactivity(Duration::minutes(
            state.config.session_idle_minutes.into(),
        )));
    let leptos = state.leptos.clone();
    let hashed = state.leptos.hash_files;

    // Pages and server functions (also registered under /api/ here) take
    // bodies of at most 1 MiB; the HTTP API holds each route to its own
    // limit (64 KiB, an event, a batch of 8 MiB) and answers 413 in its
    // envelope.
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes(),
            || {
                leptos::prelude::provide_context(super::portal::TakenThisRequest::default());
                leptos::prelude::provide_context(super::portal::OneRequest::default());
            },
            move || shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(http_api::openapi::serve))
        .merge(http_api::router(state.clone()))
        .merge(pages)
        // Outermost last: origin check, then session (and its renewal),
        // then the page guard that needs the session.
        .layer(from_fn_with_state(state.clone(), guard::dashboard_pages))
        .layer(from_fn_with_state(state.clone(), guard::renew_session))
        .layer(sessions)
        .layer(from_fn_with_state(state.clone(), guard::same_origin))
        // Before anything else reads the request: is it for us at all?
        .layer(from_fn_with_state(state.clone(), guard::known_host));
    // `/metrics` answers a scraper whatever `Host` it sends, with no
    // session: its token is its guard.
    let app = match metrics::endpoint::on_main_listener(&state) {
        Some(m) => app.merge(m),
        None => app,
    };
    app
        // A request that takes too long (a client sending its body slowly,
        // or a stuck handler) is answered 408 rather than held.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_millis(state.config.request_timeout_ms),
        ))
        // A bug that panics answers 500 and is logged; the process goes on.
        .layer(CatchPanicLayer::new())
        .layer(from_fn_with_state(hashed, assets::cache_control))
        // Pages, JSON and the metrics compressed for a client that takes
        // it (the release build's files come precompressed, and an answer
        // that is already encoded is left as it is). Quality 4: most of
        // brotli's gain at a fraction of its best setting's time.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        // Counted by route template and status (timeouts and panics too).
        .layer(from_fn_with_state(state.clone(), metrics::endpoint::track))
        // Every request has an id (a proxy's `x-request-id`, else a new
        // one): in the span of everything logged while it is served, a 5xx
        // among them, and in the answer, so that a person can quote it.
        // Who may frame the answer, whatever answered (a timeout, a panic).
        .layer(from_fn_with_state(state.clone(), guard::framing))
        .layer(
            ServiceBuilder::new()
                .map_request(drop_odd_request_id)
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_failure(log_failure),
                )
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}

/// Logs a 5xx answer (in the request's span, so with its id), except the
/// 503 of back-pressure, which is the engine working as meant.
fn log_failure(class: ServerErrorsFailureClass, latency: std::time::Duration, _: &tracing::Span) {
    let ms = latency.as_millis() as u64;
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {}
        ServerErrorsFailureClass::StatusCode(status) => {
            tracing::error!(%status, ms, "answered with a server error")
        }
        ServerErrorsFailureClass::Error(e) => tracing::error!(ms, "request failed: {e}"),
    }
}

/// The span of one request: its id, method and path, never a secret (the
/// query may carry a setup token, a `/join/` path is a sign-in link, a
/// `/portal/` path a portal link). At error level, so that it is there
/// whenever an error is logged.
fn request_span(req: &Request) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let path = req.uri().path();
    let path = if path.starts_with("/join/") {
        "/join/…"
    } else if path.starts_with("/portal/") {
        "/portal/…"
    } else {
        path
    };
    tracing::error_span!("request", id, method = %req.method(), path)
}

/// A client's `x-request-id` is kept only if it looks like an id (1 to 64
/// letters, digits and `-_.:`); otherwise a new one is made.
fn drop_odd_request_id(mut req: Request) -> Request {
    let odd = req.headers().get("x-request-id").is_some_and(|v| {
        let v = v.as_bytes();
        v.is_empty()
            || v.len() > 64
            || !v
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if odd {
        req.headers_mut().remove("x-request-id");
    }
    req
}
