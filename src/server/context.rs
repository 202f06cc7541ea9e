//! What a server function needs to know about the request it serves.

use super::db::users::UserRow;
use super::errors::internal;
use super::state::AppState;
use crate::model::AppError;
use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;
use tower_sessions::Session;

pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    /// The client's address, for throttling: the peer's, or what a trusted
    /// proxy says it was.
    pub ip: String,
}

/// Gathers the state, session and peer address of the current request.
pub async fn current() -> Result<RequestContext, AppError> {
    let state = use_context::<AppState>().ok_or_else(|| internal("AppState missing"))?;
    let session = leptos_axum::extract::<Session>()
        .await
        .map_err(|e| internal(format!("session: {e}")))?;
    let forwarded_for = use_context::<Parts>().and_then(|p| {
        p.headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    });
    let ip = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| {
            let proxies = &state.config.trusted_proxies;
            proxies
                .client(addr.ip(), forwarded_for.as_deref())
                .to_string()
        })
        .unwrap_or_else(|_| "unknown".into());
    Ok(RequestContext { state, session, ip })
}

/// Gives a failed server function its HTTP status. A plain HTML form post
/// (before hydration) keeps the redirect that carries the error back to the
/// page instead, so that the person sees the message, not a bare status.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        set_status(e);
    }
    result
}

/// The HTTP status of `e`, on the response of the server function being
/// served (when there is one, and it is not a plain form post).
pub fn set_status(e: &AppError) {
    let plain_form = use_context::<Parts>().is_some_and(|p| {
        p.headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    });
    if plain_form {
        return;
    }
    if let Some(options) = use_context::<ResponseOptions>() {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        options.set_status(status);
    }
}

/// Like [`current`], but refuses (401) when nobody is signed in.
pub async fn signed_in() -> Result<RequestContext, AppError> {
    Ok(user().await?.0)
}

/// The context and the signed-in user; 401 when nobody is signed in.
pub async fn user() -> Result<(RequestContext, UserRow), AppError> {
    let cx = current().await?;
    let user = super::auth::require_user(&cx.state, &cx.session).await?;
    Ok((cx, user))
}

/// The context and the signed-in admin; 401 or 403 for anyone else.
pub async fn admin() -> Result<(RequestContext, UserRow), AppError> {
    let cx = current().await?;
    let user = super::auth::require_admin(&cx.state, &cx.session).await?;
    Ok((cx, user))
}

impl RequestContext {
    /// Where people reach Signpost, for links shown to them: the configured
    /// public URL, else the host this request was sent to.
    pub fn base_url(&self) -> String {
        if let Some(url) = &self.state.config.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let host = use_context::<Parts>()
            .and_then(|p| p.headers.get(header::HOST)?.to_str().ok().map(String::from))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        format!("http://{host}")
    }
}
