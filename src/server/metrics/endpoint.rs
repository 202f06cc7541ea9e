//! `GET /metrics`: on the main listener behind `SIGNPOST_METRICS_TOKEN`
//! (a bearer token), and/or on a listener of its own at
//! `SIGNPOST_METRICS_ADDR`, which is meant to stay unexposed. Also the
//! per-request counting of the HTTP server ([`track`]).

use crate::server::db::{self, now_ms};
use crate::server::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How long a scrape waits for the database's queue figures; past it the
/// queue gauges keep their last values and the rest is served.
const QUEUE_QUERY_LIMIT: Duration = Duration::from_secs(5);

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric, with the gauges of state brought up to date.
pub async fn render(state: &AppState) -> String {
    let m = &state.metrics;
    let held = state.delivery.held();
    m.in_flight.set(held.in_flight as i64);
    m.in_flight_limit
        .set(state.config.delivery.max_in_flight as i64);
    m.held_deliveries.set(held.deliveries as i64);
    m.held_deliveries_limit.set(held.max_deliveries as i64);
    m.held_bytes.set(held.bytes as i64);
    m.held_bytes_limit.set(held.max_bytes as i64);
    match tokio::time::timeout(QUEUE_QUERY_LIMIT, queue(state)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("reading the queue for /metrics: {e}"),
        Err(_) => tracing::warn!("reading the queue for /metrics took too long"),
    }
    m.encode()
}

/// The queue gauges. Every process on a database would read the same
/// figures, and a sum across processes would count them once per process:
/// so only the oldest live worker reports them, and the others report
/// none (`signpost_queue_reporter` says which one does).
async fn queue(state: &AppState) -> sqlx::Result<()> {
    let m = &state.metrics;
    let workers = db::workers::live(&state.db).await?;
    let me = state.delivery.worker_id.get();
    let reporter = workers.first().is_some_and(|w| *w.id == *me);
    m.queue_reporter.set(reporter as i64);
    let now = now_ms();
    // Read before anything is reset: a failed read keeps the last figures.
    let read = if reporter {
        Some((
            db::queue::by_project(&state.db, now).await?,
            db::queue::auto_disabled(&state.db).await?,
        ))
    } else {
        None
    };
    // A project whose queue emptied must not keep its last figure.
    m.queue_deliveries.reset();
    m.queue_oldest_due.reset();
    m.webhooks_disabled.reset();
    m.workers_live
        .set(if reporter { workers.len() as i64 } else { 0 });
    let Some((projects, disabled)) = read else {
        return Ok(());
    };
    for p in projects {
        m.queue_deliveries
            .with_label_values(&[p.project.as_str(), "due"])
            .add(p.due);
        m.queue_deliveries
            .with_label_values(&[p.project.as_str(), "retrying"])
            .add(p.retrying);
        let waited = p.oldest_due_at.map_or(0, |at| (now - at).max(0));
        m.queue_oldest_due
            .with_label_values(&[p.project.as_str()])
            .add(waited as f64 / 1000.0);
    }
    for (project, n) in disabled {
        m.webhooks_disabled
            .with_label_values(&[project.as_str()])
            .set(n);
    }
    Ok(())
}

fn metrics_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// `/metrics` on the main listener: only with the bearer token (the route
/// exists only when one is configured).
async fn with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let expected = state.config.metrics_token.as_deref().unwrap_or_default();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "/metrics needs the bearer token set in SIGNPOST_METRICS_TOKEN\n",
        )
            .into_response();
    }
    metrics_response(render(&state).await)
}

async fn open(State(state): State<AppState>) -> Response {
    metrics_response(render(&state).await)
}

/// `/metrics` for the main listener, when a token is configured.
pub fn on_main_listener(state: &AppState) -> Option<Router<AppState>> {
    state
        .config
        .metrics_token
        .as_ref()
        .map(|_| Router::new().route("/metrics", get(with_token)))
}

/// The whole app of the metrics listener: `/metrics`, open to whoever can
/// reach the address.
pub fn own_listener(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

/// Counts every request by route template (never the raw path: a path
/// holds ids), method and status, and times it.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_label(&req);
    let method = method_label(req.method());
    let began = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.http_duration
        .with_label_values(&[route.as_str(), method])
        .observe(began.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[route.as_str(), method, res.status().as_str()])
        .inc();
    res
}

/// The route a request matched, as registered (`/projects/{pid}/events`);
/// requests that matched none are `static` (files under /pkg/ and the
/// like) or `unmatched`, so that no path a client makes up becomes a label.
fn route_label(req: &Request) -> String {
    if let Some(path) = req.extensions().get::<MatchedPath>() {
        return path.as_str().to_owned();
    }
    let path = req.uri().path();
    if path.starts_with("/pkg/") || path == "/favicon.ico" {
        "static".into()
    } else {
        "unmatched".into()
    }
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
