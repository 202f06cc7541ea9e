//! Middleware that stands in front of every request.

use super::current_user;
use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// Refuses state-changing requests that a browser sent from another origin
/// (cross-site request forgery). Requests without `Origin` (machine clients)
/// pass unless `Sec-Fetch-Site` says they are cross-site.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if changes_state && !is_same_origin(req.headers(), state.config.public_authority()) {
        return (StatusCode::FORBIDDEN, "Cross-origin request refused").into_response();
    }
    next.run(req).await
}

fn is_same_origin(headers: &HeaderMap, public_authority: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return headers
            .get("sec-fetch-site")
            .is_none_or(|v| v.as_bytes() != b"cross-site");
    };
    let Some(authority) = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
    }) else {
        return false; // "null" and anything else that is not an http(s) origin
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    [host, public_authority]
        .into_iter()
        .flatten()
        .any(|own| own.eq_ignore_ascii_case(authority))
}

/// Keeps signed-in sessions alive without writing them on every request
/// (see [`super::renew_if_due`]).
pub async fn renew_session(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    super::renew_if_due(&session, state.config.session_idle_minutes).await;
    next.run(req).await
}

/// Sends people who are not signed in to `/login?next=…`, and everyone to
/// `/setup` while no user exists. Only dashboard pages are guarded; server
/// functions, the API and static files check (or need) nothing here.
pub async fn dashboard_pages(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !matches!(*req.method(), Method::GET | Method::HEAD) || !is_page(path) {
        return next.run(req).await;
    }
    let has_users = match state.has_users().await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("checking for users: {e}");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if path == "/setup" {
        return next.run(req).await; // the page itself says when it is done
    }
    if path.starts_with("/join/") {
        return next.run(req).await; // a one-time sign-in link is its own credential
    }
    if !has_users {
        return Redirect::to("/setup").into_response();
    }
    let signed_in = match current_user(&state, &session).await {
        Ok(user) => user.is_some(),
        Err(_) => false,
    };
    if path == "/login" {
        return match signed_in {
            true => Redirect::to("/").into_response(),
            false => next.run(req).await,
        };
    }
    if signed_in {
        return next.run(req).await;
    }
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    Redirect::to(&format!("/login?next={}", encode_component(target))).into_response()
}

fn is_page(path: &str) -> bool {
    const NOT_PAGES: [&str; 2] = ["/healthz", "/readyz"];
    let last = path.rsplit('/').next().unwrap_or("");
    !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !path.starts_with("/projects/") // the HTTP API
        && !NOT_PAGES.contains(&path)
        && !last.contains('.')
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_match_host_or_public_url() {
        assert!(is_same_origin(
            &headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            None
        ));
        assert!(!is_same_origin(
            &headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://evil.example")
            ]),
            None
        ));
        assert!(!is_same_origin(
            &headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]),
            None
        ));
        assert!(is_same_origin(
            &headers(&[
                ("host", "internal:3000"),
                ("origin", "https://hooks.example.com")
            ]),
            Some("hooks.example.com")
        ));
        // Machine clients send no Origin.
        assert!(is_same_origin(&headers(&[("host", "x")]), None));
        assert!(!is_same_origin(
            &headers(&[("host", "x"), ("sec-fetch-site", "cross-site")]),
            None
        ));
    }

    #[test]
    fn only_pages_are_guarded() {
        assert!(is_page("/"));
        assert!(is_page("/p/abc/webhooks"));
        assert!(!is_page("/projects/prj_x/webhooks/"));
        assert!(!is_page("/pkg/signpost.wasm"));
        assert!(!is_page("/favicon.ico"));
        assert!(!is_page("/api/login"));
        assert!(!is_page("/healthz"));
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(encode_component("/a?b=c&d"), "/a%3Fb%3Dc%26d");
    }
}
