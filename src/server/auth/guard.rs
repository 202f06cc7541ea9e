//! Middleware that stands in front of every request.

use super::current_user;
use super::hosts::{self, OwnHosts};
use crate::server::listener::LocalAddr;
use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// What this request's `Host` and `Origin` are checked against.
fn own_hosts<'a>(state: &'a AppState, req: &Request) -> OwnHosts<'a> {
    OwnHosts {
        public: state.config.public_authority(),
        allowed: &state.config.allowed_hosts,
        local: req.extensions().get::<LocalAddr>().map(|a| a.0),
    }
}

/// Answers `421 Misdirected Request` to a request for a name that is not
/// Signpost's own (see [`super::hosts`]): the DNS-rebinding guard. Health
/// checks answer whatever name a probe uses.
pub async fn known_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    // HTTP/2 carries the authority in the URI, HTTP/1.1 in `Host`.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match host {
        Some(host) if own_hosts(&state, &req).knows(host, None) => next.run(req).await,
        _ => {
            let host = host.unwrap_or("(none)");
            tracing::debug!(host, "refused a request for a name that is not ours");
            (
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "Signpost does not answer to the Host {host:?}. Set SIGNPOST_PUBLIC_URL to \
                     the URL people use, or add the name to SIGNPOST_ALLOWED_HOSTS.\n"
                ),
            )
                .into_response()
        }
    }
}

/// Refuses state-changing requests that a browser sent from another origin
/// (cross-site request forgery). Requests without `Origin` (machine clients)
/// pass unless `Sec-Fetch-Site` says they are cross-site.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI.
    let authority = req.uri().authority().map(|a| a.as_str());
    if changes_state && !is_same_origin(req.headers(), authority, own_hosts(&state, &req)) {
        return (StatusCode::FORBIDDEN, "Cross-origin request refused").into_response();
    }
    next.run(req).await
}

fn is_same_origin(headers: &HeaderMap, authority: Option<&str>, own: OwnHosts) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return headers
            .get("sec-fetch-site")
            .is_none_or(|v| v.as_bytes() != b"cross-site");
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    // "null" and anything else that is not an http(s) origin is refused.
    origin
        .to_str()
        .ok()
        .and_then(hosts::origin_authority)
        .is_some_and(|(authority, default_port)| own.knows_origin(authority, default_port, host))
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
    if path.starts_with("/portal/") {
        return next.run(req).await; // so is a portal link (its pages check it)
    }
    if !has_users {
        return Redirect::to("/setup").into_response();
    }
    let user = current_user(&state, &session).await.ok().flatten();
    let signed_in = user.is_some();
    if path == "/login" {
        return match signed_in {
            true => Redirect::to("/").into_response(),
            false => next.run(req).await,
        };
    }
    if let Some(user) = user {
        // For the page's buttons: a viewer's page draws none for changes.
        let mut req = req;
        req.extensions_mut()
            .insert(crate::model::PageRole(user.info().role));
        return next.run(req).await;
    }
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    Redirect::to(&format!("/login?next={}", encode_component(target))).into_response()
}

/// Who may show a response in a frame: the portal's pages the sites of
/// `--portal-frame-ancestors` (and they send no `Referer` with the link's
/// token to other sites); everything else no one (clickjacking).
pub async fn framing(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let portal = req.uri().path().starts_with("/portal/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let ancestors = match portal {
        true => state.config.portal_frame_ancestors.as_str(),
        false => "'none'",
    };
    if let Ok(csp) = HeaderValue::from_str(&format!("frame-ancestors {ancestors}")) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if portal {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    } else {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
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

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_be_one_of_our_own_hosts() {
        let none = hosts::AllowedHosts::default();
        let own = OwnHosts {
            public: None,
            allowed: &none,
            local: Some("127.0.0.1:3000".parse().unwrap()),
        };
        let origin = |o: &'static str| headers(&[("host", "127.0.0.1:3000"), ("origin", o)]);
        assert!(is_same_origin(&origin("http://127.0.0.1:3000"), None, own));
        assert!(is_same_origin(&origin("http://localhost:3000"), None, own));
        assert!(!is_same_origin(&origin("http://evil.example"), None, own));
        assert!(!is_same_origin(&origin("null"), None, own));
        // The Host header is not believed: a re-bound name sends its own.
        assert!(!is_same_origin(
            &headers(&[
                ("host", "rebind.example:3000"),
                ("origin", "http://rebind.example:3000")
            ]),
            None,
            own
        ));
        let public = OwnHosts {
            public: Some(("hooks.example.com", 443)),
            ..own
        };
        assert!(is_same_origin(
            &origin("https://hooks.example.com"),
            None,
            public
        ));
        assert!(!is_same_origin(
            &origin("http://hooks.example.com"),
            None,
            public
        ));
        // Machine clients send no Origin.
        assert!(is_same_origin(&headers(&[("host", "x")]), None, own));
        assert!(!is_same_origin(
            &headers(&[("host", "x"), ("sec-fetch-site", "cross-site")]),
            None,
            own
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
