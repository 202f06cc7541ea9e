//! The HTTP surface: dashboard pages, server functions, health checks, and
//! the layers in front of them.

use super::auth::guard;
use super::health;
use super::http_api;
use super::state::AppState;
use crate::app::{shell, App};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::OnceLock;
use tower_http::limit::RequestBodyLimitLayer;
use tower_sessions::cookie::{time::Duration, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

/// Largest request body anything accepts; the API sets its own, lower limit
/// so that it can answer in its envelope.
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

pub fn router(state: AppState, sessions: SqliteStore) -> Router {
    let sessions = SessionManagerLayer::new(sessions)
        .with_name("signpost_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(Duration::minutes(
            state.config.session_idle_minutes.into(),
        )))
        // Idle expiry: every request of a signed-in user pushes it back.
        // (Anonymous requests have empty sessions, which are never saved.)
        .with_always_save(true);
    let leptos = state.leptos.clone();

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(http_api::openapi::serve))
        .merge(http_api::router(state.clone()))
        // Also registers every server function under /api/.
        .leptos_routes_with_context(&state, routes(), || (), move || shell(leptos.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Outermost last: body limit, then origin check, then session, then
        // the page guard that needs the session.
        .layer(from_fn_with_state(state.clone(), guard::dashboard_pages))
        .layer(sessions)
        .layer(from_fn_with_state(state.clone(), guard::same_origin))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(state)
}
